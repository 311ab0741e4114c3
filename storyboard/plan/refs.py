"""The small pieces a plan is made of: request shapes, image limits, asset references, mentions,
transitions and where something was written. Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

AssetKind = Literal["file", "url", "last_frame", "first_frame", "clip", "generated"]
FRAME_KINDS = ("last_frame", "first_frame")  # made from another shot's clip at build time


@dataclass(frozen=True, slots=True)
class RequestShape:
    """Which fields a model's endpoint takes, as the compiler found it in the registry.

    Pure data, so a backend builds the request of any registered model without the compiler.
    """

    start: str | None = "image_urls"  # image_urls (as @Image1) | start_image_url | image_url | None
    start_required: bool = False
    end: str | None = None  # end_image_url | None
    frames_tagged: bool = False  # the prompt names the start frame @Image1 and the end frame @Image2
    image_urls: bool = True
    elements: bool = True
    duration: bool = True
    aspect_ratio: bool = True
    multi_prompt: bool = False
    audio: str | None = None  # generate_audio | None
    audio_default: bool = False
    video: str | None = None  # video_url (an edit's source clip) | None
    image_size: bool = False  # text-to-image: {width, height}
    video_sides: tuple[int, int] | None = None  # an edit's source clip: least and most pixels on each side


@dataclass(frozen=True, slots=True)
class PromptPart:
    """One prompt of a multi-prompt clip and the seconds it lasts."""

    prompt: str
    duration: int


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """What a model's endpoint accepts as an image input (frontal, reference, style or start image).

    Pure data with pure checks, so the compiler (asset files) and the build (extracted last
    frames) apply the same rules; the values come from the model registry.
    """

    min_side: int = 300  # pixels, on each side
    max_bytes: int = 10_000_000  # fal writes "10MB"; decimal megabytes are the stricter reading
    min_aspect: float = 0.40  # width / height
    max_aspect: float = 2.50
    formats: tuple[str, ...] = ("JPEG", "PNG", "WEBP")  # Pillow's format names
    max_pixels: int = 40_000_000  # not fal's: a guard against decompression bombs

    def size_problem(self, size: int) -> str | None:
        """Why a file of ``size`` bytes is refused, or None (checked before the file is read)."""
        if size > self.max_bytes:
            return f"is {size / 1e6:.1f} MB; the model takes images up to {self.max_bytes / 1e6:g} MB"
        return None

    def header_problem(self, fmt: str, width: int, height: int) -> str | None:
        """The checks that need only the image's header (format and pixel count), before decoding it."""
        if fmt not in self.formats:
            return f"is a {fmt} image; the model takes {_names(self.formats)}"
        if width * height > self.max_pixels:
            return f"is {width}×{height} pixels, too large to be a reference image"
        return None

    def image_problem(self, fmt: str, width: int, height: int) -> str | None:
        """Why an image of this format and size is refused, or None; the text follows the image's name."""
        header = self.header_problem(fmt, width, height)
        if header is not None:
            return header
        if min(width, height) < self.min_side:
            return f"is {width}×{height} pixels; the model needs at least {self.min_side} on each side"
        aspect = width / height
        if not self.min_aspect <= aspect <= self.max_aspect:
            shown = f"{aspect:.2f}"
            if self.min_aspect <= float(shown) <= self.max_aspect:  # 0.3995 would read "0.40"
                shown = f"{aspect:.4f}"
            return f"has aspect ratio {shown}; the model takes {self.min_aspect:.2f} to {self.max_aspect:.2f}"
        return None

    @classmethod
    def strictest(cls, limits: tuple[ImageLimits, ...]) -> ImageLimits:
        """The limits an image must meet to be accepted by every model in ``limits``."""
        return cls(
            min_side=max(x.min_side for x in limits),
            max_bytes=min(x.max_bytes for x in limits),
            min_aspect=max(x.min_aspect for x in limits),
            max_aspect=min(x.max_aspect for x in limits),
            formats=tuple(f for f in limits[0].formats if all(f in x.formats for x in limits)),
            max_pixels=min(x.max_pixels for x in limits),
        )


def _names(formats: tuple[str, ...]) -> str:
    """``PNG, JPEG or WebP``: Pillow's names as people write them, in a fixed order."""
    shown = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
    order = [f for f in ("PNG", "JPEG", "WEBP") if f in formats] + [f for f in formats if f not in shown]
    words = [shown.get(f, f) for f in order]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


@dataclass(frozen=True, slots=True)
class AssetRef:
    """One image input of a request: a local file, a URL, or the last frame of another shot."""

    kind: AssetKind
    value: str  # absolute path (file), URL (url), shot id (last_frame, first_frame, clip), image id (generated)
    display: str  # relative path from the storyboard's folder, the URL, "<shot>.last_frame", "<shot>.clip"
    sha256: str | None = None  # hex digest of a file's bytes
    key: str | None = None  # a generated image's key (see :class:`ImagePlan`)

    @property
    def path(self) -> Path:
        """The local file (only for kind == 'file')."""
        return Path(self.value)

    def canonical(self, upstream_keys: dict[str, str]) -> str:
        """The reference as it enters a cache key: content hash, URL, or the upstream shot's key."""
        if self.kind == "file":
            return f"sha256:{self.sha256}"
        if self.kind == "generated":
            return f"generated:{self.key}"
        if self.kind in ("last_frame", "first_frame", "clip"):
            return f"{self.kind}:{upstream_keys[self.value]}"
        return self.value


@dataclass(frozen=True, slots=True)
class ElementRef:
    """A character or object as one entry of the request's ``elements``."""

    name: str  # qualified name as written after @, e.g. "mira" or "cast.ferryman"
    frontal: AssetRef
    references: tuple[AssetRef, ...] = ()
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Mention:
    """One name the author wrote after ``@`` and the tag(s) it became."""

    name: str
    kind: Literal["character", "object", "image", "style", "last_frame"]
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Transition:
    """How the film passes into a shot from the one before it."""

    type: Literal["cut", "crossfade", "fade"] = "cut"
    duration: float = 0.0  # seconds; 0 for a cut


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where something was written."""

    file: str
    line: int | None = None
    column: int | None = None
