"""Card benchmark: a 5-s 1280×720 title card, Pillow layers + one ffmpeg encode against moviepy.

Both make the same card: a white title (Pillow's bundled Aileron Regular, 72 px) centred on a
dark colour, fading in over 0.5 s and out over 0.5 s, 24 fps, H.264 yuv420p.

- ours: :func:`storyboard.media.card.write_card` — the background and the text layer drawn once
  by Pillow, the fades and the encode in one ffmpeg run (the house encoder, fast preset);
- moviepy 2.x: ``ColorClip`` + ``TextClip`` with ``vfx.CrossFadeIn``/``CrossFadeOut`` in a
  ``CompositeVideoClip``, ``write_videofile(codec="libx264", preset="superfast")`` — moviepy
  composites every frame in numpy and pipes it to ffmpeg.

A report, no goal: the figure decided which one the build uses (docs/architecture.md).
Run alone: ``python bench/card_bench.py [--quick]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import median, row, table, timed  # noqa: E402
from storyboard.media.card import CardPicture, write_card  # noqa: E402

CARD = CardPicture(
    text="The Greenhouse", width=1280, height=720, fps=24, seconds=5, timescale=12288, size=72,
    color=(255, 255, 255), background=(16, 16, 16), fade_in=0.5, fade_out=0.5,
)  # fmt: skip


def ours(dest: Path) -> None:
    """The build's card path."""
    write_card(CARD, dest)


def with_moviepy(dest: Path, font: Path) -> None:
    """The same card composed by moviepy."""
    from moviepy import ColorClip, CompositeVideoClip, TextClip, vfx

    bg = ColorClip((CARD.width, CARD.height), color=CARD.background, duration=CARD.seconds)
    text = (
        TextClip(font=str(font), text=CARD.text, font_size=CARD.size, color="white", duration=CARD.seconds)
        .with_position("center")
        .with_effects([vfx.CrossFadeIn(CARD.fade_in), vfx.CrossFadeOut(CARD.fade_out)])
    )
    film = CompositeVideoClip([bg, text], size=(CARD.width, CARD.height))
    film.write_videofile(
        str(dest), fps=CARD.fps, codec="libx264", preset="superfast", audio=False, logger=None,
        pixel_format="yuv420p", threads=2,
    )  # fmt: skip


def run(quick: bool) -> list[dict[str, Any]]:
    """Rows: our card, moviepy's card (median of 3, 1 when quick)."""
    from storyboard.media.card import default_font_bytes

    repeats = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="card-bench-") as tmp:
        font = Path(tmp) / "Aileron-Regular.otf"
        font.write_bytes(default_font_bytes())
        mine = median(timed(lambda: ours(Path(tmp) / "ours.mp4")) for _ in range(repeats))
        theirs = median(timed(lambda: with_moviepy(Path(tmp) / "moviepy.mp4", font)) for _ in range(repeats))
    return [
        row("card 5 s 1280x720 (Pillow + ffmpeg)", mine, theirs, "s", "", None),
        row("card 5 s 1280x720 (moviepy)", theirs, None, "s", "", None),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(table(run(args.quick)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
