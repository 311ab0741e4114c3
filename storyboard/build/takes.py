"""Takes: several generations of one shot, each with its own key, all kept in the cache.

A shot's takes are numbered from 1. Take 1's key is the shot's request key (as before takes
existed); take n's is :func:`storyboard.plan.take_key`. The take the storyboard picks (``pick:``,
default 1) is the shot itself in the plan: its key is ``ShotPlan.key``, its clip goes into the film
and is published as ``build/shots/<id>.mp4``. Every other take is built as a unit of its own,
``<id>.take<n>``, published as ``build/shots/<id>.take<n>.mp4``.

``--force`` and ``storyboard reroll`` never replace a take: they add the next number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from storyboard.build.cache import Cache
from storyboard.plan import Plan, ShotPlan

SCAN_GAP = 8  # missing take numbers in a row after which the scan of a shot's takes stops
_UNIT = re.compile(r"^(?P<shot>[A-Za-z_][A-Za-z0-9_]*)\.take(?P<take>[1-9][0-9]*)$")


def unit_id(shot_id: str, take: int) -> str:
    """The id of a take that is not the picked one: ``orbit.take2`` (no shot id has a dot)."""
    return f"{shot_id}.take{take}"


def split_unit(uid: str) -> tuple[str, int | None]:
    """``orbit.take2`` → ``("orbit", 2)``; a plain shot id → ``(id, None)`` (its picked take)."""
    m = _UNIT.match(uid)
    return (m.group("shot"), int(m.group("take"))) if m else (uid, None)


def cached_takes(cache: Cache, shot: ShotPlan) -> list[int]:
    """The take numbers of ``shot`` whose clips the cache holds, ascending.

    Takes are found by their keys, 1, 2, 3, …, until ``SCAN_GAP`` numbers in a row past the takes
    the storyboard asks for are missing (a take dropped as damaged does not hide later ones).
    """
    found: list[int] = []
    last_wanted = max(shot.wanted_takes())
    n, misses = 1, 0
    while misses < SCAN_GAP:
        if cache.lookup(shot.take_key(n), verify=False) is not None:
            found.append(n)
            misses = 0
        elif n > last_wanted:
            misses += 1
        n += 1
    return found


def take_unit(shot: ShotPlan, take: int) -> ShotPlan:
    """The shot as the executor builds take ``take``: the shot itself for its picked take."""
    if take == shot.take:
        return shot
    return replace(shot, id=unit_id(shot.id, take), key=shot.take_key(take), take=take, base_key=shot.request_key)


@dataclass(frozen=True, slots=True)
class TakePlan:
    """What a build of takes runs: the plan with every take as a unit, and which units to build."""

    plan: Plan  # the shots' picked takes in storyboard order, each followed by its other takes
    only: frozenset[str] | None  # unit ids to build (None: all)
    force: frozenset[str]  # units to generate even if the backend remembers an unfinished submission
    new: tuple[str, ...]  # units that are new takes added by --force / reroll

    def units_of(self, shot_id: str) -> list[ShotPlan]:
        """Every unit (take) of one shot in this build."""
        return [u for u in self.plan.shots if split_unit(u.id)[0] == shot_id]


def plan_takes(
    plan: Plan,
    cache: Cache,
    *,
    only: frozenset[str] | set[str] | None = None,
    force: bool = False,
    takes: int | None = None,
) -> TakePlan:
    """Expand ``plan`` into one unit per take for the shots ``only`` selects (all when None).

    Each selected shot gets the takes it asks for (``takes:``, at least ``takes`` when given —
    ``--takes N``) and its picked take. With ``force`` a selected shot whose takes all exist gets
    one new take (the next number); a wanted take that is missing is generated with the backend's
    force flag instead (it may be held by an unfinished submission). Shots outside the selection
    keep only their picked take, which the executor builds only if a selected shot needs its frame.
    """
    selected = set(plan.by_id()) if only is None else set(only)
    units: list[ShotPlan] = []
    unit_only: set[str] = set()
    forced: set[str] = set()
    new: list[str] = []
    for shot in plan.shots:
        units.append(shot)
        if shot.id not in selected or shot.card is not None:  # a card is drawn the same every time: one take
            continue
        wanted = set(shot.wanted_takes()) | (set(range(1, takes + 1)) if takes else set())
        if force:
            have = set(cached_takes(cache, shot))
            missing = wanted - have
            if missing:
                forced |= {take_unit(shot, n).id for n in missing}
            else:
                extra = max(have | wanted) + 1
                wanted.add(extra)
                new.append(take_unit(shot, extra).id)
        unit_only.add(shot.id)
        for n in sorted(wanted - {shot.take}):
            unit = take_unit(shot, n)
            units.append(unit)
            unit_only.add(unit.id)
    return TakePlan(
        plan=replace(plan, shots=tuple(units)),
        only=None if only is None else frozenset(unit_only),
        force=frozenset(forced),
        new=tuple(new),
    )
