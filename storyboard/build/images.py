"""Run the plan's generated images: each through the backend and the cache, before the shots that use them.

A generated image is cached by its key under ``<cache>/<backend>/images/ab/<key>.<png|jpg|webp>``
with its record (sha256, format, size) written last, so an image from a killed build is never
trusted. What the backend wrote is decoded in full and checked against the Kling image limits
(PNG, JPEG or WebP; at least 300 pixels a side; aspect 0.40 to 2.50; at most 10 MB; and the
size asked for, from a text-to-image endpoint) before anything is sent on to Kling. A view runs
after the frontal image it is made from; a failed image fails the images made from it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storyboard.backends.base import Backend, ImageJob
from storyboard.build.cache import Cache, place_file
from storyboard.build.executor import Event, EventSink
from storyboard.build.interrupt import Interrupt, results_in_order
from storyboard.build.outputs import Activity, ShotStatus
from storyboard.errors import BackendError, MediaError, StoryboardError, UsageError, redact
from storyboard.media.verify import image_size
from storyboard.plan import ImagePlan, Plan, ShotPlan
from storyboard.util import atomic_write_json, make_readable, sha256_file

MAX_BYTES = 10 * 1024 * 1024  # Kling's image limits, checked before a generated image is sent on
MIN_SIDE = 300
ASPECT = (0.40, 2.50)
EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """What the cache knows about a stored generated image."""

    key: str
    sha256: str
    size: int
    format: str
    width: int
    height: int
    id: str = ""
    backend: str = ""

    @property
    def extension(self) -> str:
        """``.png``, ``.jpg`` or ``.webp``."""
        return EXTENSIONS.get(self.format, ".png")


@dataclass(slots=True)
class ImageResult:
    """What happened to one generated image in this build."""

    id: str
    key: str
    status: ShotStatus
    seconds: float = 0.0
    error: str | None = None
    path: Path | None = None


class ImageStore:
    """The generated images in one backend's part of the cache."""

    def __init__(self, cache: Cache):
        self.base = cache.base / "images"

    def record_path(self, key: str) -> Path:
        """Where the record of the image for ``key`` lives."""
        return self.base / key[:2] / f"{key}.json"

    def lookup(self, key: str, *, verify: bool = True) -> ImageRecord | None:
        """The record of a trustworthy cached image, or None (a damaged one is dropped when verifying)."""
        try:
            data = json.loads(self.record_path(key).read_text("utf-8"))
            record = ImageRecord(
                data["key"], data["sha256"], data["size"], data["format"], data["width"], data["height"],
                data.get("id", ""), data.get("backend", ""),
            )  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError):
            return None
        path = self.path(record)
        if not path.exists() or path.stat().st_size != record.size:
            if verify:
                self._drop(key, path)
            return None
        if verify and sha256_file(path) != record.sha256:
            self._drop(key, path)
            return None
        return record

    def path(self, record: ImageRecord) -> Path:
        """The image file of a record."""
        return self.base / record.key[:2] / f"{record.key}{record.extension}"

    def file(self, key: str) -> Path | None:
        """The cached image for ``key`` (verified), or None."""
        record = self.lookup(key)
        return self.path(record) if record is not None else None

    def _drop(self, key: str, path: Path) -> None:
        self.record_path(key).unlink(missing_ok=True)
        path.unlink(missing_ok=True)

    def temp(self, key: str) -> Path:
        """A fresh temp path beside the final image (swept by ``Cache.sweep_temps``)."""
        d = self.base / key[:2]
        d.mkdir(parents=True, exist_ok=True)
        return d / f".{key[:16]}.{os.getpid()}.{threading.get_ident()}.tmp"

    def store(self, image: ImagePlan, raw: Path, backend: str) -> ImageRecord:
        """Check what the backend wrote and move it into the store; the record is written last."""
        fmt, width, height = check_generated(image, raw)
        record = ImageRecord(image.key, sha256_file(raw), raw.stat().st_size, fmt, width, height, image.id, backend)
        make_readable(raw)
        os.replace(raw, self.path(record))
        data: dict[str, Any] = {
            "key": record.key, "sha256": record.sha256, "size": record.size, "format": record.format,
            "width": record.width, "height": record.height, "id": record.id, "backend": record.backend,
        }  # fmt: skip
        atomic_write_json(self.record_path(image.key), data)
        return record


def check_generated(image: ImagePlan, path: Path) -> tuple[str, int, int]:
    """(format, width, height) of a generated image that Kling will take; MediaError otherwise."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise MediaError(f"the image {image.id!r} is {size / 1e6:.1f} MB; Kling takes images up to 10 MB")
    fmt, width, height = image_size(path)
    if fmt not in EXTENSIONS:
        raise MediaError(f"the image {image.id!r} is a {fmt} image; Kling takes PNG, JPEG or WebP")
    if min(width, height) < MIN_SIDE:
        raise MediaError(f"the image {image.id!r} is {width}×{height}; Kling needs at least {MIN_SIDE} pixels a side")
    if not ASPECT[0] <= width / height <= ASPECT[1]:
        raise MediaError(
            f"the image {image.id!r} has aspect ratio {width / height:.2f}; Kling takes {ASPECT[0]:.2f} to {ASPECT[1]:.2f}"
        )
    if image.exact_size and (width, height) != (image.width, image.height):
        raise MediaError(f"the image {image.id!r} is {width}×{height}, not the {image.width}×{image.height} asked for")
    return fmt, width, height


def images_needed(plan: Plan, shots: Iterable[ShotPlan] | None) -> list[ImagePlan]:
    """The generated images a build of ``shots`` needs (None: every image of the plan), sources first."""
    if shots is None:
        return list(plan.images)
    wanted = {a.value for s in shots for a in s.assets() if a.kind == "generated"}
    by_id = {i.id: i for i in plan.images}
    stack = list(wanted)
    while stack:
        source = by_id[stack.pop()].source
        if source is not None and source not in wanted:
            wanted.add(source)
            stack.append(source)
    return [i for i in plan.images if i.id in wanted]


def images_to_build(plan: Plan, only: frozenset[str] | set[str] | None, cache: Cache) -> list[ImagePlan]:
    """The generated images a build makes or reuses: all of them for a whole build; for a selection,
    those the selected shots (and the uncached shots they need) use when those shots are not cached."""
    if only is None or not plan.images:
        return list(plan.images)
    from storyboard.build.selection import shots_to_build

    shots = [s for s in shots_to_build(plan, only, cache) if cache.lookup(s.key, drop=False) is None]
    return images_needed(plan, shots)


@dataclass
class ImageRunner:
    """Runs the plan's generated images through a backend and the cache (sources before views)."""

    plan: Plan
    backend: Backend
    cache: Cache
    out_dir: Path  # build/images: each image published as <id>.<ext> with <id>.json
    jobs: int = 2
    force: frozenset[str] = frozenset()
    on_event: EventSink = lambda e: None
    cancel: threading.Event = field(default_factory=threading.Event)
    results: dict[str, ImageResult] = field(default_factory=dict)
    interrupt: Interrupt | None = None  # Ctrl-C as a flag (build/interrupt.py), checked between results

    def __post_init__(self) -> None:
        self.store = ImageStore(self.cache)

    def check_backend(self, todo: list[ImagePlan]) -> None:
        """UsageError before anything runs when images need generating and the backend cannot make them."""
        missing = [i for i in todo if self.store.lookup(i.key, verify=False) is None or i.id in self.force]
        if missing and getattr(self.backend, "generate_image", None) is None:
            raise UsageError(
                f"the {self.backend.name!r} backend cannot generate images, and this storyboard has {len(missing)} "
                "generated image(s) to make; build with --backend preview or fal, or freeze the assets "
                "(`storyboard freeze NAME`) into files"
            )

    def run(self, todo: list[ImagePlan]) -> dict[str, ImageResult]:
        """Build the images in ``todo``; a view waits for its source. Returns results by image id."""
        from concurrent.futures import ThreadPoolExecutor

        waves: list[list[ImagePlan]] = [[i for i in todo if i.source is None], [i for i in todo if i.source]]
        pool = ThreadPoolExecutor(max_workers=max(1, self.jobs), thread_name_prefix="image")
        try:
            for wave in waves:
                for result in results_in_order(pool, self._one, wave, self.interrupt):
                    self.results[result.id] = result
        except BaseException:  # Ctrl-C: running images stop waiting; what finished is kept
            self.cancel.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return self.results

    def _one(self, image: ImagePlan) -> ImageResult:
        t0 = time.monotonic()
        if image.source is not None:
            up = self.results.get(image.source)
            source = self.store.file(image.source_key or "")
            if source is None:
                reason = f"{image.source!r} failed" if up is not None else f"{image.source!r} is not built"
                self.on_event(Event(image.id, ShotStatus.SKIPPED, reason))
                return ImageResult(image.id, image.key, ShotStatus.SKIPPED, error=reason)
        else:
            source = None
        try:
            if image.id not in self.force:
                record = self.store.lookup(image.key)
                if record is not None:
                    self._publish(image, record)
                    self.on_event(Event(image.id, ShotStatus.CACHED))
                    return ImageResult(image.id, image.key, ShotStatus.CACHED, time.monotonic() - t0,
                                       path=self.store.path(record))  # fmt: skip
            self.on_event(Event(image.id, Activity.RUNNING))
            record = self._generate(image, source)
            self._publish(image, record)
            self.on_event(Event(image.id, ShotStatus.GENERATED, f"{time.monotonic() - t0:.1f} s"))
            return ImageResult(image.id, image.key, ShotStatus.GENERATED, time.monotonic() - t0,
                               path=self.store.path(record))  # fmt: skip
        except (StoryboardError, OSError) as exc:
            message = redact(str(exc) or exc.__class__.__name__)
        except Exception as exc:  # a bug in a backend must not take the other images down
            message = redact(f"internal error: {exc.__class__.__name__}: {exc}")
        self.on_event(Event(image.id, ShotStatus.FAILED, message))
        return ImageResult(image.id, image.key, ShotStatus.FAILED, time.monotonic() - t0, error=message)

    def _generate(self, image: ImagePlan, source: Path | None) -> ImageRecord:
        raw = self.store.temp(image.key)
        job = ImageJob(
            image=image, dest=raw, source=source, state_dir=self.cache.state_dir, cancel=self.cancel,
            force=image.id in self.force,
            progress=lambda p: self.on_event(Event(p.shot_id, Activity.PROGRESS, p.message, p.queue_position)),
        )  # fmt: skip
        try:
            generate = getattr(self.backend, "generate_image", None)
            if generate is None:
                raise BackendError(f"the {self.backend.name!r} backend cannot generate images")
            generate(job)
            if self.cancel.is_set():
                raise BackendError("cancelled")
            record = self.store.store(image, raw, self.backend.name)
            committed = getattr(self.backend, "committed_image", None)
            if committed is not None:
                committed(job)
            return record
        finally:
            raw.unlink(missing_ok=True)

    def _publish(self, image: ImagePlan, record: ImageRecord) -> None:
        place_file(self.store.path(record), self.out_dir / f"{image.id}{record.extension}", record.sha256)
        atomic_write_json(self.out_dir / f"{image.id}.json", {"key": image.key, "inputs": image.inputs()})


def generated_files(plan: Plan, cache: Cache) -> dict[str, Path]:
    """Every generated image of the plan that the cache holds now (verified), by image id."""
    store = ImageStore(cache)
    out = {}
    for i in plan.images:
        path = store.file(i.key)
        if path is not None:
            out[i.id] = path
    return out
