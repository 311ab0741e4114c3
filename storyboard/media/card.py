"""Title and credit cards: a text over a colour or a picture, made locally as an H.264 clip.

The two layers are drawn once with Pillow (the background, and the text on a transparent
layer) and ffmpeg fades the text layer in and out over the still background and encodes the
clip with the house encoder (:func:`storyboard.media.ffmpeg.house_video_args`), at the same
size, frame rate, pixel format and time base as the preview's clips, so a card joins them by
stream copy. Measured against moviepy's ``TextClip`` + ``CompositeVideoClip`` on the same card
(docs/performance.md, "Cards"): this path is several times faster and byte-deterministic, so
moviepy is not used here (docs/architecture.md, decisions).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from storyboard.media.ffmpeg import house_video_args, run_ffmpeg

if TYPE_CHECKING:
    from PIL import Image, ImageFont

Position = Literal["center", "top", "bottom"]
MARGIN = 0.08  # of the frame's height: the space kept above a top title and below a bottom one
LINE_SPACING = 0.25  # of the font size, between lines of the text


@dataclass(frozen=True, slots=True)
class CardPicture:
    """Everything a card's clip is made of, as paths and numbers."""

    text: str
    width: int
    height: int
    fps: int
    seconds: int
    timescale: int  # the MP4 track's time scale (the preview's, so cards and clips stream-copy)
    font: Path | None = None  # a TrueType/OpenType file; None: Pillow's bundled Aileron Regular
    size: int = 64  # the font's size in pixels
    color: tuple[int, int, int] = (255, 255, 255)
    background: tuple[int, int, int] = (0, 0, 0)
    image: Path | None = None  # a picture behind the text (scaled to cover the frame), else the colour
    position: Position = "center"
    fade_in: float = 0.5
    fade_out: float = 0.5


def load_font(font: Path | None, size: int) -> ImageFont.FreeTypeFont:
    """The card's font at ``size`` pixels: the file given, or Pillow's bundled Aileron Regular."""
    from PIL import ImageFont

    if font is None:
        loaded = ImageFont.load_default(size=size)
        assert isinstance(loaded, ImageFont.FreeTypeFont)  # Pillow with FreeType (every wheel has it)
        return loaded
    return ImageFont.truetype(str(font), size=size)


def default_font_bytes() -> bytes:
    """The bytes of the bundled default font (they enter the card's cache key)."""
    return load_font(None, 12).font_bytes


def text_box(card: CardPicture) -> tuple[int, int, int, int]:
    """Where the text is drawn: (left, top, right, bottom) in pixels of the frame."""
    return _layout(card, load_font(card.font, card.size))[1]


def _layout(
    card: CardPicture, font: ImageFont.FreeTypeFont
) -> tuple[list[tuple[str, int, int]], tuple[int, int, int, int]]:
    """Each line with its (x, y), and the box around all of them."""
    lines = card.text.split("\n")
    gap = round(card.size * LINE_SPACING)
    boxes = [font.getbbox(line or " ") for line in lines]
    ascent, descent = font.getmetrics()
    line_h = ascent + descent
    total_h = line_h * len(lines) + gap * (len(lines) - 1)
    if card.position == "top":
        top = round(card.height * MARGIN)
    elif card.position == "bottom":
        top = card.height - round(card.height * MARGIN) - total_h
    else:
        top = (card.height - total_h) // 2
    placed = []
    left, right = card.width, 0
    for n, (line, box) in enumerate(zip(lines, boxes)):
        w = int(box[2] - box[0])
        x = (card.width - w) // 2 - int(box[0])
        y = top + n * (line_h + gap)
        placed.append((line, x, y))
        left, right = min(left, x + int(box[0])), max(right, x + int(box[2]))
    return placed, (max(0, left), max(0, top), min(card.width, right), min(card.height, top + total_h))


def draw_text_layer(card: CardPicture) -> Image.Image:
    """The text alone on a transparent RGBA layer the size of the frame."""
    from PIL import Image, ImageDraw

    font = load_font(card.font, card.size)
    layer = Image.new("RGBA", (card.width, card.height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    placed, _ = _layout(card, font)
    for line, x, y in placed:
        draw.text((x, y), line, font=font, fill=(*card.color, 255))
    return layer


def draw_background(card: CardPicture) -> Image.Image:
    """The background: the picture scaled to cover the frame (centred, cropped), or the colour."""
    from PIL import Image, ImageOps

    if card.image is None:
        return Image.new("RGB", (card.width, card.height), card.background)
    with Image.open(card.image) as opened:
        upright = ImageOps.exif_transpose(opened)  # its own name: Pillow 13's stubs type it as Image, not ImageFile
        return ImageOps.fit(upright.convert("RGB"), (card.width, card.height), Image.Resampling.LANCZOS)


def card_filter(card: CardPicture) -> str:
    """The ffmpeg filter graph: the still background, the text layer faded in and out over it."""
    frames = card.seconds * card.fps
    to_yuv = "scale=out_color_matrix=bt709:out_range=tv:flags=bilinear"
    still = f"loop=loop=-1:size=1:start=0,setpts=N/{card.fps}/TB"
    fades = []
    fade_in = round(card.fade_in * card.fps)
    fade_out = round(card.fade_out * card.fps)
    if fade_in:
        fades.append(f"fade=t=in:s=0:n={fade_in}:alpha=1")
    if fade_out:
        fades.append(f"fade=t=out:s={frames - fade_out}:n={fade_out}:alpha=1")
    text = ",".join([f"[1:v]{to_yuv}", "format=yuva420p", still, *fades]) + "[text]"
    return ";".join([f"[0:v]{to_yuv},format=yuv420p,{still}[bg]", text, "[bg][text]overlay=format=yuv420,setsar=1[v]"])


MUX_ARGS: tuple[str, ...] = (
    "-an", "-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1",
    "-fflags", "+bitexact", "-flags:v", "+bitexact", "-movflags", "+faststart", "-f", "mp4",
)  # fmt: skip


def encoder_args(card: CardPicture) -> list[str]:
    """The house encoder (fast), threads pinned and keyframes every 2 s: the preview's settings."""
    args = house_video_args(card.width, card.height, Fraction(card.fps), Fraction(1, card.timescale), fast=True)
    return [*args, "-threads", "2", "-keyint_min", str(2 * card.fps), "-sc_threshold", "0"]


def write_card(card: CardPicture, dest: Path, *, scratch: Path | None = None) -> None:
    """Render the card's clip to ``dest`` (an MP4 of exactly ``seconds * fps`` frames)."""
    with tempfile.TemporaryDirectory(prefix="storyboard-card-", dir=scratch) as tmp:
        bg, text = Path(tmp) / "background.rgb", Path(tmp) / "text.rgba"
        bg.write_bytes(draw_background(card).tobytes())
        text.write_bytes(draw_text_layer(card).tobytes())
        size = f"{card.width}x{card.height}"
        args = [
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s:v", size, "-i", str(bg),
            "-f", "rawvideo", "-pix_fmt", "rgba", "-s:v", size, "-i", str(text),
            "-filter_complex", card_filter(card), "-map", "[v]", "-frames:v", str(card.seconds * card.fps),
            *encoder_args(card), *MUX_ARGS, str(dest),
        ]  # fmt: skip
        try:
            run_ffmpeg(args, what="title card")
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
