"""Stitch generated clips into one film.

Semantics of ``transitions[i]``, the passage into ``clips[i]`` from ``clips[i-1]``
(``transitions[0]`` is ignored):

* ``cut`` joins the clips end to start.
* ``crossfade`` of d seconds overlaps the last d seconds of clip i-1 with the first d seconds of
  clip i, blending one into the other; the film is d shorter than the sum of the clips.
* ``fade`` of d seconds dips to black: the last d/2 of clip i-1 fade out to black, the first d/2
  of clip i fade in from black; nothing overlaps and the film keeps the clips' total length.

Durations become whole frames of the film's frame rate, and the film's video has exactly the sum
of the clips' frames minus the crossfade overlaps, with no gap. A transition longer than either
clip it touches, or longer than half a clip that has a transition on both sides, is a ValueError.

The film takes the first clip's size, frame rate and pixel format if it is H.264 yuv420p, else
1280×720, 24 fps, yuv420p; given the film's aspect ratio, the first clip *of that ratio* (or, if
none has it, a frame of that ratio as long as the first clip's longer side). ``shapers`` can
exclude clips from giving the shape (title cards: the generated clips set it). Clips whose video could not be stream-copied next to the others
(another codec, size, rate, pixel format, time base or H.264 parameter sets) are first
*normalised*: re-encoded by the house encoder (:func:`storyboard.media.ffmpeg.house_video_args`) to the
film's shape, scaled with the aspect ratio kept and padded. A stream has one set of parameters,
so when any clip is normalised and the others do not carry the house encoder's SPS/PPS, they are
all normalised. If any clip has sound the film has sound: clips without get silence, and every
clip's sound is cut or padded to its picture.

Three ways of making the film, reported as ``StitchReport.method``:

* ``copy`` — all cuts: every packet is stream-copied (after normalising the odd clips). Each
  clip's sound starts with its picture; AAC's priming makes joins overlap by under 21 ms.
* ``smart`` — crossfades or fades: only a window around each transition is re-encoded, from the
  last keyframe before it to the first keyframe after it, and the rest is stream-copied. The
  windows come from the house encoder, so only house-encoded clips can be copied; any other
  clip is normalised inside the windows (re-encoded once, whole). The sound is rendered once
  for the whole film, exactly as long as the picture.
* ``reencode`` — as ``smart`` when no part of any clip can be copied (e.g. one keyframe a clip).

``out`` is written atomically; nothing is left at ``out`` if stitching fails. The planning
lives in :mod:`.stitch_plan` (pure), the ffmpeg encodes in :mod:`.stitch_encode`, the packet
copying in :mod:`.stitch_mux`.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storyboard.errors import MediaError
from storyboard.media.ffmpeg import house_extradata
from storyboard.media.probe import ClipInfo, VideoScan, open_probed, scan_video
from storyboard.media.stitch_encode import (
    AudioTarget,
    Target,
    WindowInput,
    choose_audio,
    choose_target,
    conform_chain,
    encode_window,
    frames_in_film,
    normalise_clip,
    render_sound,
)
from storyboard.media.stitch_mux import (
    IrregularClip,
    Segment,
    SpliceError,
    assemble,
    copy_join,
    copy_packet_range,
)
from storyboard.media.stitch_plan import (
    CopyPart,
    Join,
    Part,
    Window,
    film_starts,
    plan_segments,
    resolve_joins,
)
from storyboard.plan import Transition


@dataclass
class StitchReport:
    """What :func:`stitch` made and how."""

    out: Path
    duration: float  # seconds of video
    frames: int
    width: int
    height: int
    fps: float
    method: str  # "copy" | "smart" | "reencode"
    normalised: list[Path] = field(default_factory=list)  # inputs that had to be re-encoded to fit the film
    reencoded_seconds: float = 0.0  # seconds of video re-encoded (normalising and windows)
    seconds: float = 0.0  # wall-clock time


def stitch(
    clips: Sequence[Path],
    transitions: Sequence[Transition],
    out: Path,
    *,
    workdir: Path,
    fps: int | None = None,
    aspect: tuple[int, int] | None = None,
    shapers: Sequence[bool] | None = None,
) -> StitchReport:
    """Join ``clips`` with ``transitions`` into the film ``out`` (see the module docstring).

    ``aspect`` is the film's frame (``(16, 9)``); clips of another ratio are padded into it.
    ``shapers`` marks the clips that may give the film its shape (default: all): a card drawn
    locally must not bring a film of generated 1080p clips down to its own 720p.
    """
    started = time.perf_counter()
    clips = [Path(c) for c in clips]
    if not clips:
        raise ValueError("nothing to stitch: no clips given")
    if len(transitions) != len(clips):
        raise ValueError(f"{len(clips)} clips but {len(transitions)} transitions; give one transition per clip")
    opened, infos = _open_clips(clips)
    scratch = partial = None
    try:
        target = choose_target(infos, fps, aspect, shapers)
        joins = resolve_joins(transitions, [i.duration for i in infos], target.fps)
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        Path(workdir).mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="stitch-", dir=workdir))
        handle, name = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".partial.mp4", dir=out.parent)
        os.close(handle)
        partial = Path(name)
        job = _Job(clips, infos, joins, target, choose_audio(infos), scratch, partial)
        if all(j.kind == "cut" for j in joins):
            method = job.copy(opened)
        else:
            _close(opened)
            method = job.smart()
        frames = _check_film(partial, job.expected_frames, job.target)
        os.replace(partial, out)
    finally:
        _close(opened)
        if partial is not None:
            partial.unlink(missing_ok=True)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return StitchReport(
        out=out,
        duration=float(frames / job.target.fps),
        frames=frames,
        width=job.target.width,
        height=job.target.height,
        fps=float(job.target.fps),
        method=method,
        normalised=[clips[i] for i in sorted(job.normalised)],
        reencoded_seconds=float(job.reencoded_frames / job.target.fps),
        seconds=time.perf_counter() - started,
    )


def _open_clips(clips: Sequence[Path]) -> tuple[list[Any], list[ClipInfo]]:
    """Open every clip once with PyAV and read its parameters (the copy path reuses the containers)."""
    opened: list[Any] = []
    infos: list[ClipInfo] = []
    try:
        for path in clips:
            container, info = open_probed(path)
            opened.append(container)
            infos.append(info)
    except BaseException:
        _close(opened)
        raise
    return opened, infos


def _close(containers: list[Any]) -> None:
    for container in containers:
        try:
            container.close()
        except Exception:  # already closed, or broken beyond use
            pass
    containers.clear()


def _check_film(path: Path, expected: int, target: Target) -> int:
    """The film's frame count, after checking it against the plan (MediaError if they differ)."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            frames, width, height = stream.frames, stream.codec_context.width, stream.codec_context.height
    except Exception as exc:
        raise MediaError(f"the stitched film cannot be read back ({exc})") from exc
    if frames != expected or (width, height) != (target.width, target.height):
        raise MediaError(
            f"the stitched film has {frames} frames of {width}×{height}, expected {expected} of {target.width}×{target.height}"
        )
    return frames


def _run_parallel(tasks: Sequence[Callable[[], object]]) -> None:
    """Run tasks (mostly ffmpeg processes) a few at a time; re-raise the first failure."""
    if not tasks:
        return
    with ThreadPoolExecutor(max_workers=min(len(tasks), max(2, min(8, os.cpu_count() or 2)))) as pool:
        futures = [pool.submit(t) for t in tasks]
        try:
            for future in futures:
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()  # those already running finish; the rest never start
            raise


class _Job:
    """One stitch in progress: the clips as they are now (some normalised) and what was done to them."""

    def __init__(
        self,
        clips: list[Path],
        infos: list[ClipInfo],
        joins: list[Join],
        target: Target,
        audio: AudioTarget | None,
        scratch: Path,
        partial: Path,
    ):
        self.originals, self.infos, self.joins, self.target, self.audio = clips, infos, joins, target, audio
        self.paths = list(clips)
        self.frames = [info.frames for info in infos]  # each clip's frame count, as its header says
        self.scratch, self.partial = scratch, partial
        self.normalised: set[int] = set()
        self.reencoded_frames = 0
        self.expected_frames = 0

    def _normalise(self, i: int, *, video: bool) -> None:
        dest = self.scratch / f"norm{i:03d}{'v' if video else 'a'}.mp4"
        frames = normalise_clip(self.originals[i], self.infos[i], dest, self.target, self.audio, video=video)
        self.paths[i], self.frames[i] = dest, frames
        self.normalised.add(i)
        if video:
            self.reencoded_frames += frames

    def copy(self, opened: list[Any]) -> str:
        """All cuts: stream-copy every clip (reusing ``opened``), after normalising those that need it."""
        infos = self.infos
        odd = {i for i, info in enumerate(infos) if info.video_signature() != self.target.signature()}
        if odd and self.target.extradata != house_extradata(self.target.width, self.target.height, self.target.fps):
            self.target = self.target.house()  # normalised clips will carry the house SPS/PPS: so must all
            odd = {i for i, info in enumerate(infos) if info.video_signature() != self.target.signature()}
        deaf: set[int] = set()
        if self.audio is not None:
            deaf = {i for i, info in enumerate(infos) if not self.audio.fits(info, self._seconds(i))}
            if deaf and self.audio.extradata != self.audio.house().extradata:
                self.audio = self.audio.house()
                deaf = {i for i, info in enumerate(infos) if not self.audio.fits(info, self._seconds(i))}
        _run_parallel([functools.partial(self._normalise, i, video=i in odd) for i in sorted(odd | deaf)])
        sources: list[Path | Any] = [c if i not in self.normalised else self.paths[i] for i, c in enumerate(opened)]
        opened.clear()  # copy_join closes them
        for _ in range(len(self.paths) + 1):
            try:
                counts = copy_join(
                    sources, self.partial, frame_ticks=self.target.frame_ticks, audio=self.audio is not None
                )
            except IrregularClip as exc:
                _close([c for c in sources if not isinstance(c, Path)])
                if exc.index in odd:
                    raise MediaError(
                        f"{self.originals[exc.index]}: cannot be joined even after normalising ({exc})"
                    ) from exc
                odd.add(exc.index)
                self._normalise(exc.index, video=True)
                sources = list(self.paths)
                continue
            except MediaError:
                raise
            except Exception as exc:  # av errors from the muxer
                raise MediaError(f"joining the clips failed ({exc.__class__.__name__}: {exc})") from exc
            for i, count in enumerate(counts):
                if count != self.frames[i]:
                    raise MediaError(
                        f"{self.originals[i]}: only {count} of its {self.frames[i]} frames could be read; is it damaged?"
                    )
            self.expected_frames = sum(counts)
            return "copy"
        raise MediaError("joining the clips failed: clips kept needing normalisation")

    def _seconds(self, i: int) -> float:
        return float(frames_in_film(self.infos[i], self.target) / self.target.fps)

    def smart(self) -> str:
        """Transitions: re-encode windows around them, stream-copy the rest (see the module docstring).

        House-encoded clips are cut by packet at their keyframes. Any other clip is normalised
        inside the windows: it has no copied part, so all of it is re-encoded, once.
        """
        t = self.target = self.target.house()
        scans: list[VideoScan | None] = []
        for i, info in enumerate(self.infos):
            scan = scan_video(self.paths[i]) if info.video_signature() == t.signature() else None
            if scan is not None and not (
                scan.regular and scan.extradata == t.extradata and scan.frame_ticks == t.frame_ticks
            ):
                scan = None
            if scan is None:
                self.normalised.add(i)
            scans.append(scan)
        frames = [s.frames if s is not None else frames_in_film(info, t) for s, info in zip(scans, self.infos)]
        cut_points = [s.cut_points if s is not None else () for s in scans]
        self.expected_frames = film_starts(frames, self.joins)[1]
        sound = self.scratch / "sound.m4a" if self.audio is not None else None
        parts = plan_segments(frames, cut_points, self.joins)
        try:
            self._render(parts, scans, frames, sound, render_sound_too=True)
        except SpliceError:
            if not any(isinstance(p, CopyPart) for p in parts):
                raise
            parts = plan_segments(frames, cut_points, self.joins, copy=False)  # re-encode it all instead
            self.reencoded_frames = 0
            self._render(parts, scans, frames, sound, render_sound_too=False)
        return "smart" if any(isinstance(p, CopyPart) for p in parts) else "reencode"

    def _render(
        self,
        parts: Sequence[Part],
        scans: Sequence[VideoScan | None],
        frames: Sequence[int],
        sound: Path | None,
        *,
        render_sound_too: bool,
    ) -> None:
        """Encode the windows (and the sound) in parallel, then splice windows and copied parts."""
        t = self.target
        windows = [p for p in parts if isinstance(p, Window)]
        encoded = [self.scratch / f"w{k:03d}.mp4" for k in range(len(windows))]
        tasks: list[Callable[[], object]] = []
        if render_sound_too and sound is not None and self.audio is not None:
            audio = self.audio
            tasks.append(lambda: render_sound(self.originals, self.infos, frames, self.joins, t, audio, sound))
        for k in sorted(range(len(windows)), key=lambda k: -windows[k].frames):
            tasks.append(functools.partial(self._encode_window, k, windows[k], scans, frames, encoded[k]))
        _run_parallel(tasks)
        segments, k = [], 0
        for part in parts:
            if isinstance(part, CopyPart):
                scan = scans[part.piece.clip]
                assert scan is not None
                segments.append(Segment(scan, part.piece.start, part.piece.end, part.film_start))
                continue
            scan = scan_video(encoded[k])
            if (
                scan.frames != part.frames
                or scan.extradata != t.extradata
                or not scan.regular
                or scan.frame_ticks != t.frame_ticks
            ):
                raise MediaError(
                    f"transition window {k + 1} came out wrong: {scan.frames} frames, expected {part.frames}"
                )
            segments.append(Segment(scan, 0, scan.frames, part.film_start))
            self.reencoded_frames += part.frames
            k += 1
        assemble(segments, sound, self.partial, frame_ticks=t.frame_ticks)

    def _encode_window(
        self, k: int, window: Window, scans: Sequence[VideoScan | None], frames: Sequence[int], dest: Path
    ) -> None:
        """Cut the window's pieces out (by packet when house-encoded, else whole and conformed) and encode them."""
        inputs = []
        for j, piece in enumerate(window.pieces):
            scan = scans[piece.clip]
            if scan is None:
                conform = conform_chain(self.target, frames[piece.clip])
                inputs.append(WindowInput(self.originals[piece.clip], piece.start, piece.end, conform))
                continue
            first = max(c for c in scan.cut_points if c <= piece.start)
            end = min((c for c in scan.cut_points if c >= piece.end), default=scan.frames)
            src = scan.path
            if (first, end) != (0, scan.frames):
                src = self.scratch / f"w{k:03d}p{j}.mp4"
                copy_packet_range(scan, first, end, src)
            inputs.append(WindowInput(src, piece.start - first, piece.end - first))
        encode_window(inputs, window.joins, self.target, dest, f"transition window {k + 1}")


__all__ = ["StitchReport", "stitch"]
