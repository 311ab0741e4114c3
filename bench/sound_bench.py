"""Sound benchmark: the sound stage of a 60-second, 12-shot film with 20 lines and music.

Ours: storyboard's stitch (stream copy) of 12 silent 5-s clips, then :func:`storyboard.media.mix.mix_film`
— three stems written as WAV, ducking, loudness measured and mastered in passes, AAC muxed onto
the picture by stream copy, a subtitle track. The baseline is what a user would write: ffmpeg's
concat demuxer with ``-c copy`` for the picture, then ONE ffmpeg command that delays each line,
mixes them with the music at a fixed level and muxes AAC onto the video (no stems, no ducking,
no loudness target). Goal: ours ≤ 1.5× the baseline.

The lines are spoken by the preview's eSpeak NG (made once, outside the timing); the music is a
60-s WAV. Run alone: ``python bench/sound_bench.py [--quick]`` (4 shots, 6 lines).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import wave
from fractions import Fraction
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import load_average, machine, median, row, table  # noqa: E402
from storyboard.media.ffmpeg import house_video_args, run_ffmpeg  # noqa: E402
from storyboard.media.mix import Sound, layout, mix_film, sound_span  # noqa: E402
from storyboard.media.stitch import stitch  # noqa: E402
from storyboard.media.subtitles import Cue, write_subtitles  # noqa: E402
from storyboard.plan import Transition  # noqa: E402

GOAL = 1.5
FPS = 24
SENTENCES = (
    "Every summer, the old glasshouse woke up before anyone else.",
    "There you are. I knew you were still here.",
    "The stone is warm again.",
    "Listen. Do you hear the glass?",
)


def make_clips(folder: Path, count: int, seconds: int) -> list[Path]:
    """Silent 720p clips by the house encoder (so the stitch is a stream copy)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(count):
        path = folder / f"clip{i:02d}.mp4"
        run_ffmpeg(["-f", "lavfi", "-i", f"testsrc2=s=1280x720:r={FPS}:d={seconds}", "-vf", f"hue=h={i * 29 % 360}",
                    *house_video_args(1280, 720, Fraction(FPS)), "-an", "-y", str(path)], what="bench clip")  # fmt: skip
        out.append(path)
    return out


def make_lines(folder: Path, count: int) -> list[Path]:
    """``count`` spoken lines (eSpeak NG, as the preview speaks them)."""
    from storyboard.backends.base import AudioJob
    from storyboard.backends.preview_audio import generate_audio
    from storyboard.plan import AudioPlan, VoicePlan

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        text = SENTENCES[i % len(SENTENCES)]
        plan = AudioPlan(f"l{i}", "line", "tts", text, f"{i:064d}", voice=VoicePlan("v", "Aria", "en-us"))
        job = AudioJob(plan, folder / f"line{i:02d}.wav", folder)
        generate_audio(job)
        paths.append(job.dest)
    return paths


def baseline_mix(video: Path, lines: list[Path], starts: list[float], music: Path, out: Path) -> None:
    """The one ffmpeg command a user would write: delay, mix with the music, AAC onto the copied picture."""
    args = ["-v", "error", "-i", str(video), "-i", str(music)]
    graph = ["[1:a]volume=-10dB[m]"]
    for i, (line, start) in enumerate(zip(lines, starts), 2):
        args += ["-i", str(line)]
        graph.append(f"[{i}:a]aresample=48000,adelay={round(start * 1000)}:all=1[l{i}]")
    labels = "[m]" + "".join(f"[l{i}]" for i in range(2, len(lines) + 2))
    graph.append(f"{labels}amix=inputs={len(lines) + 1}:normalize=0:duration=first[a]")
    args += ["-filter_complex", ";".join(graph), "-map", "0:v", "-map", "[a]", "-c:v", "copy", "-c:a", "aac",
             "-shortest", "-y", str(out)]  # fmt: skip
    run_ffmpeg(args, what="baseline mix")


def timed_cpu(fn: Any) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its children) of one call."""
    t0, c0 = time.perf_counter(), os.times()
    fn()
    c1 = os.times()
    cpu = (c1.user - c0.user) + (c1.system - c0.system) + (c1.children_user - c0.children_user)
    cpu += c1.children_system - c0.children_system
    return time.perf_counter() - t0, cpu


def run(quick: bool = False) -> list[dict[str, Any]]:
    """The benchmark's rows."""
    shots, n_lines, seconds = (4, 6, 5) if quick else (12, 20, 5)
    with tempfile.TemporaryDirectory(prefix="sound-bench-") as tmp:
        root = Path(tmp)
        clips = make_clips(root / "clips", shots, seconds)
        lines = make_lines(root / "lines", n_lines)
        total = shots * seconds
        music = root / "music.wav"
        run_ffmpeg(["-f", "lavfi", "-i", f"sine=f=220:r=48000:d={total}", "-ac", "2", "-y", str(music)], what="music")
        lay = layout([seconds * FPS] * shots, [Transition()] * shots, Fraction(FPS))
        starts = [0.5 + i * total / n_lines for i in range(n_lines)]
        spans = [sound_span(p) for p in lines]
        speech = [(s + a, s + b) for s, (a, b) in zip(starts, spans)]
        with wave.open(str(music), "rb") as w:
            music_seconds = w.getnframes() / w.getframerate()
        sounds = [Sound(f"l{i}", "dialogue", p, s) for i, (p, s) in enumerate(zip(lines, starts))]
        sounds.append(Sound("m", "music", music, 0.0, -10.0, length=float(total), fade_in=1, fade_out=2,
                            file_seconds=music_seconds, duck=12))  # fmt: skip
        work = root / "work"
        work.mkdir()
        film = root / "film.mp4"

        def ours() -> None:
            stitch(clips, [Transition()] * shots, film, workdir=work)
            srt, _ = write_subtitles([Cue(a, b, "x") for a, b in speech], root / "subs")
            stems = {s: root / f"film.{s}.wav" for s in ("dialogue", "effects", "music")}
            mix_film(film, root / "sound.mp4", sounds, lay, speech, target=-14.0, true_peak=-1.0,
                     stems=stems, workdir=work, subtitles=srt)  # fmt: skip

        def theirs() -> None:
            copy = root / "copy.mp4"
            listing = work / "concat.txt"
            listing.write_text("".join(f"file '{c}'\n" for c in clips))
            run_ffmpeg(["-v", "error", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", "-y",
                        str(copy)], what="concat")  # fmt: skip
            baseline_mix(copy, lines, starts, music, root / "baseline.mp4")

        ours()  # warm-up
        theirs()
        runs = [(timed_cpu(ours), timed_cpu(theirs)) for _ in range(3)]  # interleaved: load drifts
        mine, base = median(r[0][0] for r in runs), median(r[1][0] for r in runs)
        mine_cpu, base_cpu = median(r[0][1] for r in runs), median(r[1][1] for r in runs)
    label = f"{shots} shots × {seconds} s, {n_lines} lines + music"
    return [
        row(
            f"sound stage, {label}: ours (stems, ducking, loudness, subtitles) vs concat + one ffmpeg mix",
            mine,
            base,
            "s",
            f"ratio ≤ {GOAL:g}",
            mine / base <= GOAL,
            cpu_ours=round(mine_cpu, 3),
            cpu_baseline=round(base_cpu, 3),
            cpu_ratio=round(mine_cpu / base_cpu, 3),
        )  # fmt: skip
    ]


def main(argv: list[str] | None = None) -> int:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    start = load_average()[0]
    rows = run(args.quick)
    print(table(rows))
    for r in rows:
        print(f"CPU seconds (process + children): ours {r['cpu_ours']}, baseline {r['cpu_baseline']}, "
              f"ratio {r['cpu_ratio']}")  # fmt: skip
    print(f"machine: {machine()}; load average {start:.2f} at the start, {load_average()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
