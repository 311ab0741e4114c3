"""The ffmpeg binary, running it, and the house encoder every clip and film is made with.

The binary always comes from the ``imageio-ffmpeg`` wheel; no system ffmpeg is assumed.
"""

from __future__ import annotations

import functools
import subprocess
from fractions import Fraction
from pathlib import Path

from storyboard.errors import MediaError


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary shipped by imageio-ffmpeg."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args: list[str], *, timeout: float = 600.0, what: str = "ffmpeg", loglevel: str = "error") -> str:
    """Run ffmpeg with ``args`` (without the binary), quietly; raise MediaError with its stderr tail.

    Returns its log (stderr): empty at the default ``loglevel`` unless it warned; ``"info"`` for
    what filters such as ``ebur128`` print when they close.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", loglevel, "-y", *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"{what}: ffmpeg did not finish within {timeout:.0f} s") from exc
    log = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        tail = log.strip().splitlines()[-8:]
        raise MediaError(f"{what}: ffmpeg failed (exit {proc.returncode}): " + " | ".join(tail))
    return log


HOUSE_CRF = 18

HOUSE_AUDIO_BITRATE = "192k"

# (level, max frame size in macroblocks, max macroblocks per second), H.264 table A-1
_LEVELS: tuple[tuple[str, int, int], ...] = (
    ("4.0", 8192, 245760),
    ("4.2", 8704, 522240),
    ("5.1", 36864, 983040),
    ("5.2", 36864, 2073600),
    ("6.2", 139264, 16711680),
)


def h264_level(width: int, height: int, fps: Fraction) -> str:
    """The smallest H.264 level (at least 4.0) that fits this frame size and rate."""
    mbs = ((width + 15) // 16) * ((height + 15) // 16)
    for level, max_fs, max_mbps in _LEVELS:
        if mbs <= max_fs and mbs * fps <= max_mbps:
            return level
    return _LEVELS[-1][0]


def house_video_args(
    width: int, height: int, fps: Fraction, time_base: Fraction | None = None, *, fast: bool = False
) -> list[str]:
    """ffmpeg output options of the house H.264 encoder for a film of this shape.

    Every clip the house encoder writes for one shape has byte-identical SPS/PPS whatever the
    content, length or keyframe placement (``stitchable=1`` pins the PPS's initial QP; profile,
    level, reference frames, B-frames, CABAC, 8×8 transform, weighted prediction, colour tags
    and frame rate pin the rest), so its output can be stream-copied next to any other
    house-encoded clip of that shape. ``fast`` trades size for speed (x264 ``superfast`` instead
    of ``veryfast``: a coarser motion search, the same parameter sets) for short segments.
    """
    args = [
        "-c:v", "libx264", "-preset", "superfast" if fast else "veryfast", "-crf", str(HOUSE_CRF),
        "-profile:v", "high", "-level:v", h264_level(width, height, fps),
        "-x264-params", "stitchable=1", "-g", str(max(1, round(2 * fps))),
        "-pix_fmt", "yuv420p", "-r", _fraction_arg(fps),
        "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv",
    ]  # fmt: skip
    if time_base is not None and time_base.numerator == 1:
        args += ["-video_track_timescale", str(time_base.denominator)]
    return args


def house_audio_args(rate: int, channels: int) -> list[str]:
    """ffmpeg output options of the house AAC encoder."""
    return ["-c:a", "aac", "-b:a", HOUSE_AUDIO_BITRATE, "-ar", str(rate), "-ac", str(channels)]


def _fraction_arg(value: Fraction) -> str:
    value = Fraction(value)
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


@functools.cache
def house_extradata(width: int, height: int, fps: Fraction) -> bytes:
    """The SPS/PPS (avcC) the house encoder writes for this shape (learnt from a one-frame encode)."""
    return _tiny_encode_extradata(
        ["-f", "lavfi", "-i", f"color=black:s={width}x{height}:r={_fraction_arg(fps)}", "-frames:v", "1"]
        + house_video_args(width, height, fps),
        "video",
    )


@functools.cache
def house_audio_extradata(rate: int, channels: int) -> bytes:
    """The AudioSpecificConfig the house AAC encoder writes for this layout."""
    layout = "stereo" if channels == 2 else "mono" if channels == 1 else f"{channels}c"
    return _tiny_encode_extradata(
        ["-f", "lavfi", "-i", f"anullsrc=r={rate}:cl={layout}", "-t", "0.1"] + house_audio_args(rate, channels),
        "audio",
    )


def _tiny_encode_extradata(args: list[str], kind: str) -> bytes:
    import tempfile

    import av

    with tempfile.TemporaryDirectory(prefix="storyboard-house-") as tmp:
        out = Path(tmp) / "probe.mp4"
        run_ffmpeg([*args, str(out)], what=f"house {kind} encoder check")
        with av.open(str(out)) as container:
            stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
            return bytes(stream.codec_context.extradata or b"")
