"""Burned-in subtitles: the film's picture re-encoded with its lines drawn in, by ffmpeg's own
``subtitles`` filter (libass, which the imageio-ffmpeg binary is built with).

This is the one place where a finished film's picture is re-encoded, and only on request
(``film.subtitles: {burn_in: true}``): by default the picture stays stream-copied and the
lines travel as a soft ``mov_text`` track and SRT/WebVTT files. The sound and the soft track
are copied unchanged, so a burned film keeps both. The font is the bundled default (Aileron
Regular, shipped inside Pillow), given to libass through ``fontsdir`` so no system font is
needed.
"""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

from storyboard.media.ffmpeg import house_video_args, run_ffmpeg
from storyboard.media.probe import probe

FONT_NAME = "Aileron"  # the family name of the bundled font, as libass matches it
# libass sizes SRT text against a 288-line canvas: 18 is 1/16 of the frame's height (45 px at 720p)
STYLE = "FontName=Aileron,FontSize=18,PrimaryColour=&H00FFFFFF,OutlineColour=&H00000000,Outline=1.5,Shadow=0,MarginV=16"


def _filter_value(path: Path) -> str:
    """``path`` escaped for a filter option inside a filter graph (ffmpeg's two levels of quoting)."""
    text = str(path)
    for ch in ("\\", ":", "'"):  # the option's own level
        text = text.replace(ch, "\\" + ch)
    for ch in ("\\", "'", "[", "]", ",", ";"):  # the graph's level
        text = text.replace(ch, "\\" + ch)
    return text


def subtitles_filter(srt: Path, fonts: Path) -> str:
    """The ``-vf`` value that draws ``srt`` with the fonts in ``fonts``."""
    style = STYLE.replace(",", "\\,")  # the style's commas are inside the graph, not between filters
    return f"subtitles=filename={_filter_value(srt)}:fontsdir={_filter_value(fonts)}:force_style={style}"


def burn_subtitles(film: Path, srt: Path, out: Path, *, workdir: Path) -> None:
    """Write ``out``: ``film`` with ``srt`` drawn into its picture (re-encoded by the house encoder),
    its audio and subtitle tracks copied."""
    from storyboard.media.card import default_font_bytes

    info = probe(film)
    fonts = workdir / "fonts"
    fonts.mkdir(parents=True, exist_ok=True)
    font = fonts / "Aileron-Regular.otf"
    if not font.exists():
        font.write_bytes(default_font_bytes())
    lines = workdir / "lines.srt"  # beside no other file libass would try to read as a font
    shutil.copyfile(srt, lines)
    fps = Fraction(info.fps) if info.fps else Fraction(24)
    args = ["-v", "error", "-i", str(film), "-map", "0:v:0", "-map", "0:a?", "-map", "0:s?",
            "-vf", subtitles_filter(lines, fonts), *house_video_args(info.width, info.height, fps, info.time_base),
            "-c:a", "copy", "-c:s", "copy", "-map_metadata", "0", "-movflags", "+faststart", "-f", "mp4", "-y",
            str(out)]  # fmt: skip
    run_ffmpeg(args, what="burning the subtitles into the picture")
