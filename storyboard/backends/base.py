"""The one interface every generation backend implements (preview, fal, test doubles).

A backend turns one :class:`ShotJob` into one MP4 file at ``job.dest``. The executor owns
everything around it: ordering, concurrency, the cache, atomic renames, probing the result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from storyboard.plan import AssetRef, AudioPlan, ImagePlan, Plan, ShotPlan


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
    scratch: Path | None = None  # a folder for temporary files, swept by the next build (None: the system's)

    def local(self, ref: AssetRef) -> Path | None:
        """The local file behind an asset, or None for a URL."""
        return self.local_files.get(ref)


@dataclass(slots=True)
class AudioJob:
    """Everything a backend needs to generate one line, effect or music cue."""

    audio: AudioPlan
    dest: Path  # write the sound here, in any format ffmpeg reads (the executor converts and checks it)
    state_dir: Path
    progress: ProgressSink = lambda _p: None
    cancel: threading.Event = field(default_factory=threading.Event)
    force: bool = False
    words: list[tuple[str, float, float]] = field(default_factory=list)  # per-word (text, start s, end s), if known

    @property
    def id(self) -> str:
        """The sound's id, as progress events name it."""
        return self.audio.id


@dataclass(slots=True)
class ImageJob:
    """Everything a backend needs to generate one image of a generated asset."""

    image: ImagePlan
    dest: Path  # write the image here (PNG, JPEG or WebP; the runner checks and stores it)
    source: Path | None  # the image this one is made from (a view's frontal), as a local file
    state_dir: Path
    progress: ProgressSink = lambda _p: None
    cancel: threading.Event = field(default_factory=threading.Event)
    force: bool = False

    @property
    def id(self) -> str:
        """The image's id, as progress events name it."""
        return self.image.id


class Backend:
    """What a backend is. Subclass it; the ``--backend`` name namespaces the cache, so a preview
    never stands in for a paid clip.

    ``name``: shown in messages; ``paid``: whether a generation costs money (``--max-cost``
    guards paid backends only, and the board counts only a paid backend's cache as money saved).
    ``generate`` is the one method a backend must write; the others default to doing nothing.

    A backend named ``module:Class`` that does not subclass this works too: :func:`as_backend`
    wraps it with the same defaults (and counts it as paid unless it says ``paid = False``).
    """

    name: str = "backend"
    paid: bool = False

    def prepare(self, plan: Plan, shots: list[ShotPlan], state_dir: Path) -> None:
        """Check credentials and settings before anything is spent; raise a UserError if unusable."""

    def generate(self, job: ShotJob) -> None:
        """Write the shot's MP4 to ``job.dest``; raise a BackendError on failure."""
        raise NotImplementedError(f"{type(self).__name__} does not implement generate(job)")

    def committed(self, job: ShotJob) -> None:
        """Called after the executor stored the clip in the cache (the fal backend closes the
        request's journal entry here, so a clip that failed validation is fetched again rather
        than paid for again)."""

    def close(self) -> None:
        """Release connections and threads."""


class _DuckBackend(Backend):
    """A user's backend that does not subclass :class:`Backend`, with the defaults for what it lacks."""

    def __init__(self, inner: object, name: str):
        self.inner = inner
        self.name = str(getattr(inner, "name", name))
        self.paid = is_paid(type(inner))
        self._generate: Callable[[ShotJob], None] = getattr(inner, "generate")  # noqa: B009
        self._prepare: Callable[[Plan, list[ShotPlan], Path], None] | None = getattr(inner, "prepare", None)
        self._committed: Callable[[ShotJob], None] | None = getattr(inner, "committed", None)
        self._close: Callable[[], None] | None = getattr(inner, "close", None)
        sound = getattr(inner, "generate_audio", None)
        if sound is not None:  # optional: a backend that makes sound (see the note at the end)
            self.generate_audio = sound
        image = getattr(inner, "generate_image", None)
        if image is not None:  # optional: a backend that makes generated assets' images
            self.generate_image = image

    def prepare(self, plan: Plan, shots: list[ShotPlan], state_dir: Path) -> None:
        """The user's ``prepare``, if it has one."""
        if self._prepare is not None:
            self._prepare(plan, shots, state_dir)

    def generate(self, job: ShotJob) -> None:
        """The user's ``generate``."""
        self._generate(job)

    def committed(self, job: ShotJob) -> None:
        """The user's ``committed``, if it has one."""
        if self._committed is not None:
            self._committed(job)

    def close(self) -> None:
        """The user's ``close``, if it has one."""
        if self._close is not None:
            self._close()


def is_paid(cls: type) -> bool:
    """Whether generating with backends of this class costs money (a class that does not say is paid)."""
    if issubclass(cls, Backend):
        return cls.paid
    return bool(getattr(cls, "paid", True))


def as_backend(obj: object, name: str) -> Backend:
    """``obj`` as a :class:`Backend`: itself if it subclasses it, else wrapped with the defaults.

    TypeError when it has no ``generate`` method (the one thing a backend must do).
    """
    if isinstance(obj, Backend):
        return obj
    if not callable(getattr(obj, "generate", None)):
        raise TypeError(f"{type(obj).__name__} has no generate(job) method")
    return _DuckBackend(obj, name)


# Optional: ``generate_audio(job: AudioJob)`` — write a line's speech, an effect or a music cue to
# ``job.dest`` (a backend without it cannot build a storyboard with sound: the build says so).
# Optional: ``generate_image(job: ImageJob)`` — write a generated asset's image to ``job.dest``
# (a backend without it cannot build a storyboard with `generate:` assets not yet cached).
