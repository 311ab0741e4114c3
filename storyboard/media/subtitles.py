"""Subtitles from the film's lines: SRT and WebVTT files, timed to the speech as generated.

One cue per line, from where its speech starts in the film to where it ends (measured from the
generated sound, not estimated from the text). WebVTT cues also carry per-word timestamps
(``<00:00:01.250>``) when the speech engine gave them, so players can highlight word by word.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from storyboard.util import atomic_write_bytes


@dataclass(frozen=True, slots=True)
class Cue:
    """One subtitle: seconds in the film, the text, and optional per-word start times (film seconds)."""

    start: float
    end: float
    text: str
    words: tuple[tuple[str, float], ...] = ()


def _stamp(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _ordered(cues: Sequence[Cue]) -> list[Cue]:
    """Cues by start; a cue that would overlap the next ends where the next begins."""
    out = sorted(cues, key=lambda c: (c.start, c.end))
    fixed = []
    for i, c in enumerate(out):
        end = min(c.end, out[i + 1].start) if i + 1 < len(out) and out[i + 1].start > c.start else c.end
        fixed.append(Cue(c.start, max(end, c.start + 0.001), c.text, c.words))
    return fixed


def srt(cues: Sequence[Cue]) -> str:
    """The cues as SubRip text."""
    blocks = [
        f"{n}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{c.text}\n" for n, c in enumerate(_ordered(cues), 1)
    ]
    return "\n".join(blocks)


def webvtt(cues: Sequence[Cue]) -> str:
    """The cues as WebVTT text, with word timestamps where known."""
    blocks = ["WEBVTT\n"]
    for n, c in enumerate(_ordered(cues), 1):
        text = c.text
        if len(c.words) > 1:
            pieces = [c.words[0][0]]
            pieces += [f"<{_stamp(t, '.')}>{w}" if c.start < t < c.end else w for w, t in c.words[1:]]
            text = " ".join(pieces)
        blocks.append(f"{n}\n{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n{text}\n")
    return "\n".join(blocks)


def write_subtitles(cues: Sequence[Cue], base: Path) -> tuple[Path, Path]:
    """Write ``<base>.srt`` and ``<base>.vtt``; returns both paths."""
    srt_path, vtt_path = base.with_suffix(".srt"), base.with_suffix(".vtt")
    atomic_write_bytes(srt_path, srt(cues).encode("utf-8"))
    atomic_write_bytes(vtt_path, webvtt(cues).encode("utf-8"))
    return srt_path, vtt_path
