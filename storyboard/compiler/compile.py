"""Pure compilation: storyboard file → :class:`~storyboard.plan.Plan`.

load → validate → resolve imports and assets → for each shot: cascade defaults, render the
prompt, map tags, check the model's limits → continuity graph → cache keys. Reads the
storyboard, its libraries and asset bytes; never the network, the cache or the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storyboard.compiler.assemble import assemble_plan
from storyboard.compiler.assets import AssetStore
from storyboard.compiler.audio import AudioCompiler, ShotTiming
from storyboard.compiler.capabilities import models_with
from storyboard.compiler.cards import CARD_MODEL, CardCompiler
from storyboard.compiler.film import FilmShot, frame_warnings, transition_problems
from storyboard.compiler.fit import shortest_fitting
from storyboard.compiler.load import Document, load_document
from storyboard.compiler.models import ModelInfo, Registry, packaged_registry, registry_for
from storyboard.compiler.render import PromptError, Renderer
from storyboard.compiler.resolve import Resolver
from storyboard.compiler.scope import Resolved
from storyboard.compiler.shot_rules import DEFAULT_DURATION, DEFAULT_EDIT_MODEL, Draft
from storyboard.compiler.shot_sources import ShotSources
from storyboard.compiler.spec import MULTI_PROMPT, RESERVED_VARS, Shot, Storyboard, TransitionField
from storyboard.compiler.tags import Mapped, TagMapper
from storyboard.compiler.validate import validate_storyboard
from storyboard.errors import InputError, Problem, relpath
from storyboard.graph import continuity_cycle, format_cycle, topological_shots
from storyboard.plan import (
    ImagePlan,
    Plan,
    PromptPart,
    Transition,
    gc_paused,
)
from storyboard.util import did_you_mean

DEFAULT_ASPECT = "16:9"
PART_BREAK = "\n\x00part\x00\n"  # joins multi_prompt parts for one mapping (shared tag numbers)


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
    registry: Registry = field(default_factory=packaged_registry)
    warnings: list[Problem] = field(default_factory=list)  # what a shot's model drops or adds


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
    registry = _registry(doc, model, root, options, problems)
    from storyboard.compiler.generate import Generator

    generator = Generator(registry, [])
    resolver = Resolver(store, generator)
    generator.problems = resolver.problems  # a generated asset's problems are the resolver's
    try:
        resolved = resolver.resolve(doc, model)
    except InputError as exc:
        merged = problems + exc.problems  # the storyboard's own problems first, then each library's, by position
        merged.sort(key=lambda p: (0, p.line or 0, p.column or 0) if p.file == doc.display else (1, 0, 0))
        raise InputError(merged) from None
    compiler = _ShotCompiler(doc, model, resolved, root, problems, registry, store, options.allow_outside_assets)
    compiler.images = tuple(generator.images)
    plan = compiler.run()
    return plan, CompileContext(doc, model, resolved, store, registry, resolver.warnings + compiler.warnings)


def _registry(doc: Document, sb: Storyboard, root: Path, options: CompileOptions, problems: list[Problem]) -> Registry:
    """The packaged models, with the storyboard's ``models:`` file applied."""
    if sb.models is None:
        return packaged_registry()
    from storyboard.compiler.assets import inside_folder

    path = (root / sb.models).absolute()
    if not options.allow_outside_assets and not inside_folder(path, root):
        problems.append(
            doc.problem(
                ("models",),
                f"the models file {sb.models!r} is outside the storyboard's folder",
                "move it into the project, or pass --allow-outside-assets",
            )
        )
        return packaged_registry()
    if not path.is_file():
        problems.append(
            doc.problem(("models",), f"no models file {sb.models!r}", "check the path (relative to this file)")
        )
        return packaged_registry()
    try:
        return registry_for(path, relpath(path))
    except InputError as exc:
        problems.extend(exc.problems)
        return packaged_registry()


def _transition(value: TransitionField | None) -> Transition | None:
    if value is None:
        return None
    if isinstance(value, str):
        return Transition(value, 0.0 if value == "cut" else 0.5)
    return Transition(value.type, 0.0 if value.type == "cut" else float(value.duration))


class _ShotCompiler(ShotSources):
    def __init__(
        self,
        doc: Document,
        model: Storyboard,
        resolved: Resolved,
        root: Path,
        problems: list[Problem],
        registry: Registry,
        store: AssetStore,
        allow_outside: bool = False,
    ):
        self.doc, self.sb, self.resolved, self.root = doc, model, resolved, root
        self.allow_outside = allow_outside
        self.problems = problems
        self.warnings: list[Problem] = []
        self.registry = registry
        self.store = store
        self.images: tuple[ImagePlan, ...] = ()  # the generated assets' images (planned while resolving)
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
        self.cards = CardCompiler(doc, resolved, root, problems, allow_outside)
        self.audio = AudioCompiler(doc, model, resolved, root, problems, allow_outside, self.warnings)
        namespaces = set(resolved.scope.imports)
        self.mapper = TagMapper(resolved.visible, namespaces, set(self.ids))
        self.defaults = model.defaults
        self.base_context: dict[str, Any] = dict(model.vars)
        self.base_context["defaults"] = model.defaults.model_dump(mode="json")
        self.base_context["title"] = model.title
        self.film_transition = _transition(model.film.transition) or Transition()
        self.film_aspect = model.film.aspect_ratio or model.defaults.aspect_ratio or DEFAULT_ASPECT
        self.default_model = self._model(model.model, ("model",))
        if model.defaults.model is not None:
            self.default_model = self._model(model.defaults.model, ("defaults", "model"))

    def _model(self, name: str, where: tuple[str | int, ...]) -> ModelInfo | None:
        found = self.registry.find(name)
        if found is None:
            clips = [m for m in self.registry.models if m.kind != "image"]  # a shot is a clip
            aliases = sorted(a for m in clips for a in m.aliases)
            self.problems.append(
                self.doc.problem(
                    where,
                    f"unknown model {name!r}",
                    did_you_mean(name, sorted({n for m in clips for n in (m.name, *m.aliases)}))
                    or "known models: " + ", ".join(aliases) + " (`storyboard models` lists them)",
                )
            )
        return found

    def run(self) -> Plan:
        drafts = [d for i, s in enumerate(self.sb.shots) if (d := self._draft(i, s)) is not None]
        ids = [d.shot.id for d in drafts]
        deps = {d.shot.id: d.depends for d in drafts if d.depends}
        order = topological_shots(deps, ids) if deps else ids
        if order is not None and not self.problems:
            self._follow_upstream(drafts, order)  # an edit's length is its source's: before transitions
        if not self.problems:
            for f in transition_problems(self._film_shots(drafts)):
                self.problems.append(self.doc.problem(f.where, f.message, f.hint))
        audio = self.audio.run([self._timing(d) for d in drafts], self.ids)
        if order is None and not self.problems:
            cycle = continuity_cycle([(up, s) for s, ups in deps.items() for up in ups], ids) or []
            first = self.ids[cycle[0]]
            by_id = {d.shot.id: d for d in drafts}
            if any(by_id[c].video is not None or by_id[c].end is not None for c in cycle):
                self.problems.append(
                    self.doc.problem(
                        ("shots", first),
                        "dependency cycle: " + " → ".join(cycle),
                        "a shot cannot edit, start or end on a clip that depends on itself",
                    )
                )
            else:
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
        for f in frame_warnings(self._film_shots(drafts), self.film_aspect):
            self.warnings.append(self.doc.problem(f.where, f.message, f.hint))
        return assemble_plan(
            drafts, order, doc=self.doc, storyboard=self.sb, root=self.root, film_transition=self.film_transition,
            film_aspect=self.film_aspect, audio=audio, images=self.images,
        )  # fmt: skip

    def _timing(self, d: Draft) -> ShotTiming:
        """What the sound compiler needs of a shot: its length, its transition, its prompt's variables."""
        fields = {"id": d.shot.id, "duration": d.duration, "aspect_ratio": d.aspect, "style": d.style,
                  "start": d.shot.start}  # fmt: skip
        context = {**self.base_context, **fields, "shot": fields}
        return ShotTiming(d.shot, d.index, d.duration, d.model.durations[-1], d.transition, context, d.model.durations)

    def _auto_duration(self, shot: Shot, where: tuple[str | int, ...], durations: tuple[int, ...]) -> int:
        """``duration: auto``: the shortest duration offered that holds the lines, by the estimate."""
        longest = max(durations)
        fields = {"id": shot.id, "duration": longest, "aspect_ratio": shot.aspect_ratio, "style": None,
                  "start": shot.start, "end": shot.end}  # fmt: skip
        needed = self.audio.estimate(shot, {**self.base_context, **fields, "shot": fields})
        return shortest_fitting(durations, needed) or longest  # too long for any: the fit warning says so

    def _film_shots(self, drafts: list[Draft]) -> list[FilmShot]:
        return [
            FilmShot(d.shot.id, d.index, d.duration, d.aspect, d.shot.aspect_ratio is not None, d.transition)
            for d in drafts
        ]

    def _pick_model(self, shot: Shot, where: tuple[str | int, ...]) -> ModelInfo | None:
        """The shot's model: its own, else an edit's default edit model, else the storyboard's."""
        if shot.model:
            return self._model(shot.model, where + ("model",))
        if shot.edit is not None and (self.default_model is None or self.default_model.kind != "edit"):
            return self.registry.find(DEFAULT_EDIT_MODEL) or self.default_model
        return self.default_model

    def _card_draft(self, i: int, shot: Shot) -> Draft | None:
        """A card: made locally, so no model, prompt, references or price."""
        if shot.duration == "auto":
            duration = self._auto_duration(shot, ("shots", i), CARD_MODEL.durations)
        else:
            duration = shot.duration or self.defaults.duration or DEFAULT_DURATION
        aspect = shot.aspect_ratio or self.defaults.aspect_ratio or DEFAULT_ASPECT
        transition = (_transition(shot.transition) or self.film_transition) if i else Transition()
        fields = {
            "id": shot.id,
            "duration": duration,
            "aspect_ratio": aspect,
            "style": None,
            "start": None,
            "end": None,
        }
        context = {**self.base_context, **fields, "shot": fields}
        card = self.cards.compile(i, shot, duration, aspect, context)
        if card is None:
            return None
        return Draft(shot, i, CARD_MODEL, card.text, (), (), duration, aspect, (), None, None, transition, (),
                      card.text, card=card)  # fmt: skip

    def _draft(self, i: int, shot: Shot) -> Draft | None:
        if shot.card is not None:
            return self._card_draft(i, shot)
        where = ("shots", i)
        before = len(self.problems)
        model = self._pick_model(shot, where)
        if shot.prompt != MULTI_PROMPT and shot.multi_prompt is not None:
            self._problem(
                where + ("multi_prompt",),
                f"shot {shot.id!r} has both `prompt` and `multi_prompt`",
                "keep one: the model takes either a prompt or several",
            )
        if model is not None:
            self._check_model(shot, where, model)
        duration = self._duration(shot, where, model) if model is not None else DEFAULT_DURATION
        aspect = shot.aspect_ratio or self.defaults.aspect_ratio or DEFAULT_ASPECT
        takes_images = model is None or model.shape.image_urls
        style_name = shot.style if "style" in shot.model_fields_set else self.defaults.style
        if not takes_images and "style" not in shot.model_fields_set:
            style_name = None  # the defaults' style does not reach a model without reference images
        style_where = where + ("style",) if "style" in shot.model_fields_set else ("defaults", "style")
        style = self._asset(style_name, style_where, "style") if style_name else None
        start, start_dep = self._start(shot, where)
        end, end_dep = self._end(shot, where)
        video, edit_dep = self._edit(shot, where)
        audio = None
        if model is not None and model.shape.audio is not None:
            wanted = shot.audio if shot.audio is not None else self.defaults.audio
            audio = model.shape.audio_default if wanted is None else wanted
        # the first shot has nothing to pass from: its transition is a cut whatever is written
        transition = (_transition(shot.transition) or self.film_transition) if i else Transition()
        if model is not None and model.kind != "edit":
            if duration not in model.durations:
                from_defaults = shot.duration is None and shot.multi_prompt is None and self.defaults.duration
                self._problem(
                    ("defaults", "duration") if from_defaults else where + ("duration",),
                    f"duration {duration} is not offered by {model.title}",
                    f"choose one of {model.durations[0]}..{model.durations[-1]}"
                    + (
                        ""
                        if model.durations[-1] > 10
                        else f" (up to 15 s: {models_with(self.registry, 'multi_prompt')})"
                    ),
                )
            if model.shape.aspect_ratio and aspect not in model.aspect_ratios:
                self._problem(where + ("aspect_ratio",), f"aspect ratio {aspect!r} is not offered by {model.title}")
        context = dict(self.base_context)
        fields = {
            "id": shot.id,
            "duration": duration,
            "aspect_ratio": aspect,
            "style": style_name,
            "start": shot.start,
            "end": shot.end,
        }
        context.update(fields)
        context["shot"] = fields
        mapped: Mapped | None = None
        parts: tuple[PromptPart, ...] = ()
        try:
            texts = (
                [self.renderer.render(p.prompt, context) for p in shot.multi_prompt]
                if shot.multi_prompt is not None
                else [self.renderer.render(shot.prompt, context)]
            )
            rendered = PART_BREAK.join(t.strip() for t in texts)
            if model is not None:
                tagged = model.shape.frames_tagged or model.shape.start == "image_urls"
                mapped = self.mapper.map(
                    rendered,
                    start=start,
                    start_label=shot.start,
                    style=style,
                    style_name=style_name,
                    max_refs=model.max_references,
                    frames_tagged=tagged,
                    end=end if model.shape.frames_tagged else None,
                    end_label=shot.end,
                    untagged_refs=0 if tagged else (start is not None) + (end is not None),
                )
        except PromptError as exc:
            for message, hint in exc.messages:
                self._problem(where + ("prompt",), f"shot {shot.id!r}: {message}", hint)
            return None
        if len(self.problems) > before or mapped is None or model is None:
            return None
        self._check_mapped(shot, where, model, mapped, start, end)
        prompt = mapped.prompt
        if shot.multi_prompt is not None:
            pieces = prompt.split(PART_BREAK.strip("\n"))
            pieces = [p.strip() for p in pieces]
            parts = tuple(PromptPart(text, p.duration) for text, p in zip(pieces, shot.multi_prompt, strict=True))
            prompt = " ".join(pieces)
        if len(prompt) > model.max_prompt_chars or any(len(p.prompt) > model.max_prompt_chars for p in parts):
            self._problem(
                where + ("prompt",),
                f"shot {shot.id!r}: the prompt is {len(prompt):,} characters once its tags and sentences are "
                f"written in; {model.title} takes at most {model.max_prompt_chars:,}",
                "shorten the prompt (a start frame or style that the prompt does not mention adds a sentence)",
            )
        if len(self.problems) > before:
            return None
        images = tuple(mapped.images)
        if not model.shape.image_urls:
            images = ()  # the start and end frames travel in fields of their own
        ups = [start_dep, end_dep, edit_dep]
        depends = tuple(dict.fromkeys([u for u in ups if u] + mapped.depends_on))
        return Draft(
            shot,
            i,
            model,
            prompt,
            images,
            tuple(mapped.elements),
            duration,
            aspect,
            depends,
            start,
            style_name,
            transition,
            tuple(mapped.mentions),
            rendered.replace(PART_BREAK, " / ").strip(),
            end=end,
            audio=audio,
            parts=parts,
            video=video,
        )
