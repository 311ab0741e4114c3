"""Small media primitives: the ffmpeg binary, running it, probing clips, extracting frames.

The ffmpeg binary always comes from the ``imageio-ffmpeg`` wheel; no system ffmpeg is assumed.
Probing uses PyAV (in-process, no ffprobe needed).
"""

from __future__ import annotations

import functools
import os
import subprocess
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

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
    audio_duration: float | None = None  # seconds, of the audio stream
    audio_extradata: bytes = b""  # codec parameters (AAC AudioSpecificConfig)

    def video_signature(self) -> tuple:
        """Everything that must be equal for two clips' video to be joined by stream copy."""
        return (self.codec, self.width, self.height, self.pix_fmt, self.fps, self.time_base, self.extradata)

    def audio_signature(self) -> tuple:
        """Everything that must be equal for two clips' audio to be joined by stream copy."""
        return (self.has_audio, self.audio_codec, self.audio_rate, self.audio_channels, self.audio_extradata)


def probe(path: Path) -> ClipInfo:
    """Read a clip's stream parameters with PyAV; MediaError if it is not a playable video."""
    container, info = open_probed(path)
    container.close()
    return info


def open_probed(path: Path) -> tuple[Any, ClipInfo]:
    """:func:`probe`, leaving the PyAV container open for the caller (who must close it)."""
    import av

    container = None
    try:
        container = av.open(str(path))
        return container, _clip_info(container, path)
    except BaseException as exc:
        if container is not None:
            container.close()
        if isinstance(exc, MediaError) or not isinstance(exc, Exception):
            raise
        raise MediaError(f"{path}: not a readable video ({exc.__class__.__name__}: {exc})") from exc


def _clip_info(container: Any, path: Path) -> ClipInfo:
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
        audio_duration=_stream_seconds(a) if a is not None else None,
        audio_extradata=bytes(a.codec_context.extradata or b"") if a is not None else b"",
    )


def _stream_seconds(stream: object) -> float | None:
    duration = getattr(stream, "duration", None)
    time_base = getattr(stream, "time_base", None)
    return float(duration * time_base) if duration is not None and time_base else None


def count_frames(path: Path) -> tuple[int, float]:
    """Decode the whole clip and return (frames, seconds) — the ground truth, slower than probe."""
    import imageio_ffmpeg

    try:
        return imageio_ffmpeg.count_frames_and_secs(str(path))
    except Exception as exc:
        raise MediaError(f"{path}: cannot count frames ({exc})") from exc


def extract_last_frame(clip: Path, dest: Path) -> Path:
    """Write the clip's last video frame as a PNG at ``dest`` (atomically) and return ``dest``.

    PyAV seeks to the keyframe before the last 1.5 s, decodes to the end and encodes only the
    final frame: 7-10x faster than ffmpeg's ``-sseof … -update 1``, which PNG-encodes every frame
    it decodes (the schedule benchmark waited on it between continuity shots).
    """
    import av

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{threading.get_ident()}.tmp.png")
    try:
        with av.open(str(clip)) as container:
            if not container.streams.video:
                raise MediaError(f"{clip}: no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if stream.duration and stream.time_base:
                end = float(stream.duration * stream.time_base)
            else:
                end = (container.duration or 0) / 1_000_000
            if end > 1.5 and stream.time_base:
                container.seek(int((end - 1.5) / stream.time_base), stream=stream, backward=True)
            last = None
            for frame in container.decode(stream):
                last = frame
            if last is None:
                raise MediaError(f"{clip}: no frame could be extracted")
            last.to_image().save(tmp, format="PNG", compress_level=3)
        os.replace(tmp, dest)
    except MediaError:
        raise
    except Exception as exc:  # av raises many kinds for damaged files
        raise MediaError(f"{clip}: cannot extract the last frame ({exc.__class__.__name__}: {exc})") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return dest


# ---------------------------------------------------------------------------------------------
# Stitching support: the house encoder, packet scans, packet-range remuxing.

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


@dataclass(frozen=True, slots=True)
class VideoScan:
    """A clip's video packets as stitching needs them, read by demuxing only (no decoding).

    Frames are numbered in display order. A *cut point* is a frame where the clip can be split
    by packets: an IDR picture, with every packet before it (in decode order) shown before it
    and every packet after it shown after it (closed GOP), so ``[k, k')`` between cut points is
    a self-contained packet range.
    """

    path: Path
    time_base: Fraction
    pts: tuple[int, ...]  # decode order
    dts: tuple[int, ...]  # decode order
    cut_points: tuple[int, ...]  # display-order frame numbers (equal to decode-order indices there)
    frame_ticks: int  # pts step between frames (time-base ticks)
    regular: bool  # constant frame rate, every packet shown, starts with a cut point
    extradata: bytes

    @property
    def frames(self) -> int:
        """Number of video frames."""
        return len(self.pts)

    @property
    def start_pts(self) -> int:
        """pts of the first frame shown."""
        return min(self.pts)


def scan_video(path: Path) -> VideoScan:
    """Demux a clip's video packets: timestamps, clean cut points, regularity; MediaError if unreadable."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            extradata = bytes(stream.codec_context.extradata or b"")
            length_size = (extradata[4] & 3) + 1 if len(extradata) > 4 and extradata[0] == 1 else 0
            pts: list[int] = []
            dts: list[int] = []
            idr: list[int] = []
            regular = True
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                if packet.pts is None or packet.dts is None or packet.is_discard:
                    regular = False
                    continue
                if packet.is_keyframe and (not length_size or _has_idr(bytes(packet), length_size)):
                    idr.append(len(pts))
                pts.append(packet.pts)
                dts.append(packet.dts)
            time_base = Fraction(stream.time_base)
    except Exception as exc:
        raise MediaError(f"{path}: cannot read video packets ({exc.__class__.__name__}: {exc})") from exc
    if not pts:
        raise MediaError(f"{path}: no video frames")
    cut_points = _clean_cut_points(pts, idr)
    shown = sorted(pts)
    steps = {b - a for a, b in zip(shown, shown[1:])}
    ticks = steps.pop() if len(steps) == 1 else (shown[1] - shown[0] if len(shown) > 1 else 1)
    if steps or len(set(shown)) != len(shown) or not cut_points or cut_points[0] != 0:
        regular = False
    return VideoScan(Path(path), time_base, tuple(pts), tuple(dts), cut_points, ticks, regular, extradata)


def _has_idr(data: bytes, length_size: int) -> bool:
    """Whether an AVCC (length-prefixed) H.264 access unit holds an IDR slice (NAL type 5)."""
    pos, end = 0, len(data)
    while pos + length_size < end:
        size = int.from_bytes(data[pos : pos + length_size], "big")
        if data[pos + length_size] & 0x1F == 5:
            return True
        pos += length_size + size
    return False


def _clean_cut_points(pts: list[int], idr: list[int]) -> tuple[int, ...]:
    """IDR packets that split the stream into closed ranges (see :class:`VideoScan`)."""
    n = len(pts)
    suffix_min = [0] * (n + 1)
    suffix_min[n] = 2**63
    for i in range(n - 1, -1, -1):
        suffix_min[i] = min(pts[i], suffix_min[i + 1])
    out: list[int] = []
    prefix_max = -(2**63)
    j = 0
    for i in range(n):
        if j < len(idr) and idr[j] == i:
            j += 1
            if prefix_max < pts[i] and suffix_min[i] == pts[i]:
                out.append(i)
        prefix_max = max(prefix_max, pts[i])
    return tuple(out)
