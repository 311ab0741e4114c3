"""Plain helpers for the storyboard tests: the fixture project drawn in code, and storyboard writing.

Imported by ``tests/conftest.py`` (which wraps them as fixtures) and by tests directly
(``from sbtest import write_storyboard``): a uniquely named module rather than ``conftest``, so
that another ``conftest.py`` further down the tree cannot shadow it.

Binary fixtures are not committed: the ``asset_tree`` fixture draws every image (checked with Pillow)
into a session temp folder, and the ``project`` fixture copies that tree into each test's own ``tmp_path`` so
that a test may change bytes or add files without disturbing another. Storyboards are written
with :func:`write_storyboard` from YAML kept inline in the tests or in ``tests/fixtures/cases/``.

The tree (paths relative to the project folder)::

    assets/red.png … assets/grey.png      320×320 flat colours (see COLOURS), one per name
    assets/mira/front.png, side.png, back.png, old_front.png
    assets/style/ink.png, wash.png, paper.png
    assets/small.png                      200×320: under the model's 300 px minimum
    assets/not_an_image.png               text with a .png name
    lib/cast.yaml                         library `cast`: ferryman, boat, lake, ink (imports `more`)
    lib/more.yaml                         library imported by cast.yaml only (not visible to storyboards)
    lib/img/ferry.png, boat.png, lake.png, ink.png, gull.png
"""

from __future__ import annotations

import signal
import struct
import textwrap
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PIL import Image

FIXTURES = Path(__file__).parent / "fixtures"
CASES = FIXTURES / "cases"

SIDE = 320  # above the model's 300 px minimum
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (200, 40, 40),
    "green": (40, 160, 60),
    "blue": (40, 70, 200),
    "yellow": (230, 210, 50),
    "magenta": (190, 50, 170),
    "cyan": (50, 190, 200),
    "orange": (240, 140, 30),
    "grey": (128, 128, 128),
}
# files drawn in a flat colour: path → colour
DRAWN: dict[str, tuple[int, int, int]] = {
    **{f"assets/{name}.png": rgb for name, rgb in COLOURS.items()},
    "assets/mira/front.png": (210, 60, 50),
    "assets/mira/side.png": (211, 60, 50),
    "assets/mira/back.png": (212, 60, 50),
    "assets/mira/old_front.png": (150, 150, 160),
    "assets/style/ink.png": (20, 20, 30),
    "assets/style/wash.png": (120, 160, 200),
    "assets/style/paper.png": (240, 230, 210),
    "lib/img/ferry.png": (90, 70, 50),
    "lib/img/boat.png": (110, 80, 40),
    "lib/img/lake.png": (60, 110, 140),
    "lib/img/ink.png": (25, 25, 25),
    "lib/img/gull.png": (235, 235, 235),
}

CAST_LIBRARY = """\
version: 1
title: Cast
imports:
  more: more.yaml
characters:
  ferryman:
    description: an old ferryman in a grey coat
    image: img/ferry.png
  young_ferryman:
    extends: ferryman
    description: the ferryman as a young man
  gull:
    extends: more.gull
objects:
  boat:
    image: img/boat.png
images:
  lake: img/lake.png
styles:
  ink:
    images: [img/ink.png]
"""

MORE_LIBRARY = """\
version: 1
characters:
  gull:
    description: a seagull
    image: img/gull.png
"""


def flat_png(rgb: tuple[int, int, int], size: tuple[int, int] = (SIDE, SIDE)) -> bytes:
    """The bytes of a flat-colour PNG, identical on every machine.

    Pillow's encoder output depends on the zlib it was built with (zlib, zlib-ng), and the
    golden files hold cache keys, which hash asset bytes. So the PNG is written by hand: a
    one-entry palette at 1 bit per pixel, stored (uncompressed) deflate blocks, CRCs and
    Adler-32 (pure arithmetic). Pillow reads it back in :func:`draw`.
    """
    width, height = size
    raw = (b"\x00" + bytes((width + 7) // 8)) * height  # filter byte 0, then all pixels = index 0
    blocks = []
    for start in range(0, len(raw), 0xFFFF):
        chunk = raw[start : start + 0xFFFF]
        final = 1 if start + 0xFFFF >= len(raw) else 0
        blocks.append(struct.pack("<BHH", final, len(chunk), len(chunk) ^ 0xFFFF) + chunk)
    idat = b"\x78\x01" + b"".join(blocks) + struct.pack(">I", zlib.adler32(raw))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 3, 0, 0, 0)  # 1 bit, palette, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"PLTE", bytes(rgb))
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def draw(path: Path, rgb: tuple[int, int, int], size: tuple[int, int] = (SIDE, SIDE)) -> None:
    """Write a flat-colour PNG of ``size`` at ``path`` (folders created) and check Pillow reads it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(flat_png(rgb, size))
    with Image.open(path) as im:
        im.load()
        assert im.format == "PNG" and im.size == size and im.convert("RGB").getpixel((0, 0)) == rgb


def build_project(root: Path) -> Path:
    """Draw the whole fixture tree (see the module docstring) under ``root``; return ``root``."""
    for rel, rgb in DRAWN.items():
        draw(root / rel, rgb)
    draw(root / "assets/small.png", (10, 200, 10), (200, SIDE))
    (root / "assets/not_an_image.png").write_text("this is not a PNG\n", encoding="utf-8")
    (root / "lib/cast.yaml").write_text(CAST_LIBRARY, encoding="utf-8")
    (root / "lib/more.yaml").write_text(MORE_LIBRARY, encoding="utf-8")
    return root


def write_storyboard(directory: Path, yaml_text: str, name: str = "storyboard.yaml") -> Path:
    """Write ``yaml_text`` (dedented) as ``directory/name`` and return the file's path.

    ``name`` may contain folders (``story/film.yaml``); they are created.
    """
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(yaml_text).lstrip("\n"), encoding="utf-8")
    return path


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail instead of hanging: SIGALRM after ``seconds`` (no limit without SIGALRM or off the main thread)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"took over {seconds} s: a hang?")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
