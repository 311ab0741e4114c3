#!/usr/bin/env python3
"""Draw every PNG asset the bundled examples use, and write it in place.

    python examples/make_assets.py          # from anywhere: paths are relative to this file

Pillow only, no network. The drawings are deterministic (the only randomness is seeded), so
running the script again rewrites the same bytes and the compiled requests keep their cache
keys. Each image is drawn at twice its size, scaled down for smooth edges and reduced to a small
palette, which keeps the files small (flat shapes, few colours) while staying above the model's
minimum of 300 px a side.
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
SS = 2  # supersampling factor: draw at SS× the final size, then scale down

Color = tuple[int, int, int]
Point = tuple[float, float]

INK: Color = (58, 40, 36)  # outline colour of the illustrated figures
LW = 3  # outline width, in final pixels


# -- colour and geometry helpers ------------------------------------------------------------
def darken(c: Color, f: float = 0.8) -> Color:
    return (int(c[0] * f), int(c[1] * f), int(c[2] * f))


def lighten(c: Color, f: float = 0.3) -> Color:
    return (int(c[0] + (255 - c[0]) * f), int(c[1] + (255 - c[1]) * f), int(c[2] + (255 - c[2]) * f))


def mix(a: Color, b: Color, t: float) -> Color:
    return (int(a[0] + (b[0] - a[0]) * t), int(a[1] + (b[1] - a[1]) * t), int(a[2] + (b[2] - a[2]) * t))


def bez3(p0: Point, p1: Point, p2: Point, p3: Point, n: int = 32) -> list[Point]:
    """Points along a cubic Bézier curve."""
    out = []
    for i in range(n + 1):
        t = i / n
        u = 1 - t
        out.append(
            (
                u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
                u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
            )
        )
    return out


def lerp_curves(a: Sequence[Point], b: Sequence[Point], t: float) -> list[Point]:
    return [(p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t) for p, q in zip(a, b, strict=True)]


def blob(
    rng: random.Random, cx: float, cy: float, rx: float, ry: float, wobble: float = 0.18, n: int = 72
) -> list[Point]:
    """An irregular closed shape: an ellipse whose radius wanders smoothly."""
    waves = [(k, rng.uniform(0, 2 * math.pi), rng.uniform(0.3, 1.0) / k) for k in (2, 3, 5, 7)]
    norm = sum(w[2] for w in waves)
    pts = []
    for i in range(n):
        a = 2 * math.pi * i / n
        r = 1 + wobble * sum(amp * math.sin(k * a + ph) for k, ph, amp in waves) / norm
        pts.append((cx + rx * r * math.cos(a), cy + ry * r * math.sin(a)))
    return pts


def ridge(rng: random.Random, width: float, base: float, height: float, step: float = 8) -> list[Point]:
    """A mountain silhouette: points from the left edge to the right edge along a smooth profile."""
    waves = [(rng.uniform(0.004, 0.009) * k, rng.uniform(0, 2 * math.pi), 1 / k) for k in (1, 2, 3.5, 6)]
    pts = []
    x = 0.0
    while x <= width + step:
        h = sum(amp * (0.5 + 0.5 * math.sin(f * x + ph)) for f, ph, amp in waves) / sum(w[2] for w in waves)
        pts.append((x, base - height * h))
        x += step
    return pts


class Pen:
    """ImageDraw in final-pixel coordinates: every coordinate and width is scaled by SS."""

    def __init__(self, img: Image.Image):
        self.img = img
        self.d = ImageDraw.Draw(img)

    @staticmethod
    def _b(box: Sequence[float]) -> list[float]:
        return [v * SS for v in box]

    @staticmethod
    def _p(pts: Sequence[Point]) -> list[tuple[float, float]]:
        return [(x * SS, y * SS) for x, y in pts]

    def ellipse(self, box, fill=None, outline=None, width=LW):
        self.d.ellipse(self._b(box), fill=fill, outline=outline, width=int(width * SS) if outline else 0)

    def rect(self, box, fill=None, outline=None, width=LW):
        self.d.rectangle(self._b(box), fill=fill, outline=outline, width=int(width * SS) if outline else 0)

    def rrect(self, box, radius, fill=None, outline=None, width=LW):
        self.d.rounded_rectangle(
            self._b(box), radius=radius * SS, fill=fill, outline=outline, width=int(width * SS) if outline else 0
        )

    def poly(self, pts, fill=None, outline=None, width=LW):
        self.d.polygon(self._p(pts), fill=fill, outline=outline, width=int(width * SS) if outline else 0)

    def chord(self, box, start, end, fill=None, outline=None, width=LW):
        self.d.chord(self._b(box), start, end, fill=fill, outline=outline, width=int(width * SS) if outline else 0)

    def arc(self, box, start, end, fill, width=LW):
        self.d.arc(self._b(box), start, end, fill=fill, width=int(width * SS))

    def line(self, pts, fill, width=LW, round_ends=True):
        self.d.line(self._p(pts), fill=fill, width=int(width * SS), joint="curve")
        if round_ends:
            for x, y in (pts[0], pts[-1]):
                r = width / 2
                self.ellipse((x - r, y - r, x + r, y + r), fill=fill)

    def limb(self, pts, width, fill, outline=INK):
        """A thick stroke with an outline (an arm, a sleeve, a pole)."""
        self.line(pts, outline, width + 2 * LW)
        self.line(pts, fill, width)


def new(w: int, h: int, color: Color) -> tuple[Image.Image, Pen]:
    img = Image.new("RGB", (w * SS, h * SS), color)
    return img, Pen(img)


def glow(img: Image.Image, box, color: Color, alpha: int, blur: float) -> Image.Image:
    """Composite a soft glow (a blurred ellipse) onto img; returns the new image."""
    layer = Image.new("RGBA", img.size, color + (0,))
    ImageDraw.Draw(layer).ellipse([v * SS for v in box], fill=color + (alpha,))
    layer = layer.filter(ImageFilter.GaussianBlur(blur * SS))
    return Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")


def overlay(img: Image.Image, draw: Callable[[Pen], None], blur: float = 0) -> Image.Image:
    """Draw translucent RGBA shapes on their own layer, optionally blurred, and composite them."""
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw(Pen(layer))
    if blur:
        layer = layer.filter(ImageFilter.GaussianBlur(blur * SS))
    return Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")


def vgradient(img: Image.Image, top: Color, bottom: Color, y0: float, y1: float, bands: int = 12) -> None:
    """Paint a banded vertical gradient (flat steps, like a printed illustration)."""
    p = Pen(img)
    h = (y1 - y0) / bands
    for i in range(bands):
        p.rect((0, y0 + i * h, img.width / SS, y0 + (i + 1) * h + 1), fill=mix(top, bottom, i / (bands - 1)))


def paper(w: int, h: int, base: Color, seed: int, depth: int = 14) -> Image.Image:
    """A paper-like background: the base colour with a soft, low-frequency mottling."""
    rng = random.Random(seed)
    small = Image.new("L", (24, 14))
    small.putdata([rng.randint(255 - depth, 255) for _ in range(24 * 14)])
    mottle = small.resize((w * SS, h * SS), Image.Resampling.BICUBIC)
    return ImageChops.multiply(Image.new("RGB", mottle.size, base), Image.merge("RGB", (mottle,) * 3))


def finish(img: Image.Image, colors: int, method: Image.Quantize = Image.Quantize.FASTOCTREE) -> Image.Image:
    """Scale down from the supersampled canvas and reduce to a small palette (no dithering).

    Fast octree keeps small saturated details (a red seal, a pink cheek); median cut keeps
    smooth glows smoother.
    """
    w, h = img.width // SS, img.height // SS
    small = img.resize((w, h), Image.Resampling.LANCZOS)
    return small.quantize(colors=colors, method=method, dither=Image.Dither.NONE)


# -- figures --------------------------------------------------------------------------------
SKIN: Color = (241, 200, 162)
BLUSH: Color = (244, 150, 150)
HAIR: Color = (96, 60, 40)
GREY_HAIR: Color = (200, 200, 204)
KHAKI: Color = (198, 162, 100)
TROUSERS: Color = (106, 80, 60)
BOOTS: Color = (72, 48, 38)
SCARF: Color = (200, 40, 46)
HAT: Color = (222, 196, 138)
PACK: Color = (128, 88, 54)
ROLL: Color = (112, 134, 110)
BACKDROP: Color = (238, 233, 222)


def explorer(
    view: str,
    *,
    jacket: Color = KHAKI,
    scarf: Color = SCARF,
    hair: Color = HAIR,
    hat: bool = True,
    old: bool = False,
    cloak: Color | None = None,
) -> Image.Image:
    """Mira: a small explorer with a red scarf, seen from the front, the side or the back."""
    img, p = new(512, 512, BACKDROP)
    p.ellipse((86, 40, 426, 400), fill=lighten(BACKDROP, 0.5))
    p.ellipse((150, 446, 362, 478), fill=darken(BACKDROP, 0.9))
    skin = (232, 192, 158) if old else SKIN

    if view == "side":
        _explorer_side(p, jacket, scarf, hair, skin, hat)
        return finish(img, 48)

    if cloak:  # a travelling cloak hangs behind the body, its hood down behind the head
        p.poly([(196, 204), (316, 204), (372, 414), (140, 414)], cloak, INK)
        p.ellipse((176, 62, 336, 224), cloak, INK)
        p.ellipse((196, 82, 316, 204), darken(cloak, 0.75))
    # legs and boots (front and back look alike from the waist down)
    p.rrect((212, 326, 252, 440), 12, TROUSERS, INK)
    p.rrect((260, 326, 300, 440), 12, TROUSERS, INK)
    p.rrect((202, 426, 254, 458), 14, BOOTS, INK)
    p.rrect((258, 426, 310, 458), 14, BOOTS, INK)
    # arms, then the body over their shoulders
    p.rrect((156, 218, 194, 336), 18, jacket, INK)
    p.rrect((318, 218, 356, 336), 18, jacket, INK)
    p.ellipse((160, 320, 192, 352), skin, INK)
    p.ellipse((320, 320, 352, 352), skin, INK)
    p.rrect((184, 206, 328, 352), 34, jacket, INK)
    p.rect((187, 318, 325, 332), darken(PACK, 0.8))

    if view == "front":
        p.line([(256, 236), (256, 346)], darken(jacket, 0.75), 3)
        p.rrect((200, 278, 238, 310), 5, darken(jacket, 0.9), INK, 2)
        p.rrect((274, 278, 312, 310), 5, darken(jacket, 0.9), INK, 2)
        p.rect((206, 214, 219, 318), darken(PACK, 0.9))  # backpack straps
        p.rect((293, 214, 306, 318), darken(PACK, 0.9))
        p.rrect((247, 318, 265, 332), 3, (214, 184, 96), INK, 2)  # buckle
        # the scarf: a band round the neck and a fringed tail over the chest
        p.rrect((204, 190, 308, 228), 18, scarf, INK)
        p.poly([(268, 214), (296, 212), (304, 296), (276, 300)], scarf, INK)
        for x in (281, 287, 293, 299):
            p.line([(x, 298), (x + 1, 310)], darken(scarf, 0.75), 3)
        if old:
            p.limb([(340, 338), (364, 458)], 8, (120, 84, 56))  # walking stick
            p.arc((324, 322, 356, 354), 180, 360, INK, 10)
            p.arc((326, 324, 354, 352), 180, 360, (120, 84, 56), 5)
            p.ellipse((320, 320, 352, 352), skin, INK)  # the hand holds it
        _head_front(p, skin, hair, hat, old)
    else:  # back
        p.rrect((194, 196, 318, 226), 14, ROLL, INK)  # bedroll strapped on top
        for x in (222, 290):
            p.line([(x, 198), (x, 224)], darken(ROLL, 0.7), 3)
        p.rrect((198, 216, 314, 338), 22, PACK, INK)
        p.rrect((198, 216, 314, 264), 20, darken(PACK, 0.85), INK)
        p.rrect((246, 250, 266, 272), 3, (214, 184, 96), INK, 2)
        p.rrect((206, 278, 240, 322), 6, darken(PACK, 0.9), INK, 2)
        p.rrect((272, 278, 306, 322), 6, darken(PACK, 0.9), INK, 2)
        p.rrect((208, 184, 304, 210), 13, scarf, INK)
        p.poly([(212, 200), (238, 200), (236, 300), (210, 296)], scarf, INK)
        for x in (214, 220, 226, 232):
            p.line([(x, 296), (x - 1, 308)], darken(scarf, 0.75), 3)
        p.ellipse((238, 170, 274, 232), hair, INK)  # ponytail
        p.ellipse((196, 84, 316, 200), hair, INK)  # the back of the head: all hair
        for box, a0, a1 in (
            ((214, 100, 296, 190), 200, 250),
            ((226, 96, 310, 196), 290, 340),
            ((236, 120, 276, 196), 240, 300),
        ):
            p.arc(box, a0, a1, darken(hair, 0.7), 3)
        if hat:
            _pith_helmet(p, 256)
    return finish(img, 48)


def _pith_helmet(p: Pen, cx: float, dx: float = 0) -> None:
    p.ellipse((cx - 84, 86, cx + 84, 112), darken(HAT, 0.88), INK)
    p.chord((cx - 56 + dx, 50, cx + 56 + dx, 142), 180, 360, HAT, INK)
    p.rect((cx - 52 + dx, 84, cx + 52 + dx, 94), darken(HAT, 0.7))
    p.ellipse((cx - 8 + dx, 46, cx + 8 + dx, 58), darken(HAT, 0.88), INK, 2)


def _head_front(p: Pen, skin: Color, hair: Color, hat: bool, old: bool) -> None:
    if old:
        p.ellipse((232, 42, 280, 90), hair, INK)  # bun
        p.rrect((190, 98, 322, 188), 44, hair, INK)
    else:  # hair falling to the shoulders on either side
        p.rrect((186, 104, 226, 222), 20, hair, INK)
        p.rrect((286, 104, 326, 222), 20, hair, INK)
    p.ellipse((198, 84, 314, 200), skin, INK)
    if old:
        p.chord((196, 80, 316, 168), 180, 360, hair, INK)
    else:  # a scalloped fringe
        p.chord((196, 80, 316, 164), 180, 360, hair)
        for box in ((204, 104, 240, 134), (232, 108, 280, 138), (272, 104, 308, 134)):
            p.ellipse(box, hair)
        p.arc((198, 84, 314, 200), 180, 360, INK)
    # face
    for ex in (234, 278):
        p.ellipse((ex - 6, 141, ex + 6, 155), INK)
        p.ellipse((ex - 3, 143, ex + 1, 147), (255, 255, 255))
    p.ellipse((212, 158, 234, 170), BLUSH)
    p.ellipse((278, 158, 300, 170), BLUSH)
    p.arc((245, 162, 267, 182), 20, 160, INK, 3)
    p.arc((250, 148, 262, 164), 60, 120, darken(skin, 0.7), 3)
    if old:
        p.ellipse((218, 134, 250, 162), None, (90, 80, 80), 3)  # round glasses
        p.ellipse((262, 134, 294, 162), None, (90, 80, 80), 3)
        p.line([(250, 146), (262, 146)], (90, 80, 80), 3)
        p.arc((204, 138, 220, 158), 300, 60, darken(skin, 0.75), 2)  # crow's feet
        p.arc((292, 138, 308, 158), 120, 240, darken(skin, 0.75), 2)
        p.arc((226, 116, 246, 128), 200, 340, (150, 150, 156), 4)  # grey brows
        p.arc((266, 116, 286, 128), 200, 340, (150, 150, 156), 4)
    if hat:
        _pith_helmet(p, 256)


def _explorer_side(p: Pen, jacket: Color, scarf: Color, hair: Color, skin: Color, hat: bool) -> None:
    """Mira walking to the right, in profile."""
    # far leg, backpack (behind the body), near leg
    p.poly([(236, 326), (268, 326), (252, 436), (222, 436)], darken(TROUSERS, 0.82), INK)
    p.rrect((206, 426, 262, 456), 14, darken(BOOTS, 0.85), INK)
    p.rrect((164, 194, 238, 222), 12, ROLL, INK)
    for x in (184, 218):
        p.line([(x, 196), (x, 220)], darken(ROLL, 0.7), 3)
    p.rrect((166, 214, 236, 338), 18, PACK, INK)
    p.rrect((162, 214, 240, 258), 16, darken(PACK, 0.85), INK)
    p.rrect((172, 276, 200, 322), 6, darken(PACK, 0.9), INK, 2)
    p.poly([(246, 326), (280, 326), (302, 432), (270, 436)], TROUSERS, INK)
    p.rrect((262, 424, 322, 456), 14, BOOTS, INK)
    # body, strap, belt
    p.rrect((214, 206, 302, 352), 30, jacket, INK)
    p.poly([(222, 212), (238, 212), (248, 320), (232, 320)], darken(PACK, 0.9))
    p.rect((217, 318, 299, 332), darken(PACK, 0.8))
    # the scarf streams behind her
    p.poly([(226, 196), (170, 206), (142, 236), (158, 246), (180, 228), (228, 226)], scarf, INK)
    for a, b in (((146, 240), (134, 252)), ((156, 244), (146, 258))):
        p.line([a, b], darken(scarf, 0.75), 3)
    p.rrect((220, 190, 298, 228), 18, scarf, INK)
    # the near arm swings forward
    p.limb([(262, 224), (276, 286), (300, 326)], 34, jacket)
    p.ellipse((286, 316, 318, 348), skin, INK)
    # head in profile: nose first, then the head's fill, then its outline around the nose
    p.ellipse((308, 136, 330, 160), skin, INK)
    p.ellipse((206, 84, 318, 196), skin)
    p.arc((206, 84, 318, 196), 22, 358, INK)
    p.ellipse((176, 120, 214, 176), hair, INK)  # ponytail
    p.ellipse((198, 82, 286, 196), hair, INK)  # hair over the back of the head
    p.chord((204, 80, 320, 172), 180, 360, hair, INK)
    p.poly([(300, 124), (320, 124), (316, 138)], hair)
    p.ellipse((291, 136, 303, 150), INK)
    p.ellipse((294, 138, 298, 142), (255, 255, 255))
    p.ellipse((280, 156, 302, 168), BLUSH)
    p.arc((294, 160, 314, 180), 40, 120, INK, 3)
    if hat:
        _pith_helmet(p, 264, dx=-4)


def mira_front() -> Image.Image:
    return explorer("front")


def mira_side() -> Image.Image:
    return explorer("side")


def mira_back() -> Image.Image:
    return explorer("back")


def old_mira_front() -> Image.Image:
    return explorer("front", jacket=(150, 132, 104), scarf=(180, 56, 58), hair=GREY_HAIR, hat=False, old=True)


TRAVEL_COAT: Color = (78, 128, 138)


def cast_mira_front() -> Image.Image:
    return explorer("front", jacket=TRAVEL_COAT)


def cast_mira_side() -> Image.Image:
    return explorer("side", jacket=TRAVEL_COAT)


def traveller_front() -> Image.Image:
    return explorer("front", jacket=TRAVEL_COAT, hat=False, cloak=(70, 100, 72))


CLOAK: Color = (62, 72, 96)
STRAW: Color = (210, 186, 124)
BEARD: Color = (206, 206, 210)
TAN: Color = (214, 168, 128)
POLE: Color = (142, 104, 66)


def ferryman(view: str) -> Image.Image:
    """The ferryman: tall, in a long dark cloak and a conical straw hat, with a grey beard and a pole."""
    img, p = new(512, 512, BACKDROP)
    p.ellipse((86, 30, 426, 400), fill=lighten(BACKDROP, 0.5))
    p.ellipse((140, 452, 372, 484), fill=darken(BACKDROP, 0.9))
    if view == "front":
        p.limb([(364, 30), (364, 490)], 10, POLE)
        p.rrect((206, 446, 252, 472), 12, BOOTS, INK)
        p.rrect((260, 446, 306, 472), 12, BOOTS, INK)
        p.poly([(206, 196), (306, 196), (346, 458), (166, 458)], CLOAK, INK)
        p.poly([(256, 230), (276, 458), (236, 458)], darken(CLOAK, 0.8))  # the fold down the front
        p.limb([(206, 214), (196, 300), (204, 356)], 36, CLOAK)
        p.ellipse((190, 348, 220, 378), TAN, INK)
        p.line([(176, 318), (336, 318)], (170, 140, 90), 6)  # rope belt
        p.ellipse((244, 310, 262, 328), (170, 140, 90), INK, 2)
        p.limb([(302, 214), (336, 250), (356, 252)], 34, CLOAK)
        p.ellipse((350, 236, 380, 268), TAN, INK)
        p.line([(348, 246), (380, 246)], darken(TAN, 0.75), 3)
        p.rrect((216, 180, 296, 214), 14, darken(CLOAK, 0.8), INK)  # collar
        p.ellipse((204, 98, 308, 202), TAN, INK)
        p.poly([(212, 160), (256, 280), (300, 160), (288, 176), (256, 184), (224, 176)], BEARD, INK)
        p.chord((230, 164, 282, 190), 180, 360, BEARD, INK)  # moustache
        for ex in (236, 276):
            p.ellipse((ex - 5, 140, ex + 5, 150), INK)
            p.arc((ex - 14, 126, ex + 14, 142), 200, 340, darken(BEARD, 0.8), 5)
        p.arc((248, 148, 264, 170), 60, 120, darken(TAN, 0.7), 3)
        for x, y in ((244, 210), (256, 226), (268, 210), (256, 250)):
            p.line([(x, y), (x, y + 14)], darken(BEARD, 0.82), 2)
        p.poly([(156, 124), (356, 124), (256, 50)], STRAW, INK)
        p.poly([(214, 108), (298, 108), (304, 116), (208, 116)], darken(STRAW, 0.75))
        for x in (200, 228, 284, 312):
            p.line([(256, 54), (x, 122)], darken(STRAW, 0.85), 2, round_ends=False)
    else:  # side: facing right, leaning on the pole
        p.limb([(376, 24), (294, 494)], 10, POLE)
        p.rrect((216, 446, 262, 472), 12, darken(BOOTS, 0.85), INK)
        p.rrect((250, 446, 312, 472), 12, BOOTS, INK)
        p.poly([(226, 196), (298, 196), (334, 458), (184, 458)], CLOAK, INK)
        p.poly([(240, 240), (250, 458), (216, 458)], darken(CLOAK, 0.8))
        p.line([(204, 318), (316, 318)], (170, 140, 90), 6)
        p.limb([(256, 216), (304, 236), (344, 238)], 34, CLOAK)
        p.ellipse((330, 222, 362, 254), TAN, INK)
        p.limb([(268, 226), (300, 300), (318, 340)], 34, darken(CLOAK, 0.9))
        p.ellipse((306, 328, 338, 360), TAN, INK)
        p.rrect((228, 180, 300, 214), 14, darken(CLOAK, 0.8), INK)
        p.ellipse((306, 136, 326, 158), TAN, INK)
        p.ellipse((214, 98, 314, 198), TAN)
        p.arc((214, 98, 314, 198), 20, 360, INK)
        p.chord((210, 112, 262, 178), 90, 270, BEARD, INK)  # grey hair at the back of the head
        p.poly([(244, 168), (282, 182), (318, 164), (316, 196), (300, 244), (286, 234), (262, 206)], BEARD, INK)
        p.chord((292, 160, 324, 178), 180, 360, BEARD, INK)  # moustache
        p.ellipse((290, 136, 300, 146), INK)
        p.arc((280, 124, 306, 140), 200, 340, darken(BEARD, 0.8), 5)
        p.poly([(164, 124), (358, 124), (262, 52)], STRAW, INK)
        p.poly([(220, 108), (306, 108), (312, 116), (214, 116)], darken(STRAW, 0.75))
        for x in (206, 234, 290, 318):
            p.line([(262, 56), (x, 122)], darken(STRAW, 0.85), 2, round_ends=False)
    return finish(img, 40)


def ferryman_front() -> Image.Image:
    return ferryman("front")


def ferryman_side() -> Image.Image:
    return ferryman("side")


# -- objects --------------------------------------------------------------------------------
def stone() -> Image.Image:
    """The glowing stone: a smooth slate pebble with bright cyan runes and a halo."""
    rng = random.Random(7)
    img, _ = new(512, 512, (34, 40, 58))
    img = glow(img, (76, 110, 436, 430), (96, 226, 214), 150, 48)
    img = glow(img, (150, 180, 362, 370), (170, 255, 240), 110, 30)
    p = Pen(img)
    p.ellipse((140, 350, 372, 390), fill=(26, 30, 44))
    shape = blob(rng, 256, 268, 142, 108, wobble=0.10)
    p.poly(shape, (92, 102, 122), INK, 4)
    # shading, clipped to the stone
    mask = Image.new("L", img.size, 0)
    ImageDraw.Draw(mask).polygon([(x * SS, y * SS) for x, y in shape], fill=255)
    shade = img.copy()
    sp = Pen(shade)
    sp.ellipse((110, 270, 420, 420), (72, 80, 100))
    sp.ellipse((150, 176, 296, 252), (128, 138, 158))
    sp.ellipse((176, 190, 236, 218), (168, 178, 196))
    img = Image.composite(shade, img, mask)
    p = Pen(img)
    p.poly(shape, None, INK, 4)
    runes = [  # short marks around the spiral, like a compass
        [(256, 206), (256, 224)],
        [(256, 330), (256, 348)],
        [(176, 276), (194, 276)],
        [(318, 276), (336, 276)],
        [(198, 226), (208, 236)],
        [(314, 226), (304, 236)],
    ]
    spiral = [
        (256 + (3 + 1.6 * t) * math.cos(t * 0.42), 276 + (3 + 1.6 * t) * math.sin(t * 0.42)) for t in range(0, 34)
    ]

    def draw_runes(q: Pen, width: float) -> None:
        for r in runes:
            q.line(r, (150, 255, 240, 255), width)
        q.line(spiral, (150, 255, 240, 255), width * 0.8)

    img = overlay(img, lambda q: draw_runes(q, 16), blur=6)
    p = Pen(img)
    for r in runes:
        p.line(r, (196, 255, 248), 6)
    p.line(spiral, (196, 255, 248), 5)
    for _ in range(14):  # sparks
        a = rng.uniform(0, 2 * math.pi)
        d = rng.uniform(170, 220)
        x, y = 256 + d * math.cos(a), 268 + d * 0.8 * math.sin(a)
        r = rng.uniform(2, 4.5)
        p.ellipse((x - r, y - r, x + r, y + r), (180, 255, 244))
    return finish(img, 64, Image.Quantize.MEDIANCUT)


def lantern() -> Image.Image:
    """A brass storm lantern with a warm flame, glowing against dusk blue."""
    img, _ = new(512, 512, (44, 52, 78))
    img = glow(img, (70, 110, 442, 480), (255, 196, 96), 130, 50)
    p = Pen(img)
    brass, dark = (190, 144, 70), (92, 62, 30)
    p.ellipse((170, 394, 342, 424), fill=(36, 42, 62))
    p.arc((224, 44, 288, 108), 180, 360, dark, 14)
    p.arc((224, 44, 288, 108), 180, 360, brass, 8)
    p.rect((246, 90, 266, 120), brass, dark)
    p.poly([(228, 118), (284, 118), (312, 154), (200, 154)], brass, dark)
    p.rect((204, 154, 308, 364), (255, 210, 118), dark)
    p.ellipse((214, 184, 298, 344), (255, 232, 170))
    p.ellipse((236, 232, 276, 318), (255, 168, 64))
    p.ellipse((246, 258, 266, 314), (255, 242, 180))
    p.line([(256, 314), (256, 334)], (70, 50, 30), 4)
    p.rect((222, 334, 290, 344), brass, dark, 2)
    for box in ((196, 150, 212, 368), (300, 150, 316, 368)):
        p.rect(box, brass, dark)
    p.rect((198, 254, 314, 264), brass, dark, 2)
    p.poly([(188, 362), (324, 362), (310, 396), (202, 396)], brass, dark)
    p.rect((214, 396, 298, 410), darken(brass, 0.85), dark)
    p.line([(204, 168), (212, 240)], (255, 250, 230), 4)  # a glint on the glass
    return finish(img, 56, Image.Quantize.MEDIANCUT)


def boat() -> Image.Image:
    """A small wooden rowing boat with a teal stripe, side on, low in still water."""
    img, p = new(512, 512, (214, 226, 232))
    p.ellipse((60, 40, 452, 300), fill=(226, 234, 238))
    water, wl = (164, 188, 200), 304  # wl: the water line
    p.rect((0, wl, 512, 512), water)
    top = bez3((62, 236), (180, 262), (350, 262), (462, 206))
    bottom = bez3((448, 246), (400, 346), (170, 352), (84, 298))[::-1]
    hull = (152, 98, 60)
    # the far oar dips into the water behind the hull
    p.limb([(300, 180), (350, 268), (380, 352)], 8, (206, 176, 126))
    p.ellipse((362, 332, 398, 392), (206, 176, 126), INK)
    p.poly(top + bottom[::-1] + [top[0]], hull, INK)
    band = lerp_curves(top, bottom, 0.28)
    p.poly(top + band[::-1], (62, 116, 118))
    for t in (0.28, 0.55, 0.8):
        p.line(lerp_curves(top, bottom, t), (110, 70, 42), 3)
    p.line(top, (98, 62, 38), 9)
    p.poly(top + bottom[::-1] + [top[0]], None, INK, 4)
    p.limb([(146, 196), (186, 232), (200, 244)], 8, (206, 176, 126))  # the near oar's handle
    p.poly([(420, 214), (446, 188), (452, 200), (430, 222)], (98, 62, 38), INK, 2)  # bow post
    # the hull sits in the water: a translucent band over its lower part, then its reflection
    img = overlay(img, lambda q: q.rect((0, wl, 512, 512), fill=water + (170,)))
    img = overlay(
        img,
        lambda q: q.poly(
            [(x, wl + (wl - y) * 0.6) for x, y in top] + [(462, wl), (62, wl)], fill=darken(water, 0.8) + (110,)
        ),
        blur=4,
    )
    p = Pen(img)
    for y, x0, x1 in ((318, 20, 150), (330, 400, 490), (380, 300, 480), (420, 80, 260), (456, 320, 440)):
        p.line([(x0, y), (x1, y)], lighten(water, 0.4), 3)
    return finish(img, 48)


# -- locations ------------------------------------------------------------------------------
def greenhouse() -> Image.Image:
    """A Victorian glasshouse, half ruined: a domed pavilion between two glass wings, full of plants."""
    rng = random.Random(11)
    W, H = 1024, 576
    img, _ = new(W, H, (168, 206, 230))
    vgradient(img, (150, 196, 228), (246, 232, 198), 0, 330, bands=14)

    def sun_rings(q: Pen) -> None:  # the sun, in flat rings of light
        for r in (104, 76, 52):
            q.ellipse((150 - r, 90 - r, 150 + r, 90 + r), (255, 248, 220, 70))

    img = overlay(img, sun_rings)
    p = Pen(img)
    p.ellipse((126, 66, 174, 114), (255, 252, 236))
    hills = ridge(random.Random(3), W, 330, 60)
    p.poly(hills + [(W, 340), (0, 340)], (156, 188, 146))
    p.rect((0, 328, W, H), (126, 172, 94))
    p.poly([(490, 430), (534, 430), (660, H), (364, H)], (224, 206, 162))

    # the building's outline as a mask: wings, pavilion, dome
    wing_l = [(120, 430), (120, 300), (250, 236), (380, 300), (380, 430)]
    wing_r = [(644, 430), (644, 300), (774, 236), (904, 300), (904, 430)]
    mask = Image.new("L", img.size, 0)
    md = Pen(mask)
    md.poly(wing_l, 255)
    md.poly(wing_r, 255)
    md.rect((380, 230, 644, 430), 255)
    md.chord((380, 110, 644, 350), 180, 360, 255)

    # inside: shade and plants
    inside = Image.new("RGB", img.size, (72, 112, 84))
    ip = Pen(inside)
    greens = [(52, 128, 68), (86, 156, 78), (40, 104, 62), (110, 170, 90), (66, 140, 100)]
    for _ in range(70):
        x, y = rng.uniform(120, 904), rng.uniform(250, 430)
        r = rng.uniform(16, 44)
        ip.poly(blob(rng, x, y, r, r * 0.85, wobble=0.3, n=24), rng.choice(greens))
    for _ in range(6):  # palms in the dome
        x = rng.uniform(440, 584)
        base = 430
        topy = rng.uniform(170, 230)
        ip.line([(x, base), (x + rng.uniform(-12, 12), topy)], (110, 84, 60), 7)
        for k in range(7):
            a = math.pi + k * math.pi / 6 + rng.uniform(-0.2, 0.2)
            ip.line([(x, topy), (x + 70 * math.cos(a), topy + 28 * math.sin(a) + 30)], rng.choice(greens), 9)
    for _ in range(26):  # flowers
        x, y = rng.uniform(130, 890), rng.uniform(300, 420)
        ip.ellipse((x - 5, y - 5, x + 5, y + 5), rng.choice([(236, 120, 120), (246, 214, 110), (240, 240, 236)]))
    img = Image.composite(inside, img, mask)

    # glass: pale and bright, except the broken panes
    broken = {(2, 1), (5, 0), (11, 2), (14, 1), (20, 0), (23, 2), (8, 1)}
    glass = Image.new("RGBA", img.size, (0, 0, 0, 0))
    gp = Pen(glass)
    cols = list(range(120, 905, 32))
    for i, x in enumerate(cols[:-1]):
        for j, (y0, y1) in enumerate(((300, 350), (350, 400), (230, 300))):
            if (i, j) in broken:
                continue
            tint = (226, 244, 246, 110) if (i + j) % 5 else (255, 255, 255, 170)
            gp.rect((x, y0, x + 32, y1), tint)
    glass_mask = Image.new("L", img.size, 0)
    Pen(glass_mask).chord((380, 110, 644, 350), 180, 360, 255)
    Pen(glass_mask).rect((380, 230, 644, 400), 255)
    dome_glass = Image.new("RGBA", img.size, (226, 244, 246, 100))
    glass = Image.composite(dome_glass, glass, glass_mask)
    glass.putalpha(ImageChops.multiply(glass.getchannel("A"), mask))
    img = Image.alpha_composite(img.convert("RGBA"), glass).convert("RGB")
    p = Pen(img)

    frame = (244, 246, 240)
    # low brick wall
    p.rect((112, 400, 912, 432), (176, 98, 80), INK, 2)
    for y in (410, 421):
        p.line([(112, y), (912, y)], darken((176, 98, 80), 0.8), 2, round_ends=False)
    # wing frames
    for wing, (x0, x1, apex) in ((wing_l, (120, 380, 250)), (wing_r, (644, 904, 774))):
        for x in range(x0, x1 + 1, 26):
            roof = 300 - 64 * (1 - abs(x - apex) / 130)
            p.line([(x, roof), (x, 400)], frame, 3, round_ends=False)
        p.line([(x0, 350), (x1, 350)], frame, 3, round_ends=False)
        p.line([(x0, 300), (x1, 300)], frame, 4, round_ends=False)
        p.poly(wing, None, frame, 5)
    # pavilion and dome
    for x in range(380, 645, 33):
        p.line([(x, 230), (x, 400)], frame, 3, round_ends=False)
    p.line([(380, 315), (644, 315)], frame, 3, round_ends=False)
    for k in range(1, 12):
        a = math.pi + k * math.pi / 12
        p.line([(512, 230), (512 + 132 * math.cos(a), 230 + 120 * math.sin(a))], frame, 3, round_ends=False)
    p.arc((430, 156, 594, 304), 180, 360, frame, 3)
    p.chord((380, 110, 644, 350), 180, 360, None, frame, 5)
    p.rect((380, 228, 644, 234), frame)
    p.rect((494, 86, 530, 114), (250, 250, 246), INK, 2)
    p.chord((490, 68, 534, 104), 180, 360, (236, 238, 232), INK, 2)
    p.line([(512, 56), (512, 70)], INK, 3)
    # the door: open, dark
    p.chord((484, 320, 540, 370), 180, 360, (46, 70, 56), frame, 4)
    p.rect((484, 344, 540, 430), (46, 70, 56), frame, 4)
    p.line([(512, 330), (512, 430)], frame, 3, round_ends=False)
    # ivy climbing the left corner, shrubs in front
    ivy = bez3((112, 432), (90, 360), (160, 320), (140, 260), n=40)
    p.line(ivy, (60, 110, 60), 4)
    for k, (x, y) in enumerate(ivy[::3]):
        p.ellipse((x - 8 + (k % 2) * 10, y - 6, x + 4 + (k % 2) * 10, y + 6), (70, 140, 70))
    for cx, cy, r in ((90, 440, 70), (200, 462, 50), (940, 444, 80), (830, 470, 46), (330, 470, 40)):
        p.poly(blob(rng, cx, cy, r, r * 0.7, wobble=0.25, n=30), (70, 126, 66), INK, 2)
        p.poly(blob(rng, cx - r * 0.2, cy - r * 0.2, r * 0.5, r * 0.3, wobble=0.3, n=20), (100, 160, 84))
        for _ in range(5):
            x, y = cx + rng.uniform(-0.6, 0.6) * r, cy + rng.uniform(-0.3, 0.4) * r
            p.arc((x - 8, y - 6, x + 8, y + 6), 200, 340, (46, 96, 50), 2)
    # shafts of sunlight from the upper left
    img = overlay(
        img,
        lambda q: (
            q.poly([(140, 90), (200, 90), (700, H), (520, H)], (255, 250, 220, 46)),
            q.poly([(140, 90), (170, 90), (430, H), (340, H)], (255, 250, 220, 36)),
        ),
    )
    return finish(img, 96)


def lake() -> Image.Image:
    """A misty lake at dawn: layered hills, fir trees on the far shore, a pier with a lamp."""
    W, H = 1024, 576
    shore = 300  # the far shore line
    img, p = new(W, H, (206, 214, 222))
    vgradient(img, (196, 206, 218), (240, 228, 212), 0, shore, bands=24)
    rng = random.Random(21)
    layers = [((184, 194, 206), 150, 5), ((160, 172, 188), 100, 6), ((130, 146, 164), 56, 8)]
    for k, (color, height, seed) in enumerate(layers):
        p.poly(ridge(random.Random(seed), W, shore, height) + [(W, shore + 2), (0, shore + 2)], color)
        img = overlay(
            img, lambda q: q.rect((-40, shore - 40 + 12 * k, W + 40, shore + 10), (238, 236, 232, 90)), blur=16
        )
        p = Pen(img)
    for _ in range(70):  # fir trees along the far shore
        x, h = rng.uniform(0, W), rng.uniform(18, 42)
        p.poly([(x - h * 0.28, shore + 2), (x, shore - h), (x + h * 0.28, shore + 2)], (92, 112, 110))
    # the water, darker towards us, with the soft reflection of the nearest hills and trees
    water = img.crop((0, shore * SS, W * SS, H * SS))
    vgradient(water, (194, 204, 212), (146, 166, 180), 0, H - shore, bands=10)
    img.paste(water, (0, shore * SS))
    near = ridge(random.Random(8), W, shore, 56)
    mirrored = [(x, shore + (shore - y) * 0.6) for x, y in near]
    img = overlay(img, lambda q: q.poly(mirrored + [(W, shore), (0, shore)], (120, 138, 156, 70)), blur=6)
    img = overlay(img, lambda q: q.rect((0, shore, W, shore + 18), (92, 112, 110, 60)), blur=4)
    p = Pen(img)
    for _ in range(40):  # light ripples
        x, y = rng.uniform(0, W), rng.uniform(shore + 24, H)
        length = rng.uniform(30, 120) * (y - 280) / 200
        p.line([(x, y), (x + length, y)], (222, 228, 230), 2)
    # mist lying on the water
    img = overlay(
        img,
        lambda q: (
            q.ellipse((-200, 272, 700, 346), (242, 240, 236, 150)),
            q.ellipse((380, 296, 1300, 372), (242, 240, 236, 120)),
        ),
        blur=20,
    )
    p = Pen(img)
    # the pier, with a lamp at its end
    wood = (96, 78, 64)
    for x in (660, 720, 800, 900, 1000):
        foot = 420 + (x - 660) * 0.2
        p.line([(x, 396 - (x - 660) * 0.03), (x, foot)], darken(wood, 0.8), 8, round_ends=False)
        img = overlay(img, lambda q: q.line([(x, foot), (x, foot + 40)], darken(wood, 0.8) + (90,), 8), blur=2)
        p = Pen(img)
    p.poly([(640, 392), (W, 374), (W, 404), (640, 404)], wood)
    p.line([(640, 392), (W, 374)], lighten(wood, 0.25), 3, round_ends=False)
    p.line([(664, 392), (664, 344)], darken(wood, 0.7), 5)
    img = glow(img, (634, 306, 694, 366), (255, 184, 84), 200, 12)
    p = Pen(img)
    p.rect((656, 326, 672, 346), (255, 226, 150), (60, 46, 36), 2)
    p.poly([(652, 326), (676, 326), (664, 316)], (60, 46, 36))
    img = overlay(img, lambda q: q.line([(664, 410), (664, 460)], (255, 200, 120, 110), 6), blur=4)
    p = Pen(img)
    # reeds in the near left corner
    for _ in range(34):
        x = rng.uniform(0, 230)
        h = rng.uniform(60, 170)
        lean = rng.uniform(-30, 24)
        p.line(
            bez3((x, H + 4), (x, H - h * 0.5), (x + lean * 0.5, H - h * 0.8), (x + lean, H - h), n=12),
            rng.choice([(70, 88, 70), (88, 104, 78), (58, 72, 62)]),
            rng.uniform(2.5, 4.5),
        )
    return finish(img, 64)


# -- styles ---------------------------------------------------------------------------------
def _watercolour(
    img: Image.Image, shape: Sequence[Point], color: Color, edge: float = 0.84, opacity: int = 0
) -> Image.Image:
    """A wash on the paper, with the darker rim watercolour leaves.

    By default the wash is multiplied onto what is below (glazing); with ``opacity`` it is laid
    over it instead, so that a light colour stays light on a dark one.
    """
    if opacity:
        layer = Image.new("RGBA", img.size, color + (0,))
        lp = Pen(layer)
        lp.poly(shape, color + (opacity,))
        lp.poly(shape, None, darken(color, edge) + (opacity,), 3)
        layer = layer.filter(ImageFilter.GaussianBlur(1.2 * SS))
        return Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")
    layer = Image.new("RGB", img.size, (255, 255, 255))
    lp = Pen(layer)
    lp.poly(shape, color)
    lp.poly(shape, None, darken(color, edge), 3)
    layer = layer.filter(ImageFilter.GaussianBlur(1.2 * SS))
    return ImageChops.multiply(img, layer)


def _pencil(p: Pen, rng: random.Random, pts: Sequence[Point], color: Color = (92, 80, 74), width: float = 2) -> None:
    """A slightly wobbly hand-drawn line."""
    out = []
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        n = max(2, int(math.hypot(x1 - x0, y1 - y0) / 14))
        for i in range(n):
            t = i / n
            out.append((x0 + (x1 - x0) * t + rng.uniform(-1.2, 1.2), y0 + (y1 - y0) * t + rng.uniform(-1.2, 1.2)))
    out.append(pts[-1])
    p.line(out, color, width)


STORY_PAPER: Color = (247, 240, 224)


def storybook_swatch() -> Image.Image:
    """The storybook style: warm paper and a painter's swatch card of soft watercolour washes."""
    rng = random.Random(31)
    img = paper(768, 432, STORY_PAPER, seed=1, depth=7)
    washes = [
        ((130, 130), (232, 150, 144)),
        ((300, 120), (238, 196, 112)),
        ((470, 132), (160, 198, 142)),
        ((640, 122), (150, 190, 224)),
        ((214, 302), (186, 164, 212)),
        ((384, 312), (132, 190, 188)),
        ((556, 300), (238, 168, 118)),
    ]
    for (cx, cy), color in washes:
        img = _watercolour(img, blob(rng, cx, cy, 84, 72, wobble=0.2), lighten(color, 0.25))
        img = _watercolour(img, blob(rng, cx + 18, cy + 12, 44, 36, wobble=0.3), lighten(color, 0.5))
    p = Pen(img)
    for (cx, cy), _ in washes:  # a pencilled tick under each swatch, as a painter labels them
        _pencil(p, rng, [(cx - 40, cy + 88), (cx - 10, cy + 84), (cx + 30, cy + 90)], width=1.6)
    return finish(img, 64)


def storybook_scene() -> Image.Image:
    """The storybook style applied: a washed-in hillside with a cottage and a tree, outlined in pencil."""
    rng = random.Random(37)
    img = paper(768, 432, STORY_PAPER, seed=2, depth=7)
    img = _watercolour(img, blob(rng, 170, 92, 230, 54, wobble=0.25), (200, 224, 240))  # sky washes
    img = _watercolour(img, blob(rng, 470, 70, 150, 40, wobble=0.25), (206, 228, 242))
    img = _watercolour(img, blob(rng, 650, 84, 40, 40, wobble=0.06), (248, 206, 112))  # the sun
    for seed, base, height, color in ((4, 290, 90, (196, 220, 166)), (9, 360, 60, (166, 204, 140))):
        hill = [(x - 20, y) for x, y in ridge(random.Random(seed), 808, base, height)]
        img = _watercolour(img, hill + [(800, 460), (-20, 460)], color)
    img = _watercolour(img, [(196, 270), (212, 270), (214, 336), (192, 336)], (150, 108, 78), opacity=230)
    img = _watercolour(img, blob(random.Random(5), 202, 214, 66, 72, wobble=0.2, n=40), (98, 160, 100), opacity=220)
    img = _watercolour(img, blob(rng, 186, 200, 30, 30, wobble=0.2), (140, 190, 120), opacity=200)
    img = _watercolour(img, [(420, 250), (520, 250), (520, 336), (420, 336)], (246, 226, 196), opacity=250)
    img = _watercolour(img, [(404, 254), (470, 196), (536, 254)], (208, 112, 96), opacity=240)
    img = _watercolour(img, [(458, 294), (482, 294), (482, 336), (458, 336)], (140, 102, 80), opacity=240)
    img = _watercolour(img, [(432, 270), (450, 270), (450, 288), (432, 288)], (176, 206, 226), opacity=240)
    img = _watercolour(img, [(492, 270), (510, 270), (510, 288), (492, 288)], (176, 206, 226), opacity=240)
    p = Pen(img)
    _pencil(p, rng, [(420, 250), (420, 336), (520, 336), (520, 250)])
    _pencil(p, rng, [(404, 254), (470, 196), (536, 254), (404, 254)])
    _pencil(p, rng, [(458, 336), (458, 294), (482, 294), (482, 336)])
    _pencil(p, rng, [(432, 270), (450, 270), (450, 288), (432, 288), (432, 270)])
    _pencil(p, rng, [(492, 270), (510, 270), (510, 288), (492, 288), (492, 270)])
    _pencil(p, rng, [(196, 336), (198, 276)])
    _pencil(p, rng, [(212, 336), (210, 276)])
    crown = blob(random.Random(5), 202, 214, 66, 72, wobble=0.2, n=20)
    _pencil(p, rng, crown + [crown[0]])
    for k in range(8):
        a = k * math.pi / 4 + 0.3
        _pencil(
            p, rng, [(650 + 50 * math.cos(a), 84 + 50 * math.sin(a)), (650 + 64 * math.cos(a), 84 + 64 * math.sin(a))]
        )
    for x, y in ((120, 380), (300, 400), (600, 390), (700, 410)):  # tufts of grass
        _pencil(p, rng, [(x - 8, y - 10), (x, y), (x + 2, y - 14), (x + 6, y), (x + 14, y - 10)], (90, 120, 80))
    return finish(img, 64)


INK_PAPER: Color = (243, 235, 218)


def ink_style() -> Image.Image:
    """The ink style: ink-wash mountains fading into mist, a plum branch, a tiny boat, a red seal."""
    rng = random.Random(41)
    W, H = 768, 432
    img = paper(W, H, INK_PAPER, seed=3, depth=6)
    for seed, base, height, color in (
        (12, 270, 190, (176, 170, 162)),
        (13, 310, 140, (116, 112, 106)),
        (14, 350, 80, (60, 58, 56)),
    ):
        img = _ink_wash(img, ridge(random.Random(seed), W, base, height, step=6), base, color)
    p = Pen(img)
    ink = (36, 34, 34)
    # the boat and its ferryman, a few strokes on the still water
    p.line([(300, 376), (318, 384), (356, 384), (372, 374)], ink, 4)
    p.line([(336, 382), (338, 352)], ink, 5)
    p.poly([(322, 354), (354, 354), (338, 340)], ink)
    p.line([(356, 326), (330, 398)], ink, 2)
    for x0, x1, y in ((270, 318, 394), (352, 430, 398), (236, 300, 408), (390, 450, 410)):
        p.line([(x0, y), (x1, y)], (160, 154, 146), 2)
    # a plum branch reaching in from the upper right, in blossom
    branch = bez3((790, 30), (720, 40), (660, 20), (586, 76), n=40)
    twig_a = bez3((700, 34), (690, 70), (700, 96), (690, 128), n=40)
    twig_b = bez3((640, 40), (620, 20), (600, 18), (580, 14), n=40)
    for stroke, w0 in ((branch, 11), (twig_a, 5), (twig_b, 4)):
        for i, (x, y) in enumerate(stroke):
            r = w0 * (1 - 0.8 * i / len(stroke))
            p.ellipse((x - r, y - r, x + r, y + r), ink)
    for x, y in ((600, 70), (640, 52), (676, 44), (694, 86), (690, 120), (612, 20), (730, 42), (660, 30)):
        for k in range(5):
            a = k * 2 * math.pi / 5 + rng.uniform(0, 0.5)
            px, py = x + 7 * math.cos(a), y + 7 * math.sin(a)
            p.ellipse((px - 6, py - 6, px + 6, py + 6), (222, 120, 128))
        p.ellipse((x - 3, y - 3, x + 3, y + 3), (120, 40, 44))
    # the red seal
    p.rrect((692, 360, 730, 398), 3, (178, 40, 36))
    for seg in (((700, 370), (722, 370)), ((711, 370), (711, 390)), ((700, 390), (722, 390))):
        p.line(list(seg), INK_PAPER, 3)
    return finish(img, 48)


def _ink_wash(img: Image.Image, hills: Sequence[Point], base: float, color: Color) -> Image.Image:
    """Ink laid on the mountain and fading to bare paper at its foot, as in mist."""
    shape = Image.new("L", img.size, 0)
    Pen(shape).poly(list(hills) + [(img.width / SS, base + 4), (0, base + 4)], 255)
    top = min(y for _, y in hills)
    fade = Image.new("L", (1, img.height), 0)
    fade.putdata(
        [int(255 * min(1.0, max(0.0, (base - y / SS) / max(1.0, (base - top) * 0.8)))) for y in range(img.height)]
    )
    mask = ImageChops.multiply(shape, fade.resize(img.size)).filter(ImageFilter.GaussianBlur(1.5 * SS))
    return Image.composite(ImageChops.multiply(img, Image.new("RGB", img.size, color)), img, mask)


# -- the catalogue --------------------------------------------------------------------------
ASSETS: dict[str, Callable[[], Image.Image]] = {
    "greenhouse/assets/mira/front.png": mira_front,
    "greenhouse/assets/mira/side.png": mira_side,
    "greenhouse/assets/mira/back.png": mira_back,
    "greenhouse/assets/mira/old_front.png": old_mira_front,
    "greenhouse/assets/stone.png": stone,
    "greenhouse/assets/greenhouse.png": greenhouse,
    "greenhouse/assets/style/storybook.png": storybook_swatch,
    "greenhouse/assets/style/storybook_scene.png": storybook_scene,
    "libraries/img/ferryman/front.png": ferryman_front,
    "libraries/img/ferryman/side.png": ferryman_side,
    "libraries/img/mira/front.png": cast_mira_front,
    "libraries/img/mira/side.png": cast_mira_side,
    "libraries/img/lantern.png": lantern,
    "libraries/img/lake.png": lake,
    "libraries/img/style/ink.png": ink_style,
    "libraries/img/props/boat.png": boat,
    "ferry/assets/traveller.png": traveller_front,
}


def main(argv: Sequence[str] = ()) -> int:
    """Write every asset (or only those whose path contains one of the arguments)."""
    total = 0
    for rel, draw in ASSETS.items():
        if argv and not any(a in rel for a in argv):
            continue
        path = HERE / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        img = draw()
        img.save(path, format="PNG", optimize=True)
        size = path.stat().st_size
        total += size
        print(f"{rel:48} {img.width:>5}×{img.height:<4} {size / 1024:6.1f} KB")
    print(f"{'total':48} {'':10} {total / 1024:6.1f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
