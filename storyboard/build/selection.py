"""dbt-style shot selection: ``orbit``, ``orbit+``, ``+orbit``, ``+orbit+``, ``character:mira``.

``x+`` adds every shot that continues (directly or not) from x; ``+x`` every shot x continues
from. Method selectors: ``character:NAME``, ``object:NAME``, ``image:NAME``, ``style:NAME``
(shots that mention or use the asset), ``shot:ID``. Several selectors (separated by spaces or
given several times) are a union; ``--exclude`` removes its union afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable

from storyboard.errors import UsageError
from storyboard.plan import Plan, ShotPlan
from storyboard.util import did_you_mean

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
    """Shot ids matched by the selectors minus the excluded ones, in storyboard order."""
    chosen = _union(plan, _split(selectors)) if _split(selectors) else {s.id for s in plan.shots}
    dropped = _union(plan, _split(exclude))
    return [s.id for s in plan.shots if s.id in chosen and s.id not in dropped]


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
            if not base:
                raise UsageError(f"selector {token!r} matches no shot")
        else:
            if core not in down:
                hint = did_you_mean(core, ids)
                raise UsageError(f"unknown shot {core!r} in selector {token!r}" + (f" — {hint}" if hint else ""))
            base = {core}
        if ancestors:
            base = _closure(base, up)
        if descendants:
            base = _closure(base, down)
        out |= base
    return out
