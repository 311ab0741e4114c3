"""Staleness explained: each reason a shot would be generated again, from the recorded inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from storyboard.build.cache import Cache
from storyboard.plan import Plan
from storyboard.views.status import explain, shot_statuses
from support.tiny import chain_plan, store_tiny

NOW: dict[str, Any] = {
    "prompt": "p",
    "model": "m",
    "duration": 5,
    "aspect_ratio": "16:9",
    "assets": {"assets/red.png": "aa", "assets/blue.png": "bb"},
    "upstream": {"a": "key-a"},
}


def _before(**changes: Any) -> dict[str, Any]:
    return {**NOW, **changes}


@pytest.mark.parametrize(
    ("before", "reasons"),
    [
        (_before(prompt="old"), ["prompt changed"]),
        (_before(model="m0"), ["model changed (m0 → m)"]),
        (_before(duration=8), ["duration changed (8 → 5)"]),
        (_before(aspect_ratio="9:16"), ["aspect ratio changed (9:16 → 16:9)"]),
        (_before(assets={"assets/red.png": "aa"}), ["asset assets/blue.png added"]),
        (
            _before(assets={"assets/red.png": "xx", "assets/blue.png": "bb"}),
            ["asset assets/red.png changed (its bytes differ)"],
        ),
        (
            _before(assets={**NOW["assets"], "assets/old.png": "cc"}),
            ["asset assets/old.png no longer used"],
        ),
        (_before(upstream={"a": "old-key"}), ["the shot it continues from (a) changed"]),
        (NOW, ["its cached clip is missing"]),
        (_before(prompt="old", duration=3), ["prompt changed", "duration changed (3 → 5)"]),
    ],
)
def test_explain(before: dict[str, Any], reasons: list[str]) -> None:
    assert explain(before, NOW, set()) == reasons


def test_a_stale_upstream_makes_its_dependents_stale() -> None:
    assert explain(NOW, NOW, {"a"}) == ["the shot it continues from (a) changed"]


@pytest.fixture
def plan(project: Path) -> Plan:
    return chain_plan(project)


def _record(build_dir: Path, plan: Plan, shot_id: str, **changes: Any) -> None:
    shot = plan.shot(shot_id)
    inputs = shot.inputs({u: plan.shot(u).key for u in shot.depends_on})
    inputs.update(changes)
    (build_dir / "shots").mkdir(parents=True, exist_ok=True)
    (build_dir / "shots" / f"{shot_id}.json").write_text(json.dumps({"key": "old", "inputs": inputs}), "utf-8")


def test_statuses_of_a_storyboard(plan: Plan, tmp_path: Path) -> None:
    cache, build_dir = Cache(tmp_path / "cache", "tiny"), tmp_path / "build"
    store_tiny(cache, plan.shot("d").key, 5, "d")
    _record(build_dir, plan, "a", prompt="an older prompt")
    _record(build_dir, plan, "b")
    statuses = {s.id: s for s in shot_statuses(plan, cache, build_dir)}
    assert [s.id for s in statuses.values()] == ["a", "b", "c", "d"]
    assert statuses["d"].up_to_date and statuses["d"].reasons == ()
    assert statuses["a"].reasons == ("prompt changed",)
    assert statuses["b"].reasons == ("the shot it continues from (a) changed",), "a is stale, so b is"
    assert statuses["c"].reasons == ("never built",)
    assert statuses["d"].to_json()["state"] == "up to date"
    assert statuses["a"].to_json() == {
        "id": "a",
        "key": plan.shot("a").key,
        "state": "stale",
        "reasons": ["prompt changed"],
        "take": 1,
        "takes": [],
        "pick_change": None,
    }


def test_an_unreadable_record_counts_as_never_built(plan: Plan, tmp_path: Path) -> None:
    build_dir = tmp_path / "build"
    (build_dir / "shots").mkdir(parents=True)
    (build_dir / "shots" / "a.json").write_text("{not json", "utf-8")
    statuses = shot_statuses(plan, Cache(tmp_path / "cache", "tiny"), build_dir)
    assert statuses[0].reasons == ("never built",)
