"""Pure compilation: storyboard file → :class:`~storyboard.plan.Plan`.

load → validate → resolve imports and assets → for each shot: cascade defaults, render the
prompt, map tags, check the model's limits → continuity graph → cache keys. Reads the
storyboard, its libraries and asset bytes; never the network, the cache or the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storyboard.compiler.assets import AssetStore, frame_ref
from storyboard.compiler.audio import AudioCompiler, ShotTiming
from storyboard.compiler.load import Document, load_document
from storyboard.compiler.models import ModelInfo, find_model, known_names
from storyboard.compiler.render import PromptError, Renderer
from storyboard.compiler.resolve import Asset, Resolved, Resolver
from storyboard.compiler.spec import RESERVED_VARS, Shot, Storyboard, TransitionField
from storyboard.compiler.tags import TagMapper
from storyboard.compiler.validate import validate_storyboard
from storyboard.errors import InputError, Problem, relpath
from storyboard.graph import continuity_cycle, format_cycle, topological_shots
from storyboard.plan import (
    AssetRef,
    AudioPlan,
    ElementRef,
    FilmPlan,
    Mention,
    Plan,
    ShotPlan,
    SourceLocation,
    Transition,
    gc_paused,
    shot_key,
)
from storyboard.util import did_you_mean

DEFAULT_DURATION = 5
DEFAULT_ASPECT = "16:9"


@dataclass(frozen=True, slots=True)
class CompileOptions:
    """Switches for compilation."""

    allow_outside_assets: bool = False
    check_images: bool = True


def compile_file(path: Path | str, options: CompileOptions | None = None) -> Plan:
    """Compile the storyboard at ``path`` into a Plan; InputError listing every problem."""
    return compile_with_context(path, options)[0]


@dataclass
class CompileContext:
    """What compiling learned besides the plan (for `validate`, `board`, `status`)."""

    doc: Document
    model: Storyboard
    resolved: Resolved
    store: AssetStore


def compile_with_context(path: Path | str, options: CompileOptions | None = None) -> tuple[Plan, CompileContext]:
    """Compile and also return the loaded document, model and resolved assets."""
    with gc_paused():
        return _compile(path, options)


def _compile(path: Path | str, options: CompileOptions | None) -> tuple[Plan, CompileContext]:
    options = options or CompileOptions()
    path = Path(path)
    display = relpath(path)
    doc = load_document(path, display)
    model = validate_storyboard(doc)
    root = path.parent.absolute()
    store = AssetStore(root=root, allow_outside=options.allow_outside_assets, check_images=options.check_images)
    problems: list[Problem] = []
    for name in model.vars:
        if name in RESERVED_VARS:
            problems.append(
                doc.problem(
                    ("vars", name),
                    f"variable name {name!r} is reserved",
                    "shot fields use it in prompts: rename the variable",
                    key=True,
                )
            )
    try:
        resolved = Resolver(store).resolve(doc, model)
    except InputError as exc:
        merged = problems + exc.problems  # the storyboard's own problems first, then each library's, by position
        merged.sort(key=lambda p: (0, p.line or 0, p.column or 0) if p.file == doc.display else (1, 0, 0))
        raise InputError(merged) from None
    plan = _ShotCompiler(doc, model, resolved, root, problems, options.allow_outside_assets).run()
    return plan, CompileContext(doc, model, resolved, store)


def _a(noun: str) -> str:
    """``an image``, ``a style``."""
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _transition(value: TransitionField | None) -> Transition | None:
    if value is None:
        return None
    if isinstance(value, str):
        return Transition(value, 0.0 if value == "cut" else 0.5)
    return Transition(value.type, 0.0 if value.type == "cut" else float(value.duration))


@dataclass
class _Draft:
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


class _ShotCompiler:
    def __init__(
        self,
        doc: Document,
        model: Storyboard,
        resolved: Resolved,
        root: Path,
        problems: list[Problem],
        allow_outside: bool = False,
    ):
        self.doc, self.sb, self.resolved, self.root = doc, model, resolved, root
        self.allow_outside = allow_outside
        self.problems = problems
        self.ids: dict[str, int] = {}
        for i, shot in enumerate(model.shots):
            if shot.id in self.ids:
                problems.append(
                    doc.problem(
                        ("shots", i, "id"),
                        f"shot id {shot.id!r} is already used by shots[{self.ids[shot.id]}]",
                        "shot ids must be unique",
                    )
                )
            else:
                self.ids[shot.id] = i
        self.renderer = Renderer()
        namespaces = set(resolved.scope.imports)
        self.mapper = TagMapper(resolved.visible, namespaces, set(self.ids))
        self.defaults = model.defaults
        self.base_context: dict[str, Any] = dict(model.vars)
        self.base_context["defaults"] = model.defaults.model_dump(mode="json")
        self.base_context["title"] = model.title
        self.film_transition = _transition(model.film.transition) or Transition()
        self.default_model = self._model(model.model, ("model",))

    def _model(self, name: str, where: tuple[str | int, ...]) -> ModelInfo | None:
        found = find_model(name)
        if found is None:
            self.problems.append(
                self.doc.problem(
                    where,
                    f"unknown model {name!r}",
                    did_you_mean(name, known_names()) or "known models: " + ", ".join(known_names()),
                )
            )
        return found

    def run(self) -> Plan:
        drafts = [d for i, s in enumerate(self.sb.shots) if (d := self._draft(i, s)) is not None]
        ids = [d.shot.id for d in drafts]
        deps = {d.shot.id: d.depends for d in drafts if d.depends}
        order = topological_shots(deps, ids) if deps else ids
        if not self.problems:
            self._check_transitions(drafts)
        audio = AudioCompiler(self.doc, self.sb, self.resolved, self.root, self.problems, self.allow_outside).run(
            [self._timing(d) for d in drafts]
        )
        if order is None and not self.problems:
            cycle = continuity_cycle([(up, s) for s, ups in deps.items() for up in ups], ids) or []
            first = self.ids[cycle[0]]
            self.problems.append(
                self.doc.problem(
                    ("shots", first, "start"),
                    "continuity cycle: " + format_cycle(cycle),
                    "a shot cannot start from a frame that depends on itself",
                )
            )
        if self.problems or order is None:
            self.problems.sort(key=lambda p: (p.file != self.doc.display, p.line or 0, p.column or 0))
            raise InputError(self.problems)
        return self._plan(drafts, order, audio)

    def _timing(self, d: _Draft) -> ShotTiming:
        """What the sound compiler needs of a shot: its length, its transition, its prompt's variables."""
        fields = {"id": d.shot.id, "duration": d.duration, "aspect_ratio": d.aspect, "style": d.style,
                  "start": d.shot.start}  # fmt: skip
        context = {**self.base_context, **fields, "shot": fields}
        return ShotTiming(d.shot, d.index, d.duration, d.model.durations[-1], d.transition, context)

    def _check_transitions(self, drafts: list[_Draft]) -> None:
        """A transition must fit in the shots it joins (a crossfade eats d of each, a fade d/2)."""

        def share(t: Transition) -> float:
            return t.duration if t.type == "crossfade" else t.duration / 2 if t.type == "fade" else 0.0

        for i, d in enumerate(drafts):
            used = (share(d.transition) if i else 0.0) + (
                share(drafts[i + 1].transition) if i + 1 < len(drafts) else 0.0
            )
            if used > d.duration - 1 / 24:
                where = (
                    "shots",
                    drafts[i + 1].index if i + 1 < len(drafts) and share(drafts[i + 1].transition) else d.index,
                )
                self.problems.append(
                    self.doc.problem(
                        where + ("transition",),
                        f"transitions take {used:g} s of shot {d.shot.id!r}, which lasts {d.duration} s",
                        "shorten the transition (a crossfade uses its duration from both shots, a fade half of it)",
                    )
                )

    def _plan(self, drafts: list[_Draft], order: list[str], audio: tuple[AudioPlan, ...] = ()) -> Plan:
        by_id = {d.shot.id: d for d in drafts}
        keys: dict[str, str] = {}
        for sid in order:
            d = by_id[sid]
            ups = {u: keys[u] for u in d.depends}
            keys[sid] = shot_key(d.model.endpoint, d.mapped_prompt, d.images, d.elements, d.duration, d.aspect, ups)
        lines = self.doc.item_lines(("shots",))
        shots = tuple(
            ShotPlan(
                id=d.shot.id,
                index=d.index,
                model=d.model.name,
                endpoint=d.model.endpoint,
                prompt=d.mapped_prompt,
                image_urls=d.images,
                elements=d.elements,
                duration=d.duration,
                aspect_ratio=d.aspect,
                depends_on=d.depends,
                key=keys[d.shot.id],
                start=d.start,
                style=d.style,
                transition=d.transition,
                mentions=d.mentions,
                source_prompt=d.rendered,
                notes=d.shot.notes,
                location=SourceLocation(self.doc.display, *lines[d.index]) if d.index < len(lines) else None,
            )
            for d in drafts
        )
        return Plan(
            title=self.sb.title,
            source=self.doc.path.absolute(),
            root=self.root,
            shots=shots,
            film=FilmPlan(
                self.sb.film.output,
                self.film_transition,
                loudness=self.sb.film.loudness.target,
                true_peak=self.sb.film.loudness.true_peak,
                subtitles=self.sb.film.subtitles,
            ),
            audio=audio,
        )

    def _draft(self, i: int, shot: Shot) -> _Draft | None:
        where = ("shots", i)
        before = len(self.problems)
        model = self._model(shot.model, where + ("model",)) if shot.model else self.default_model
        duration = shot.duration or self.defaults.duration or DEFAULT_DURATION
        aspect = shot.aspect_ratio or self.defaults.aspect_ratio or DEFAULT_ASPECT
        style_name = shot.style if "style" in shot.model_fields_set else self.defaults.style
        style_where = where + ("style",) if "style" in shot.model_fields_set else ("defaults", "style")
        style = self._asset(style_name, style_where, "style") if style_name else None
        start, start_dep = self._start(shot, where)
        # the first shot has nothing to pass from: its transition is a cut whatever is written
        transition = (_transition(shot.transition) or self.film_transition) if i else Transition()
        if model is not None:
            if duration not in model.durations:
                self.problems.append(
                    self.doc.problem(
                        where + ("duration",),
                        f"duration {duration} is not offered by {model.name}",
                        f"choose one of {model.durations[0]}..{model.durations[-1]}",
                    )
                )
            if aspect not in model.aspect_ratios:
                self.problems.append(
                    self.doc.problem(
                        where + ("aspect_ratio",), f"aspect ratio {aspect!r} is not offered by {model.name}"
                    )
                )
        context = dict(self.base_context)
        fields = {"id": shot.id, "duration": duration, "aspect_ratio": aspect, "style": style_name, "start": shot.start}
        context.update(fields)
        context["shot"] = fields
        try:
            rendered = self.renderer.render(shot.prompt, context)
            mapped = (
                None
                if model is None
                else self.mapper.map(
                    rendered,
                    start=start,
                    start_label=shot.start,
                    style=style,
                    style_name=style_name,
                    max_refs=model.max_references,
                )
            )
        except PromptError as exc:
            for message, hint in exc.messages:
                self.problems.append(self.doc.problem(where + ("prompt",), f"shot {shot.id!r}: {message}", hint))
            return None
        if len(self.problems) > before or mapped is None or model is None:
            return None
        depends = tuple(dict.fromkeys(([start_dep] if start_dep else []) + mapped.depends_on))
        return _Draft(
            shot,
            i,
            model,
            mapped.prompt,
            tuple(mapped.images),
            tuple(mapped.elements),
            duration,
            aspect,
            depends,
            start,
            style_name,
            transition,
            tuple(mapped.mentions),
            rendered.strip(),
        )

    def _asset(self, name: str, where: tuple[str | int, ...], kind: str) -> Asset | None:
        asset = self.resolved.visible.get(name)
        if asset is None:
            self.problems.append(
                self.doc.problem(
                    where,
                    f"unknown {kind} {name!r}",
                    did_you_mean(name, [n for n, a in self.resolved.visible.items() if a.kind == kind]),
                )
            )
            return None
        if asset.kind != kind:
            self.problems.append(self.doc.problem(where, f"{name!r} is {_a(asset.kind)}, not {_a(kind)}"))
            return None
        return asset

    def _start(self, shot: Shot, where: tuple[str | int, ...]) -> tuple[AssetRef | None, str | None]:
        if shot.start is None:
            return None, None
        if shot.start.endswith(".last_frame"):
            upstream = shot.start[: -len(".last_frame")]
            if upstream in self.ids:
                return frame_ref(upstream), upstream
            if upstream not in self.resolved.scope.imports:
                self.problems.append(
                    self.doc.problem(
                        where + ("start",),
                        f"unknown shot {upstream!r} in {shot.start!r}",
                        did_you_mean(upstream, list(self.ids)),
                    )
                )
                return None, None
        asset = self._asset(shot.start, where + ("start",), "image")
        return (asset.refs[0], None) if asset else (None, None)
