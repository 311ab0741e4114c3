"""The registry of models storyboard can compile for: endpoints, request shapes, limits and prices.

The registry is data: ``models.yaml`` beside this module (packaged), and a storyboard may add
or override entries with ``models: FILE`` (docs/models.md). Each model carries the request's
shape (which fields its endpoint takes: start/end frames, reference images, elements,
several prompts, native audio, a source clip) and every limit the endpoint enforces, so
the compiler checks a shot against its own model and a storyboard that compiles is one the
endpoint accepts.

Prices are per second of generated video in US dollars (with audio where the endpoint charges
more for it), with where each figure came from. Users override prices with a YAML/JSON file
named by ``STORYBOARD_PRICES`` (``{model-or-alias: price_per_second}``) or ``--prices FILE``.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from storyboard.errors import InputError, Problem, UsageError
from storyboard.plan import ImageLimits, RequestShape

ModelKind = Literal["video", "edit", "image"]
PACKAGED = "models.yaml"


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model: its endpoint, the request it takes, its limits and what it costs."""

    name: str  # the fal endpoint id
    aliases: tuple[str, ...]
    max_references: int  # elements + images (start frame, style and mentioned images) in one request
    durations: tuple[int, ...]
    aspect_ratios: tuple[str, ...]  # empty: the endpoint takes none (the start image's is used)
    price_per_second: float | None
    price_source: str
    label: str = ""
    kind: ModelKind = "video"
    shape: RequestShape = RequestShape()
    max_prompt_chars: int = 2500  # the final prompt, after tags and sentences are written in
    element_views: tuple[int, int] = (1, 3)  # reference_image_urls per element: at least, at most
    references_with_video: int | None = None  # the lower limit when a source clip is sent
    source_seconds: tuple[float, float] | None = None  # an edit's source clip: shortest, longest
    audio_price_per_second: float | None = None  # with native audio on
    price_per_megapixel: float | None = None  # text-to-image
    price_per_image: float | None = None  # image-to-image (and text-to-image priced per image)
    schema_source: str = ""
    user: bool = False  # added or changed by the storyboard's models file
    images: ImageLimits = ImageLimits()  # every image input: frontal, references, image_urls, start/end frames

    @property
    def endpoint(self) -> str:
        """The fal endpoint id requests go to."""
        return self.name

    @property
    def title(self) -> str:
        """The label, or the endpoint id when there is none."""
        return self.label or self.name

    def price(self, audio: bool | None) -> float | None:
        """Dollars per second of a clip, with the audio surcharge when ``audio`` is on."""
        if audio and self.audio_price_per_second is not None:
            return self.audio_price_per_second
        return self.price_per_second

    def takes(self) -> list[str]:
        """The request fields this model's endpoint takes, in request order (for listings)."""
        s = self.shape
        fields = ["prompt"] + (["multi_prompt"] if s.multi_prompt else [])
        fields += [f for f in (s.video, s.start if s.start != "image_urls" else None, s.end) if f]
        fields += [
            name
            for name, on in (
                ("image_urls", s.image_urls),
                ("elements", s.elements),
                ("duration", s.duration),
                ("aspect_ratio", s.aspect_ratio),
                ("image_size", s.image_size),
            )
            if on
        ]
        return fields + ([s.audio] if s.audio else [])


# -- the data file's schema -------------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RequestSpec(_Spec):
    """Which fields the endpoint takes (see the head of models.yaml)."""

    start: Literal["image_urls", "start_image_url", "image_url"] | None = "image_urls"
    start_required: bool = False
    end: Literal["end_image_url"] | None = None
    frames_tagged: bool = False
    image_urls: bool = False
    elements: bool = False
    duration: bool = False
    aspect_ratio: bool = False
    multi_prompt: bool = False
    audio: Literal["generate_audio"] | None = None
    audio_default: bool = False
    video: Literal["video_url"] | None = None
    image_size: bool = False


class ImageLimitsSpec(_Spec):
    """What the endpoint accepts as an image input (fal-kling-o1.md: ≤ 10 MB, ≥ 300 px a side, 0.40-2.50)."""

    min_side: int = Field(default=300, ge=1)
    max_mb: float = Field(default=10.0, gt=0)  # decimal megabytes: fal writes "10MB", the stricter reading
    aspect: tuple[float, float] = (0.40, 2.50)  # width / height, least and most
    formats: tuple[Literal["JPEG", "PNG", "WEBP"], ...] = ("JPEG", "PNG", "WEBP")

    def limits(self) -> ImageLimits:
        """These limits as the Plan's :class:`~storyboard.plan.ImageLimits`."""
        return ImageLimits(
            min_side=self.min_side,
            max_bytes=int(self.max_mb * 1_000_000),
            min_aspect=self.aspect[0],
            max_aspect=self.aspect[1],
            formats=self.formats,
        )


class LimitsSpec(_Spec):
    """What the endpoint refuses beyond."""

    prompt_chars: int = Field(default=2500, ge=1)
    references: int = Field(default=7, ge=0)
    references_with_video: int | None = Field(default=None, ge=0)
    durations: tuple[int, int] = (3, 10)
    aspect_ratios: tuple[Literal["16:9", "9:16", "1:1"], ...] = ("16:9", "9:16", "1:1")
    element_views: tuple[int, int] = (1, 3)
    source_seconds: tuple[float, float] | None = None
    source_pixels: tuple[int, int] | None = None  # an edit's source clip: least and most pixels a side
    images: ImageLimitsSpec = Field(default_factory=ImageLimitsSpec)


class PriceSpec(_Spec):
    """What one generation costs, and where the figure came from."""

    per_second: float | None = Field(default=None, ge=0)
    audio_per_second: float | None = Field(default=None, ge=0)
    per_megapixel: float | None = Field(default=None, ge=0)
    per_image: float | None = Field(default=None, ge=0)
    source: str = ""


class ModelSpec(_Spec):
    """One entry of a models file."""

    endpoint: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
    label: str = ""
    aliases: tuple[str, ...] = ()
    kind: Literal["video", "edit", "image"] = "video"
    request: RequestSpec = Field(default_factory=RequestSpec)
    limits: LimitsSpec = Field(default_factory=LimitsSpec)
    price: PriceSpec = Field(default_factory=PriceSpec)
    schema_: str = Field(default="", alias="schema")


class UserModelSpec(_Spec):
    """An entry of a storyboard's models file: a new model, or a change to a known one."""

    endpoint: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
    extends: str | None = Field(
        default=None, description="copy this model (name or alias), then apply the fields given"
    )
    label: str | None = None
    aliases: tuple[str, ...] | None = None
    kind: Literal["video", "edit", "image"] | None = None
    request: dict[str, Any] | None = None
    limits: dict[str, Any] | None = None
    price: dict[str, Any] | None = None
    schema_: str | None = Field(default=None, alias="schema")


class ModelsFile(_Spec):
    """A models file: ``version: 1`` and a list of models."""

    version: Literal[1] = 1
    models: tuple[UserModelSpec, ...]


def _info(spec: ModelSpec, user: bool = False) -> ModelInfo:
    r, lim, p = spec.request, spec.limits, spec.price
    shape = RequestShape(**r.model_dump(), video_sides=lim.source_pixels)
    return ModelInfo(
        name=spec.endpoint,
        aliases=spec.aliases,
        max_references=lim.references,
        durations=tuple(range(lim.durations[0], lim.durations[1] + 1)),
        aspect_ratios=tuple(lim.aspect_ratios),
        price_per_second=p.per_second,
        price_source=p.source,
        label=spec.label,
        kind=spec.kind,
        shape=shape,
        max_prompt_chars=lim.prompt_chars,
        element_views=lim.element_views,
        references_with_video=lim.references_with_video,
        source_seconds=lim.source_seconds,
        audio_price_per_second=p.audio_per_second,
        price_per_megapixel=p.per_megapixel,
        price_per_image=p.per_image,
        schema_source=spec.schema_,
        user=user,
        images=lim.images.limits(),
    )


# -- the registry -----------------------------------------------------------------------------


class Registry:
    """The models a storyboard can use, by endpoint id and alias."""

    def __init__(self, models: tuple[ModelInfo, ...], raw: dict[str, dict[str, Any]]):
        self.models = models
        self._raw = raw  # endpoint → the entry as data, for `extends` and overrides
        self._by_name: dict[str, ModelInfo] = {}
        for m in models:
            self._by_name[m.name] = m
            for a in m.aliases:
                self._by_name[a] = m

    def find(self, name: str) -> ModelInfo | None:
        """The model for an endpoint id or alias, or None."""
        return self._by_name.get(name)

    def known_names(self) -> list[str]:
        """Every endpoint id and alias, for error messages."""
        return sorted(self._by_name)

    def aliases(self) -> list[str]:
        """Every alias (the short names), for did-you-mean."""
        return sorted(a for m in self.models for a in m.aliases)

    def with_file(self, path: Path, display: str) -> Registry:
        """This registry with a user's models file applied; InputError with file:line on a bad entry."""
        from storyboard.compiler.load import load_document
        from storyboard.compiler.validate import validate

        doc = load_document(path, display)
        data = validate(doc, ModelsFile)
        raw = dict(self._raw)
        problems: list[Problem] = []
        user: set[str] = set()
        for i, entry in enumerate(data.models):
            where = ("models", i)
            given = entry.model_dump(by_alias=True, exclude_none=True, exclude={"extends"})
            if entry.extends is not None:
                base_model = self._find_raw(raw, entry.extends)
                if base_model is None:
                    from storyboard.util import did_you_mean

                    problems.append(
                        doc.problem(
                            where + ("extends",),
                            f"unknown model {entry.extends!r} to extend",
                            did_you_mean(entry.extends, sorted(raw) + self.aliases()),
                        )
                    )
                    continue
                base = copy.deepcopy(base_model)
                base["aliases"] = []  # the copy's short names stay with the original
            else:
                base = copy.deepcopy(raw.get(entry.endpoint, {}))
            merged = _merge(base, given)
            try:
                ModelSpec.model_validate(merged)
            except ValidationError as exc:
                for err in exc.errors(include_url=False):
                    loc = tuple(p for p in err["loc"] if not isinstance(p, str) or not p.startswith("literal["))
                    problems.append(
                        doc.problem(
                            where + loc,
                            f"model {entry.endpoint!r}: {'.'.join(str(p) for p in loc)}: {err['msg']}",
                            "see docs/models.md for every field of a model",
                        )
                    )
                continue
            raw[entry.endpoint] = merged
            user.add(entry.endpoint)
        if problems:
            raise InputError(problems)
        models = tuple(_info(ModelSpec.model_validate(v), k in user) for k, v in raw.items())
        seen: dict[str, str] = {}
        for m in models:
            for name in (m.name, *m.aliases):
                if name in seen and seen[name] != m.name:
                    raise InputError(
                        [
                            Problem(
                                f"the name {name!r} is used by both {seen[name]} and {m.name}",
                                file=display,
                                hint="give each model its own aliases",
                            )
                        ]
                    )
                seen[name] = m.name
        return Registry(models, raw)

    def _find_raw(self, raw: dict[str, dict[str, Any]], name: str) -> dict[str, Any] | None:
        if name in raw:
            return raw[name]
        found = self.find(name)
        return raw.get(found.name) if found else None


def _merge(base: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """``given`` over ``base``, one level into request, limits and price."""
    out = dict(base)
    for k, v in given.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


@cache
def packaged_registry() -> Registry:
    """The registry shipped with storyboard (``models.yaml``)."""
    import yaml

    text = resources.files("storyboard.compiler").joinpath(PACKAGED).read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 3 ms instead of 28 at every start
    data = yaml.load(text, Loader=loader)
    specs = [ModelSpec.model_validate(m) for m in data["models"]]
    raw = {s.endpoint: s.model_dump(by_alias=True) for s in specs}
    return Registry(tuple(_info(s) for s in specs), raw)


def registry_for(models_file: Path | None, display: str | None = None) -> Registry:
    """The packaged registry, with a storyboard's models file applied when it names one."""
    base = packaged_registry()
    if models_file is None:
        return base
    return base.with_file(models_file, display or str(models_file))


MODELS: tuple[ModelInfo, ...] = packaged_registry().models
# what an image must be to be accepted by every packaged model (assets are checked where they are
# declared, before any shot, and so any model, uses them; each shot's own model is checked again)
ANY_MODEL_IMAGES = ImageLimits.strictest(tuple(m.images for m in MODELS))
# the reference views an element may carry so that every packaged model takes it
ANY_MODEL_VIEWS = min(m.element_views[1] for m in MODELS if m.shape.elements)


def known_names() -> list[str]:
    """Every endpoint id and alias of the packaged registry, for error messages."""
    return packaged_registry().known_names()


def find_model(name: str) -> ModelInfo | None:
    """The packaged model for an endpoint id or alias, or None."""
    return packaged_registry().find(name)


def load_prices(path: Path | None = None) -> dict[str, float]:
    """User price overrides from ``path`` (the CLI passes ``--prices`` or ``STORYBOARD_PRICES``): ``{model or alias: $/s}``."""
    src = path
    if src is None:
        return {}
    try:
        text = src.read_text("utf-8")
        import yaml

        data = json.loads(text) if src.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, Exception) as exc:  # yaml errors too
        raise UsageError(f"cannot read prices from {src}: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, (int, float)) and v >= 0 for v in data.values()):
        raise UsageError(f"{src}: expected a mapping of model name to price per second, e.g. `o1-pro: 0.112`")
    out: dict[str, float] = {}
    for name, price in data.items():
        model = find_model(str(name))
        if model is None and "/" not in str(name):  # an endpoint id may be a storyboard's own model
            raise UsageError(f"{src}: unknown model {name!r}; known: {', '.join(known_names())}")
        out[model.name if model else str(name)] = float(price)
    return out


def priced(model: ModelInfo, overrides: dict[str, float]) -> ModelInfo:
    """The model with the user's price applied, if any (the audio price too: one figure per model)."""
    if model.name in overrides:
        price = overrides[model.name]
        return replace(model, price_per_second=price, audio_price_per_second=price, price_source="user override")
    return model
