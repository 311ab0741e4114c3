"""Packet-level muxing for :mod:`storyboard.media.stitch` (PyAV, no decoding).

Three jobs: join whole clips by stream copy (the all-cuts path), copy a range of a clip's video
packets into a small file (the input of a re-encoded window), and assemble the film from copied
packet ranges, re-encoded windows and one audio track. Timestamps are rebuilt from frame
numbers, so the film's video is gapless and exactly as long as its frames.
"""

from __future__ import annotations

import contextlib
import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from storyboard.errors import MediaError
from storyboard.media.probe import VideoScan


class IrregularClip(MediaError):
    """A clip cannot be stream-copied as it is (found while copying); normalising it will fix that."""

    def __init__(self, index: int, reason: str):
        self.index = index
        super().__init__(f"clip {index + 1}: {reason}")


class SpliceError(MediaError):
    """Copied packets and re-encoded windows could not be joined into one valid stream."""


def _open_output(path: Path, *, faststart: bool = True) -> Any:
    """An MP4 for writing; the film gets its index up front (costs a rewrite, ~10 ms per 25 MB)."""
    import av

    return av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"} if faststart else {})


@dataclass
class _AudioClock:
    """Keeps an audio track's timestamps strictly increasing across joined clips."""

    last: int | None = None

    def place(self, packet: Any, pts: int) -> None:
        if self.last is not None and pts <= self.last:
            pts = self.last + 1  # an AAC priming packet overlapping the previous clip's end
        packet.pts = packet.dts = self.last = pts


def copy_join(clips: Sequence[Path | Any], out: Path, *, frame_ticks: int, audio: bool) -> list[int]:
    """Join whole clips (paths, or containers opened with PyAV) by stream copy; return their frame counts.

    Clip j's video starts exactly where clip j-1's frames end, its audio at the same instant.
    Raises :class:`IrregularClip` when a clip is not constant-rate, has hidden (edit-list) packets,
    does not start on a clean keyframe or has a deeper B-frame delay than the first clip.
    Containers passed in are closed.
    """
    import av

    counts: list[int] = []
    clock = _AudioClock()
    offset = 0  # film position of the current clip, in video ticks
    delay: int | None = None
    with _open_output(out) as output:
        vout = aout = None
        for j, clip in enumerate(clips):
            with clip if not isinstance(clip, Path) else av.open(str(clip)) as src:
                vin = src.streams.video[0]
                ain = src.streams.audio[0] if audio and src.streams.audio else None
                if audio and ain is None:
                    raise IrregularClip(j, "has no audio track")
                if vout is None:
                    vout = output.add_stream_from_template(vin)
                    aout = output.add_stream_from_template(ain) if ain is not None else None
                vtb = vin.time_base
                atb = ain.time_base if ain is not None else vtb
                if vtb is None or atb is None:
                    raise IrregularClip(j, "has a stream without a time base")
                start = vin.start_time or 0  # pts of the first frame shown
                shift = offset - start  # video ticks added to this clip's timestamps
                ashift = round(Fraction(shift) * Fraction(vtb) / Fraction(atb)) if ain is not None else 0
                shown: list[int] = []
                video_index = vin.index
                for packet in src.demux([vin] if ain is None else [vin, ain]):
                    if packet.size == 0:
                        continue
                    if packet.stream_index == video_index:
                        pts, dts = packet.pts, packet.dts
                        if pts is None or dts is None or packet.is_discard:
                            raise IrregularClip(j, "has video packets without timestamps or hidden by an edit list")
                        if not shown:
                            if not packet.is_keyframe or pts != start:
                                raise IrregularClip(j, "does not start with a keyframe")
                            if delay is None:
                                delay = pts - dts
                            elif pts - dts > delay:
                                raise IrregularClip(j, "reorders frames more deeply than the first clip")
                        elif pts < start:
                            raise IrregularClip(j, "shows a frame before its first keyframe")
                        shown.append(pts)
                        packet.pts, packet.dts = pts + shift, dts + shift
                        packet.stream = vout
                    else:
                        if packet.pts is None:
                            raise IrregularClip(j, "has audio packets without timestamps")
                        clock.place(packet, packet.pts + ashift)
                        packet.stream = aout
                    output.mux(packet)
                shown.sort()
                if not shown or any(b - a != frame_ticks for a, b in zip(shown, shown[1:])):
                    raise IrregularClip(j, "is not at a constant frame rate")
                counts.append(len(shown))
                offset += len(shown) * frame_ticks
    return counts


def copy_packet_range(scan: VideoScan, first: int, end: int, dest: Path) -> None:
    """Write video packets ``[first, end)`` (decode order, from a cut point) of a clip to ``dest``."""
    import av

    base = scan.pts[first]
    with av.open(str(scan.path)) as src, _open_output(dest, faststart=False) as output:
        vin = src.streams.video[0]
        vout = output.add_stream_from_template(vin)
        index = 0
        for packet in src.demux(vin):
            if packet.size == 0 or packet.pts is None or packet.dts is None or packet.is_discard:
                continue  # the packets scan_video skips, so that indices count the same packets
            if first <= index < end:
                packet.pts -= base
                packet.dts -= base
                packet.stream = vout
                output.mux(packet)
            index += 1
            if index >= end:
                break


@dataclass(frozen=True, slots=True)
class Segment:
    """Video packets ``[first, end)`` (decode order) of a scanned file, placed at film frame ``film_start``."""

    scan: VideoScan
    first: int
    end: int
    film_start: int


def assemble(segments: Sequence[Segment], audio: Path | None, out: Path, *, frame_ticks: int) -> int:
    """Write the film from video segments (stream copy) and an optional audio file; return its frames.

    All segments must share time base and SPS/PPS. Decode timestamps are shifted by the deepest
    B-frame delay so they increase across segment boundaries; :class:`SpliceError` if they cannot.
    """
    import av

    first = segments[0].scan
    for seg in segments:
        if seg.scan.extradata != first.extradata or seg.scan.time_base != first.time_base:
            raise SpliceError(
                f"{seg.scan.path.name}: H.264 parameters differ from {first.path.name}; cannot join by copy"
            )
    delay = max(seg.scan.pts[seg.first] - seg.scan.dts[seg.first] for seg in segments)
    written = 0
    try:
        with _open_output(out) as output, _maybe_open(audio) as asrc, av.open(str(first.path)) as template:
            vout = output.add_stream_from_template(template.streams.video[0])
            aout = output.add_stream_from_template(asrc.streams.audio[0]) if asrc is not None else None
            streams: list[Iterator[tuple[Fraction, Any]]] = [_video_packets(segments, vout, delay, frame_ticks)]
            if asrc is not None:
                streams.append(_audio_packets(asrc, aout))
            last_dts: int | None = None
            for _, packet in heapq.merge(*streams, key=lambda item: item[0]):
                if packet.stream is vout:
                    if (last_dts is not None and packet.dts <= last_dts) or packet.pts < packet.dts:
                        raise SpliceError(f"{out.name}: video timestamps would not increase at frame {written}")
                    last_dts = packet.dts
                    written += 1
                output.mux(packet)
    except MediaError:
        raise
    except Exception as exc:  # av errors from the muxer
        raise SpliceError(f"assembling the film failed ({exc.__class__.__name__}: {exc})") from exc
    return written


def _maybe_open(path: Path | None) -> Any:
    import av

    return av.open(str(path)) if path is not None else contextlib.nullcontext()


def _video_packets(
    segments: Sequence[Segment], vout: Any, delay: int, frame_ticks: int
) -> Iterator[tuple[Fraction, Any]]:
    import av

    for seg in segments:
        scan = seg.scan
        base_pts, base_dts = scan.pts[seg.first], scan.dts[seg.first]
        offset = seg.film_start * frame_ticks
        with av.open(str(scan.path)) as src:
            vin = src.streams.video[0]
            index = 0
            for packet in src.demux(vin):
                if packet.size == 0 or packet.pts is None or packet.dts is None or packet.is_discard:
                    continue  # the packets scan_video skips, so that indices count the same packets
                if index >= seg.first:
                    packet.pts = packet.pts - base_pts + offset
                    packet.dts = packet.dts - base_dts + offset - delay
                    packet.stream = vout
                    yield Fraction(packet.dts) * scan.time_base, packet
                index += 1
                if index >= seg.end:
                    break


def _audio_packets(src: Any, aout: Any) -> Iterator[tuple[Fraction, Any]]:
    ain = src.streams.audio[0]
    tb = Fraction(ain.time_base)
    for packet in src.demux(ain):
        if packet.size == 0 or packet.dts is None:
            continue
        packet.stream = aout
        yield Fraction(packet.dts) * tb, packet
