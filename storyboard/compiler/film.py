"""Checks of the film as a whole, before anything is paid for: transitions and the film's frame.

Pure functions over the shots in film order. Transitions follow the stitch's own rules
(:func:`storyboard.media.stitch_plan.resolve_joins`), so a storyboard that validates never fails
at the stitch after its clips were generated; a shot in another aspect ratio than the film's is
a warning that says what the stitch does with it (pads it, never crops).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storyboard.plan import Transition

Where = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class FilmShot:
    """What the film checks need of one shot."""

    id: str
    index: int  # position in the storyboard, for the field path
    duration: int
    aspect: str
    aspect_written: bool  # the shot sets aspect_ratio itself (else it comes from the defaults)
    transition: Transition  # the passage into this shot


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem or a warning: where, what, and what would fix it."""

    where: Where
    message: str
    hint: str


def _share(t: Transition) -> float:
    return t.duration if t.type == "crossfade" else t.duration / 2 if t.type == "fade" else 0.0


def _joins(t: Transition) -> bool:
    return t.type != "cut" and t.duration > 0


def transition_problems(shots: Sequence[FilmShot], fps: int = 24) -> list[Finding]:
    """Every transition that would not fit the shots it joins.

    A transition may be no longer than either shot it touches, nor longer than half a shot that
    has a transition on its other side too; and the shares it takes (a crossfade d of each shot,
    a fade d/2) leave at least a frame of each shot.
    """
    found: list[Finding] = []
    for i in range(1, len(shots)):
        t = shots[i].transition
        if not _joins(t):
            continue
        for side in (i - 1, i):
            other = shots[side].transition if side == i - 1 and side > 0 else None
            if side == i and i + 1 < len(shots):
                other = shots[i + 1].transition
            both = other is not None and _joins(other)
            limit = shots[side].duration / 2 if both else shots[side].duration
            if t.duration > limit + 1e-6:
                why = " and has a transition on its other side too, so at most half of it" if both else ""
                found.append(
                    Finding(
                        ("shots", shots[i].index, "transition"),
                        f"the {t.type} into {shots[i].id!r} lasts {t.duration:g} s, but shot "
                        f"{shots[side].id!r} lasts {shots[side].duration} s{why} ({limit:g} s)",
                        "shorten the transition",
                    )
                )
                break
    if found:
        return found
    for i, d in enumerate(shots):
        used = (_share(d.transition) if i else 0.0) + (_share(shots[i + 1].transition) if i + 1 < len(shots) else 0.0)
        if used > d.duration - 1 / fps:
            later = i + 1 < len(shots) and _share(shots[i + 1].transition)
            found.append(
                Finding(
                    ("shots", shots[i + 1].index if later else d.index, "transition"),
                    f"transitions take {used:g} s of shot {d.id!r}, which lasts {d.duration} s",
                    "shorten the transition (a crossfade uses its duration from both shots, a fade half of it)",
                )
            )
    return found


def frame_warnings(shots: Sequence[FilmShot], film: str) -> list[Finding]:
    """A warning for each shot whose aspect ratio is not the film's ``film``: the stitch pads it."""
    fw, fh = (int(x) for x in film.split(":"))
    found: list[Finding] = []
    for d in shots:
        if d.aspect == film:
            continue
        sw, sh = (int(x) for x in d.aspect.split(":"))
        bars = "left and right (pillarbox)" if sw * fh < fw * sh else "above and below (letterbox)"
        found.append(
            Finding(
                ("shots", d.index, "aspect_ratio") if d.aspect_written else ("shots", d.index),
                f"shot {d.id!r} is {d.aspect} but the film is {film}: the stitch fits the whole "
                f"picture inside the film's frame and pads it with black bars {bars}",
                "make them agree (`film.aspect_ratio` or the shot's `aspect_ratio`) if that is not what you want",
            )
        )
    return found
