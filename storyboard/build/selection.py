"""dbt-style shot selection: ``orbit``, ``orbit+``, ``+orbit``, ``+orbit+``, ``character:mira``.

``x+`` adds every shot that continues (directly or not) from x; ``+x`` every shot x continues
from. Method selectors: ``character:NAME``, ``object:NAME``, ``image:NAME``, ``style:NAME``
(shots that mention or use the asset), ``shot:ID``. Several selectors (separated by spaces or
given several times) are a union; ``--exclude`` removes its union afterwards.

:func:`selection` is the one service ``build``, ``cost``, ``ls`` and ``status`` ask: the shots the
selectors match, and the shots a build of them would build (the matched ones plus every uncached
shot whose last frame they need).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from storyboard.errors import UsageError
from storyboard.plan import Plan, ShotPlan
from storyboard.util import closest, did_you_mean


class _Cached(Protocol):
    """What selection asks of the cache (a :class:`storyboard.build.cache.Cache`)."""

    def has_frame(self, key: str) -> bool: ...

    def lookup(self, key: str, *, verify: bool = True, drop: bool = True) -> object | None: ...


@dataclass(frozen=True, slots=True)
class Selection:
    """What the user selected and what building it takes."""

    chosen: tuple[str, ...]  # ids the selectors match, in storyboard order (every shot when none given)
    shots: tuple[ShotPlan, ...]  # what a build builds: the chosen ones and the uncached shots they continue from
    explicit: bool  # --select or --exclude was given

    @property
    def only(self) -> frozenset[str] | None:
        """The chosen ids as the build takes them (None: the whole storyboard)."""
        return frozenset(self.chosen) if self.explicit else None

    @property
    def ids(self) -> set[str]:
        """The ids of the shots a build builds."""
        return {s.id for s in self.shots}

    @property
    def empty(self) -> bool:
        """True when the selectors match no shot."""
        return not self.chosen

    def needed_only(self, shot_id: str) -> bool:
        """True for a shot built only because a chosen shot needs its last frame."""
        return shot_id not in self.chosen


def selection(plan: Plan, selectors: Iterable[str] | None, exclude: Iterable[str] | None, cache: _Cached) -> Selection:
    """The selection for ``--select``/``--exclude`` (None or empty: the whole storyboard) given what ``cache`` holds."""
    selectors, exclude = list(selectors or []), list(exclude or [])
    explicit = bool(selectors or exclude)
    chosen = tuple(select(plan, selectors, exclude)) if explicit else tuple(s.id for s in plan.shots)
    return Selection(chosen, tuple(shots_to_build(plan, set(chosen) if explicit else None, cache)), explicit)


def shots_to_build(plan: Plan, only: frozenset[str] | set[str] | None, cache: _Cached) -> list[ShotPlan]:
    """The ``only`` shots plus every shot whose last frame they need and the cache cannot give, in storyboard
    order (None: all). A damaged frame or clip counts as missing: both are verified, nothing is dropped."""
    if only is None:
        return list(plan.shots)
    by_id = plan.by_id()
    wanted = set(only)
    stack = list(wanted)
    while stack:
        shot = by_id[stack.pop()]
        # a last frame already extracted is enough; an edit's clip or a first frame needs the clip itself
        needs_clip = {a.value for a in shot.assets() if a.kind in ("clip", "first_frame")}
        for up in shot.depends_on:
            key = by_id[up].key
            frame_ok = cache.has_frame(key) and up not in needs_clip
            if up not in wanted and not frame_ok and cache.lookup(key, drop=False) is None:
                wanted.add(up)
                stack.append(up)
    return [s for s in plan.shots if s.id in wanted]


METHODS = ("shot", "character", "object", "image", "style")


def _closure(start: set[str], edges: dict[str, list[str]]) -> set[str]:
    out, stack = set(start), list(start)
    while stack:
        for nxt in edges.get(stack.pop(), ()):
            if nxt not in out:
                out.add(nxt)
                stack.append(nxt)
    return out


def _uses(shot: ShotPlan, method: str, name: str) -> bool:
    if method == "style" and shot.style == name:
        return True
    kinds = ("image", "last_frame") if method == "image" else (method,)
    return any(m.name == name and m.kind in kinds for m in shot.mentions)


def select(plan: Plan, selectors: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
    """Shot ids matched by the selectors minus the excluded ones, in storyboard order.

    An empty or blank selector (``--select ""``: an unset ``$SHOT`` in a script) is a UsageError,
    never "everything": with ``--force`` it would pay for every shot again.
    """
    selectors, exclude = list(selectors), list(exclude)
    check_selectors(selectors, "--select")
    check_selectors(exclude, "--exclude")
    chosen = _union(plan, _split(selectors)) if _split(selectors) else {s.id for s in plan.shots}
    dropped = _union(plan, _split(exclude))
    return [s.id for s in plan.shots if s.id in chosen and s.id not in dropped]


def check_selectors(values: Iterable[str], flag: str) -> None:
    """UsageError when one of the values given to ``flag`` is empty or only blanks."""
    for v in values:
        if not v.strip():
            raise UsageError(
                f"{flag} was given an empty selector ({v!r}); name a shot or a selector such as `orbit+` "
                f"— an empty {flag} never means every shot (is a shell variable unset?)"
            )


def _split(values: Iterable[str]) -> list[str]:
    return [part for v in values for part in v.split() if part]


def _union(plan: Plan, tokens: list[str]) -> set[str]:
    ids = [s.id for s in plan.shots]
    down: dict[str, list[str]] = {s.id: [] for s in plan.shots}
    up: dict[str, list[str]] = {s.id: list(s.depends_on) for s in plan.shots}
    for s in plan.shots:
        for u in s.depends_on:
            down[u].append(s.id)
    out: set[str] = set()
    for token in tokens:
        ancestors = token.startswith("+")
        descendants = token.endswith("+")
        core = token.strip("+")
        if ":" in core:
            method, name = core.split(":", 1)
            if method not in METHODS:
                raise UsageError(f"unknown selector method {method!r} in {token!r}; use one of: {', '.join(METHODS)}")
            base = {s.id for s in plan.shots if (s.id == name if method == "shot" else _uses(s, method, name))}
            if not base and method == "shot":
                raise UsageError(f"unknown shot {name!r} in selector {token!r}" + _shot_hint(name, ids))
            if not base:
                hint = _no_match_hint(plan, method, name, token)
                raise UsageError(f"selector {token!r} matches no shot" + (f" — {hint}" if hint else ""))
        else:
            if core not in down:
                raise UsageError(f"unknown shot {core!r} in selector {token!r}" + _shot_hint(core, ids))
            base = {core}
        if ancestors:
            base = _closure(base, up)
        if descendants:
            base = _closure(base, down)
        out |= base
    return out


def _shot_hint(name: str, ids: list[str]) -> str:
    """`` — did you mean 'orbit'?`` for a near miss; selectors name shots, not their last frames."""
    if name.endswith(".last_frame") and name[: -len(".last_frame")] in ids:
        shot = name[: -len(".last_frame")]
        return f" — a selector names the shot: write {shot!r} (its last frame is built with it)"
    hint = did_you_mean(name, ids)
    return f" — {hint}" if hint else ""


def _no_match_hint(plan: Plan, method: str, name: str, token: str) -> str | None:
    """The selector the user probably meant: the name under its namespace, or under its own kind."""
    kinds = {m.name: m.kind for s in plan.shots for m in s.mentions}
    kinds.update({s.style: "style" for s in plan.shots if s.style})
    wanted = ("image", "last_frame") if method == "image" else (method,)
    same_kind = sorted(n for n, k in kinds.items() if k in wanted)
    prefix, suffix = token[: len(token) - len(token.lstrip("+"))], token[len(token.rstrip("+")) :]

    def spelled(m: str, n: str) -> str:
        return f"did you mean {prefix + m + ':' + n + suffix!r}?"

    qualified = [n for n in same_kind if n.rsplit(".", 1)[-1] == name and n != name]
    if qualified:  # `character:keeper` for `cast.keeper`: a library's asset is named with its namespace
        return spelled(method, qualified[0])
    other = kinds.get(name)
    if other is not None and other not in wanted:  # `character:stone` for an object
        return spelled("image" if other == "last_frame" else other, name)
    close = closest(name, same_kind)
    return spelled(method, close) if close else None
