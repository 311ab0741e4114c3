"""Loudness: measuring it (EBU R128, ffmpeg's ``ebur128``) and mastering a mix to a target under a limiter.

``measure_loudness`` reads a file's integrated loudness and true peak; :func:`master` finds the
gain that, followed by a peak limiter, brings a mix to the target; :class:`Master` is that chain,
applied once where the film's sound is encoded (:func:`storyboard.media.mix.mux`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from storyboard.errors import MediaError
from storyboard.media.ffmpeg import run_ffmpeg


def meter(name: str = "", *, peak: bool = False) -> str:
    """The ``ebur128`` filter that :func:`run_measured` reads: named ``ebur128@name`` when ``name``,
    logging its summary only (at ffmpeg's info level it would otherwise print every 100 ms frame)."""
    return f"ebur128{'@' + name if name else ''}=framelog=verbose{':peak=true' if peak else ''}"


def measure_loudness(path: Path) -> tuple[float, float]:
    """(integrated loudness LUFS, true peak dBTP) of a file's first audio stream, by ffmpeg's ebur128."""
    try:
        log = run_ffmpeg(["-i", str(path), "-map", "0:a:0", "-af", meter(peak=True), "-f", "null", "-"],
                         what="measuring loudness", loglevel="info")  # fmt: skip
    except MediaError:
        log = ""
    loudness, peak = _summary(log)
    if loudness is None or peak is None:
        raise MediaError(f"could not measure the loudness of {path.name}")
    return loudness, peak


def _summary(stderr: str) -> tuple[float | None, float | None]:
    """(integrated loudness, true peak or None) from the last ``ebur128`` summary in ffmpeg's log."""
    summary = stderr[stderr.rfind("Summary:") :]
    i = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    tp = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    return (float(i.group(1)) if i else None), (float(tp.group(1)) if tp else None)


def run_measured(args: list[str], what: str, names: Sequence[str] = ()) -> list[float]:
    """Run ffmpeg with ``args`` whose graph holds ``ebur128`` filters; the integrated loudness each measured.

    ``names``: the filters' instance names (``ebur128@name``), in the order wanted; without, the
    graph's one unnamed ``ebur128``.
    """
    log = run_ffmpeg(args, what=what, loglevel="info")
    found: list[float] = []
    for name in names or [""]:
        mark = log.rfind(f"[ebur128@{name} @" if name else "Summary:")
        end = log.find("\n[", mark + 1)  # the summary ends where the next filter's log begins
        loudness = _summary(log[mark : end if end >= 0 else None])[0] if mark >= 0 else None
        if loudness is None:
            raise MediaError(f"{what}: ffmpeg printed no loudness summary{f' for {name}' if name else ''}")
        found.append(loudness)
    return found


@dataclass(frozen=True, slots=True)
class Master:
    """The master's settings: a gain, then a peak limiter (``None``: the sum is silent and passes untouched)."""

    gain: float | None
    limit: float = 1.0

    def chain(self) -> str:
        """The ffmpeg filter chain that applies it."""
        if self.gain is None:
            return "anull"
        return f"volume={self.gain:.3f}dB,alimiter=limit={self.limit:.5f}:attack=5:release=50:level=disabled"


def loudness_at(premix: Path, chains: Sequence[Master]) -> list[float]:
    """The integrated loudness of the sum through each master chain, measured in one ffmpeg run (no file written)."""
    n = len(chains)
    names = [f"m{i}" for i in range(n)]
    split = f"[0:a]asplit={n}" + "".join(f"[b{i}]" for i in range(n)) + ";" if n > 1 else "[0:a]anull[b0];"
    graph = split + ";".join(f"[b{i}]{c.chain()},{meter(names[i])}[o{i}]" for i, c in enumerate(chains))
    args = ["-i", str(premix), "-filter_complex", graph]
    for i in range(n):
        args += ["-map", f"[o{i}]", "-f", "null", "-"]
    return run_measured(args, "mastering", names)


def master(premix: Path, target: float, ceiling: float, measured: float, *, rounds: int = 4) -> Master:
    """The gain and limiter that bring the sum (``measured`` LUFS) to ``target`` LUFS under ``ceiling`` dBTP.

    Limiting takes a little loudness away, and how much depends on the gain, so the gain is found
    by measuring the chain over the sum (integrated loudness only; no file is written and no true
    peak computed — the finished film's true peak is measured once, after its encode). The first
    round measures two gains at once (the plain correction and 1.5 dB more, in one ffmpeg run),
    and the gain for the target is read off the line through them; a later round measures that
    gain and corrects along the line again. Done when a measured gain lands within 0.2 LU (at most
    ``rounds`` runs; then the nearest). The limiter's loss is not smooth in the gain (it can jump by
    over 1 LU between two gains 0.1 dB apart on clicky material), so the line is redrawn each round
    through the two tries nearest the target.
    """
    if measured < -69:  # silence stays silence
        return Master(None)
    limit = 10 ** ((ceiling - 0.3) / 20)  # sample peaks a little under the ceiling: true peaks land under it
    first = target - measured
    gains = [first, first + 1.5]
    tried: list[tuple[float, float]] = []  # (gain, loudness)
    for _ in range(rounds):
        tried += zip(gains, loudness_at(premix, [Master(g, limit) for g in gains]))
        best = min(tried, key=lambda t: abs(t[1] - target))
        if abs(best[1] - target) <= 0.2:
            return Master(best[0], limit)
        gains = [_next_gain(tried, target)]
    return Master(min(tried, key=lambda t: abs(t[1] - target))[0], limit)


def _next_gain(tried: Sequence[tuple[float, float]], target: float) -> float:
    """The gain for ``target`` on the line through the two tries nearest to it (a slope kept in [0.1, 1])."""
    (g0, l0), (g1, l1) = sorted(tried, key=lambda t: abs(t[1] - target))[:2]
    slope = (l1 - l0) / (g1 - g0) if g1 != g0 else 1.0
    slope = min(max(slope, 0.1), 1.0)
    return g0 + (target - l0) / slope
