"""The background of a preview clip: the shot's start frame scaled to cover, or a seeded gradient.

The gradient is calm (two colours, soft light blobs, a vignette and a faint shot number) and
comes only from the shot id, so the same shot draws the same pixels on every machine.
"""

from __future__ import annotations

import colorsys
import hashlib
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

from storyboard.backends.preview_text import Fonts


def seed_bytes(shot_id: str) -> bytes:
    """Deterministic pseudo-random bytes derived from the shot id (the only source of variety)."""
    return hashlib.sha256(shot_id.encode("utf-8")).digest()


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
