"""The overlay of a preview clip, drawn with Pillow: a static card over the moving background.

The overlay is an RGBA image of the frame's size: a header (shot number, id, duration, aspect
ratio), a strip of labelled reference thumbnails, the prompt with its tags highlighted, and the
track of a progress bar. The background is :mod:`storyboard.backends.preview_background`'s; the
fonts and the prompt's wrap are :mod:`storyboard.backends.preview_text`'s. Everything here is
deterministic: same inputs, same pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw, ImageFont, ImageOps

from storyboard.backends.preview_background import cover
from storyboard.backends.preview_text import Fonts, ellipsize, fit_text, wrap_prompt

RGBA = tuple[int, int, int, int]

WHITE: RGBA = (255, 255, 255, 255)
MUTED: RGBA = (200, 204, 214, 255)
PANEL: RGBA = (10, 12, 18, 178)
TILE_BG: RGBA = (24, 27, 36, 235)
ELEMENT_COLOR: RGBA = (255, 200, 87, 255)  # amber: @ElementN
IMAGE_COLOR: RGBA = (110, 214, 255, 255)  # sky blue: @ImageN
PROGRESS_COLOR = ELEMENT_COLOR


@dataclass(frozen=True, slots=True)
class Tile:
    """One reference shown in the thumbnail strip."""

    tag: str  # "@Element1", "@Image2"
    label: str  # the name the author wrote, or the file name
    kind: Literal["element", "image"]
    path: Path | None  # a local image, or None for a URL (drawn as a placeholder)
    note: str = ""  # a second line for placeholders, e.g. the URL's host


@dataclass(frozen=True, slots=True)
class Card:
    """Everything the overlay shows about one shot."""

    shot_id: str
    number: int  # 1-based position in the storyboard
    duration: int  # seconds
    aspect_ratio: str
    prompt: str
    tiles: tuple[Tile, ...] = ()
    style: str | None = None
    start_tag: str | None = None  # the start frame's tag in the prompt, e.g. "@Image1"
    start_name: str | None = None  # the start frame's file name; None when there is none
    start_shown: bool = True  # False when the start frame is a URL or could not be read


# ---------------------------------------------------------------------------------------------
# Overlay


@dataclass(frozen=True, slots=True)
class Layout:
    """Sizes and positions, in pixels, for a frame of ``width`` × ``height``."""

    width: int
    height: int

    @property
    def unit(self) -> float:
        """1.0 at 720 px on the short side."""
        return min(self.width, self.height) / 720

    @property
    def portrait(self) -> bool:
        """Taller than wide."""
        return self.height > self.width

    def px(self, v: float) -> int:
        """``v`` design pixels at this frame's scale."""
        return round(v * self.unit)

    @property
    def margin(self) -> int:
        """Space between the frame's edge and the panels."""
        return self.px(28)

    @property
    def progress_h(self) -> int:
        """Height of the progress track along the bottom edge (even, for 4:2:0 chroma)."""
        return max(4, self.px(6) // 2 * 2)

    @property
    def tile_size(self) -> int:
        """Side of a thumbnail's picture."""
        return self.px(132 if self.portrait else 120)


def render_overlay(card: Card, size: tuple[int, int]) -> Image.Image:
    """The static RGBA card drawn over the moving background."""
    layout = Layout(*size)
    fonts = Fonts(layout.unit)
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    header_bottom = _draw_header(draw, card, layout, fonts)
    panel_top = _draw_prompt(img, card.prompt, layout, fonts)
    _draw_tiles(img, card.tiles, layout, fonts, panel_top)
    _draw_progress_track(draw, card.duration, layout)
    if card.start_name:
        _draw_start_caption(img, card, layout, fonts, header_bottom)
    return img


def _draw_start_caption(img: Image.Image, card: Card, layout: Layout, fonts: Fonts, header_bottom: int) -> None:
    """A small line under the header naming the start frame (the picture behind the card)."""
    draw = ImageDraw.Draw(img)
    font, tag_font = fonts.get(17), fonts.get(17, bold=True)
    intro = "start frame" if card.start_shown else "start frame (not shown)"
    runs = [(intro + "  ", font, MUTED)]
    if card.start_tag:
        runs.append((card.start_tag + "  ", tag_font, IMAGE_COLOR))
    room = layout.width - 2 * layout.margin - layout.px(24) - sum(draw.textlength(t, font=f) for t, f, _ in runs)
    runs.append((fit_text(draw, card.start_name or "", font, room), font, WHITE))
    pad_x, h = layout.px(12), layout.px(30)
    x: float = layout.margin
    y = header_bottom + layout.px(12)
    width = sum(draw.textlength(t, font=f) for t, f, _ in runs)
    draw.rounded_rectangle((x, y, x + width + 2 * pad_x, y + h), radius=h // 2, fill=PANEL)
    x += pad_x
    for text, f, fill in runs:
        draw.text((x, y + h / 2), text, font=f, fill=fill, anchor="lm")
        x += draw.textlength(text, font=f)


def _draw_header(draw: ImageDraw.ImageDraw, card: Card, layout: Layout, fonts: Fonts) -> int:
    """The top band: shot number badge, id (and style), duration and aspect ratio; return its height."""
    h = layout.px(64)
    draw.rectangle((0, 0, layout.width, h), fill=PANEL)
    m = layout.margin
    mid = h / 2
    badge_font = fonts.get(20, bold=True)
    badge = f"SHOT {card.number}"
    bw = draw.textlength(badge, font=badge_font) + layout.px(20)
    draw.rounded_rectangle(
        (m, mid - layout.px(16), m + bw, mid + layout.px(16)), radius=layout.px(6), fill=ELEMENT_COLOR
    )
    draw.text((m + bw / 2, mid), badge, font=badge_font, fill=(20, 20, 24, 255), anchor="mm")
    meta = f"{card.duration} s  ·  {card.aspect_ratio}  ·  PREVIEW"
    meta_font = fonts.get(20)
    meta_w = draw.textlength(meta, font=meta_font)
    draw.text((layout.width - m, mid), meta, font=meta_font, fill=MUTED, anchor="rm")
    title_x = m + bw + layout.px(16)
    title_room = layout.width - m - meta_w - layout.px(20) - title_x
    title = card.shot_id + (f"  —  {card.style}" if card.style else "")
    title_font = fonts.get(28, bold=True)
    draw.text((title_x, mid), fit_text(draw, title, title_font, title_room), font=title_font, fill=WHITE, anchor="lm")
    return h


def _draw_prompt(img: Image.Image, prompt: str, layout: Layout, fonts: Fonts) -> int:
    """Draw the prompt panel at the bottom; return its top edge."""
    m = layout.margin
    pad = layout.px(18)
    bottom = layout.height - layout.progress_h - layout.px(16)
    max_h = layout.height * (0.40 if layout.portrait else 0.36)
    text_w = layout.width - 2 * m - 2 * pad
    draw = ImageDraw.Draw(img)
    for size in (26, 23, 20, 18):
        regular, bold = fonts.get(size), fonts.get(size, bold=True)
        measure = lambda r, regular=regular, bold=bold: draw.textlength(r[0], font=bold if r[1] else regular)  # noqa: E731
        lines = wrap_prompt(prompt, text_w, measure)
        line_h = round(regular.size * 1.36) if isinstance(regular, ImageFont.FreeTypeFont) else 14
        max_lines = max(1, int((max_h - 2 * pad) // line_h))
        if len(lines) <= max_lines:
            break
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = ellipsize(lines[-1], text_w, measure)
    top = bottom - 2 * pad - line_h * len(lines)
    panel = Image.new("RGBA", img.size, (0, 0, 0, 0))
    ImageDraw.Draw(panel).rounded_rectangle((m, top, layout.width - m, bottom), radius=layout.px(14), fill=PANEL)
    img.alpha_composite(panel)
    y = top + pad
    for line in lines:
        x = float(m + pad)
        for text, is_tag in line:
            font = bold if is_tag else regular
            fill = (ELEMENT_COLOR if text.startswith("@E") else IMAGE_COLOR) if is_tag else WHITE
            draw.text((x, y + line_h / 2), text, font=font, fill=fill, anchor="lm")
            x += measure((text, is_tag))
        y += line_h
    return top


def _draw_tiles(img: Image.Image, tiles: tuple[Tile, ...], layout: Layout, fonts: Fonts, panel_top: int) -> None:
    """The thumbnail strip, left-aligned just above the prompt panel."""
    if not tiles:
        return
    m = layout.margin
    side = layout.tile_size
    cap_h = layout.px(48)
    gap = layout.px(12)
    top = panel_top - layout.px(12) - side - cap_h
    fit = max(1, (layout.width - 2 * m + gap) // (side + gap))
    shown = list(tiles[:fit])
    extra = len(tiles) - len(shown)
    if extra:
        shown = shown[:-1]
        extra += 1
    for i, tile in enumerate(shown):
        _draw_tile(img, tile, (m + i * (side + gap), top), side, cap_h, layout, fonts)
    if extra:
        x = m + len(shown) * (side + gap)
        draw = ImageDraw.Draw(img)
        draw.rounded_rectangle((x, top, x + side, top + side + cap_h), radius=layout.px(10), fill=TILE_BG)
        draw.text(
            (x + side / 2, top + (side + cap_h) / 2),
            f"+{extra} more",
            font=fonts.get(20, bold=True),
            fill=WHITE,
            anchor="mm",
        )


def _draw_tile(
    img: Image.Image, tile: Tile, pos: tuple[int, int], side: int, cap_h: int, layout: Layout, fonts: Fonts
) -> None:
    """One reference: its picture (or a placeholder), framed in its tag's colour, tag and name below."""
    x, y = pos
    radius = layout.px(10)
    color = ELEMENT_COLOR if tile.kind == "element" else IMAGE_COLOR
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((x, y, x + side, y + side + cap_h), radius=radius, fill=TILE_BG)
    thumb = _thumbnail(tile.path, side) if tile.path is not None else None
    if thumb is not None:
        mask = Image.new("L", (side, side), 0)
        ImageDraw.Draw(mask).rounded_rectangle((0, 0, side - 1, side + radius), radius=radius, fill=255)
        img.paste(thumb, (x, y), mask)
    else:
        _draw_placeholder(draw, tile, (x, y), side, layout, fonts, color)
    border = max(2, layout.px(2))
    draw.rounded_rectangle((x, y, x + side, y + side + cap_h), radius=radius, outline=color, width=border)
    pad = layout.px(8)
    tag_font, label_font = fonts.get(16, bold=True), fonts.get(15)
    tag = fit_text(draw, tile.tag, tag_font, side - 2 * pad)
    draw.text((x + pad, y + side + layout.px(6)), tag, font=tag_font, fill=color, anchor="la")
    label = fit_text(draw, tile.label, label_font, side - 2 * pad)
    draw.text((x + pad, y + side + layout.px(26)), label, font=label_font, fill=WHITE, anchor="la")


def _draw_placeholder(
    draw: ImageDraw.ImageDraw, tile: Tile, pos: tuple[int, int], side: int, layout: Layout, fonts: Fonts, color: RGBA
) -> None:
    """A tile for an image that is not on disk (a URL) or could not be read."""
    x, y = pos
    inset = layout.px(14)
    draw.rounded_rectangle(
        (x + inset, y + inset, x + side - inset, y + side - inset),
        radius=layout.px(6),
        outline=_mix(color, TILE_BG, 0.6),
        width=max(1, layout.px(2)),
    )
    kind_font, note_font = fonts.get(18, bold=True), fonts.get(13)
    draw.text(
        (x + side / 2, y + side / 2 - layout.px(8)),
        "URL" if tile.path is None else "?",
        font=kind_font,
        fill=WHITE,
        anchor="mm",
    )
    if tile.note:
        note = fit_text(draw, tile.note, note_font, side - 2 * inset - layout.px(6))
        draw.text((x + side / 2, y + side / 2 + layout.px(16)), note, font=note_font, fill=MUTED, anchor="mm")


def _mix(a: RGBA, b: RGBA, t: float) -> RGBA:
    """An opaque colour ``t`` of the way from ``b`` to ``a`` (ImageDraw overwrites, it does not blend)."""
    return (*(round(x * t + y * (1 - t)) for x, y in zip(a[:3], b[:3], strict=True)), 255)  # type: ignore[return-value]


def _thumbnail(path: Path, side: int) -> Image.Image | None:
    """A square RGB thumbnail of ``path`` (alpha flattened on dark grey), or None if unreadable."""
    try:
        with Image.open(path) as opened:
            opened.draft("RGB", (side * 2, side * 2))
            im: Image.Image = ImageOps.exif_transpose(opened)
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = im.convert("RGBA")
                flat = Image.new("RGBA", rgba.size, TILE_BG[:3] + (255,))
                flat.alpha_composite(rgba)
                rgb = flat.convert("RGB")
            else:
                rgb = im.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return cover(rgb, (side, side), centering=(0.5, 0.3))


def _draw_progress_track(draw: ImageDraw.ImageDraw, duration: int, layout: Layout) -> None:
    """The empty progress track along the bottom edge, with a tick at every second."""
    h = layout.progress_h
    top = layout.height - h
    draw.rectangle((0, top, layout.width, layout.height), fill=(0, 0, 0, 150))
    for s in range(1, max(1, duration)):
        x = round(layout.width * s / duration)
        draw.rectangle((x - 1, top, x, layout.height), fill=(255, 255, 255, 110))
