"""Probing clips with PyAV (in-process, no ffprobe): stream facts, frame counts, packet scans."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from storyboard.errors import MediaError


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
            if stream.time_base is None:
                raise ValueError("the video stream has no time base")
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
