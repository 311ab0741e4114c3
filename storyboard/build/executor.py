"""Walk the plan: cache hit or backend call per shot, in dependency order, with bounded concurrency.

A shot starts as soon as the shots it continues from are done and their last frames extracted
(not when a whole "level" ends); among ready shots the one with the longest chain of work
behind it goes first. Last frames are extracted beside the generation slots, so ``jobs`` bounds
generations only. A failed shot skips only what depends on it. Ctrl-C sets the cancel flag,
waits briefly for running shots and keeps everything finished (the cache is written atomically).
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storyboard.backends.base import Backend, Progress, ShotJob
from storyboard.build.cache import Cache, place_file
from storyboard.build.outputs import Activity, ShotStatus
from storyboard.build.selection import shots_to_build
from storyboard.errors import BackendError, MediaError, StoryboardError, redact
from storyboard.graph import topological_shots
from storyboard.media.frames import extract_first_frame, extract_last_frame
from storyboard.media.probe import probe
from storyboard.plan import AssetRef, Plan, ShotPlan
from storyboard.util import atomic_write_json

DURATION_TOLERANCE = 0.5  # seconds a generated clip may differ from the requested duration


@dataclass(slots=True)
class ShotResult:
    """What happened to one shot in this build."""

    id: str
    key: str
    status: ShotStatus
    seconds: float = 0.0
    error: str | None = None
    clip: Path | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """A state change or progress line about a shot, for the display."""

    shot_id: str
    state: ShotStatus | Activity
    message: str = ""
    queue_position: int | None = None


EventSink = Callable[[Event], None]


@dataclass
class ExecuteOptions:
    """How to run the plan."""

    jobs: int = 2
    force: frozenset[str] = frozenset()  # shot ids to regenerate even when cached
    only: frozenset[str] | None = None  # shot ids to build (None: all)


class Executor:
    """Runs a plan's shots through a backend and the cache; produces one ShotResult per shot."""

    def __init__(
        self,
        plan: Plan,
        backend: Backend,
        cache: Cache,
        shots_dir: Path,
        options: ExecuteOptions,
        on_event: EventSink = lambda e: None,
    ):
        self.plan, self.backend, self.cache, self.shots_dir = plan, backend, cache, shots_dir
        self.options = options
        self.on_event = on_event
        self.cancel = threading.Event()
        self.by_id = plan.by_id()
        self.dependents: dict[str, list[str]] = {s.id: [] for s in plan.shots}
        for s in plan.shots:
            for up in s.depends_on:
                self.dependents[up].append(s.id)
        self.priority = self._priorities()
        self._lock = threading.Lock()
        self._frame_locks: dict[str, threading.Lock] = {}
        self._key_locks: dict[str, threading.Lock] = {}
        self.results: dict[str, ShotResult] = {}  # filled as shots finish, kept if the run is interrupted

    def _priorities(self) -> dict[str, float]:
        """Seconds of generation on the longest chain starting at each shot (critical path first)."""
        memo: dict[str, float] = {}
        deps = {s.id: s.depends_on for s in self.plan.shots if s.depends_on}
        for sid in reversed(topological_shots(deps, [s.id for s in self.plan.shots]) or []):
            memo[sid] = self.by_id[sid].duration + max((memo[d] for d in self.dependents[sid]), default=0.0)
        return memo

    def selected(self) -> list[ShotPlan]:
        """The shots this run builds: the selection plus uncached shots whose frames it needs."""
        return shots_to_build(self.plan, self.options.only, self.cache)

    # -- the loop ------------------------------------------------------------------------
    def run(self) -> dict[str, ShotResult]:
        """Build the selected shots; returns results by shot id (KeyboardInterrupt propagates)."""
        shots = self.selected()
        todo = {s.id for s in shots}
        waiting_on = {s.id: {u for u in s.depends_on if u in todo} for s in shots}
        ready: list[tuple[float, int, str]] = []
        for s in shots:
            if not waiting_on[s.id]:
                heapq.heappush(ready, (-self.priority[s.id], s.index, s.id))
            else:
                self.on_event(Event(s.id, Activity.WAITING, "after " + ", ".join(sorted(waiting_on[s.id]))))
        running: dict[Future[ShotResult], str] = {}
        # Last frames are extracted outside the generation slots: a shot's slot is free for the next
        # generation as soon as its clip is stored, and the shots continuing from it become ready
        # when their frame is there.
        framing: dict[Future[Path], str] = {}
        pool = ThreadPoolExecutor(max_workers=max(1, self.options.jobs), thread_name_prefix="shot")
        frames = ThreadPoolExecutor(max_workers=max(1, self.options.jobs), thread_name_prefix="frame")
        try:
            while ready or running or framing:
                while ready and len(running) < self.options.jobs and not self.cancel.is_set():
                    _, _, sid = heapq.heappop(ready)
                    running[pool.submit(self._run_shot, self.by_id[sid])] = sid
                if not running and not framing:
                    break
                pending: list[Future[Any]] = [*running, *framing]
                finished, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for fut in finished:
                    if fut in framing:
                        # a failed extraction is tried again by each dependent, which fails on its own
                        fut.exception()
                        self._release(framing.pop(fut), waiting_on, ready)
                        continue
                    sid = running.pop(fut)
                    result = fut.result()
                    self.results[sid] = result
                    if result.status.built:
                        if self.dependents[sid]:  # extracted now, while the clip is hot, even for shots not built now
                            framing[frames.submit(self.frame, self.by_id[sid])] = sid
                    else:
                        self._skip_dependents(sid, waiting_on)
        except BaseException:
            self.cancel.set()
            pool.shutdown(wait=True, cancel_futures=True)
            frames.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        frames.shutdown(wait=True)
        return self.results

    def _release(self, sid: str, waiting_on: dict[str, set[str]], ready: list[tuple[float, int, str]]) -> None:
        """``sid`` is built and its last frame extracted: the shots waiting only on it become ready."""
        for dep in self.dependents[sid]:
            if dep in waiting_on:
                waiting_on[dep].discard(sid)
                if not waiting_on[dep]:
                    heapq.heappush(ready, (-self.priority[dep], self.by_id[dep].index, dep))

    def _skip_dependents(self, failed: str, waiting_on: dict[str, set[str]]) -> None:
        stack = [d for d in self.dependents[failed] if d in waiting_on]
        while stack:
            sid = stack.pop()
            if sid in self.results:
                continue
            reason = f"{failed!r} failed" if failed in self.by_id[sid].depends_on else "a shot it continues from failed"
            self.results[sid] = ShotResult(sid, self.by_id[sid].key, ShotStatus.SKIPPED, error=reason)
            self.on_event(Event(sid, ShotStatus.SKIPPED, reason))
            stack.extend(d for d in self.dependents[sid] if d in waiting_on)

    # -- one shot ------------------------------------------------------------------------
    def _run_shot(self, shot: ShotPlan) -> ShotResult:
        with self._lock:
            key_lock = self._key_locks.setdefault(shot.key, threading.Lock())
        with key_lock:  # two shots with identical requests: the second waits and reuses the first's clip
            return self._run_shot_locked(shot)

    def _run_shot_locked(self, shot: ShotPlan) -> ShotResult:
        t0 = time.monotonic()
        try:
            if shot.id not in self.options.force:
                record = self.cache.lookup(shot.key)
                if record is not None:
                    clip = self.cache.clip_path(shot.key)
                    self._publish(shot, clip)
                    self.on_event(Event(shot.id, ShotStatus.CACHED))
                    return ShotResult(shot.id, shot.key, ShotStatus.CACHED, time.monotonic() - t0, clip=clip)
            self.on_event(Event(shot.id, Activity.RUNNING))
            clip = self._generate(shot)
            self._publish(shot, clip)
            self.on_event(Event(shot.id, ShotStatus.GENERATED, f"{time.monotonic() - t0:.1f} s"))
            return ShotResult(shot.id, shot.key, ShotStatus.GENERATED, time.monotonic() - t0, clip=clip)
        except (StoryboardError, OSError) as exc:
            message = redact(str(exc) or exc.__class__.__name__)
            self.on_event(Event(shot.id, ShotStatus.FAILED, message))
            return ShotResult(shot.id, shot.key, ShotStatus.FAILED, time.monotonic() - t0, error=message)
        except Exception as exc:  # a bug in a backend must not take the other shots down
            message = redact(f"internal error: {exc.__class__.__name__}: {exc}")
            self.on_event(Event(shot.id, ShotStatus.FAILED, message))
            return ShotResult(shot.id, shot.key, ShotStatus.FAILED, time.monotonic() - t0, error=message)

    def _generate(self, shot: ShotPlan) -> Path:
        local: dict[AssetRef, Path] = {}
        for ref in shot.assets():
            if ref.kind == "file":
                local[ref] = ref.path
            elif ref.kind == "last_frame":
                local[ref] = self.frame(self.by_id[ref.value])
            elif ref.kind == "first_frame":
                local[ref] = self.first_frame(self.by_id[ref.value])
            elif ref.kind == "clip":
                clip = self.cache.clip_path(self.by_id[ref.value].key)
                if not clip.exists():
                    raise MediaError(f"the clip of {ref.value!r} is not built, so it cannot be edited")
                self._check_source(shot, ref.value, clip)
                local[ref] = clip
        tmp = self.cache.temp_path(shot.key)
        job = ShotJob(
            shot=shot,
            dest=tmp,
            local_files=local,
            state_dir=self.cache.state_dir,
            progress=self.progress_sink(),
            cancel=self.cancel,
            force=shot.id in self.options.force,
        )
        try:
            self.backend.generate(job)
            if self.cancel.is_set():
                raise BackendError("cancelled")
            info = probe(tmp)
            if abs(info.duration - shot.duration) > max(DURATION_TOLERANCE, 0.1 * shot.duration):
                raise MediaError(f"the clip lasts {info.duration:.2f} s, not the {shot.duration} s requested")
            self.cache.store(shot.key, tmp, shot_id=shot.id, duration=info.duration)
            self.backend.committed(job)
        finally:
            tmp.unlink(missing_ok=True)
        return self.cache.clip_path(shot.key)

    def frame(self, shot: ShotPlan) -> Path:
        """The last frame of a built shot's clip, extracted once into the cache."""
        with self._lock:
            lock = self._frame_locks.setdefault(shot.key, threading.Lock())
        with lock:
            path = self.cache.frame_path(shot.key)
            if not self.cache.has_frame(shot.key):
                clip = self.cache.clip_path(shot.key)
                if not clip.exists():
                    raise MediaError(f"the clip of {shot.id!r} is not built, so its last frame is missing")
                extract_last_frame(clip, path)
            return path

    def _check_source(self, shot: ShotPlan, source: str, clip: Path) -> None:
        """Hold an edit whose source clip the endpoint would refuse (its size is known only once built)."""
        sides = shot.shape.video_sides
        if sides is None:
            return
        info = probe(clip)
        if min(info.width, info.height) < sides[0] or max(info.width, info.height) > sides[1]:
            raise BackendError(
                f"held, nothing sent: the clip of {source!r} is {info.width}×{info.height}, and {shot.model_label or shot.endpoint} "
                f"edits clips of {sides[0]} to {sides[1]} pixels a side; rebuild {source!r} larger or edit another clip"
            )

    def first_frame(self, shot: ShotPlan) -> Path:
        """The first frame of a built shot's clip, extracted once into the cache."""
        with self._lock:
            lock = self._frame_locks.setdefault("first:" + shot.key, threading.Lock())
        with lock:
            path = self.cache.first_frame_path(shot.key)
            if not (path.exists() and path.stat().st_size > 0):
                clip = self.cache.clip_path(shot.key)
                if not clip.exists():
                    raise MediaError(f"the clip of {shot.id!r} is not built, so its first frame is missing")
                extract_first_frame(clip, path)
            return path

    def _publish(self, shot: ShotPlan, clip: Path) -> None:
        place_file(clip, self.shots_dir / f"{shot.id}.mp4")
        upstream = {u: self.by_id[u].key for u in shot.depends_on}
        atomic_write_json(self.shots_dir / f"{shot.id}.json", {"key": shot.key, "inputs": shot.inputs(upstream)})

    def progress_sink(self) -> Callable[[Progress], None]:
        """A ProgressSink that forwards backend progress as events."""
        return lambda p: self.on_event(Event(p.shot_id, Activity.PROGRESS, p.message, p.queue_position))
