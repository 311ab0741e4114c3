"""Generated assets: characters, objects, styles and images declared by words (``generate:``).

Each generated asset becomes :class:`~storyboard.plan.ImagePlan` nodes — a frontal image from a
text-to-image model, then reference views made *from the frontal* by an image-to-image model (a
character sheet whose views show the same person) — and :class:`~storyboard.plan.AssetRef` s of
kind ``generated`` that shots use like files. Pure: the keys come from the requests, never from
the images (which do not exist yet).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from storyboard.compiler.load import Document
from storyboard.compiler.models import ModelInfo, Registry
from storyboard.compiler.render import PromptError, Renderer
from storyboard.compiler.spec import Generate
from storyboard.errors import Problem
from storyboard.plan import AssetRef, ImagePlan, SourceLocation, image_key
from storyboard.util import did_you_mean

DEFAULT_IMAGE_MODEL = "flux-dev"
DEFAULT_VIEW_MODEL = "kontext"
DEFAULT_VIEWS = 2
ELEMENT_VIEWS = (1, 3)  # fal's element rule: 1 to 3 reference_image_urls (fal-kling-o1.md)
STYLE_IMAGES = (1, 4)
SIDE = (300, 2048)  # Kling's least side; the most keeps a PNG far under its 10 MB
ASPECT = (0.40, 2.50)  # the Kling image limits
MEGAPIXEL = 1024 * 1024  # fal prices a 1024×1024 FLUX image as one megapixel
SIZES: dict[str, tuple[int, int]] = {
    "16:9": (1344, 768),
    "9:16": (768, 1344),
    "1:1": (1024, 1024),
    "3:4": (768, 1024),
    "4:3": (1024, 768),
}
DEFAULT_SHAPE = {"character": "3:4", "object": "1:1", "style": "1:1", "image": "16:9"}
VIEW_PROMPTS = (
    "Show the same {kind} from the left side, whole figure, on a plain light background; keep the face, "
    "clothes, colours and proportions exactly.",
    "Show the same {kind} from behind, whole figure, on a plain light background; keep the clothes, colours "
    "and proportions exactly.",
    "Show the same {kind} in a three-quarter view from the front right, whole figure, on a plain light "
    "background; keep the face, clothes, colours and proportions exactly.",
)
_MENTION = re.compile(r"(?<![\w@])@(?!@)([A-Za-z_][A-Za-z0-9_.]*)")

AssetKind = Literal["character", "object", "style", "image"]


@dataclass
class Generator:
    """Plans the images of every generated asset it is shown, collecting problems."""

    registry: Registry
    problems: list[Problem]
    images: list[ImagePlan] = field(default_factory=list)
    renderer: Renderer = field(default_factory=Renderer)

    def plan(
        self,
        doc: Document,
        where: tuple[str | int, ...],
        name: str,
        kind: AssetKind,
        spec: Generate,
        context: dict[str, Any],
    ) -> tuple[AssetRef, ...] | None:
        """The refs of one generated asset (frontal then views, or a style's images); None on a problem."""
        before = len(self.problems)
        gwhere = (*where, "generate")
        model = self._model(doc, gwhere, spec.model or DEFAULT_IMAGE_MODEL, "model", needs_source=False)
        views = self._counts(doc, gwhere, kind, spec)
        view_model = None
        if views and kind in ("character", "object"):
            view_model = self._model(doc, gwhere, spec.view_model or DEFAULT_VIEW_MODEL, "view_model", True)
        size = self._size(doc, gwhere, kind, spec)
        prompt = self._prompt(doc, (*gwhere, "prompt"), spec.prompt, context, name)
        view_prompts: list[str | None] = []
        for i in range(min(views, len(VIEW_PROMPTS)) if kind in ("character", "object") else 0):
            raw = spec.view_prompts[i] if spec.view_prompts and i < len(spec.view_prompts) else None
            text = VIEW_PROMPTS[i].format(kind=kind) if raw is None else raw
            view_prompts.append(self._prompt(doc, (*gwhere, "view_prompts", i), text, context, name))
        if len(self.problems) > before or model is None or size is None or prompt is None:
            return None
        line, column = doc.locate(gwhere)
        location = SourceLocation(doc.display, line, column)
        refs: list[AssetRef] = []
        if kind == "style":
            for i in range(views):
                node = self._text_to_image(name, kind, i, model, prompt, size, spec.seed + i, location)
                refs.append(_ref(node))
            return tuple(refs)
        front = self._text_to_image(name, kind, 0, model, prompt, size, spec.seed, location)
        refs.append(_ref(front))
        if view_model is not None:
            for i, words in enumerate(view_prompts, start=1):
                node = self._view(name, kind, i, view_model, words or "", front, spec.seed, location)
                refs.append(_ref(node))
        return tuple(refs)

    # -- checks ----------------------------------------------------------------------------
    def _model(
        self, doc: Document, where: tuple[str | int, ...], name: str, fld: str, needs_source: bool
    ) -> ModelInfo | None:
        found = self.registry.find(name)
        images = [m for m in self.registry.models if m.kind == "image"]
        fitting = [m for m in images if (m.shape.start == "image_url") == needs_source]
        names = sorted({n for m in fitting for n in (m.name, *m.aliases)})
        if found is None or found not in fitting:
            what = "an image-to-image model (it takes the frontal image)" if needs_source else "a text-to-image model"
            message = f"unknown image model {name!r}" if found is None else f"{found.title} is not {what}"
            hint = (did_you_mean(name, names) if found is None else None) or (
                f"`{fld}:` takes {what}: " + ", ".join(names) + " (`storyboard models` lists them)"
            )
            self.problems.append(doc.problem((*where, fld), message, hint))
            return None
        return found

    def _counts(self, doc: Document, where: tuple[str | int, ...], kind: AssetKind, spec: Generate) -> int:
        """How many views (elements) or images (styles) to make."""
        if kind in ("character", "object"):
            if spec.images is not None:
                self.problems.append(
                    doc.problem(
                        (*where, "images"), f"`images:` counts a style's images; a {kind} has `views:`",
                        "write `views: 1`, `2` or `3` (reference views made from the frontal image)",
                    )
                )  # fmt: skip
            views = DEFAULT_VIEWS if spec.views is None else spec.views
            low, high = ELEMENT_VIEWS
            if not low <= views <= high:
                self.problems.append(
                    doc.problem(
                        (*where, "views"),
                        f"views: {views} — an element takes {low} to {high} reference views (fal's element rule)",
                        f"write `views:` {low}, {low + 1} or {high}; the frontal image is made besides them",
                    )
                )
            if spec.view_prompts is not None and len(spec.view_prompts) > views:
                self.problems.append(
                    doc.problem(
                        (*where, "view_prompts"),
                        f"{len(spec.view_prompts)} view prompts for {views} view(s)",
                        "give at most one prompt per view, or raise `views:`",
                    )
                )
            return views
        for fld in ("views", "view_prompts", "view_model"):
            if getattr(spec, fld) is not None:
                self.problems.append(
                    doc.problem(
                        (*where, fld), f"{'an' if kind == 'image' else 'a'} {kind} has no reference views",
                        "only characters and objects have views" + ("; a style has `images:`" if kind == "style" else ""),
                    )
                )  # fmt: skip
        if kind == "image":
            if spec.images is not None:
                self.problems.append(doc.problem((*where, "images"), "a named image is one image", "remove `images:`"))
            return 1
        count = 1 if spec.images is None else spec.images
        if not STYLE_IMAGES[0] <= count <= STYLE_IMAGES[1]:
            self.problems.append(
                doc.problem(
                    (*where, "images"),
                    f"images: {count} — a generated style has {STYLE_IMAGES[0]} to {STYLE_IMAGES[1]} images",
                    "a shot takes at most 7 references, a style's images among them",
                )
            )
        return count

    def _size(
        self, doc: Document, where: tuple[str | int, ...], kind: AssetKind, spec: Generate
    ) -> tuple[int, int] | None:
        if spec.size is not None and spec.aspect_ratio is not None:
            self.problems.append(
                doc.problem((*where, "size"), "both `size` and `aspect_ratio`", "keep one: a size is a shape too")
            )
            return None
        if spec.size is None:
            return SIZES[spec.aspect_ratio or DEFAULT_SHAPE[kind]]
        width, height = spec.size
        if not (SIDE[0] <= width <= SIDE[1] and SIDE[0] <= height <= SIDE[1]):
            self.problems.append(
                doc.problem(
                    (*where, "size"),
                    f"size {width}×{height}: each side must be {SIDE[0]} to {SIDE[1]} pixels",
                    "Kling takes images of at least 300 pixels a side; 768×1024 suits a character",
                )
            )
            return None
        if not ASPECT[0] <= width / height <= ASPECT[1]:
            self.problems.append(
                doc.problem(
                    (*where, "size"),
                    f"size {width}×{height} has aspect ratio {width / height:.2f}; Kling takes {ASPECT[0]:.2f} "
                    f"to {ASPECT[1]:.2f}",
                    "make it less wide (or less tall)",
                )
            )
            return None
        return width, height

    def _prompt(
        self, doc: Document, where: tuple[str | int, ...], source: str, context: dict[str, Any], name: str
    ) -> str | None:
        if not source.strip():
            self.problems.append(
                doc.problem(where, f"{name!r}: a generated asset needs a prompt", "say what the image shows")
            )
            return None
        try:
            text = self.renderer.render(source, context).strip()
        except PromptError as exc:
            for message, hint in exc.messages:
                self.problems.append(doc.problem(where, f"{name!r}: {message}", hint))
            return None
        found = _MENTION.search(text)
        if found is not None:
            self.problems.append(
                doc.problem(
                    where,
                    f"{name!r}: an image prompt cannot refer to @{found.group(1)}",
                    "the image model takes words only: describe it, or write @@ for a literal @",
                )
            )
            return None
        if not text:
            self.problems.append(
                doc.problem(where, f"{name!r}: the prompt renders to nothing", "say what the image shows")
            )
            return None
        return text.replace("@@", "@")

    # -- nodes -----------------------------------------------------------------------------
    def _text_to_image(
        self,
        name: str,
        kind: AssetKind,
        index: int,
        model: ModelInfo,
        prompt: str,
        size: tuple[int, int],
        seed: int,
        location: SourceLocation,
    ) -> ImagePlan:
        width, height = size
        args: list[tuple[str, Any]] = []
        if model.shape.image_size:
            args.append(("image_size", {"width": width, "height": height}))
        args += [("num_images", 1), ("seed", seed), ("output_format", "png")]
        if kind == "style":
            node_id, label = f"{name}.image{index + 1}", f"{name} — image {index + 1}"
        elif kind == "image":
            node_id, label = f"{name}.image", name
        else:
            node_id, label = f"{name}.front", f"{name} — front"
        return self._add(
            ImagePlan(
                id=node_id, asset=name, kind=kind, view=index, label=label, model=model.name,
                endpoint=model.endpoint, prompt=prompt, width=width, height=height, seed=seed, key="",
                arguments=tuple(args), exact_size=model.shape.image_size, price_usd=image_price(model, width, height),
                price_source=model.price_source, model_label=model.title, location=location,
            )
        )  # fmt: skip

    def _view(
        self,
        name: str,
        kind: AssetKind,
        index: int,
        model: ModelInfo,
        prompt: str,
        front: ImagePlan,
        seed: int,
        location: SourceLocation,
    ) -> ImagePlan:
        args: list[tuple[str, Any]] = [("num_images", 1), ("seed", seed), ("output_format", "png")]
        return self._add(
            ImagePlan(
                id=f"{name}.view{index}", asset=name, kind=kind, view=index, label=f"{name} — view {index}",
                model=model.name, endpoint=model.endpoint, prompt=prompt, width=front.width, height=front.height,
                seed=seed, key="", arguments=tuple(args), source=front.id, source_field="image_url",
                source_key=front.key, exact_size=False, price_usd=image_price(model, front.width, front.height),
                price_source=model.price_source, model_label=model.title, location=location,
            )
        )  # fmt: skip

    def _add(self, node: ImagePlan) -> ImagePlan:
        from dataclasses import replace

        keyed = replace(node, key=image_key(node.endpoint, node.inputs()["request"]))
        self.images.append(keyed)
        return keyed


def _ref(node: ImagePlan) -> AssetRef:
    return AssetRef("generated", node.id, node.id, key=node.key)


def image_price(model: ModelInfo, width: int, height: int) -> float | None:
    """Dollars for one image: per image, or per megapixel (1024 × 1024 pixels, rounded up to whole ones)."""
    if model.price_per_image is not None:
        return model.price_per_image
    if model.price_per_megapixel is not None:
        return round(model.price_per_megapixel * max(1, math.ceil(width * height / MEGAPIXEL)), 6)
    return None
