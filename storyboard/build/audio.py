"""Run the plan's sound: each line, effect and music cue through the backend and the cache, like shots.

A generated sound is cached by its key under ``<cache>/<backend>/audio/ab/<key>.wav`` with its
record (sha256, length, the span where there is sound, per-word timings) written last, so a
sound from a killed build is never trusted. Whatever the backend writes (WAV, MP3, …) is decoded
fully and stored as 48 kHz stereo PCM WAV, which is also the check that it is audio. Sounds run
in their own pool of ``jobs`` threads; a failed sound fails only itself (and keeps the film silent).
"""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storyboard.backends.base import AudioJob, Backend
from storyboard.build.cache import Cache, place_file
from storyboard.build.executor import Event, EventSink
from storyboard.build.interrupt import Interrupt, results_in_order
from storyboard.build.outputs import Activity, ShotStatus
from storyboard.errors import BackendError, MediaError, StoryboardError, UsageError, redact
from storyboard.media.mix import decode_to_wav, sound_span, wav_duration
from storyboard.plan import AudioPlan, Plan
from storyboard.util import atomic_write_json, make_readable, sha256_file


@dataclass(frozen=True, slots=True)
class SoundRecord:
    """What the cache knows about a stored sound."""

    key: str
    sha256: str
    size: int
    duration: float  # seconds
    span: tuple[float, float]  # where the sound is above the silence floor (speech start and end)
    words: tuple[tuple[str, float, float], ...] = ()
    id: str = ""
    backend: str = ""


@dataclass(slots=True)
class SoundResult:
    """What happened to one sound in this build."""

    id: str
    key: str
    status: str  # "generated" | "cached" | "failed" | "file"
    seconds: float = 0.0
    error: str | None = None
    path: Path | None = None
    record: SoundRecord | None = None


class SoundStore:
    """The sounds in one backend's part of the cache."""

    def __init__(self, cache: Cache):
        self.base = cache.base / "audio"

    def path(self, key: str) -> Path:
        """Where the sound for ``key`` lives."""
        return self.base / key[:2] / f"{key}.wav"

    def record_path(self, key: str) -> Path:
        """Where its record lives."""
        return self.base / key[:2] / f"{key}.json"

    def lookup(self, key: str, *, verify: bool = True) -> SoundRecord | None:
        """The record of a trustworthy cached sound, or None (a damaged one is dropped)."""
        try:
            data = json.loads(self.record_path(key).read_text("utf-8"))
            record = SoundRecord(
                data["key"], data["sha256"], data["size"], data["duration"], tuple(data["span"]),
                tuple(tuple(w) for w in data.get("words", ())), data.get("id", ""), data.get("backend", ""),
            )  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError):
            return None
        path = self.path(key)
        if not path.exists() or (verify and (path.stat().st_size != record.size or sha256_file(path) != record.sha256)):
            self.record_path(key).unlink(missing_ok=True)
            path.unlink(missing_ok=True)
            return None
        return record

    def temp(self, key: str, suffix: str) -> Path:
        """A fresh temp path beside the final sound (swept by ``Cache.sweep_temps``)."""
        d = self.path(key).parent
        d.mkdir(parents=True, exist_ok=True)
        return d / f".{key[:16]}.{os.getpid()}.{threading.get_ident()}.tmp{suffix}"

    def store(self, audio: AudioPlan, raw: Path, words: list[tuple[str, float, float]], backend: str) -> SoundRecord:
        """Decode what the backend wrote into the store's WAV, measure it, and write the record last."""
        wav = self.temp(audio.key, ".wav")
        try:
            decode_to_wav(raw, wav)
            duration = wav_duration(wav)
            if duration <= 0.05:
                raise MediaError(f"the sound of {audio.id!r} is empty ({duration:.2f} s)")
            if audio.seconds and abs(duration - audio.seconds) > max(0.5, 0.1 * audio.seconds):
                raise MediaError(f"the sound of {audio.id!r} lasts {duration:.2f} s, not the {audio.seconds:g} s asked")
            span = sound_span(wav)
            make_readable(wav)
            os.replace(wav, self.path(audio.key))
        finally:
            wav.unlink(missing_ok=True)
        path = self.path(audio.key)
        record = SoundRecord(audio.key, sha256_file(path), path.stat().st_size, round(duration, 4), span,
                             tuple(words), audio.id, backend)  # fmt: skip
        data: dict[str, Any] = {
            "key": record.key, "sha256": record.sha256, "size": record.size, "duration": record.duration,
            "span": list(record.span), "words": [list(w) for w in record.words], "id": record.id,
            "backend": record.backend,
        }  # fmt: skip
        atomic_write_json(self.record_path(audio.key), data)
        return record


def sounds_to_build(plan: Plan, only: frozenset[str] | None) -> list[AudioPlan]:
    """The generated sounds of the selected shots; music only when the whole film is built."""
    return [a for a in plan.audio if a.generated and (only is None or (a.shot is not None and a.shot in only))]


@dataclass
class SoundRunner:
    """Runs the plan's sounds through a backend and the cache."""

    plan: Plan
    backend: Backend
    cache: Cache
    out_dir: Path  # build/audio: each sound published as <id>.wav with <id>.json
    jobs: int = 2
    force: frozenset[str] = frozenset()
    only: frozenset[str] | None = None
    on_event: EventSink = lambda e: None
    cancel: threading.Event = field(default_factory=threading.Event)
    results: dict[str, SoundResult] = field(default_factory=dict)
    interrupt: Interrupt | None = None  # Ctrl-C as a flag (build/interrupt.py), checked between results

    def __post_init__(self) -> None:
        self.store = SoundStore(self.cache)
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def check_backend(self) -> None:
        """UsageError before anything runs when sounds need generating and the backend cannot make them."""
        todo = sounds_to_build(self.plan, self.only)
        if todo and getattr(self.backend, "generate_audio", None) is None:
            raise UsageError(
                f"the {self.backend.name!r} backend cannot generate sound, and this storyboard has "
                f"{len(todo)} line(s), effect(s) or music cue(s) to generate; build with --backend preview or fal, "
                "or give the effects and music as files"
            )

    def run(self) -> dict[str, SoundResult]:
        """Build every selected sound; returns results by sound id."""
        todo = sounds_to_build(self.plan, self.only)
        if not todo:
            return self.results
        pool = ThreadPoolExecutor(max_workers=max(1, self.jobs), thread_name_prefix="sound")
        try:
            for result in results_in_order(pool, self._one, todo, self.interrupt):
                self.results[result.id] = result
        except BaseException:  # Ctrl-C: running sounds stop waiting; what finished is kept
            self.cancel.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return self.results

    def _one(self, audio: AudioPlan) -> SoundResult:
        with self._lock:
            lock = self._locks.setdefault(audio.key, threading.Lock())
        with lock:  # two identical sounds: the second reuses the first
            t0 = time.monotonic()
            try:
                if audio.id not in self.force:
                    record = self.store.lookup(audio.key)
                    if record is not None:
                        self._publish(audio)
                        self.on_event(Event(audio.id, ShotStatus.CACHED))
                        return SoundResult(audio.id, audio.key, "cached", time.monotonic() - t0,
                                           path=self.store.path(audio.key), record=record)  # fmt: skip
                self.on_event(Event(audio.id, Activity.RUNNING))
                record = self._generate(audio)
                self._publish(audio)
                self.on_event(Event(audio.id, ShotStatus.GENERATED, f"{time.monotonic() - t0:.1f} s"))
                return SoundResult(audio.id, audio.key, "generated", time.monotonic() - t0,
                                   path=self.store.path(audio.key), record=record)  # fmt: skip
            except (StoryboardError, OSError) as exc:
                message = redact(str(exc) or exc.__class__.__name__)
            except Exception as exc:  # a bug in a backend must not take the other sounds down
                message = redact(f"internal error: {exc.__class__.__name__}: {exc}")
            self.on_event(Event(audio.id, ShotStatus.FAILED, message))
            return SoundResult(audio.id, audio.key, "failed", time.monotonic() - t0, error=message)

    def _generate(self, audio: AudioPlan) -> SoundRecord:
        raw = self.store.temp(audio.key, ".raw")
        job = AudioJob(
            audio=audio, dest=raw, state_dir=self.cache.state_dir, cancel=self.cancel, force=audio.id in self.force,
            progress=lambda p: self.on_event(Event(p.shot_id, Activity.PROGRESS, p.message, p.queue_position)),
        )  # fmt: skip
        try:
            generate = getattr(self.backend, "generate_audio", None)
            if generate is None:
                raise BackendError(f"the {self.backend.name!r} backend cannot generate sound")
            generate(job)
            if self.cancel.is_set():
                raise BackendError("cancelled")
            record = self.store.store(audio, raw, job.words, self.backend.name)
            committed = getattr(self.backend, "committed_audio", None)
            if committed is not None:
                committed(job)
            return record
        finally:
            raw.unlink(missing_ok=True)

    def _publish(self, audio: AudioPlan) -> None:
        place_file(self.store.path(audio.key), self.out_dir / f"{audio.id}.wav")
        atomic_write_json(self.out_dir / f"{audio.id}.json", {"key": audio.key, "inputs": audio.inputs()})

    def records(self) -> dict[str, SoundRecord]:
        """Every generated sound of the plan that the cache holds now, by id (for the mix)."""
        out = {}
        for a in self.plan.audio:
            if a.generated:
                rec = self.store.lookup(a.key, verify=False)
                if rec is not None:
                    out[a.id] = rec
        return out
