"""Pydantic models of the storyboard format, version 1 (the source of ``schemas/``).

Frozen, ``extra="forbid"`` (a typo must fail), tuples rather than lists. These models check
shapes and types only; names, references and files are checked when resolving.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from storyboard.compiler.spec_audio import Effect, Line, Loudness, MusicCue, Subtitles, Voice, VoiceField
from storyboard.compiler.spec_card import Card

IDENT_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
QUALNAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$"
DEFAULT_MODEL = "fal-ai/kling-video/o1/standard/reference-to-video"

Ident = Annotated[str, StringConstraints(pattern=IDENT_PATTERN)]
SHOT_ID_MAX = 100  # a shot id names files (build/shots/<id>.mp4, their temp files): it must fit a file name
QualName = Annotated[str, StringConstraints(pattern=QUALNAME_PATTERN)]
AspectRatio = Literal["16:9", "9:16", "1:1"]
Duration = Annotated[
    int, Field(strict=True, ge=3, le=15, description="seconds, an integer 3..15 (each model allows its own range)")
]


def _exactly_one(value: Any) -> Any:
    """``version`` is the integer 1: not ``yes`` (YAML 1.1's true, equal to 1) nor ``1.0``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{value!r:.80} is not allowed here; expected 1")  # worded for the user: see validate.py
    return value


Version = Annotated[Literal[1], BeforeValidator(_exactly_one)]
ModelName = Annotated[str, StringConstraints(min_length=1)]
MAX_TAKES = 10
Takes = Annotated[
    int, Field(strict=True, ge=1, le=MAX_TAKES, description="how many takes (generations) of the shot to keep, 1..10")
]
Pick = Annotated[int, Field(strict=True, ge=1, description="the take that goes into the film (default: the first)")]
AssetPath = Annotated[
    str,
    StringConstraints(min_length=1),
    Field(description="a path relative to the declaring file, or an http(s) URL"),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TransitionSpec(_Model):
    """A transition with a duration."""

    type: Literal["cut", "crossfade", "fade"]
    duration: Annotated[float, Field(strict=True, ge=0, le=5)] = 0.5


TransitionField = Literal["cut", "crossfade", "fade"] | TransitionSpec


class Generate(_Model):
    """An image made from words on a text-to-image model instead of a file (docs/format.md, "Generated assets")."""

    prompt: str = Field(description="what the image shows (a jinja template with the file's `vars`)")
    views: int | None = Field(
        default=None, description="characters and objects: reference views made from the frontal image, 1..3"
    )
    view_prompts: tuple[str, ...] | None = Field(
        default=None, description="what each reference view shows (default: side, back, three-quarter)"
    )
    images: int | None = Field(default=None, description="styles: how many style images to make, 1..4")
    model: ModelName | None = Field(default=None, description="the text-to-image model (default `flux-dev`)")
    view_model: ModelName | None = Field(
        default=None, description="the image-to-image model that makes the views from the frontal (default `kontext`)"
    )
    seed: Annotated[int, Field(strict=True, ge=0, le=2**31 - 1)] = Field(
        default=1, description="the seed sent with every request, so a generation can be made again"
    )
    size: tuple[Annotated[int, Field(strict=True)], Annotated[int, Field(strict=True)]] | None = Field(
        default=None, description="[width, height] in pixels (each 300..2048, aspect 0.40..2.50)"
    )
    aspect_ratio: Literal["16:9", "9:16", "1:1", "3:4", "4:3"] | None = Field(
        default=None, description="a shape instead of a size (16:9 is 1344x768, 3:4 is 768x1024, ...)"
    )


class Element(_Model):
    """A character or object: an element of the request (frontal image + reference images)."""

    description: str | None = None
    image: AssetPath | None = Field(None, description="the frontal image (required unless `extends` or `generate`)")
    generate: Generate | None = Field(None, description="make the frontal image and views from words instead of files")
    references: tuple[AssetPath, ...] | None = Field(None, description="more views of the same element")
    extends: QualName | None = Field(None, description="inherit from another character or object, then override")
    voice: VoiceField | None = Field(None, description="the voice this character speaks with: a voice name or a voice")


class Style(_Model):
    """A style: reference images that set the look."""

    description: str | None = None
    images: tuple[AssetPath, ...] | None = None
    extends: QualName | None = None
    generate: Generate | None = Field(None, description="make the style images from words instead of files")


class GeneratedImage(_Model):
    """A named image made from words: ``images: {hall: {generate: {prompt: ...}}}``."""

    generate: Generate
    description: str | None = None


class Defaults(_Model):
    """Values every shot takes unless it says otherwise."""

    duration: Duration | None = None
    aspect_ratio: AspectRatio | None = None
    style: QualName | None = None
    model: str | None = Field(
        default=None, description="the model of every shot that names none (an alias or endpoint id)"
    )
    audio: bool | None = Field(default=None, description="native audio for every shot whose model makes it")
    takes: Takes | None = None


class PromptPart(_Model):
    """One prompt of a multi-prompt clip."""

    prompt: str
    duration: Duration


MULTI_PROMPT = "\x00multi_prompt"  # the prompt of a shot that has several (never written by hand: NUL)
CARD_PROMPT = "\x00card"  # the prompt of a card, which has none (never written by hand: NUL)


def _prompt_or_parts(schema: dict[str, Any]) -> None:
    """The JSON schema: a shot has a prompt, a multi_prompt or a card."""
    schema["required"] = [r for r in schema.get("required", []) if r != "prompt"]
    schema["anyOf"] = [{"required": ["prompt"]}, {"required": ["multi_prompt"]}, {"required": ["card"]}]


class Shot(_Model):
    """One shot: one generation request."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_prompt_or_parts)

    id: Annotated[Ident, Field(max_length=SHOT_ID_MAX)]
    prompt: str = Field(description="what happens (a shot with `multi_prompt` has none)")
    multi_prompt: Annotated[tuple[PromptPart, ...], Field(min_length=2)] | None = Field(
        None, description="several prompts in one clip, each with its seconds (models with multi_prompt)"
    )
    start: QualName | None = Field(None, description="an image name, `ns.name`, or `<shot>.last_frame`")
    end: QualName | None = Field(
        None, description="the end frame: an image name, `<shot>.first_frame` or `<shot>.last_frame`"
    )
    edit: Ident | None = Field(
        default=None, description="make this shot an edit of another shot's clip (video-to-video)"
    )
    audio: bool | None = Field(default=None, description="native audio (generate_audio) on models that make it")
    style: QualName | None = Field(None, description="a style name; null for no style")
    duration: Duration | Literal["auto"] | None = Field(
        default=None,
        description="seconds, or `auto`: the shortest duration the model allows that holds the shot's lines",
    )
    aspect_ratio: AspectRatio | None = None
    transition: TransitionField | None = Field(None, description="how the film passes into this shot")
    model: ModelName | None = Field(None, description="another model for this shot")
    notes: str | None = Field(None, description="free text for the board; not sent to the model")
    lines: tuple[Line, ...] = Field(default=(), description="dialogue and narration spoken in this shot")
    sfx: tuple[Effect, ...] = Field(default=(), description="sound effects in this shot")
    card: Card | None = Field(
        default=None, description="a title or credit card made locally instead of generated (no prompt)"
    )
    takes: Takes | None = None
    pick: Pick | None = None

    @model_validator(mode="before")
    @classmethod
    def _parts_stand_for_the_prompt(cls, data: Any) -> Any:
        """A multi_prompt shot or a card needs no ``prompt``; every other shot still gets pydantic's "missing"."""
        if isinstance(data, dict) and "prompt" not in data:
            if "multi_prompt" in data:
                return {**data, "prompt": MULTI_PROMPT}
            if "card" in data:
                return {**data, "prompt": CARD_PROMPT}
        return data


# a plain file name: no folder, no control character (NUL included), not hidden, a length every filesystem takes
FILM_OUTPUT_PATTERN = r"^[^/\\\x00-\x1f\x7f.][^/\\\x00-\x1f\x7f]{0,99}\.mp4$"
NAME_BYTES = 200  # the film's temp file adds ~22 bytes to its name; file names stop at 255 bytes


def _fits_a_file_name(name: str) -> str:
    if len(name.encode("utf-8", "surrogatepass")) > NAME_BYTES:
        raise ValueError(
            f"the film's name is {len(name.encode('utf-8', 'surrogatepass'))} bytes long; at most "
            f"{NAME_BYTES} fit a file name"
        )
    return name


class Film(_Model):
    """The stitched film."""

    output: Annotated[str, StringConstraints(pattern=FILM_OUTPUT_PATTERN), AfterValidator(_fits_a_file_name)] = (
        "film.mp4"
    )
    transition: TransitionField = "cut"
    music: tuple[MusicCue, ...] = Field(default=(), description="music cues, placed against shots or times")
    loudness: Loudness = Field(default_factory=Loudness)
    subtitles: bool | Subtitles = Field(
        default=True,
        description="write SRT and WebVTT beside the film and a subtitle track in it; "
        "`{burn_in: true}` also draws the lines into the picture",
    )
    aspect_ratio: AspectRatio | None = Field(
        default=None,
        description="the film's frame (default: `defaults.aspect_ratio`, else 16:9); "
        "a shot in another ratio is fitted inside it and padded with black",
    )


class _Assets(_Model):
    imports: dict[Ident, str] = Field(default_factory=dict, description="namespace → path of a library file")
    characters: dict[Ident, Element] = Field(default_factory=dict)
    objects: dict[Ident, Element] = Field(default_factory=dict)
    styles: dict[Ident, Style] = Field(default_factory=dict)
    images: dict[Ident, AssetPath | GeneratedImage] = Field(default_factory=dict)
    voices: dict[Ident, Voice] = Field(default_factory=dict, description="voices, used by name in lines")


class Storyboard(_Assets):
    """A storyboard file."""

    version: Version
    title: str
    model: ModelName = DEFAULT_MODEL
    models: AssetPath | None = Field(
        default=None, description="a models file adding or changing models (docs/models.md)"
    )
    defaults: Defaults = Field(default_factory=Defaults)
    vars: dict[Ident, Any] = Field(default_factory=dict)
    shots: Annotated[tuple[Shot, ...], Field(min_length=1)]
    film: Film = Field(default_factory=Film)


class Library(_Assets):
    """A library file: reusable assets, no shots, no film."""

    version: Version
    title: str | None = None
    description: str | None = None


ASSET_TABLES = ("characters", "objects", "styles", "images")
RESERVED_VARS = frozenset({"shot", "defaults", "title", "id", "duration", "aspect_ratio", "style", "start", "end"})
