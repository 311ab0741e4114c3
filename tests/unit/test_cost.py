"""Cost before spending: price × seconds of what the cache does not hold, and the user's prices."""

from __future__ import annotations

from pathlib import Path

import pytest

from storyboard.build.cache import Cache
from storyboard.compiler.models import load_prices
from storyboard.errors import UsageError
from storyboard.plan import Plan
from storyboard.views.cost import estimate
from support.tiny import chain_plan, store_tiny

STANDARD = "fal-ai/kling-video/o1/standard/reference-to-video"


@pytest.fixture
def plan(project: Path) -> Plan:
    return chain_plan(project)


def test_nothing_cached_costs_every_second(plan: Plan) -> None:
    est = estimate(plan, None, {})
    assert [(s.id, s.seconds, s.price_per_second) for s in est.shots] == [
        ("a", 3, 0.084),
        ("b", 3, 0.084),
        ("c", 3, 0.084),
        ("d", 5, 0.084),
    ]
    assert est.total == pytest.approx(14 * 0.084) and est.unpriced == []


def test_a_cached_shot_is_free(plan: Plan, tmp_path: Path) -> None:
    cache = Cache(tmp_path, "fal")
    store_tiny(cache, plan.shot("d").key, 5, "d")
    est = estimate(plan, cache, {})
    assert [s.id for s in est.shots if s.cached] == ["d"]
    assert est.total == pytest.approx(9 * 0.084)
    assert est.to_json()["shots"][3] == {
        "id": "d",
        "model": STANDARD,
        "seconds": 5,
        "price_per_second": 0.084,
        "cached": True,
        "refetch": False,  # cached: nothing to download again from fal's CDN either
        "usd": 0.0,
    }


def test_only_the_selected_shots_count(plan: Plan) -> None:
    est = estimate(plan, None, {}, {"a", "d"})
    assert [s.id for s in est.shots] == ["a", "d"] and est.total == pytest.approx(8 * 0.084)
    assert estimate(plan, None, {}, set()).total == 0


def test_user_prices_by_alias_override(plan: Plan, tmp_path: Path) -> None:
    prices_file = tmp_path / "prices.yaml"
    prices_file.write_text("o1-standard: 0.5\n", encoding="utf-8")
    prices = load_prices(prices_file)
    assert prices == {STANDARD: 0.5}
    assert estimate(plan, None, prices).total == pytest.approx(7.0)
    assert estimate(plan, None, prices).to_json()["currency"] == "USD"


def test_json_prices_too(tmp_path: Path) -> None:
    prices_file = tmp_path / "prices.json"
    prices_file.write_text('{"o1-pro": 0}', encoding="utf-8")
    assert load_prices(prices_file) == {"fal-ai/kling-video/o1/reference-to-video": 0.0}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("o1-mega: 0.1\n", "unknown model 'o1-mega'; known: "),
        ("o1-standard: -1\n", "expected a mapping of model name to price per second"),
        ("- 0.1\n", "expected a mapping of model name to price per second"),
        ("o1-standard: [\n", "cannot read prices from"),
    ],
)
def test_bad_prices_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    prices_file = tmp_path / "prices.yaml"
    prices_file.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=message.replace("[", r"\[")):
        load_prices(prices_file)


def test_no_file_is_no_override(tmp_path: Path) -> None:
    assert load_prices(None) == {}
    with pytest.raises(UsageError, match="cannot read prices from"):
        load_prices(tmp_path / "missing.yaml")
