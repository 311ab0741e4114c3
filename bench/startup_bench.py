"""Start-up benchmark: what each command costs before it does its work, and what it imports.

Measured, for each bundled example (``examples/*/storyboard.yaml``): the wall time of the whole
process ``storyboard validate FILE`` (output to a pipe, as in CI), against

- the interpreter's own start-up (``python -c pass``). Goal: validate within 0.25 s of it on a
  quiet machine (``near the interpreter's own start-up``);
- the start-up floor of the libraries storyboard is built on (:mod:`bench.startup_floor`: a typer
  app whose ``validate`` reads the file with PyYAML, checks it with one pydantic model and
  imports Pillow), run the same way on the same file: the difference is storyboard's own share
  (its modules, the format's models, the compile, the image checks);
- ``python -c "import yaml"``, the least a YAML tool can import;

timed in turn, the minimum of N runs (start-up is what is left when nothing else interferes;
the minimum is the figure least moved by a shared machine).

With ``--instructions`` (needs valgrind on PATH), the same three processes on the first example
are also counted in CPU instructions under callgrind: a figure that does not move with the
machine's load or clock, so that a change of a few milliseconds shows on a shared machine
where the wall-clock minimum swings by more than that.

Also reported, for ``validate``, ``compile --json``, ``ls``, ``status``, ``graph`` and ``cost``:
which heavy packages each one imports (from ``python -X importtime``), so that a change which
makes ``validate`` import rich, jinja2, networkx, PyAV or httpx shows here. These counts do not
depend on the machine's load.

Run alone: ``python bench/startup_bench.py [--quick] [--instructions]``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import REPO, python, row, subprocess_env, table  # noqa: E402

HEAVY = ("rich", "jinja2", "networkx", "av", "httpx", "fal_client", "numpy", "PIL", "pydantic", "typer", "yaml")
COMMANDS = (("validate",), ("compile", "--json"), ("ls",), ("status",), ("graph",), ("cost",))
RUNS = 15
QUICK_RUNS = 5


def _wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=subprocess_env(NO_COLOR="1"), capture_output=True, check=True)
    return time.perf_counter() - t0


def imported(cmd: list[str]) -> tuple[set[str], int, float]:
    """(heavy top-level packages, modules imported, seconds of imports) of one run of ``cmd`` under -X importtime."""
    proc = subprocess.run(
        [python(), "-X", "importtime", *cmd],
        env=subprocess_env(NO_COLOR="1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    names: set[str] = set()
    modules, micros = 0, 0
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        own, _cumulative, name = line[len("import time:") :].split("|", 2)
        if not own.strip().isdigit():
            continue  # the header line
        modules += 1
        micros += int(own)
        names.add(name.strip().split(".")[0])
    return {h for h in HEAVY if h in names}, modules, micros / 1e6


def floor_cmd(example: Path) -> list[str]:
    """The libraries' floor (:mod:`bench.startup_floor`) run on ``example`` as ``validate`` would be."""
    return [python(), str(REPO / "bench" / "startup_floor.py"), "validate", str(example)]


def instructions_of(cmd: list[str]) -> int:
    """CPU instructions (user space) of one run of ``cmd`` under valgrind's callgrind; fixed hash seed."""
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
        env=subprocess_env(NO_COLOR="1", PYTHONHASHSEED="0"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
    )
    match = re.search(r"Collected : (\d+)", proc.stderr)
    if match is None:
        raise RuntimeError(f"callgrind printed no count: {proc.stderr[-300:]}")
    return int(match.group(1))


def instruction_rows(example: Path, bare: list[str]) -> list[dict[str, Any]]:
    """Rows in instructions: validate against the floor and the floor against the interpreter."""
    if shutil.which("valgrind") is None:
        return [row("start-up in instructions: valgrind is not on PATH (skipped)", 0, None, "", "", None)]
    validate = [python(), "-m", "storyboard", "validate", str(example)]
    with ThreadPoolExecutor(max_workers=2) as pool:  # ~15 s each under callgrind, one core each
        counts = dict(
            zip(("bare", "floor", "validate"), pool.map(instructions_of, (bare, floor_cmd(example), validate)))
        )
    mega = {k: v / 1e6 for k, v in counts.items()}
    label = example.parent.name
    return [
        row(f"start-up in instructions: validate {label} vs its libraries' floor", mega["validate"], mega["floor"],
            "M instr", "", None, digits=1, extra_millions=round(mega["validate"] - mega["floor"], 1)),
        row("start-up in instructions: the libraries' floor vs the interpreter (python -c pass)", mega["floor"],
            mega["bare"], "M instr", "", None, digits=1),
    ]  # fmt: skip


def run(quick: bool, instructions: bool = False) -> list[dict[str, Any]]:
    """The rows of this benchmark (see the module docstring)."""
    runs = QUICK_RUNS if quick else RUNS
    rows: list[dict[str, Any]] = []
    examples = sorted((REPO / "examples").glob("*/storyboard.yaml"))
    bare = [python(), "-c", "pass"]
    yaml_only = [python(), "-c", "import yaml"]
    for example in examples:
        validate = [python(), "-m", "storyboard", "validate", str(example)]
        times: dict[str, list[float]] = {"bare": [], "yaml": [], "floor": [], "validate": []}
        for _ in range(runs):  # interleaved, so that load moves all four alike
            times["bare"].append(_wall(bare))
            times["yaml"].append(_wall(yaml_only))
            times["floor"].append(_wall(floor_cmd(example)))
            times["validate"].append(_wall(validate))
        best = {k: min(v) for k, v in times.items()}
        label = example.parent.name
        rows.append(
            row(
                f"start-up: validate {label} vs the interpreter (python -c pass), min of {runs}",
                best["validate"],
                best["bare"],
                "s",
                "≤ +0.25 s",
                best["validate"] - best["bare"] <= 0.25,
                extra_seconds=round(best["validate"] - best["bare"], 3),
            )
        )
        rows.append(
            row(
                f"start-up: validate {label} vs its libraries' floor (bench/startup_floor.py)",
                best["validate"],
                best["floor"],
                "s",
                "",
                None,
                extra_seconds=round(best["validate"] - best["floor"], 3),
                floor_over_interpreter=round(best["floor"] - best["bare"], 3),
            )
        )
        rows.append(
            row(f"start-up: validate {label} vs python -c 'import yaml'", best["validate"], best["yaml"], "s", "", None)
        )
    if instructions:
        rows.extend(instruction_rows(examples[0], bare))
    example = examples[0]
    for args in COMMANDS:
        heavy, modules, seconds = imported(["-m", "storyboard", args[0], *args[1:], str(example)])
        rows.append(
            row(
                f"imports of `storyboard {' '.join(args)}`: {modules} modules; heavy: {', '.join(sorted(heavy))}",
                seconds,
                None,
                "s",
                "",
                None,
                modules=modules,
                heavy=sorted(heavy),
            )
        )
    return rows


def main() -> int:
    """``python bench/startup_bench.py [--quick] [--instructions]``: print this benchmark's table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_RUNS} runs each instead of {RUNS}")
    parser.add_argument("--instructions", action="store_true", help="also count instructions under callgrind")
    args = parser.parse_args()
    print(table(run(args.quick, args.instructions)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
