"""The film's format and the ffmpeg encodes of :mod:`storyboard.media.stitch`.

:class:`Target` and :class:`AudioTarget` say what every clip must look like to be stream-copied
into the film; the functions below re-encode what does not: a whole clip (normalising), a
window around transitions, or the film's whole sound track. Video always comes from the house
encoder (:func:`storyboard.media.ffmpeg.house_video_args`), sound from the house AAC encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from storyboard.media.ffmpeg import (
    house_audio_args,
    house_audio_extradata,
    house_extradata,
    house_video_args,
    run_ffmpeg,
)
from storyboard.media.probe import ClipInfo
from storyboard.media.stitch_plan import (
    Join,
    audio_filtergraph,
    sample_at,
    window_filtergraph,
)

DEFAULT_SIZE = (1280, 720)
DEFAULT_FPS = Fraction(24)
DEFAULT_AUDIO = (48000, 2)


@dataclass(frozen=True, slots=True)
class Target:
    """The film's picture: size, frame rate, MP4 time base and the SPS/PPS copied clips must carry."""

    width: int
    height: int
    fps: Fraction
    time_base: Fraction
    extradata: bytes | None = None

    @property
    def frame_ticks(self) -> int:
        """Length of one frame in time-base ticks (a whole number by construction)."""
        return int(1 / (self.fps * self.time_base))

    def signature(self) -> tuple:
        """The :meth:`ClipInfo.video_signature` a clip needs to be copied into this film."""
        return ("h264", self.width, self.height, "yuv420p", self.fps, self.time_base, self.extradata)

    def house(self) -> Target:
        """This shape with the house encoder's SPS/PPS."""
        return Target(
            self.width, self.height, self.fps, self.time_base, house_extradata(self.width, self.height, self.fps)
        )


@dataclass(frozen=True, slots=True)
class AudioTarget:
    """The film's sound: AAC at this rate and channel count, with this AudioSpecificConfig."""

    rate: int
    channels: int
    extradata: bytes

    @property
    def layout(self) -> str:
        """ffmpeg's name of the channel layout."""
        return {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels}c")

    def fits(self, info: ClipInfo, seconds: float) -> bool:
        """Whether a clip's sound can be copied as it is: same layout, as long as its picture (``seconds``)."""
        if info.audio_signature() != (True, "aac", self.rate, self.channels, self.extradata):
            return False
        return info.audio_duration is not None and abs(info.audio_duration - seconds) <= 1024 / self.rate + 1e-3

    def house(self) -> AudioTarget:
        """This layout as the house AAC encoder writes it."""
        return AudioTarget(self.rate, self.channels, house_audio_extradata(self.rate, self.channels))


def default_time_base(fps: Fraction) -> Fraction:
    """The MP4 time base ffmpeg picks for a frame rate (at least 10000 ticks a second)."""
    den = fps.numerator
    while den < 10000:
        den *= 2
    return Fraction(1, den)


def choose_target(
    infos: Sequence[ClipInfo],
    fps: int | None = None,
    aspect: tuple[int, int] | None = None,
    shapers: Sequence[bool] | None = None,
) -> Target:
    """The film's frame: the first clip's shape if it is H.264 yuv420p, else 1280×720 at 24 fps.

    With ``aspect`` (the film's ratio, e.g. ``(16, 9)``) the first clip *of that ratio* gives the
    shape; when no clip has it, the frame has that ratio and the first clip's longer side. Clips of
    another ratio are fitted inside the frame and padded, never cropped (:func:`conform_chain`).
    ``fps`` overrides the rate. ``shapers``: only the clips marked True may give the shape (a
    locally drawn title card follows the generated clips), unless none is marked.
    """
    if shapers is not None and any(shapers):
        shaping = [i for i, ok in zip(infos, shapers) if ok]
        if aspect is None or any(fits_aspect(i, aspect) for i in shaping):
            infos = [*shaping, *(i for i, ok in zip(infos, shapers) if not ok)]
    pool = [i for i in infos if aspect is None or fits_aspect(i, aspect)]
    first = pool[0] if pool else None
    if first is not None and first.codec == "h264" and first.pix_fmt == "yuv420p" and first.fps > 0:
        rate = Fraction(fps) if fps else first.fps
        tb = first.time_base
        keep = rate == first.fps and tb.numerator == 1 and (1 / (rate * tb)).denominator == 1
        if keep:
            return Target(first.width, first.height, rate, tb, first.extradata)
        return Target(first.width, first.height, rate, default_time_base(rate))
    lead = infos[0]
    rate = Fraction(fps) if fps else (lead.fps if lead.fps > 0 and lead.codec == "h264" else DEFAULT_FPS)
    if aspect is None or first is not None or min(lead.width, lead.height) <= 0:
        size = DEFAULT_SIZE if aspect is None or aspect == (16, 9) else frame_for(aspect, max(DEFAULT_SIZE))
    else:
        size = frame_for(aspect, max(lead.width, lead.height))
    return Target(*size, rate, default_time_base(rate))


def fits_aspect(info: ClipInfo, aspect: tuple[int, int]) -> bool:
    """True when the clip's picture has the ratio ``aspect`` (within 1 %)."""
    w, h = aspect
    return info.height > 0 and abs(info.width * h - info.height * w) <= 0.01 * info.height * w


def frame_for(aspect: tuple[int, int], long_side: int) -> tuple[int, int]:
    """A frame of ratio ``aspect`` whose longer side is ``long_side``, both sides even."""
    w, h = aspect

    def even(x: float) -> int:
        return max(2, int(round(x / 2)) * 2)

    if w >= h:
        return even(long_side), even(long_side * h / w)
    return even(long_side * w / h), even(long_side)


def choose_audio(infos: Sequence[ClipInfo]) -> AudioTarget | None:
    """None if no clip has sound, else the first sound's layout if it is AAC, else AAC 48 kHz stereo."""
    first = next((i for i in infos if i.has_audio), None)
    if first is None:
        return None
    if first.audio_codec == "aac" and first.audio_rate and first.audio_channels:
        return AudioTarget(first.audio_rate, first.audio_channels, first.audio_extradata)
    return AudioTarget(*DEFAULT_AUDIO, b"").house()


def frames_in_film(info: ClipInfo, target: Target) -> int:
    """How many frames the clip shows once conformed to the film's frame rate (its duration, in frames)."""
    return max(1, round(info.duration * target.fps))


def conform_chain(target: Target, frames: int) -> str:
    """Filters turning any clip's picture into the film's: scaled (aspect kept), padded, exactly ``frames``."""
    w, h, r = target.width, target.height, target.fps
    return (
        f"scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2,"
        f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={r.numerator}/{r.denominator},"
        f"format=yuv420p,tpad=stop_mode=clone:stop=-1,trim=end_frame={frames}"
    )


def _sound_chain(audio: AudioTarget, samples: int) -> str:
    fmt = f"aformat=sample_fmts=fltp:sample_rates={audio.rate}:channel_layouts={audio.layout}"
    return f"aresample={audio.rate}:async=1:first_pts=0,{fmt},atrim=end_sample={samples},apad=whole_len={samples}"


def normalise_clip(
    src: Path, info: ClipInfo, dest: Path, target: Target, audio: AudioTarget | None, *, video: bool
) -> int:
    """Write ``src`` as ``dest`` fit for stream copy into the film; return its frame count.

    With ``video`` the picture is re-encoded to ``target`` (else copied); the sound is re-encoded
    to ``audio`` (silence if the clip has none) and cut or padded to the picture, or dropped.
    """
    frames = frames_in_film(info, target) if video else info.frames
    graph: list[str] = []
    if video:
        graph.append(f"[0:v:0]{conform_chain(target, frames)}[v]")
        outputs = ["-map", "[v]", *house_video_args(target.width, target.height, target.fps, target.time_base)]
    else:
        outputs = ["-map", "0:v:0", "-c:v", "copy"]
    if audio is not None:
        samples = sample_at(frames, target.fps, audio.rate)
        if info.has_audio:
            graph.append(f"[0:a:0]{_sound_chain(audio, samples)}[a]")
        else:
            graph.append(f"anullsrc=r={audio.rate}:cl={audio.layout},{_sound_chain(audio, samples)}[a]")
        outputs += ["-map", "[a]", *house_audio_args(audio.rate, audio.channels)]
    else:
        outputs.append("-an")
    args = ["-i", str(src)] + (["-filter_complex", ";".join(graph)] if graph else [])
    run_ffmpeg([*args, *outputs, "-sn", "-dn", str(dest)], what=f"normalising {src.name}")
    return frames


@dataclass(frozen=True, slots=True)
class WindowInput:
    """One input of a window encode: a file, the frames to take from it, and filters to conform it first."""

    path: Path
    start: int
    end: int
    conform: str = ""


def encode_window(inputs: Sequence[WindowInput], joins: Sequence[Join], target: Target, dest: Path, what: str) -> None:
    """Join the inputs' frames with ``joins`` and encode them with the (fast) house encoder into ``dest``."""
    args: list[str] = []
    for item in inputs:
        args += ["-i", str(item.path)]
    graph = window_filtergraph([(i.start, i.end) for i in inputs], joins, target.fps, [i.conform for i in inputs])
    video = house_video_args(target.width, target.height, target.fps, target.time_base, fast=True)
    run_ffmpeg([*args, "-filter_complex", graph, "-map", "[v]", *video, "-an", str(dest)], what=what)


def render_sound(
    clips: Sequence[Path],
    infos: Sequence[ClipInfo],
    frames: Sequence[int],
    joins: Sequence[Join],
    target: Target,
    audio: AudioTarget,
    dest: Path,
) -> None:
    """The film's whole sound track: each clip's sound cut to its picture, joined like the picture."""
    args: list[str] = []
    inputs: list[int | None] = []
    for clip, info in zip(clips, infos):
        inputs.append(len(args) // 3 if info.has_audio else None)
        if info.has_audio:
            args += ["-vn", "-i", str(clip)]
    graph = audio_filtergraph(frames, joins, inputs, target.fps, audio.rate, audio.layout)
    run_ffmpeg(
        [*args, "-filter_complex", graph, "-map", "[a]", *house_audio_args(audio.rate, audio.channels), str(dest)],
        what="the film's sound",
    )
