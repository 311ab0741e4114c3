"""The one interface every generation backend implements (preview, fal, test doubles).

A backend turns one :class:`ShotJob` into one MP4 file at ``job.dest``. The executor owns
everything around it: ordering, concurrency, the cache, atomic renames, probing the result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from storyboard.plan import AssetRef, Plan, ShotPlan


@dataclass(frozen=True, slots=True)
class Progress:
    """One progress event from a backend about a shot."""

    shot_id: str
    message: str  # a short human line, e.g. "in queue (position 3)" or a model log line
    queue_position: int | None = None
    state: str | None = None  # "queued" | "running" | "uploading" | "downloading" | None


ProgressSink = Callable[[Progress], None]


@dataclass(slots=True)
class ShotJob:
    """Everything a backend needs to generate one shot."""

    shot: ShotPlan
    dest: Path  # write the MP4 here (a temp path: the executor validates and renames it)
    local_files: dict[AssetRef, Path]  # each file/last_frame asset of the shot → a local file
    state_dir: Path  # a folder the backend may keep state in (journals, upload cache), per backend
    progress: ProgressSink = lambda _p: None
    cancel: threading.Event = field(default_factory=threading.Event)
    force: bool = False  # the user asked to generate this shot again (--force)

    def local(self, ref: AssetRef) -> Path | None:
        """The local file behind an asset, or None for a URL."""
        return self.local_files.get(ref)


@runtime_checkable
class Backend(Protocol):
    """Generates clips. The ``--backend`` name namespaces the cache, so a preview never stands in for a paid clip."""

    name: str

    def prepare(self, plan: Plan, shots: list[ShotPlan], state_dir: Path) -> None:
        """Check credentials and settings before anything is spent; raise a UserError if unusable."""
        ...

    def generate(self, job: ShotJob) -> None:
        """Write the shot's MP4 to ``job.dest``; raise a BackendError on failure."""
        ...

    def close(self) -> None:
        """Release connections and threads."""
        ...


# Optional: ``committed(job)`` — called after the executor stored the clip in the cache (the fal
# backend closes the request's journal entry there, so a clip that failed validation is fetched
# again rather than paid for again).
