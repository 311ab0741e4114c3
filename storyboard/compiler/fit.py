"""Do a shot's lines fit the shot? Estimated from the text before anything is generated.

The estimate is characters per second at the voice's pace: 15 a second at the default rate of
165 words a minute (ElevenLabs' voices average 14-16), scaled with ``rate``. eSpeak NG at the
same rate was measured at 15-18.5 characters a second on the examples' lines, so the estimate
errs long: a warning may come a little early, never much too late. ``duration: auto`` picks the
shortest duration the shot's model allows that holds the estimate (docs/sound.md, "Fit").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storyboard.compiler.audio_models import TYPICAL_CHARS_PER_SECOND

DEFAULT_RATE = 165  # words a minute: a voice's default `rate`


def speech_seconds(text: str, rate: int = DEFAULT_RATE) -> float:
    """About how long ``text`` takes to say at ``rate`` words a minute."""
    return len(text.strip()) / (TYPICAL_CHARS_PER_SECOND * rate / DEFAULT_RATE)


@dataclass(frozen=True, slots=True)
class SpokenLine:
    """A line as the fit check sees it: where it starts in the shot and about how long it lasts."""

    offset: float
    seconds: float


def lines_end(lines: Sequence[SpokenLine]) -> float:
    """Seconds into the shot at which its last line ends (0 without lines)."""
    return max((line.offset + line.seconds for line in lines), default=0.0)


def shortest_fitting(durations: Sequence[int], needed: float) -> int | None:
    """The shortest allowed duration that holds ``needed`` seconds, or None when none does."""
    return next((d for d in sorted(durations) if d >= needed), None)


def fit_message(
    shot_id: str, count: int, needed: float, duration: int, durations: Sequence[int], *, offsets: bool = False
) -> tuple[str, str]:
    """(message, hint) of a fit warning: the shot, the numbers and what would fix it."""
    lines = f"{count} line{'s' if count != 1 else ''}"
    what = "of the shot, offsets included" if offsets else "of speech"
    message = f"shot {shot_id!r}: {lines} {'needs' if count == 1 else 'need'} about {needed:.1f} s {what}, the shot is {duration} s"
    fitting = shortest_fitting(durations, needed)
    if fitting is None:
        hint = (
            f"the longest shot the model allows is {max(durations)} s: split the lines over two shots or shorten them"
        )
    else:
        hint = f"make it {fitting} s or `duration: auto`"
    return message, hint
