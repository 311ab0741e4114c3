"""Pydantic model of a title or credit card (a shot's ``card:``), part of format version 1.

Shapes and types only, like the rest of the format: the font file, the background image and
the text's template are checked when compiling (:mod:`storyboard.compiler.cards`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

COLOR_PATTERN = r"^#[0-9A-Fa-f]{6}$"
Color = Annotated[str, StringConstraints(pattern=COLOR_PATTERN), Field(description="a colour, #rrggbb")]


class Card(BaseModel):
    """A title or credit card: text over a colour or a picture, made locally (never generated)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(
        description="the words on the card (jinja, like prompts; a new line starts a new line on the card)"
    )
    background: Annotated[str, StringConstraints(min_length=1)] = Field(
        default="#000000", description="a colour (#rrggbb), an image name under `images:`, or an image file"
    )
    font: Annotated[str, StringConstraints(min_length=1)] | None = Field(
        default=None, description="a TrueType or OpenType font file; default: Aileron Regular (bundled with Pillow)"
    )
    size: Annotated[int, Field(strict=True, ge=8, le=400)] = Field(
        default=64, description="the font's size in pixels of the card's frame (1280×720 for 16:9)"
    )
    color: Color = "#ffffff"
    position: Literal["center", "top", "bottom"] = Field(default="center", description="where the text sits")
    fade_in: Annotated[float, Field(ge=0, le=5)] = Field(default=0.5, description="seconds the text fades in")
    fade_out: Annotated[float, Field(ge=0, le=5)] = Field(default=0.5, description="seconds the text fades out")
