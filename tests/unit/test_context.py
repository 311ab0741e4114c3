"""The CLI's run context and the backend base class: settings read once, backends declared, not guessed.

In-process (typer's CliRunner) so each test takes milliseconds; the one build uses the
preview through a duck-typed user backend.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sbtest import write_storyboard
from storyboard.backends import backend_is_paid, make_backend
from storyboard.backends.base import Backend, ShotJob, as_backend, is_paid
from storyboard.backends.fal import FalBackend
from storyboard.backends.preview import PreviewBackend
from storyboard.cli.app import app
from storyboard.cli.context import RunContext, Settings
from storyboard.errors import UsageError
from support.cli import cli_env

ONE_SHOT = """
    version: 1
    title: One
    images:
      red: assets/red.png
    shots:
      - id: a
        start: red
        duration: 3
        prompt: a red room, the camera still
"""


def test_settings_come_from_the_environment_given() -> None:
    env = {
        "STORYBOARD_BACKEND": "fal",
        "STORYBOARD_CACHE": "/tmp/c",
        "STORYBOARD_PRICES": "p.yaml",
        "STORYBOARD_FAL_POLL": "0.25",
        "STORYBOARD_FAL_RETRIES": "2",
        "FAL_KEY": "secret-value-1234",
        "NO_COLOR": "1",
    }
    s = Settings.from_environment(env)
    assert (s.backend, s.cache_dir, s.prices, s.no_color) == ("fal", Path("/tmp/c"), Path("p.yaml"), True)
    assert s.fal_credentials is True
    assert "secret-value-1234" not in repr(s), "the context holds whether a key is set, never the key"
    assert s.fal_options() == {
        "credentials": True,
        "poll_seconds": 0.25,
        "wait_seconds": 1800.0,
        "retries": 2,
        "backoff": 0.5,
    }


def test_empty_variables_count_as_unset() -> None:
    s = Settings.from_environment({"STORYBOARD_BACKEND": "", "STORYBOARD_CACHE": "", "NO_COLOR": ""})
    assert (s.backend, s.cache_dir, s.no_color, s.fal_credentials) == (None, None, False, False)
    assert Settings.from_environment({"FAL_KEY_ID": "id", "FAL_KEY_SECRET": "s"}).fal_credentials is True
    assert Settings.from_environment({"FAL_KEY_ID": "id"}).fal_credentials is False


@pytest.mark.parametrize("raw", ["many", "-1", "nan"])
def test_a_bad_fal_number_names_its_variable(raw: str) -> None:
    s = Settings.from_environment({"STORYBOARD_FAL_TIMEOUT": raw})
    with pytest.raises(UsageError, match=f"STORYBOARD_FAL_TIMEOUT={raw!r} is not a number"):
        s.fal_options()


def test_the_context_resolves_flags_before_the_environment(tmp_path: Path) -> None:
    run = RunContext(Settings.from_environment({"STORYBOARD_BACKEND": "fal", "STORYBOARD_CACHE": "/env"}))
    assert run.backend_name(None) == "fal"
    assert run.backend_name("preview") == "preview"
    assert run.cache_dir(None) == Path("/env") and run.cache_dir(tmp_path) == tmp_path
    assert run.backend_options("preview") == {}
    assert run.backend_options("fal")["credentials"] is False
    with pytest.raises(UsageError, match=r"unknown backend 'nope' \(from STORYBOARD_BACKEND\)"):
        RunContext(Settings.from_environment({"STORYBOARD_BACKEND": "nope"})).backend_name(None)


def test_backends_declare_whether_they_cost_money() -> None:
    assert backend_is_paid("fal") and not backend_is_paid("preview")
    assert FalBackend.paid and not PreviewBackend.paid
    assert isinstance(PreviewBackend(), Backend) and isinstance(FalBackend(credentials=False), Backend)
    # a user's class that does not say is treated as paid: --max-cost guards it
    assert backend_is_paid("support.backends:DuckBackend")
    assert not is_paid(type("Free", (), {"paid": False}))


def test_a_duck_typed_backend_gets_the_defaults() -> None:
    backend = make_backend("support.backends:DuckBackend")
    assert isinstance(backend, Backend) and backend.name == "support.backends:DuckBackend" and backend.paid
    backend.prepare(None, [], Path("."))  # type: ignore[arg-type]  # it has none: a no-op
    backend.committed(None)  # type: ignore[arg-type]
    backend.close()


def test_a_duck_typed_backend_keeps_its_own_hooks() -> None:
    calls: list[str] = []

    class Mine:
        name = "mine"
        paid = False

        def generate(self, job: ShotJob) -> None:
            calls.append("generate")

        def committed(self, job: ShotJob) -> None:
            calls.append("committed")

        def close(self) -> None:
            calls.append("close")

    backend = as_backend(Mine(), "pkg:Mine")
    backend.generate(None)  # type: ignore[arg-type]
    backend.committed(None)  # type: ignore[arg-type]
    backend.close()
    assert calls == ["generate", "committed", "close"] and backend.name == "mine" and not backend.paid


def test_a_class_without_generate_is_not_a_backend() -> None:
    with pytest.raises(UsageError, match="cannot load backend 'support.backends:NotABackend': .*generate"):
        make_backend("support.backends:NotABackend")


def test_a_duck_typed_backend_builds_through_the_cli(project: Path, tmp_path: Path) -> None:
    sb = write_storyboard(project, ONE_SHOT)
    args = ["build", str(sb), "-b", "support.backends:DuckBackend", "--out", str(tmp_path / "b")]
    result = CliRunner().invoke(app, [*args, "--cache-dir", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "b" / "shots" / "a.mp4").stat().st_size > 0


def test_verbose_comes_from_the_command_not_from_sys_argv(project: Path, tmp_path: Path) -> None:
    """An internal error shows its traceback with the command's own --verbose (sys.argv is pytest's here)."""
    sb = write_storyboard(project, ONE_SHOT)
    args = ["build", str(sb), "-b", "support.backends:CrashingBackend", "--out", str(tmp_path / "b")]
    args += ["--cache-dir", str(tmp_path / "c")]
    quiet = CliRunner().invoke(app, args)
    assert quiet.exit_code == 1
    assert "internal error: RuntimeError: the test backend crashed in prepare" in quiet.output
    assert "Traceback" not in quiet.output and "run again with --verbose" in quiet.output
    loud = CliRunner().invoke(app, [*args, "--verbose"])
    assert loud.exit_code == 1 and "Traceback (most recent call last)" in loud.output


def test_build_reads_the_cache_folder_from_the_environment_once(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = write_storyboard(project, ONE_SHOT)
    monkeypatch.setenv("STORYBOARD_CACHE", str(tmp_path / "env-cache"))
    result = CliRunner().invoke(app, ["ls", str(sb), "--json"])
    assert result.exit_code == 0, result.output
    assert not (project / ".storyboard").exists()
    result = CliRunner().invoke(app, ["build", str(sb), "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "env-cache" / "preview" / "clips").is_dir()


_IMPORTS_OF = """
import sys
sys.argv = ["storyboard", *sys.argv[1:]]
from storyboard.cli.app import main
try:
    main()
except SystemExit:
    pass
heavy = ("rich", "jinja2", "networkx", "av", "httpx", "fal_client", "numpy")
print("heavy:" + " ".join(sorted({m.split(".")[0] for m in sys.modules} & set(heavy))))
"""


@pytest.mark.parametrize("args", [["validate"], ["compile", "--json"], ["ls"], ["status"]])
def test_light_commands_import_only_what_they_need(args: list[str], tmp_path: Path) -> None:
    """Start-up (bench/startup_bench.py): these print plain lines to a pipe, so rich is not even imported."""
    example = Path(__file__).resolve().parents[2] / "examples" / "greenhouse" / "storyboard.yaml"
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORTS_OF, *args, str(example)],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env({"STORYBOARD_CACHE": str(tmp_path)}),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "heavy:", f"`storyboard {' '.join(args)}` imported more than it needs"
