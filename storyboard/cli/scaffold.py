"""``storyboard init DIR``: a small working project that builds offline at once."""

from __future__ import annotations

import json
from pathlib import Path

from storyboard.errors import UsageError

STORYBOARD = """\
# yaml-language-server: $schema=schemas/storyboard.schema.json
# A first storyboard: `storyboard build storyboard.yaml` renders an offline animatic;
# `storyboard build storyboard.yaml --backend fal` (with FAL_KEY set) makes the real film.
version: 1
title: {title}

defaults:
  duration: 5
  aspect_ratio: "16:9"
  style: sketch

imports:
  cast: libraries/cast.yaml     # a reusable character library (see docs/libraries.md)

vars:
  light: golden-hour light

characters:
  hero:
    description: the hero of your film
    image: assets/hero.png

styles:
  sketch:
    images: [assets/style.png]

images:
  place: assets/place.png

shots:
  - id: opening
    start: place
    prompt: >
      A wide establishing shot. The camera glides forward and finds @hero waiting,
      {{{{ light }}}}.
  - id: meeting
    start: opening.last_frame
    prompt: "@cast.friend walks into frame and greets @hero. The camera circles them slowly."
  - id: farewell
    transition: {{type: crossfade, duration: 0.5}}
    prompt: "@hero waves goodbye as @cast.friend walks away into the {{{{ light }}}}."

film:
  output: film.mp4
"""

LIBRARY = """\
# yaml-language-server: $schema=../schemas/library.schema.json
version: 1
title: Cast
characters:
  friend:
    description: the hero's old friend
    image: img/friend.png
"""

_PICTURES = {
    "assets/hero.png": ((512, 512), (196, 72, 60), "hero"),
    "assets/style.png": ((768, 432), (232, 220, 196), "style"),
    "assets/place.png": ((1024, 576), (70, 120, 110), "place"),
    "libraries/img/friend.png": ((512, 512), (60, 90, 170), "friend"),
}


def _picture(path: Path, size: tuple[int, int], colour: tuple[int, int, int], label: str) -> None:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.ellipse((w * 0.3, h * 0.2, w * 0.7, h * 0.8), outline=(255, 255, 255), width=6)
    font = ImageFont.load_default(size=max(24, h // 12))
    draw.text((w / 2, h * 0.9), f"placeholder: {label}", fill=(255, 255, 255), font=font, anchor="ms")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, optimize=True)


def init_project(directory: Path, title: str | None = None) -> list[Path]:
    """Create a storyboard project in ``directory`` (empty or new); return the files written."""
    from storyboard.compiler.schema import write

    if directory.exists() and any(directory.iterdir()):
        raise UsageError(f"{directory} is not empty; choose a new folder")
    title = title or directory.name.replace("-", " ").replace("_", " ").title() or "My Film"
    written: list[Path] = []
    (directory / "schemas").mkdir(parents=True, exist_ok=True)
    written += write(directory / "schemas")
    sb = directory / "storyboard.yaml"
    sb.write_text(STORYBOARD.format(title=json.dumps(title)), encoding="utf-8")
    lib = directory / "libraries" / "cast.yaml"
    lib.parent.mkdir(parents=True, exist_ok=True)
    lib.write_text(LIBRARY, encoding="utf-8")
    written += [sb, lib]
    for rel, (size, colour, label) in _PICTURES.items():
        _picture(directory / rel, size, colour, label)
        written.append(directory / rel)
    (directory / ".gitignore").write_text("build/\n.storyboard/\n", encoding="utf-8")
    return written + [directory / ".gitignore"]
