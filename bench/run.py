"""Run every benchmark, print one table, write ``bench/results.json``.

``python -m bench`` (or ``python bench/run.py``) takes under 10 minutes on a 2-core machine;
``--quick`` runs a smaller version of each benchmark in under a minute. ``--only compile
--only rebuild`` runs some of them. Benchmarks report and never fail on timing: the exit code is
1 only if a benchmark could not run at all (its error is printed and the others still run).

results.json: ``{"machine": str, "results": [{"name", "ours", "baseline", "ratio", "unit",
"goal", "met"}, ...]}``; the machine line ends with the load averages at the start and end of the
run, since the figures depend on what else the machine was doing.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    RESULTS,
    adopt_stitch_row,
    load_average,
    machine,
    table,
    write_results,
)

BENCHMARKS = ("startup", "compile", "schedule", "rebuild", "stitch", "preview", "upload", "sound", "serve")


def stitch_quick() -> list[dict[str, Any]]:
    """A smaller stitching benchmark for ``--quick``, made of :mod:`bench.stitch_bench`'s own pieces.

    ``stitch_bench.run(quick=True)`` still encodes three sets of six 5-s 720p clips and three full
    re-encodes: 60–90 s on this 2-core machine, more than the whole quick suite may take. This
    keeps its first two comparisons, on four 5-s clips: cuts against ffmpeg's concat demuxer, and
    a crossfade against ffmpeg's xfade re-encode (keyframe every 2 s). The full run calls
    ``stitch_bench.run(False)`` unchanged.
    """
    import tempfile

    from bench import stitch_bench as sb
    from storyboard.plan import Transition

    count, seconds, d = 4, 5.0, 0.5
    rows = []
    with tempfile.TemporaryDirectory(prefix="stitch-quick-") as tmp:
        root = Path(tmp)
        work, out = root / "work", root / "out"
        work.mkdir()
        out.mkdir()
        clips = sb.make_clips(root / "gop2s", count, seconds, gop=2 * sb.FPS)
        label = f"{count}×{seconds:g}s 720p"
        base = sb.timed(lambda: sb.ffmpeg_concat_copy(clips, out / "concat.mp4", work), 3)
        mine = sb.timed(sb.ours(clips, Transition("cut"), out / "ours_cut.mp4", work), 3)
        rows.append(sb.row(f"(a) cuts, {label}: ours vs ffmpeg concat -c copy", mine, base, 1.5))
        full = sb.timed(lambda: sb.ffmpeg_xfade(clips, d, out / "xfade.mp4", seconds))
        smart = sb.timed(sb.ours(clips, Transition("crossfade", d), out / "ours_xfade.mp4", work))
        rows.append(
            sb.row(
                f"(c) crossfade {d}s, {label}, keyframe every 2 s: ours vs ffmpeg xfade re-encode", smart, full, 0.25
            )
        )
    return rows


def run_one(name: str, quick: bool) -> list[dict[str, Any]]:
    """The rows of one benchmark module (``bench.<name>_bench``); stitching's in this suite's shape."""
    if name == "stitch":
        from bench import stitch_bench

        return [adopt_stitch_row(r) for r in (stitch_quick() if quick else stitch_bench.run(False))]
    return importlib.import_module(f"bench.{name}_bench").run(quick)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller version of every benchmark (under a minute)")
    parser.add_argument(
        "--only",
        action="append",
        choices=BENCHMARKS,
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"where to write the results (default {RESULTS})")
    args = parser.parse_args(argv)
    names = [n for n in BENCHMARKS if not args.only or n in args.only]
    load_before = load_average()
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    crashed: list[str] = []
    for name in names:
        started = time.perf_counter()
        print(f"… {name}{' (quick)' if args.quick else ''}", file=sys.stderr, flush=True)
        try:
            rows += run_one(name, args.quick)
        except Exception:  # one broken benchmark must not hide the others' figures
            crashed.append(name)
            print(f"benchmark {name!r} could not run:\n{traceback.format_exc()}", file=sys.stderr)
        print(
            f"  {name} took {time.perf_counter() - started:.1f} s (load {load_average()[0]:.2f})",
            file=sys.stderr,
            flush=True,
        )
    total = time.perf_counter() - t0
    load_after = load_average()
    text = (
        f"{machine()}; load average {load_before[0]:.2f} at the start, {load_after[0]:.2f} at the end "
        f"(1 min), {'quick' if args.quick else 'full'} run of {total:.0f} s"
        + (f" ({', '.join(names)} only)" if args.only else "")
    )
    print(table(rows))
    print(f"\nmachine: {text}")
    met = sum(1 for r in rows if r["goal"] != "—" and r["met"])
    goals = sum(1 for r in rows if r["goal"] != "—")
    print(f"goals met: {met} of {goals}" + (f"; could not run: {', '.join(crashed)}" if crashed else ""))
    path = write_results(rows, text, args.output)
    print(f"written: {path}")
    return 1 if crashed else 0


if __name__ == "__main__":
    raise SystemExit(main())
