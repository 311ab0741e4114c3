"""The pictures of a preview clip, drawn with Pillow: a background and a static card overlay.

The background is the shot's start frame (scaled to cover) or a calm gradient seeded from the
shot id; it is drawn slightly larger than the frame so the encoder can push in on it. The
overlay is an RGBA image of the frame's size: a header (shot number, id, duration, aspect
ratio), a strip of labelled reference thumbnails, the prompt with its tags highlighted, and the
track of a progress bar. Everything here is deterministic: same inputs, same pixels.
"""

from __future__ import annotations

import colorsys
import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw, ImageFont, ImageOps

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
RGBA = tuple[int, int, int, int]

WHITE: RGBA = (255, 255, 255, 255)
MUTED: RGBA = (200, 204, 214, 255)
PANEL: RGBA = (10, 12, 18, 178)
TILE_BG: RGBA = (24, 27, 36, 235)
ELEMENT_COLOR: RGBA = (255, 200, 87, 255)  # amber: @ElementN
IMAGE_COLOR: RGBA = (110, 214, 255, 255)  # sky blue: @ImageN
PROGRESS_COLOR = ELEMENT_COLOR
TAG_RE = re.compile(r"@(?:Element|Image)\d+")

_FONT_FILES = {False: ("DejaVuSans.ttf",), True: ("DejaVuSans-Bold.ttf",)}


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


@dataclass(slots=True)
class Fonts:
    """Fonts at sizes scaled to the frame, loaded once per render (FreeType faces are not shared)."""

    unit: float
    _cache: dict[tuple[bool, int], Font] = field(default_factory=dict)

    def get(self, size: float, bold: bool = False) -> Font:
        """A font of ``size`` × the frame's unit, DejaVu Sans if installed, else Pillow's own."""
        px = max(8, round(size * self.unit))
        key = (bold, px)
        if key not in self._cache:
            self._cache[key] = _load_font(px, bold)
        return self._cache[key]


def _load_font(px: int, bold: bool) -> Font:
    path = _font_path(bold)
    if path is None:
        return ImageFont.load_default(size=px)
    return ImageFont.truetype(path, px, layout_engine=ImageFont.Layout.BASIC)


@functools.cache
def _font_path(bold: bool) -> str | None:
    """The installed DejaVu Sans file (regular or bold), found once; None if there is none."""
    for name in _FONT_FILES[bold]:
        try:
            font = ImageFont.truetype(name, 12)
        except OSError:
            continue
        return str(font.path)
    return None


def seed_bytes(shot_id: str) -> bytes:
    """Deterministic pseudo-random bytes derived from the shot id (the only source of variety)."""
    return hashlib.sha256(shot_id.encode("utf-8")).digest()


# ---------------------------------------------------------------------------------------------
# Background


def render_background(start: Path | None, size: tuple[int, int], shot_id: str, number: int) -> tuple[Image.Image, bool]:
    """The RGB background at ``size``: the start frame scaled to cover, else a seeded gradient.

    Returns the image and whether the start frame was used.
    """
    if start is not None:
        img = _open_rgb(start)
        if img is not None:
            return cover(img, size), True
    return gradient(size, shot_id, number), False


def _open_rgb(path: Path) -> Image.Image | None:
    """The picture at ``path`` upright in RGB, or None if it cannot be read."""
    try:
        with Image.open(path) as im:
            im.draft("RGB", (4096, 4096))
            return ImageOps.exif_transpose(im).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def cover(img: Image.Image, size: tuple[int, int], centering: tuple[float, float] = (0.5, 0.5)) -> Image.Image:
    """``img`` scaled and centre-cropped to fill ``size`` exactly."""
    w, h = size
    scale = max(w / img.width, h / img.height)
    cw, ch = min(img.width, w / scale), min(img.height, h / scale)  # rounding may overshoot by a hair
    left = max(0.0, (img.width - cw) * centering[0])
    top = max(0.0, (img.height - ch) * centering[1])
    box = (left, top, left + cw, top + ch)
    return img.resize(size, Image.Resampling.BICUBIC, box=box, reducing_gap=2.0)


def gradient(size: tuple[int, int], shot_id: str, number: int) -> Image.Image:
    """A calm two-colour gradient with soft light blobs and a faint shot number, seeded by the id."""
    import numpy as np  # here, not at import: a build whose shots are all cached never draws one (0.15 s)

    seed = seed_bytes(shot_id)
    w, h = size
    lw, lh = max(2, w // 8), max(2, h // 8)
    hue = seed[0] / 255
    c1 = np.array(colorsys.hls_to_rgb(hue, 0.16 + seed[1] / 255 * 0.08, 0.45)) * 255
    c2 = (
        np.array(colorsys.hls_to_rgb((hue + 0.09 + seed[2] / 255 * 0.08) % 1.0, 0.34 + seed[3] / 255 * 0.08, 0.40))
        * 255
    )
    yy, xx = np.mgrid[0:lh, 0:lw].astype(np.float32)
    xn, yn = xx / (lw - 1), yy / (lh - 1)
    t = np.clip(0.55 * xn + 0.45 * (1 - yn), 0, 1)[..., None]
    rgb = c1 * (1 - t) + c2 * t
    for i in range(3):  # soft blobs of light
        cx, cy = seed[4 + i] / 255, seed[8 + i] / 255
        r = 0.18 + seed[12 + i] / 255 * 0.22
        d2 = ((xn - cx) * lw / lh) ** 2 + (yn - cy) ** 2
        rgb += (np.exp(-d2 / (2 * r * r)) * (18 + seed[16 + i] % 16))[..., None]
    vignette = 1 - 0.35 * (((xn - 0.5) * 2) ** 2 + ((yn - 0.5) * 2) ** 2) / 2
    rgb *= vignette[..., None]
    img = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    _draw_watermark(img, f"{number:02d}")
    return img


def _draw_watermark(img: Image.Image, text: str) -> None:
    """A large faint shot number, so the push-in reads even on a plain gradient."""
    fonts = Fonts(min(img.size) / 720)
    font = fonts.get(260, bold=True)
    layer = Image.new("L", img.size, 0)
    draw = ImageDraw.Draw(layer)
    draw.text((img.width / 2, img.height * 0.4), text, font=font, fill=34, anchor="mm")
    img.paste(Image.new("RGB", img.size, (255, 255, 255)), (0, 0), layer)


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


def fit_text(draw: ImageDraw.ImageDraw, text: str, font: Font, room: float) -> str:
    """``text`` cut with an ellipsis so it is at most ``room`` pixels wide."""
    if draw.textlength(text, font=font) <= room:
        return text
    while text and draw.textlength(text + "…", font=font) > room:
        text = text[:-1]
    return text.rstrip() + "…" if text else ""


# A run of text in one style; a line is a list of runs.
Run = tuple[str, bool]  # (text, is_tag)
Measure = Callable[[Run], float]  # a run's width in pixels


def split_runs(word: str) -> list[Run]:
    """A word cut into plain text and ``@ElementN`` / ``@ImageN`` tags."""
    runs: list[Run] = []
    pos = 0
    for m in TAG_RE.finditer(word):
        if m.start() > pos:
            runs.append((word[pos : m.start()], False))
        runs.append((m.group(0), True))
        pos = m.end()
    if pos < len(word):
        runs.append((word[pos:], False))
    return runs


def wrap_prompt(prompt: str, width: float, measure: Measure) -> list[list[Run]]:
    """The prompt word-wrapped to ``width`` pixels; ``measure(run)`` gives a run's width."""
    lines: list[list[Run]] = []
    space = measure((" ", False))
    for paragraph in prompt.strip().splitlines() or [""]:
        line: list[Run] = []
        line_w = 0.0
        for word in paragraph.split():
            for piece in _break_long(word, width, measure):
                runs = split_runs(piece)
                w = sum(measure(r) for r in runs)
                if line and line_w + space + w > width:
                    lines.append(line)
                    line, line_w = [], 0.0
                if line:
                    line.append((" ", False))
                    line_w += space
                line.extend(runs)
                line_w += w
        lines.append(line)
    return lines


def _break_long(word: str, width: float, measure: Measure) -> list[str]:
    """A word too wide for a line (a URL, say) cut into pieces that fit."""
    if measure((word, False)) <= width:
        return [word]
    pieces, cur = [], ""
    for ch in word:
        if cur and measure((cur + ch, False)) > width:
            pieces.append(cur)
            cur = ""
        cur += ch
    return pieces + ([cur] if cur else [])


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
        lines[-1] = _ellipsize(lines[-1], text_w, measure)
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


def _ellipsize(line: list[Run], width: float, measure: Measure) -> list[Run]:
    """A line with runs dropped from the end until it and an ellipsis fit ``width``."""
    line = list(line)
    while line and sum(measure(r) for r in line) + measure(("  …", False)) > width:
        line.pop()
    return [*line, ("  …", False)]


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
