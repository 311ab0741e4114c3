"""The rules a shot's own model imposes: the fields it takes, its durations, the length of what it edits.

A mixin of the compiler's shot pass (:mod:`storyboard.compiler.compile`): problems for fields
a shot wrote that its model does not take, warnings for what a model drops or adds compared
with the storyboard's, and what a shot inherits from the shots before it (an edit's length and
shape, the shape of a start frame on a model without an aspect ratio).
"""

from __future__ import annotations

from dataclasses import dataclass

from storyboard.compiler.assets import AssetStore
from storyboard.compiler.capabilities import model_notes, models_with, nearest_aspect, no_aspect_reason
from storyboard.compiler.load import Document
from storyboard.compiler.models import ModelInfo, Registry
from storyboard.compiler.scope import Resolved
from storyboard.compiler.spec import Defaults, Shot
from storyboard.compiler.tags import Mapped
from storyboard.errors import Problem
from storyboard.plan import AssetRef, CardPlan, ElementRef, Mention, PromptPart, Transition

DEFAULT_DURATION = 5
DEFAULT_EDIT_MODEL = "o1-edit"  # the model of a shot with `edit:` and no model of its own


@dataclass
class Draft:
    """One shot as the compiler has checked it so far: what its request and plan are made from."""

    shot: Shot
    index: int
    model: ModelInfo
    mapped_prompt: str
    images: tuple[AssetRef, ...]
    elements: tuple[ElementRef, ...]
    duration: int
    aspect: str
    depends: tuple[str, ...]
    start: AssetRef | None
    style: str | None
    transition: Transition
    mentions: tuple[Mention, ...]
    rendered: str
    end: AssetRef | None = None
    audio: bool | None = None
    parts: tuple[PromptPart, ...] = ()
    video: AssetRef | None = None
    card: CardPlan | None = None  # a title or credit card (made locally, no model)


class ModelRules:
    """Checks of one shot against its model; needs the compiler's document, registry and shot ids."""

    doc: Document
    problems: list[Problem]
    warnings: list[Problem]
    registry: Registry
    store: AssetStore
    resolved: Resolved
    defaults: Defaults
    default_model: ModelInfo | None
    ids: dict[str, int]

    def _problem(self, where: tuple[str | int, ...], message: str, hint: str | None = None) -> None:
        self.problems.append(self.doc.problem(where, message, hint))

    def _warn(self, where: tuple[str | int, ...], message: str, hint: str | None = None) -> None:
        self.warnings.append(self.doc.problem(where, message, hint))

    def _check_model(self, shot: Shot, where: tuple[str | int, ...], model: ModelInfo) -> None:
        """Fields the shot wrote that its model does not take (problems), and what it drops or adds (warnings)."""
        s, name, fields = model.shape, model.title, shot.model_fields_set
        if model.kind == "image":
            self._problem(where + ("model",), f"{name} makes images, not clips", "choose a video model for a shot")
            return
        if model.kind == "edit" and shot.edit is None:
            self._problem(
                where + ("model",),
                f"{name} edits a clip: shot {shot.id!r} says which one with `edit: <shot>`",
                "add `edit:` naming the shot to edit, or choose a generating model",
            )
        if shot.edit is not None and model.kind != "edit":
            self._problem(
                where + ("edit",),
                f"{name} cannot edit a clip (shot {shot.id!r} has `edit:`)",
                "drop `model:` to use the default edit model, or choose one of: " + models_with(self.registry, "edit"),
            )
        if "aspect_ratio" in fields and not s.aspect_ratio:
            self._problem(
                where + ("aspect_ratio",),
                f"{name} has no aspect ratio: {no_aspect_reason(model)}",
                "remove `aspect_ratio:` from this shot, or choose a model with one: "
                + models_with(self.registry, "aspect_ratio"),
            )
        if shot.end is not None and s.end is None:
            self._problem(
                where + ("end",),
                f"{name} takes no end frame",
                "remove `end:`, or choose a model with an end frame: " + models_with(self.registry, "end"),
            )
        if shot.multi_prompt is not None and not s.multi_prompt:
            self._problem(
                where + ("multi_prompt",),
                f"{name} takes one prompt per clip, not `multi_prompt`",
                "write one `prompt:`, or choose a model with several prompts: "
                + models_with(self.registry, "multi_prompt"),
            )
        if shot.audio and s.audio is None:
            self._problem(
                where + ("audio",),
                f"{name} makes silent clips: it has no native audio",
                "remove `audio:`, or choose a model with audio: " + models_with(self.registry, "audio"),
            )
        if shot.start is not None and s.start is None:
            self._problem(
                where + ("start",),
                f"{name} takes no start frame" + (": an edit starts where its source clip does" if shot.edit else ""),
                "remove `start:`",
            )
        if shot.start is None and s.start_required:
            self._problem(
                where,
                f"{name} needs a start frame, and shot {shot.id!r} has none",
                "add `start: <image>` or `start: <shot>.last_frame`",
            )
        if "style" in fields and shot.style is not None and not s.image_urls:
            self._problem(
                where + ("style",),
                f"{name} takes no reference images, so no style",
                "remove `style:` from this shot, or choose a model with image_urls: "
                + models_with(self.registry, "image_urls"),
            )
        if self.default_model is not None and model.name != self.default_model.name:
            notes = model_notes(self.default_model, model)
            if notes:
                self._warn(
                    where + ("model",) if shot.model else where,
                    f"shot {shot.id!r} uses {name} instead of {self.default_model.title}: " + "; ".join(notes),
                )

    def _duration(self, shot: Shot, where: tuple[str | int, ...], model: ModelInfo) -> int:
        if shot.multi_prompt is not None:
            total = sum(p.duration for p in shot.multi_prompt)
            if shot.duration is not None and shot.duration != total:
                self._problem(
                    where + ("duration",),
                    f"duration {shot.duration} differs from the {total} s its multi_prompt parts add up to",
                    "remove `duration:` (the parts decide it) or make the parts add up to it",
                )
            return total
        if shot.edit is not None:
            if shot.duration is not None:
                self._problem(
                    where + ("duration",),
                    f"an edit lasts as long as the clip it edits; shot {shot.id!r} cannot set a duration",
                    "remove `duration:`",
                )
            return DEFAULT_DURATION  # replaced by the source's once every shot is drafted
        if shot.duration == "auto":
            return self._auto_duration(shot, where, model.durations)
        return shot.duration or self.defaults.duration or DEFAULT_DURATION

    def _auto_duration(self, shot: Shot, where: tuple[str | int, ...], durations: tuple[int, ...]) -> int:
        """The shortest duration offered that holds the shot's lines (the compiler knows the voices)."""
        raise NotImplementedError

    def _check_mapped(
        self,
        shot: Shot,
        where: tuple[str | int, ...],
        model: ModelInfo,
        mapped: Mapped,
        start: AssetRef | None,
        end: AssetRef | None,
    ) -> None:
        """Mentions the model cannot send: elements on a model without them, images without image_urls."""
        if mapped.elements and not model.shape.elements:
            names = ", ".join("@" + e.name for e in mapped.elements)
            self._problem(
                where + ("prompt",),
                f"shot {shot.id!r}: {model.title} takes no elements, so {names} cannot be sent",
                "describe them in words, or choose a model with elements: " + models_with(self.registry, "elements"),
            )
        extra = [r for r in mapped.images if r not in (start, end)]
        if extra and not model.shape.image_urls:
            self._problem(
                where + ("prompt",),
                f"shot {shot.id!r}: {model.title} takes no reference images, so "
                + ", ".join(r.display for r in extra)
                + " cannot be sent",
                "mention only the start and end frames, or choose a model with image_urls: "
                + models_with(self.registry, "image_urls"),
            )

    def _follow_upstream(self, drafts: list[Draft], order: list[str]) -> None:
        """What a shot takes from the shots before it: an edit's length and shape, a frame's shape."""
        by_id = {d.shot.id: d for d in drafts}
        for sid in order:
            d = by_id[sid]
            where = ("shots", d.index)
            if d.video is not None:
                src = by_id[d.video.value]
                d.duration, d.aspect = src.duration, src.aspect
                lo, hi = d.model.source_seconds or (0.0, float("inf"))
                if not lo <= src.duration <= hi:
                    self._problem(
                        where + ("edit",),
                        f"{d.model.title} edits clips of {lo:g} to {hi:g} s; shot {src.shot.id!r} lasts {src.duration} s",
                        f"shorten shot {src.shot.id!r}, or edit a shorter one",
                    )
            elif not d.model.shape.aspect_ratio and d.start is not None:
                if d.start.kind in ("last_frame", "first_frame"):
                    d.aspect = by_id[d.start.value].aspect
                elif d.start.kind == "file" and d.start.sha256 in self.store.infos:
                    info = self.store.infos[d.start.sha256]
                    d.aspect = nearest_aspect(info.width, info.height)
                if self.defaults.aspect_ratio is not None and self.defaults.aspect_ratio != d.aspect:
                    self._warn(
                        where,
                        f"shot {d.shot.id!r}: {d.model.title} has no aspect ratio: the start image's ({d.aspect}) "
                        f"is used, not the defaults' {self.defaults.aspect_ratio}",
                    )
