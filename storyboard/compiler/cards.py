"""Title and credit cards in the compiler: a shot's ``card:`` → :class:`~storyboard.plan.CardPlan`.

A card is a shot made locally, never generated: no prompt, no model, no price. Its text is a
jinja template like a prompt; its font and background picture are files checked like assets
(file:line errors, the folder rule) and hashed into its key; the text is measured against the
frame with the font itself, so a title too wide for the card is an error before any build.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storyboard.compiler.assets import AssetProblem, AssetStore
from storyboard.compiler.load import Document
from storyboard.compiler.models import ModelInfo
from storyboard.compiler.render import PromptError, Renderer
from storyboard.compiler.scope import Resolved
from storyboard.compiler.spec import CARD_PROMPT, Shot
from storyboard.compiler.spec_card import COLOR_PATTERN
from storyboard.errors import Problem
from storyboard.plan import CARD_ENDPOINT, CARD_FPS, CARD_SIZES, AssetRef, CardPlan, RequestShape

if TYPE_CHECKING:
    from PIL import ImageFont

CARD_MODEL = ModelInfo(
    name=CARD_ENDPOINT,
    aliases=(),
    max_references=0,
    durations=tuple(range(3, 16)),
    aspect_ratios=tuple(CARD_SIZES),
    price_per_second=0.0,
    price_source="made locally: free",
    label="title card (made locally)",
    shape=RequestShape(start=None, image_urls=False, elements=False),
)
# what a card cannot have, and why (a card has no model to send them to)
NOT_ON_A_CARD = ("prompt", "multi_prompt", "start", "end", "edit", "audio", "style", "model", "takes", "pick")
MARGIN = 0.04  # of the frame's width kept free on each side of the text
MAX_FONT_BYTES = 50_000_000


@functools.cache
def default_font_sha256() -> str:
    """The sha256 of the bundled default font's bytes (Aileron Regular, shipped inside Pillow)."""
    import hashlib

    from PIL import ImageFont

    font = ImageFont.load_default(size=12)
    assert isinstance(font, ImageFont.FreeTypeFont)
    return hashlib.sha256(font.font_bytes).hexdigest()


@dataclass
class CardCompiler:
    """Compiles the cards of one storyboard; problems go into the compiler's list."""

    doc: Document
    resolved: Resolved
    root: Path
    problems: list[Problem]
    allow_outside: bool = False

    def __post_init__(self) -> None:
        self.files = AssetStore(root=self.root, allow_outside=self.allow_outside, check_images=False)
        self.renderer = Renderer()

    def _problem(self, where: tuple[str | int, ...], message: str, hint: str | None = None) -> None:
        self.problems.append(self.doc.problem(where, message, hint))

    def compile(self, i: int, shot: Shot, duration: int, aspect: str, context: dict[str, Any]) -> CardPlan | None:
        """The card of ``shot`` (which has ``card:``), or None after recording its problems."""
        assert shot.card is not None
        where = ("shots", i)
        card = shot.card
        before = len(self.problems)
        for name in NOT_ON_A_CARD:
            written = shot.prompt != CARD_PROMPT if name == "prompt" else name in shot.model_fields_set
            if written:
                self._problem(
                    where + (name,),
                    f"shot {shot.id!r} is a card, made locally: it has no `{name}`",
                    f"remove `{name}:`, or remove `card:` to generate the shot from a prompt",
                )
        try:
            text = self.renderer.render(card.text, context)
        except PromptError as exc:
            for message, hint in exc.messages:
                self._problem(where + ("card", "text"), f"shot {shot.id!r}: {message}", hint)
            return None
        text = "\n".join(line.strip() for line in text.strip().splitlines())
        if not text:
            self._problem(where + ("card", "text"), f"shot {shot.id!r}: the card's text is empty", "write the title")
        if card.fade_in + card.fade_out > duration:
            self._problem(
                where + ("card",),
                f"shot {shot.id!r}: the text fades in over {card.fade_in:g} s and out over {card.fade_out:g} s, "
                f"longer than the card's {duration} s",
                "shorten the fades or lengthen the card",
            )
        font_ref, font = self._font(card.font, card.size, where + ("card", "font"))
        image, colour = self._background(card.background, where + ("card", "background"))
        if len(self.problems) > before:
            return None
        width, height = CARD_SIZES[aspect]
        if font is not None and text:
            self._fits(shot.id, text, font, width, height, where + ("card", "text"))
        if len(self.problems) > before:
            return None
        return CardPlan(
            text=text, font=font_ref, font_sha256=font_ref.sha256 or "" if font_ref else default_font_sha256(),
            size=card.size, color=card.color, background=colour, image=image, position=card.position,
            fade_in=card.fade_in, fade_out=card.fade_out, width=width, height=height, fps=CARD_FPS,
        )  # fmt: skip

    def _font(
        self, raw: str | None, size: int, where: tuple[str | int, ...]
    ) -> tuple[AssetRef | None, ImageFont.FreeTypeFont | None]:
        from PIL import ImageFont

        if raw is None:
            font = ImageFont.load_default(size=size)
            return None, font if isinstance(font, ImageFont.FreeTypeFont) else None
        if raw.startswith(("http://", "https://")):
            self._problem(where, f"{raw!r}: a card's font is read locally", "download the font file and give its path")
            return None, None
        try:
            ref = self.files.ref(raw, self.doc.path)
        except AssetProblem as exc:
            self._problem(where, exc.message, exc.hint)
            return None, None
        try:
            if ref.path.stat().st_size > MAX_FONT_BYTES:
                raise OSError("the file is over 50 MB")
            return ref, ImageFont.truetype(io.BytesIO(ref.path.read_bytes()), size=size)
        except OSError as exc:
            self._problem(
                where,
                f"{raw!r} is not a font file Pillow can read ({exc})",
                "give a TrueType (.ttf) or OpenType (.otf) font file",
            )
            return None, None

    def _background(self, raw: str, where: tuple[str | int, ...]) -> tuple[AssetRef | None, str]:
        if re.fullmatch(COLOR_PATTERN, raw):
            return None, raw
        if raw.startswith("#"):
            self._problem(where, f"{raw!r} is not a colour", "write a colour as #rrggbb (e.g. #101010)")
            return None, "#000000"
        asset = self.resolved.visible.get(raw)
        if asset is not None:
            if asset.kind != "image":
                self._problem(where, f"{raw!r} is a {asset.kind}, not an image", "name an image under `images:`")
                return None, "#000000"
            ref = asset.refs[0]
            if ref.kind != "file":
                self._problem(where, f"image {raw!r} is a URL; a card is drawn locally", "use a local image file")
                return None, "#000000"
            return ref, "#000000"
        if raw.startswith(("http://", "https://")):
            self._problem(where, f"{raw!r}: a card is drawn locally", "download the picture and give its path")
            return None, "#000000"
        try:
            ref = self.files.ref(raw, self.doc.path)
        except AssetProblem as exc:
            hint = exc.hint or "a colour (#rrggbb), an image name under `images:`, or an image file"
            self._problem(where, f"{exc.message} (the card's background)", hint)
            return None, "#000000"
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(ref.path) as im:
                im.verify()
        except (OSError, UnidentifiedImageError, SyntaxError) as exc:
            self._problem(where, f"{raw!r} is not an image Pillow can read ({exc.__class__.__name__})",
                          "use a PNG, JPEG or WebP picture")  # fmt: skip
            return None, "#000000"
        return ref, "#000000"

    def _fits(
        self, shot_id: str, text: str, font: ImageFont.FreeTypeFont, width: int, height: int,
        where: tuple[str | int, ...],
    ) -> None:  # fmt: skip
        """The text must fit the frame: each line within the width, all lines within the height."""
        room = width * (1 - 2 * MARGIN)
        widest = max(text.split("\n"), key=lambda line: font.getlength(line))
        wide = font.getlength(widest)
        ascent, descent = font.getmetrics()
        lines = text.count("\n") + 1
        tall = lines * (ascent + descent) * 1.25
        if wide > room:
            self._problem(
                where,
                f"shot {shot_id!r}: the line {widest[:40]!r} is {wide:.0f} px wide at size {font.size:g}; "
                f"the card is {width} px wide",
                f"make `size` at most {int(font.size * room / wide)}, or break the line (a new line in the text)",
            )
        elif tall > height:
            self._problem(
                where,
                f"shot {shot_id!r}: {lines} lines at size {font.size:g} are {tall:.0f} px tall; the card is {height} px",
                "use fewer lines or a smaller `size`",
            )
