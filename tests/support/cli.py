"""Run the real CLI in a subprocess as a user would, and read what it wrote.

The one way tests start ``storyboard``: :func:`run_cli` waits for it, :func:`start_cli` leaves it
running (to be killed or interrupted). Both use :func:`cli_env`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
TESTS = REPO / "tests"
# Where the CLI subprocesses cache their bytecode when the environment forbids writing it beside
# the sources (PYTHONDONTWRITEBYTECODE): outside the repository and every test's folders.
PYCACHE = Path(tempfile.gettempdir()) / f"storyboard-tests-pycache-{os.getuid()}"


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a CLI subprocess: tests/ importable, no colour, no inherited backend.

    The CLI starts as an installed command does, from cached bytecode: with PYTHONDONTWRITEBYTECODE
    set, each of the suite's CLI runs compiled the package from source again (0.2 s of CPU each);
    the bytecode goes to :data:`PYCACHE` instead (checked against the sources' mtimes by Python).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STORYBOARD_", "FAL_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["NO_COLOR"] = "1"
    if env.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
        env.setdefault("PYTHONPYCACHEPREFIX", str(PYCACHE))
    env.update(extra or {})
    return env


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """``storyboard ARGS`` as a user would run it; returns the finished process (text, UTF-8)."""
    return subprocess.run(
        [sys.executable, "-m", "storyboard", *args],
        cwd=cwd,
        env=cli_env(env),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )


_CTRL_C_BOOT = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'storyboard'; runpy.run_module('storyboard', run_name='__main__', alter_sys=True)"
)


def start_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    capture: bool = False,
    new_session: bool = True,
    ctrl_c: bool = False,
) -> subprocess.Popen[str]:
    """``storyboard ARGS`` started and left running; its output is captured (text) or discarded.

    ``new_session``: in its own process group, so a test can kill it and every child it started.
    ``ctrl_c``: with Python's own SIGINT handler, as in a terminal, even when the suite itself was
    started with SIGINT ignored (a background job of a non-interactive shell; the CLI would inherit
    that and ignore a test's Ctrl-C).
    """
    output = subprocess.PIPE if capture else subprocess.DEVNULL
    launch = ["-m", "storyboard"] if not ctrl_c else ["-c", _CTRL_C_BOOT]
    return subprocess.Popen(
        [sys.executable, *launch, *args],
        cwd=cwd,
        env=cli_env(env),
        stdout=output,
        stderr=output,
        text=True,
        encoding="utf-8",
        start_new_session=new_session,
    )


def results(build_dir: Path) -> dict[str, dict[str, Any]]:
    """run_results.json's shots by id."""
    data = json.loads((build_dir / "run_results.json").read_text())
    return {s["id"]: s for s in data["shots"]}
