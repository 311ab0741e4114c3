"""Shared pieces of the benchmark suite: result rows, medians, the table, results.json, the machine.

A benchmark module exposes ``run(quick: bool) -> list[dict]``; each dict is a row with the keys of
``bench/results.json`` (see :func:`row`). Benchmarks report, they never fail on timing.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results.json"
ROW_KEYS = ("name", "ours", "baseline", "ratio", "unit", "goal", "met")
NO_GOAL = "—"


def row(
    name: str,
    ours: float,
    baseline: float | None,
    unit: str,
    goal: str,
    met: bool | None,
    *,
    ratio: float | None = None,
    digits: int = 3,
    **extra: Any,
) -> dict[str, Any]:
    """One result row.

    ``ratio`` defaults to ``ours / baseline`` when there is a baseline. ``met`` None means the row
    has no goal (a figure reported for reference): it is written as ``true`` with ``goal`` "—" so
    that results.json keeps its schema (``met`` is a bool), and the table shows "—".
    """
    if ratio is None and baseline:
        ratio = ours / baseline
    out: dict[str, Any] = {
        "name": name,
        "ours": round(float(ours), digits),
        "baseline": None if baseline is None else round(float(baseline), digits),
        "ratio": None if ratio is None else round(float(ratio), 3),
        "unit": unit,
        "goal": goal if met is not None else NO_GOAL,
        "met": True if met is None else bool(met),
    }
    out.update(extra)
    return out


def adopt_stitch_row(r: dict[str, Any]) -> dict[str, Any]:
    """A row of :mod:`bench.stitch_bench` (numeric ``goal``, ``met`` None without a goal) in this suite's shape."""
    goal = r.get("goal")
    out = {
        "name": "stitch " + r["name"],
        "ours": r["ours"],
        "baseline": r["baseline"],
        "ratio": r["ratio"],
        "unit": r.get("unit", "s"),
        "goal": NO_GOAL if goal is None else f"ratio ≤ {goal:g}",
        "met": True if r.get("met") is None else bool(r["met"]),
    }
    if r.get("cpu_ratio") is not None:
        out["cpu_ratio"] = r["cpu_ratio"]
    return out


def median(values: Iterable[float]) -> float:
    """The median of the values."""
    return float(statistics.median(list(values)))


def timed(fn: Callable[[], object]) -> float:
    """Wall seconds of one call."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages."""
    try:
        return os.getloadavg()
    except OSError:  # pragma: no cover
        return (0.0, 0.0, 0.0)


def machine() -> str:
    """One line describing the machine: CPU model, cores (``nproc``), memory, OS and Python."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:  # pragma: no cover
        pass
    try:
        cores = subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):  # pragma: no cover
        cores = str(os.cpu_count())
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f", {int(line.split()[1]) / 1024 / 1024:.0f} GB RAM"
                break
    except OSError:  # pragma: no cover
        pass
    return (
        f"{cpu}, {cores} cores (nproc){mem}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return ""
    if unit != "s" and float(value).is_integer():
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.2f}"


def table(rows: Sequence[dict[str, Any]]) -> str:
    """The results as one plain-text table: benchmark, ours, baseline, ratio, goal, met?"""
    headers = ("benchmark", "ours", "baseline", "ratio", "goal", "met?")
    lines = []
    for r in rows:
        unit = r.get("unit", "")
        ours = _fmt(r["ours"], unit) + (f" {unit}" if unit else "")
        base = "" if r["baseline"] is None else _fmt(r["baseline"], unit) + (f" {unit}" if unit else "")
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.3f}"
        met = NO_GOAL if r["goal"] == NO_GOAL else ("yes" if r["met"] else "NO")
        lines.append((r["name"], ours, base, ratio, r["goal"], met))
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(headers)]
    right = {1, 2, 3}

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    out = [fmt(headers), fmt(["-" * w for w in widths])]
    out += [fmt(line) for line in lines]
    return "\n".join(out)


def write_results(rows: Sequence[dict[str, Any]], machine_text: str, path: Path = RESULTS) -> Path:
    """Write ``{"machine": …, "results": [...]}`` to ``bench/results.json``."""
    data = {"machine": machine_text, "results": [dict(r) for r in rows]}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def python() -> str:
    """The interpreter running the suite (the dev venv's, with storyboard installed)."""
    return sys.executable


def storyboard_cmd() -> list[str]:
    """The ``storyboard`` console script beside the interpreter, else ``python -m storyboard``."""
    script = Path(sys.executable).parent / "storyboard"
    return [str(script)] if script.exists() else [sys.executable, "-m", "storyboard"]


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a child process: this one, the repo on PYTHONPATH (for ``bench.*`` backends), plus ``extra``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
    env.update(extra)
    return env


def write_png(path: Path, rgb: tuple[int, int, int], size: tuple[int, int] = (320, 320)) -> Path:
    """A flat-colour PNG (large enough for the model's 300 px minimum by default)."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, rgb).save(path, format="PNG")
    return path
