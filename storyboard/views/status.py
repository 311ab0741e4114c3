"""Staleness explained: is each shot up to date, and if not, why.

A shot is up to date when the cache holds a clip for its current key (a build would reuse it).
Otherwise the reasons come from comparing the shot's current inputs with the inputs recorded
next to the clip last published for it (``build/shots/<id>.json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storyboard.build.cache import Cache
from storyboard.build.outputs import Freshness
from storyboard.build.takes import cached_takes
from storyboard.graph import topological_shots
from storyboard.plan import Plan


@dataclass(frozen=True, slots=True)
class ShotStatus:
    """One shot's state and the reasons it is stale."""

    id: str
    key: str
    up_to_date: bool
    reasons: tuple[str, ...]
    take: int = 1  # the take in the film
    takes: tuple[int, ...] = ()  # the takes the cache holds
    pick_change: str | None = None  # "picked take 3 (was 1)" when the last build published another take

    def to_json(self) -> dict[str, Any]:
        """As ``storyboard status --json`` prints it."""
        return {
            "id": self.id,
            "key": self.key,
            "state": Freshness.UP_TO_DATE if self.up_to_date else Freshness.STALE,
            "reasons": list(self.reasons),
            "take": self.take,
            "takes": list(self.takes),
            "pick_change": self.pick_change,
        }

    def takes_text(self) -> str:
        """``take 2 of 1, 2, 3`` — or "" for a shot with one take that is the first."""
        if self.takes in ((), (1,)) and self.take == 1:
            return ""
        have = ", ".join(map(str, self.takes)) or "none built"
        return f"take {self.take} in the film (takes: {have})"


def _recorded(build_dir: Path, shot_id: str) -> dict[str, Any] | None:
    try:
        data = json.loads((build_dir / "shots" / f"{shot_id}.json").read_text("utf-8"))
        return data if isinstance(data, dict) and isinstance(data.get("inputs"), dict) else None
    except (OSError, ValueError):
        return None


def explain(
    before: dict[str, Any], now: dict[str, Any], stale_upstream: set[str], repicked: dict[str, str] | None = None
) -> list[str]:
    """Human reasons why inputs ``now`` differ from the recorded ``before``.

    ``repicked`` maps upstream shots whose picked take changed to "take 3 (was 1)".
    """
    reasons: list[str] = []
    repicked = repicked or {}
    if before.get("take", 1) != now.get("take", 1):
        reasons.append(f"picked take {now.get('take', 1)} (was {before.get('take', 1)})")
    if before.get("prompt") != now["prompt"]:
        reasons.append("prompt changed")
    for field in ("model", "duration", "aspect_ratio"):
        if before.get(field) != now[field]:
            reasons.append(f"{field.replace('_', ' ')} changed ({before.get(field)} → {now[field]})")
    card_before, card_now = before.get("card") or {}, now.get("card") or {}
    changed = [k for k in sorted(set(card_before) | set(card_now)) if k not in ("text", "duration")
               and card_before.get(k) != card_now.get(k)]  # fmt: skip
    if changed:
        reasons.append("card changed (" + ", ".join(changed) + ")")
    old_assets: dict[str, str] = before.get("assets", {})
    for name, digest in now["assets"].items():
        if name not in old_assets:
            reasons.append(f"asset {name} added")
        elif old_assets[name] != digest:
            reasons.append(
                f"the generated image {name} changed (its request differs)"
                if digest.startswith("generated:")
                else f"asset {name} changed (its bytes differ)"
            )
    for name in old_assets:
        if name not in now["assets"]:
            reasons.append(f"asset {name} no longer used")
    old_up: dict[str, str] = before.get("upstream", {})
    for up, key in now["upstream"].items():
        if up in repicked:
            reasons.append(f"the shot it continues from ({up}) now uses {repicked[up]}")
        elif old_up.get(up) != key or up in stale_upstream:
            reasons.append(f"the shot it continues from ({up}) changed")
    return reasons or ["its cached clip is missing"]


def shot_statuses(plan: Plan, cache: Cache, build_dir: Path) -> list[ShotStatus]:
    """Every shot's status, in storyboard order."""
    by_id = plan.by_id()
    out: dict[str, ShotStatus] = {}
    stale: set[str] = set()
    deps = {s.id: s.depends_on for s in plan.shots if s.depends_on}
    repicked: dict[str, str] = {}
    for shot in (by_id[sid] for sid in topological_shots(deps, [s.id for s in plan.shots]) or []):
        before = _recorded(build_dir, shot.id)
        was = before["inputs"].get("take", 1) if before is not None else None
        change = f"picked take {shot.take} (was {was})" if was is not None and was != shot.take else None
        if change:
            repicked[shot.id] = f"take {shot.take} (was {was})"
        takes = tuple(cached_takes(cache, shot))
        if cache.lookup(shot.key, drop=False) is not None:
            out[shot.id] = ShotStatus(shot.id, shot.key, True, (), shot.take, takes, change)
            continue
        stale.add(shot.id)
        if cache.record_path(shot.key).exists():  # recorded, but its bytes no longer hash right
            reasons = ["its cached clip is damaged and will be generated again"]
        elif before is None:
            reasons = ["never built"] if shot.take == 1 else [f"take {shot.take} is picked but not built"]
        else:
            now = shot.inputs({u: by_id[u].key for u in shot.depends_on})
            reasons = explain(before["inputs"], now, stale & set(shot.depends_on), repicked)
            if change and shot.take not in takes:
                reasons.append(f"take {shot.take} is not built yet")
        out[shot.id] = ShotStatus(shot.id, shot.key, False, tuple(reasons), shot.take, takes, change)
    return [out[s.id] for s in plan.shots]


def sound_statuses(plan: Plan, cache: Cache, build_dir: Path) -> list[ShotStatus]:
    """Every generated sound's status (up to date when the cache holds it), in storyboard order."""
    from storyboard.build.audio import SoundStore

    store = SoundStore(cache)
    out = []
    for a in plan.audio:
        if not a.generated:
            continue
        if store.lookup(a.key, verify=False) is not None:
            out.append(ShotStatus(a.id, a.key, True, ()))
            continue
        try:
            before = json.loads((build_dir / "audio" / f"{a.id}.json").read_text("utf-8")).get("inputs")
        except (OSError, ValueError):
            before = None
        if not isinstance(before, dict):
            reasons = ["never built"]
        else:
            now = a.inputs()
            old, new = before.get("request", {}), now.get("request", {})
            reasons = [
                f"{k.replace('_', ' ')} changed" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)
            ]
            if before.get("preview_voice") != now.get("preview_voice"):
                reasons.append("preview voice changed")
            reasons = reasons or ["its cached sound is missing"]
        out.append(ShotStatus(a.id, a.key, False, tuple(reasons)))
    return out


def image_statuses(plan: Plan, cache: Cache, build_dir: Path) -> list[ShotStatus]:
    """Every generated image's status (up to date when the cache holds it), frontal images first."""
    from storyboard.build.images import ImageStore

    store = ImageStore(cache)
    out = []
    stale: set[str] = set()
    for i in plan.images:
        if store.lookup(i.key, verify=False) is not None:
            out.append(ShotStatus(i.id, i.key, True, ()))
            continue
        stale.add(i.id)
        try:
            before = json.loads((build_dir / "images" / f"{i.id}.json").read_text("utf-8")).get("inputs")
        except (OSError, ValueError):
            before = None
        if not isinstance(before, dict):
            reasons = ["never built"]
        else:
            now = i.inputs()
            old, new = before.get("request", {}), now["request"]
            reasons = []
            if before.get("endpoint") != now["endpoint"]:
                reasons.append(f"model changed ({before.get('endpoint')} → {now['endpoint']})")
            for k in sorted(set(old) | set(new)):
                if old.get(k) != new.get(k):
                    made_from = k == i.source_field
                    reasons.append(
                        f"the image it is made from ({i.source}) changed"
                        if made_from
                        else f"{k.replace('_', ' ')} changed"
                    )
            if i.source in stale and not any("made from" in r for r in reasons):
                reasons.append(f"the image it is made from ({i.source}) is not built")
            reasons = reasons or ["its cached image is missing"]
        out.append(ShotStatus(i.id, i.key, False, tuple(reasons)))
    return out
