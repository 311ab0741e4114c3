"""The film's sound: stems (dialogue, effects, music, native) mixed, ducked, normalised and muxed onto the picture.

* **Dialogue**: every line at its place in the film (``adelay``), summed (``amix``, no normalising).
* **Effects** follow the picture: each shot gets a bed as long as its clip holding its effects,
  and the beds are joined the way the clips are — ``acrossfade`` over a crossfade's overlap, a
  fade out and in around a fade, a plain join at a cut — so the track lasts as long as the film.
* **Native** (a clip's own sound, when a model made it): beds exactly like the effects, one per
  clip; the stem exists only when some clip has sound. Music is not ducked under it.
* **Music**: each cue trimmed (looped if the file is short), faded in and out, at its level; then
  ducked under speech by a gain envelope over the spoken intervals (known exactly from the lines:
  the dip is the cue's ``duck`` dB, ramped over 0.15 s before and 0.35 s after each line). A
  sidechain compressor would dip by an amount that depends on how loud each voice is and pump
  between words; the envelope dips by what the author wrote.
* **Master**: the stems summed and measured in the same ffmpeg run (EBU R128 integrated loudness,
  ``ebur128``); the gain that brings the sum to the target under a peak limiter is found by
  measuring the chain over the sum (integrated loudness only, no file written; two or three tries:
  ``loudnorm`` was tried first and falls back to its dynamic mode as soon as the gain would break
  the true-peak ceiling, which missed the target by 0.7 LU on a short film); the chain is then
  applied once, in the mux: AAC in the film while the video stream is copied (``-c:v copy``), a
  ``mov_text`` subtitle track when given. The finished film is measured (loudness and true peak).

The stems are written beside the film as 48 kHz stereo WAV, as they enter the master (before its
gain). Everything is measured in seconds of the film, computed from the clips' frame counts.
"""

from __future__ import annotations

import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

from storyboard.errors import MediaError
from storyboard.media.ffmpeg import run_ffmpeg
from storyboard.media.loudness import Master, master, measure_loudness, meter, run_measured
from storyboard.media.stitch_plan import Join, resolve_joins
from storyboard.plan import Transition

RATE = 48000
SILENCE_FLOOR = 10 ** (-45 / 20)  # -45 dBFS: below this a 10 ms window counts as silence
DUCK_ATTACK, DUCK_RELEASE = 0.15, 0.35
PEAK_MARGIN = 0.5  # dB kept below the true-peak ceiling for the AAC encoder's overshoot
Stem = Literal["dialogue", "effects", "music", "native"]
STEMS: tuple[Stem, ...] = ("dialogue", "effects", "music", "native")


@dataclass(frozen=True, slots=True)
class Sound:
    """One sound placed in the mix."""

    id: str
    stem: Stem
    path: Path
    start: float  # seconds: into the film (dialogue, music) or into its shot (effects)
    level: float = 0.0  # dB
    shot: int | None = None  # effects: the index of its shot
    length: float | None = None  # seconds to play (music cues; None: the whole file)
    fade_in: float = 0.0
    fade_out: float = 0.0
    file_seconds: float = 0.0  # the file's own length (to know when music must loop)
    duck: float = 0.0  # music: dB it dips under speech


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each clip sits in the film, in seconds, from whole frames."""

    starts: tuple[float, ...]
    lengths: tuple[float, ...]
    joins: tuple[Join, ...]
    fps: Fraction
    total: float


@dataclass
class MixReport:
    """What the mix did and measured."""

    stems: dict[Stem, Path] = field(default_factory=dict)
    measured_before: float | None = None  # integrated loudness of the sum before the master gain
    loudness: float | None = None  # of the film's audio, measured after muxing
    true_peak: float | None = None


def layout(frames: Sequence[int], transitions: Sequence[Transition], fps: Fraction) -> Layout:
    """The film's layout from each clip's frame count and the transitions into each clip."""
    joins = resolve_joins(transitions, [float(n / fps) for n in frames], fps)
    starts, t = [], 0
    for i, n in enumerate(frames):
        t -= joins[i].overlap if i else 0
        starts.append(t)
        t += n
    return Layout(tuple(float(s / fps) for s in starts), tuple(float(n / fps) for n in frames), tuple(joins), fps,
                  float(t / fps))  # fmt: skip


# -- files ------------------------------------------------------------------------------------


def decode_to_wav(src: Path, dest: Path) -> None:
    """Decode any audio file fully into 48 kHz stereo 16-bit WAV (MediaError if it is not audio)."""
    run_ffmpeg(["-v", "error", "-i", str(src), "-vn", "-sn", "-map", "0:a:0", "-ac", "2", "-ar", str(RATE),
                "-c:a", "pcm_s16le", "-map_metadata", "-1", "-fflags", "+bitexact", "-f", "wav", "-y", str(dest)],
               what=f"decoding {src.name}")  # fmt: skip


def wav_duration(path: Path) -> float:
    """The length of a PCM WAV file in seconds."""
    try:
        with wave.open(str(path), "rb") as w:
            return w.getnframes() / w.getframerate()
    except (wave.Error, EOFError, OSError) as exc:
        raise MediaError(f"{path.name} is not a readable WAV file: {exc}") from None


def sound_span(path: Path) -> tuple[float, float]:
    """(first, last) second where a 16-bit WAV rises above the silence floor; (0, 0) if it never does."""
    import numpy as np

    with wave.open(str(path), "rb") as w:
        rate, channels = w.getframerate(), w.getnchannels()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    if data.size == 0:
        return 0.0, 0.0
    frames = np.abs(data.reshape(-1, channels).astype(np.int32)).max(axis=1)
    window = max(1, rate // 100)
    n = len(frames) // window
    if n == 0:
        return 0.0, 0.0
    peaks = frames[: n * window].reshape(n, window).max(axis=1) / 32768.0
    loud = np.nonzero(peaks > SILENCE_FLOOR)[0]
    if loud.size == 0:
        return 0.0, 0.0
    return round(float(loud[0] * window / rate), 3), round(float((loud[-1] + 1) * window / rate), 3)


# -- the filtergraph -----------------------------------------------------------------------


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def _duck_expression(speech: Sequence[tuple[float, float]], depth_db: float) -> str | None:
    """A ``volume`` expression: 1 outside speech, ``-depth_db`` during it, with short ramps."""
    if not speech or depth_db <= 0:
        return None
    floor = 10 ** (-depth_db / 20)
    ramps = [
        f"clip(min((t-{a - DUCK_ATTACK:.3f})/{DUCK_ATTACK},({b + DUCK_RELEASE:.3f}-t)/{DUCK_RELEASE}),0,1)"
        for a, b in sorted(speech)
    ]
    expr = ramps[0]
    for r in ramps[1:]:
        expr = f"max({expr},{r})"
    return f"1-{1 - floor:.5f}*{expr}"


def _sum(labels: list[str], out: str) -> str:
    if len(labels) == 1:
        return f"{labels[0]}anull[{out}]"
    return f"{''.join(labels)}amix=inputs={len(labels)}:normalize=0:duration=first:dropout_transition=0[{out}]"


def stem_graph(
    sounds: Sequence[Sound], lay: Layout, speech: Sequence[tuple[float, float]]
) -> tuple[list[list[str]], str]:
    """(ffmpeg input arguments, filtergraph) that make the labelled stems [dialogue] [effects] [music] and [mix]."""
    inputs: list[list[str]] = []
    parts: list[str] = []
    total = lay.total
    silence = f"anullsrc=r={RATE}:cl=stereo"

    def add_input(s: Sound) -> int:
        args = ["-i", str(s.path)]
        if s.stem == "music" and s.length and s.file_seconds and s.file_seconds < s.length:
            args = ["-stream_loop", "-1", *args]
        inputs.append(args)
        return len(inputs) - 1

    fmt = f"aresample={RATE},aformat=sample_fmts=fltp:channel_layouts=stereo"
    # dialogue
    labels = ["[d0]"]
    parts.append(f"{silence}:d={total:.6f}[d0]")
    for s in (s for s in sounds if s.stem == "dialogue"):
        k = add_input(s)
        parts.append(f"[{k}:a]{fmt},volume={s.level}dB,adelay={_ms(s.start)}:all=1[s{k}]")
        labels.append(f"[s{k}]")
    parts.append(_sum(labels, "dialogue"))
    # effects (and the clips' own sound): one bed per clip, joined like the clips
    parts += _beds(sounds, "effects", lay, add_input, fmt)
    if any(s.stem == "native" for s in sounds):
        parts += _beds(sounds, "native", lay, add_input, fmt)
    # music
    labels = ["[m0]"]
    parts.append(f"{silence}:d={total:.6f}[m0]")
    for s in (s for s in sounds if s.stem == "music"):
        k = add_input(s)
        length = min(s.length or s.file_seconds or total, total - s.start)
        fade_in, fade_out = min(s.fade_in, length / 2), min(s.fade_out, length / 2)
        chain = f"[{k}:a]{fmt},atrim=0:{length:.6f},asetpts=PTS-STARTPTS"
        if fade_in:
            chain += f",afade=t=in:d={fade_in:.6f}"
        if fade_out:
            chain += f",afade=t=out:st={length - fade_out:.6f}:d={fade_out:.6f}"
        chain += f",volume={s.level}dB,adelay={_ms(s.start)}:all=1"
        ducking = _duck_expression(speech, s.duck)
        if ducking:
            chain += f",volume='{ducking}':eval=frame"
        parts.append(f"{chain}[s{k}]")
        labels.append(f"[s{k}]")
    parts.append(_sum(labels, "music"))
    # the sum, and a copy of each stem for its file
    made = stems_of(sounds)
    for stem in made:
        parts.append(f"[{stem}]asplit=2[{stem}_out][{stem}_mix]")
    mixed = "".join(f"[{stem}_mix]" for stem in made)
    parts.append(f"{mixed}amix=inputs={len(made)}:normalize=0:duration=first[mix]")
    return inputs, ";".join(parts)


def stems_of(sounds: Sequence[Sound]) -> tuple[Stem, ...]:
    """The stems a mix of ``sounds`` makes: dialogue, effects and music always; native when a clip has sound."""
    return tuple(s for s in STEMS if s != "native" or any(x.stem == "native" for x in sounds))


def _beds(sounds: Sequence[Sound], stem: Stem, lay: Layout, add_input: Callable[[Sound], int], fmt: str) -> list[str]:
    """Filters making ``[stem]``: one bed per clip, as long as the clip, holding that clip's sounds,
    the beds joined the way the clips are (crossfade, fade out and in, cut)."""
    parts, beds = [], []
    silence = f"anullsrc=r={RATE}:cl=stereo"
    tag = stem[0]
    for i, length in enumerate(lay.lengths):
        labels = [f"[{tag}z{i}]"]
        parts.append(f"{silence}:d={length:.6f}[{tag}z{i}]")
        for s in (s for s in sounds if s.stem == stem and s.shot == i):
            k = add_input(s)
            parts.append(
                f"[{k}:a]{fmt},atrim=0:{max(0.01, length - s.start):.6f},volume={s.level}dB,"
                f"adelay={_ms(s.start)}:all=1[s{k}]"
            )
            labels.append(f"[s{k}]")
        parts.append(_sum(labels, f"{tag}b{i}"))
        beds.append(f"{tag}b{i}")
    acc, acc_len = beds[0], lay.lengths[0]
    for i in range(1, len(beds)):
        join, bed, length = lay.joins[i], beds[i], lay.lengths[i]
        if join.kind == "crossfade":
            d = join.overlap / lay.fps
            parts.append(f"[{acc}][{bed}]acrossfade=d={float(d):.6f}:c1=tri:c2=tri[{tag}j{i}]")
            acc_len += length - float(d)
        else:
            if join.kind == "fade":
                tail, head = float(join.tail / lay.fps), float(join.head / lay.fps)
                parts.append(f"[{acc}]afade=t=out:st={acc_len - tail:.6f}:d={tail:.6f}[{tag}fo{i}]")
                parts.append(f"[{bed}]afade=t=in:d={head:.6f}[{tag}fi{i}]")
                acc, bed = f"{tag}fo{i}", f"{tag}fi{i}"
            parts.append(f"[{acc}][{bed}]concat=n=2:v=0:a=1[{tag}j{i}]")
            acc_len += length
        acc = f"{tag}j{i}"
    parts.append(f"[{acc}]atrim=0:{lay.total:.6f},apad=whole_dur={lay.total:.6f}[{stem}]")
    return parts


def render_stems(
    sounds: Sequence[Sound], lay: Layout, speech: Sequence[tuple[float, float]], stems: dict[Stem, Path], premix: Path
) -> float:
    """Write each stem and their sum (before the master gain) as 48 kHz stereo WAV; the sum's integrated loudness.

    The sum is measured (``ebur128``) on its way to its file, in the same ffmpeg run.
    """
    inputs, graph = stem_graph(sounds, lay, speech)
    args: list[str] = []
    for a in inputs:
        args += a
    args += ["-filter_complex", f"{graph};[mix]{meter()}[measured]"]
    for stem in stems_of(sounds):
        args += ["-map", f"[{stem}_out]", "-c:a", "pcm_s16le", "-ar", str(RATE), str(stems[stem])]
    args += ["-map", "[measured]", "-c:a", "pcm_f32le", "-ar", str(RATE), str(premix)]
    return run_measured(args, "mixing the stems")[0]


def mux(video: Path, premix: Path, out: Path, total: float, subtitles: Path | None, settings: Master) -> None:
    """The film: ``video``'s picture stream-copied, the mix mastered by ``settings`` as AAC, and a mov_text track."""
    args = ["-v", "error", "-i", str(video), "-i", str(premix)]
    if subtitles is not None:
        args += ["-i", str(subtitles)]
    args += ["-filter_complex", f"[1:a]{settings.chain()},atrim=0:{total:.6f},apad=whole_dur={total:.6f}[a]",
             "-map", "0:v:0", "-map", "[a]"]  # fmt: skip
    if subtitles is not None:
        args += ["-map", "2:0", "-c:s", "mov_text", "-metadata:s:s:0", "language=eng"]
    args += ["-c:v", "copy", "-c:a", "aac", "-b:a", "192k", "-ar", str(RATE), "-map_metadata", "0",
             "-movflags", "+faststart", "-f", "mp4", "-y", str(out)]  # fmt: skip
    run_ffmpeg(args, what="muxing the sound onto the film")


def mix_film(
    video: Path,
    out: Path,
    sounds: Sequence[Sound],
    lay: Layout,
    speech: Sequence[tuple[float, float]],
    *,
    target: float,
    true_peak: float,
    stems: dict[Stem, Path],
    workdir: Path,
    subtitles: Path | None = None,
) -> MixReport:
    """Mix ``sounds`` into stems, master them to ``target`` LUFS and write ``out`` = picture of ``video`` + sound."""
    workdir.mkdir(parents=True, exist_ok=True)
    premix = workdir / "premix.wav"
    report = MixReport(stems=dict(stems))
    try:
        report.measured_before = render_stems(sounds, lay, speech, stems, premix)
        settings = master(premix, target, true_peak - PEAK_MARGIN, report.measured_before)
        mux(video, premix, out, lay.total, subtitles, settings)
    finally:
        premix.unlink(missing_ok=True)
    report.loudness, report.true_peak = measure_loudness(out)
    return report
