"""The preview's generated images: a labelled placeholder of the asked size, drawn offline with Pillow.

"mira — front" on the frontal image, "mira — view 2" on a view, over a calm gradient seeded by
the asset's name (so every view of one character shares its colours) with the prompt's first
words beneath. A view is its frontal's size, as an image-to-image endpoint keeps the input's shape.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

from storyboard.backends.base import ImageJob, Progress
from storyboard.backends.preview_background import gradient
from storyboard.backends.preview_text import Fonts, fit_text
from storyboard.errors import BackendError


def generate_image(job: ImageJob) -> None:
    """Write the placeholder PNG of ``job.image`` to ``job.dest``."""
    image = job.image
    if job.cancel.is_set():
        raise BackendError("cancelled")
    job.progress(Progress(image.id, "drawing the preview image", state="running"))
    size = (image.width, image.height)
    if job.source is not None:  # an image-to-image endpoint keeps its input's shape
        with Image.open(job.source) as source:
            size = source.size
    img = gradient(size, image.asset, image.view + 1).convert("RGB")
    draw = ImageDraw.Draw(img)
    fonts = Fonts(min(size) / 100)
    w, h = size
    title = fit_text(draw, image.label, fonts.get(7, bold=True), w * 0.9)
    box = draw.textbbox((0, 0), title, font=fonts.get(7, bold=True))
    draw.text(((w - (box[2] - box[0])) / 2, h * 0.64), title, font=fonts.get(7, bold=True), fill=(255, 255, 255))
    words = fit_text(draw, image.prompt, fonts.get(3.2), w * 0.9)
    box = draw.textbbox((0, 0), words, font=fonts.get(3.2))
    draw.text(((w - (box[2] - box[0])) / 2, h * 0.74), words, font=fonts.get(3.2), fill=(230, 230, 230))
    note = f"preview · {image.model_label or image.endpoint} · seed {image.seed}"
    draw.text((w * 0.03, h * 0.94), fit_text(draw, note, fonts.get(2.4), w * 0.94), font=fonts.get(2.4),
              fill=(210, 210, 210))  # fmt: skip
    img.save(job.dest, format="PNG", optimize=False)
