"""Text on the preview's pictures: the fonts, scaled to the frame, and the prompt's word wrap.

DejaVu Sans when the system has it, else Pillow's own font. A prompt is wrapped in runs of one
style each (plain text, or an ``@ElementN`` / ``@ImageN`` tag drawn in bold and in colour), a
word too wide for a line is cut, and a line that does not fit ends in an ellipsis. Measuring is
passed in, so the wrap is tested without drawing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import ImageDraw, ImageFont

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
TAG_RE = re.compile(r"@(?:Element|Image)\d+")

_FONT_FILES = {False: ("DejaVuSans.ttf",), True: ("DejaVuSans-Bold.ttf",)}


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


def ellipsize(line: list[Run], width: float, measure: Measure) -> list[Run]:
    """A line with runs dropped from the end until it and an ellipsis fit ``width``."""
    line = list(line)
    while line and sum(measure(r) for r in line) + measure(("  …", False)) > width:
        line.pop()
    return [*line, ("  …", False)]
