"""The build's output files as typed structures, and the statuses they speak of.

``manifest.json`` (the plan as built) and ``run_results.json`` (what happened to each shot) are
written from the models here, each with a ``version``; their JSON Schemas under ``schemas/`` are
generated from the same models (:mod:`storyboard.build.schema`). The statuses are str-valued
enums, so the JSON (and ``--json`` output) holds the same words as before.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RESULTS_VERSION: Literal[1] = 1
MANIFEST_VERSION: Literal[1] = 1


class ShotStatus(StrEnum):
    """How a shot ended in a build."""

    GENERATED = "generated"  # the backend made it in this build
    CACHED = "cached"  # the cache held a trustworthy clip for its key
    FAILED = "failed"  # the backend or the checks of its clip failed
    SKIPPED = "skipped"  # a shot it continues from failed

    @property
    def built(self) -> bool:
        """True when the shot has its clip (generated or cached)."""
        return self in (ShotStatus.GENERATED, ShotStatus.CACHED)


class Activity(StrEnum):
    """What a shot is doing while the build runs (the display's states besides the final ones)."""

    WAITING = "waiting"  # for the shots it continues from
    RUNNING = "running"  # its generation started
    PROGRESS = "progress"  # a progress line from the backend
    # the film's phase (events with the shot id "", after the shots)
    STITCHING = "stitching"
    MIXING = "mixing"  # the sound mixed onto the stitched picture
    STITCHED = "stitched"
    NOT_STITCHED = "not stitched"


class Freshness(StrEnum):
    """Whether a build would reuse a shot's clip (``storyboard status``)."""

    UP_TO_DATE = "up to date"
    STALE = "stale"


class _Output(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class ShotRun(_Output):
    """One shot in ``run_results.json``."""

    id: str
    key: str = Field(description="the shot's cache key (sha256 of its canonical request and upstream keys)")
    status: ShotStatus
    seconds: float = Field(description="wall seconds this build spent on the shot")
    error: str | None = Field(description="why it failed or was skipped (redacted), else null")


class RunResults(_Output):
    """``run_results.json``: what happened to each shot in the last build."""

    version: Literal[1] = RESULTS_VERSION
    backend: str = Field(description="the --backend name (it namespaces the cache)")
    film: str | None = Field(description="the stitched film, relative to the build folder; null when not stitched")
    shots: list[ShotRun]
    sounds: list[ShotRun] | None = Field(
        default=None, description="each line, effect and music cue (present only when the storyboard has sound)"
    )
    images: list[ShotRun] | None = Field(
        default=None, description="each generated asset's image (present only when the storyboard generates assets)"
    )


class Transition(_Output):
    """The transition into a shot."""

    type: str
    duration: float


class TakeKey(_Output):
    """One take of a shot and its cache key (docs/review.md)."""

    take: int
    key: str


class ManifestShot(_Output):
    """One shot in ``manifest.json``."""

    id: str
    endpoint: str
    key: str
    depends_on: list[str] = Field(description="shots whose last frame this one starts from")
    request: dict[str, Any] = Field(description="the endpoint's request, asset paths relative to the storyboard")
    model: str
    clip: str = Field(description="the shot's clip, relative to the build folder")
    transition: Transition
    mentions: dict[str, list[str]] = Field(description="each asset the prompt mentions → its tags in the request")
    notes: str | None = Field(default=None, description="the shot's notes (present only when it has some)")
    take: int | None = Field(
        default=None, description="the take in the film (present only for a shot with takes or a pick)"
    )
    takes: list[TakeKey] | None = Field(default=None, description="every take the storyboard asks for, with its key")


class Film(_Output):
    """The film the build stitches."""

    output: str


class Graph(_Output):
    """The build graph: uploads → generations → last frames → generations, all → film."""

    nodes: list[str]
    edges: list[tuple[str, str]]


class Manifest(_Output):
    """``manifest.json``: the plan as built."""

    version: Literal[1] = MANIFEST_VERSION
    storyboard_version: str = Field(description="the storyboard package that built it")
    title: str
    backend: str
    source: str = Field(description="the storyboard file, relative to the build folder")
    shots: list[ManifestShot]
    film: Film
    graph: Graph


def dump(model: BaseModel, *, omit_none: bool = False) -> dict[str, Any]:
    """A model as the JSON object written to disk (``omit_none``: leave out absent optional fields, such as notes)."""
    return model.model_dump(mode="json", exclude_none=omit_none)
