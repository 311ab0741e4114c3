"""Small media primitives: the ffmpeg binary, running it, probing clips, extracting frames.

The ffmpeg binary always comes from the ``imageio-ffmpeg`` wheel; no system ffmpeg is assumed.
Probing uses PyAV (in-process, no ffprobe needed).
"""

from __future__ import annotations

import functools
import os
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .errors import MediaError


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary shipped by imageio-ffmpeg."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args: list[str], *, timeout: float = 600.0, what: str = "ffmpeg") -> None:
    """Run ffmpeg with ``args`` (without the binary), quietly; raise MediaError with its stderr tail."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"{what}: ffmpeg did not finish within {timeout:.0f} s") from exc
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-8:]
        raise MediaError(f"{what}: ffmpeg failed (exit {proc.returncode}): " + " | ".join(tail))


@dataclass(frozen=True, slots=True)
class ClipInfo:
    """What stitching needs to know about a clip's streams."""

    path: Path
    duration: float  # seconds, of the video stream
    frames: int  # number of video frames (exact when the container says so, else estimated)
    width: int
    height: int
    fps: Fraction
    codec: str
    pix_fmt: str
    time_base: Fraction
    extradata: bytes  # codec parameters (avcC: SPS/PPS) — equal bytes mean stream copy is safe
    has_audio: bool
    audio_codec: str | None = None
    audio_rate: int | None = None
    audio_channels: int | None = None

    def video_signature(self) -> tuple:
        """Everything that must be equal for two clips' video to be joined by stream copy."""
        return (self.codec, self.width, self.height, self.pix_fmt, self.fps, self.time_base, self.extradata)

    def audio_signature(self) -> tuple:
        """Everything that must be equal for two clips' audio to be joined by stream copy."""
        return (self.has_audio, self.audio_codec, self.audio_rate, self.audio_channels)


def probe(path: Path) -> ClipInfo:
    """Read a clip's stream parameters with PyAV; MediaError if it is not a playable video."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError(f"{path}: no video stream")
            v = container.streams.video[0]
            ctx = v.codec_context
            fps = Fraction(v.average_rate or v.guessed_rate or 0)
            tb = Fraction(v.time_base) if v.time_base else Fraction(0)
            if v.duration is not None and v.time_base:
                duration = float(v.duration * v.time_base)
            elif container.duration:
                duration = container.duration / 1_000_000
            else:
                duration = 0.0
            frames = int(v.frames) if v.frames else int(round(duration * float(fps)))
            a = container.streams.audio[0] if container.streams.audio else None
            return ClipInfo(
                path=Path(path),
                duration=duration,
                frames=frames,
                width=ctx.width,
                height=ctx.height,
                fps=fps,
                codec=ctx.name,
                pix_fmt=str(ctx.pix_fmt or ""),
                time_base=tb,
                extradata=bytes(ctx.extradata or b""),
                has_audio=a is not None,
                audio_codec=a.codec_context.name if a is not None else None,
                audio_rate=a.codec_context.sample_rate if a is not None else None,
                audio_channels=a.codec_context.channels if a is not None else None,
            )
    except MediaError:
        raise
    except Exception as exc:  # av raises many kinds for damaged files
        raise MediaError(f"{path}: not a readable video ({exc.__class__.__name__}: {exc})") from exc


def count_frames(path: Path) -> tuple[int, float]:
    """Decode the whole clip and return (frames, seconds) — the ground truth, slower than probe."""
    import imageio_ffmpeg

    try:
        return imageio_ffmpeg.count_frames_and_secs(str(path))
    except Exception as exc:
        raise MediaError(f"{path}: cannot count frames ({exc})") from exc


def extract_last_frame(clip: Path, dest: Path) -> Path:
    """Write the clip's last video frame as a PNG at ``dest`` (atomically) and return ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp.png")
    try:
        # -sseof seeks close to the end; -update 1 keeps overwriting, so the last decoded frame remains.
        run_ffmpeg(
            ["-sseof", "-1.5", "-i", str(clip), "-map", "0:v:0", "-update", "1", "-q:v", "1", str(tmp)],
            what=f"last frame of {clip.name}",
        )
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise MediaError(f"{clip}: no frame could be extracted")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest
