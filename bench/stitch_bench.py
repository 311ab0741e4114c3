"""Stitching benchmark: storyboard's ``stitch`` against ffmpeg and moviepy doing the same job.

Run alone: ``python bench/stitch_bench.py [--quick]`` prints a table; :func:`run` returns its rows
(``name, ours, baseline, ratio, unit, goal, met``; ratio = ours / baseline, lower is better).

Clips are generated once per run into a temporary folder: ``testsrc2`` pictures (hue-shifted
per clip) with a sine tone, 1280×720 H.264 24 fps + AAC 48 kHz stereo, written by the house
encoder (:func:`storyboard.media.ffmpeg.house_video_args`) with ``-g 48`` — a keyframe every 2 s — and
once more with a single keyframe per clip. Kling's real keyframe spacing is unknown; stitching's
smart rendering re-encodes from the keyframe before each transition to the keyframe after it,
so the spacing decides how much it saves. A third set is written by libx264's defaults
(``-preset medium``), as a foreign encoder would: stitching must normalise those clips first.

Timings are medians of 3 (after a warm-up) for the fast methods (stream copy), single runs for
re-encodes; the machine drifts, so only ratios within one run are comparable. Each row also has
``cpu_ratio``, the same comparison in CPU seconds (this process and its children), which other
work on the machine disturbs far less than wall-clock time.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storyboard.media.ffmpeg import (  # noqa: E402
    ffmpeg_exe,
    house_audio_args,
    house_video_args,
    run_ffmpeg,
)
from storyboard.media.stitch import stitch  # noqa: E402
from storyboard.plan import Transition  # noqa: E402

WIDTH, HEIGHT, FPS = 1280, 720, 24


def make_clips(folder: Path, count: int, seconds: float, *, gop: int, foreign: bool = False) -> list[Path]:
    """Generate ``count`` distinct clips (picture + tone); ``gop`` frames between keyframes."""
    from fractions import Fraction

    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for i in range(count):
        path = folder / f"clip{i:03d}.mp4"
        if foreign:
            video = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", str(gop)]
        else:
            video = [*house_video_args(WIDTH, HEIGHT, Fraction(FPS)), "-g", str(gop), "-sc_threshold", "0"]
        run_ffmpeg(
            [
                "-f", "lavfi", "-i", f"testsrc2=s={WIDTH}x{HEIGHT}:r={FPS}:d={seconds}",
                "-f", "lavfi", "-i", f"sine=f={220 + 40 * i}:r=48000:d={seconds}",
                "-vf", f"hue=h={(i * 47) % 360}", *video, *house_audio_args(48000, 2), "-shortest", str(path),
            ],
            what="bench clip",
        )  # fmt: skip
        clips.append(path)
    return clips


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(fn: Callable[[], object], repeat: int = 1) -> tuple[float, float]:
    """Median wall time and median CPU time (this process and its children) of ``repeat`` calls.

    Repeated measurements start with one untimed warm-up call.
    """
    if repeat > 1:
        fn()
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), _cpu()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def ffmpeg_concat_copy(clips: Sequence[Path], out: Path, work: Path) -> None:
    """The bare baseline: ffmpeg's concat demuxer with stream copy."""
    listing = work / "concat.txt"
    listing.write_text("".join(f"file '{c}'\n" for c in clips))
    run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(out)], what="concat")


def ffmpeg_xfade(clips: Sequence[Path], d: float, out: Path, seconds: float) -> None:
    """The full re-encode baseline: normalise every input, chain xfade + acrossfade, encode once."""
    from fractions import Fraction

    args, graph = [], []
    for i, clip in enumerate(clips):
        args += ["-i", str(clip)]
        graph.append(f"[{i}:v]fps={FPS},format=yuv420p,settb=1/{FPS * 512},setsar=1[v{i}]")
        graph.append(f"[{i}:a]aformat=sample_rates=48000:channel_layouts=stereo[a{i}]")
    v, a = "v0", "a0"
    for i in range(1, len(clips)):
        offset = i * (seconds - d)
        graph.append(f"[{v}][v{i}]xfade=transition=fade:duration={d}:offset={offset:.6f}[xv{i}]")
        graph.append(f"[{a}][a{i}]acrossfade=d={d}[xa{i}]")
        v, a = f"xv{i}", f"xa{i}"
    run_ffmpeg(
        [*args, "-filter_complex", ";".join(graph), "-map", f"[{v}]", "-map", f"[{a}]",
         *house_video_args(WIDTH, HEIGHT, Fraction(FPS)), *house_audio_args(48000, 2), str(out)],
        what="xfade", timeout=3600,
    )  # fmt: skip


def moviepy_concat(clips: Sequence[Path], out: Path, crossfade: float = 0.0) -> None:
    """moviepy: concatenate (with CrossFadeIn and method='compose' when crossfading) and encode."""
    from moviepy import VideoFileClip, concatenate_videoclips, vfx

    sources = [VideoFileClip(str(c)) for c in clips]
    try:
        if crossfade:
            parts = [sources[0]] + [c.with_effects([vfx.CrossFadeIn(crossfade)]) for c in sources[1:]]
            film = concatenate_videoclips(parts, method="compose", padding=-crossfade)
        else:
            film = concatenate_videoclips(sources)
        # moviepy writes its temp audio into the working directory unless told where
        film.write_videofile(
            str(out),
            codec="libx264",
            audio_codec="aac",
            logger=None,
            temp_audiofile=str(out.with_name(out.stem + "_tmp_audio.m4a")),
        )
    finally:
        for c in sources:
            c.close()


def ours(clips: Sequence[Path], transition: Transition, out: Path, work: Path) -> Callable[[], object]:
    """A call of :func:`storyboard.media.stitch.stitch` on the clips, with one transition throughout."""
    return lambda: stitch(clips, [transition] * len(clips), out, workdir=work)


def row(name: str, ours_t: tuple[float, float], base_t: tuple[float, float], goal: float | None) -> dict:
    """One result row (wall-clock seconds; ``cpu_ratio`` compares CPU time, steadier on a busy machine)."""
    ratio = ours_t[0] / base_t[0]
    return {
        "name": name, "ours": round(ours_t[0], 3), "baseline": round(base_t[0], 3), "ratio": round(ratio, 3),
        "unit": "s", "goal": goal, "met": None if goal is None else ratio <= goal,
        "cpu_ratio": round(ours_t[1] / base_t[1], 3) if base_t[1] > 0 else None,
    }  # fmt: skip


def run(quick: bool) -> list[dict]:
    """Generate clips, time every method, return the rows (see the module docstring)."""
    count, seconds, many = (6, 5.0, 24) if quick else (12, 5.0, 48)
    d = 0.5
    cut, xfade = Transition("cut"), Transition("crossfade", d)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="stitch-bench-") as tmp:
        root = Path(tmp)
        work, out = root / "work", root / "out"
        work.mkdir()
        out.mkdir()
        clips = make_clips(root / "gop2s", count, seconds, gop=2 * FPS)
        label = f"{count}×{seconds:g}s 720p"

        base = timed(lambda: ffmpeg_concat_copy(clips, out / "concat.mp4", work), 3)
        mine = timed(ours(clips, cut, out / "ours_cut.mp4", work), 3)
        rows.append(row(f"(a) cuts, {label}: ours vs ffmpeg concat -c copy", mine, base, 1.5))
        if not quick:
            mp = timed(lambda: moviepy_concat(clips, out / "mp.mp4"))
            rows.append(row(f"(b) cuts, {label}: ours vs moviepy concatenate", mine, mp, None))

        full = timed(lambda: ffmpeg_xfade(clips, d, out / "xfade.mp4", seconds))
        smart = timed(ours(clips, xfade, out / "ours_xfade.mp4", work))
        rows.append(
            row(f"(c) crossfade {d}s, {label}, keyframe every 2 s: ours vs ffmpeg xfade re-encode", smart, full, 0.25)
        )
        if not quick:
            mp = timed(lambda: moviepy_concat(clips, out / "mpx.mp4", crossfade=d))
            rows.append(
                row(f"(c) crossfade {d}s, {label}, keyframe every 2 s: ours vs moviepy CrossFadeIn", smart, mp, None)
            )

        if not quick:
            dense = make_clips(root / "gop1s", count, seconds, gop=FPS)
            full1 = timed(lambda: ffmpeg_xfade(dense, d, out / "xfade1s.mp4", seconds))
            smart1 = timed(ours(dense, xfade, out / "ours_xfade1s.mp4", work))
            rows.append(
                row(
                    f"(c) crossfade {d}s, {label}, keyframe every 1 s: ours vs ffmpeg xfade re-encode",
                    smart1,
                    full1,
                    0.25,
                )
            )

        single = make_clips(root / "gop1", count, seconds, gop=10_000)
        full1 = timed(lambda: ffmpeg_xfade(single, d, out / "xfade1.mp4", seconds))
        smart1 = timed(ours(single, xfade, out / "ours_xfade1.mp4", work))
        rows.append(
            row(
                f"(c) crossfade {d}s, {label}, one keyframe per clip: ours vs ffmpeg xfade re-encode",
                smart1,
                full1,
                1.0,
            )
        )

        foreign = make_clips(root / "foreign", count, seconds, gop=250, foreign=True)
        full2 = timed(lambda: ffmpeg_xfade(foreign, d, out / "xfade2.mp4", seconds))
        smart2 = timed(ours(foreign, xfade, out / "ours_xfade2.mp4", work))
        rows.append(
            row(f"(c) crossfade {d}s, {label}, foreign encoder (normalised): ours vs ffmpeg xfade", smart2, full2, 1.0)
        )

        lots = [clips[i % len(clips)] for i in range(many)]
        base = timed(lambda: ffmpeg_concat_copy(lots, out / "concat48.mp4", work), 3)
        mine = timed(ours(lots, cut, out / "ours_cut48.mp4", work), 3)
        rows.append(row(f"(d) cuts, {many}×{seconds:g}s 720p: ours vs ffmpeg concat -c copy", mine, base, 1.5))
        shutil.rmtree(work, ignore_errors=True)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Print the benchmark table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter clips; skip moviepy")
    args = parser.parse_args(argv)
    ffmpeg_exe()
    rows = run(args.quick)
    width = max(len(r["name"]) for r in rows)
    print(f"{'benchmark':<{width}}  {'ours':>8}  {'baseline':>8}  {'ratio':>6}  {'goal':>5}  {'met':>3}  cpu ratio")
    for r in rows:
        goal = "" if r["goal"] is None else f"≤{r['goal']:g}"
        met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
        print(
            f"{r['name']:<{width}}  {r['ours']:>7.3f}s  {r['baseline']:>7.3f}s  {r['ratio']:>6.3f}  {goal:>5}  {met:>3}"
            f"  {r['cpu_ratio'] if r['cpu_ratio'] is not None else '':>9}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
