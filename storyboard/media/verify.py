"""Trust nothing that was not decoded: a clip played from end to end, an image loaded pixel by pixel."""

from __future__ import annotations

import subprocess
from pathlib import Path

from storyboard.errors import MediaError
from storyboard.media.ffmpeg import ffmpeg_exe


def decode_fully(path: Path, *, timeout: float = 600.0) -> None:
    """Decode every video frame of ``path``; MediaError naming the first decoding error, if any.

    ffmpeg stops at the first damaged packet (``-xerror``) and reports every error it sees, so a
    download cut and glued wrongly, or a clip with a hole, is caught before it is trusted.
    """
    cmd = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-v",
        "error",
        "-xerror",
        "-i",
        str(path),
        "-map",
        "0:v:0",
        "-f",
        "null",
        "-",
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"{path.name}: decoding did not finish within {timeout:.0f} s") from exc
    errors = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or errors:
        tail = " | ".join(errors.splitlines()[-3:]) or f"ffmpeg exit {proc.returncode}"
        raise MediaError(f"{path.name} does not decode to the end: {tail}")


def image_size(path: Path) -> tuple[str, int, int]:
    """(format, width, height) of an image decoded in full; MediaError when it does not load."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
            return str(image.format), image.width, image.height
    except Exception as exc:  # PIL raises many kinds for a damaged file
        raise MediaError(f"{path.name} is not a readable image ({exc.__class__.__name__}: {exc})") from None
