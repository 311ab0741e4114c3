"""Selection: the selector grammar, and the shots a build of a selection builds (given the cache)."""

from __future__ import annotations

from pathlib import Path

import pytest

from storyboard.build.cache import Cache
from storyboard.build.selection import select, selection
from storyboard.errors import UsageError
from storyboard.plan import Plan
from support.tiny import chain_plan, store_tiny


@pytest.fixture
def plan(project: Path) -> Plan:
    return chain_plan(project)


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "cache", "tiny")


@pytest.mark.parametrize(
    ("selectors", "exclude", "expected"),
    [
        (["b"], [], ["b"]),
        (["b+"], [], ["b", "c"]),
        (["+b"], [], ["a", "b"]),
        (["+b+"], [], ["a", "b", "c"]),
        (["a+ d"], [], ["a", "b", "c", "d"]),  # space-separated: a union
        (["d", "a"], [], ["a", "d"]),  # storyboard order, not selector order
        (["character:mira"], [], ["a", "b"]),  # the shots that mention her
        (["image:blue"], [], ["d"]),  # the start frame is an image use
        (["shot:c"], [], ["c"]),
        (["+c"], ["a"], ["b", "c"]),
        ([], ["d"], ["a", "b", "c"]),  # only --exclude: everything else
    ],
)
def test_grammar(plan: Plan, selectors: list[str], exclude: list[str], expected: list[str]) -> None:
    assert select(plan, selectors, exclude) == expected


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("bb", "unknown shot 'bb' in selector 'bb' — did you mean 'b'?"),
        ("zzz+", "unknown shot 'zzz' in selector 'zzz+'"),
        (
            "actor:mira",
            "unknown selector method 'actor' in 'actor:mira'; use one of: shot, character, object, image, style",
        ),
        ("character:nobody", "selector 'character:nobody' matches no shot"),
    ],
)
def test_bad_selectors_say_what_is_wrong(plan: Plan, selector: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        select(plan, [selector])
    assert str(err.value) == message


def test_no_selectors_is_the_whole_storyboard(plan: Plan, cache: Cache) -> None:
    chosen = selection(plan, None, None, cache)
    assert not chosen.explicit and chosen.only is None
    assert chosen.chosen == ("a", "b", "c", "d") and [s.id for s in chosen.shots] == ["a", "b", "c", "d"]


def test_a_selection_brings_the_uncached_shots_it_continues_from(plan: Plan, cache: Cache) -> None:
    chosen = selection(plan, ["c"], [], cache)
    assert chosen.only == frozenset({"c"})
    assert [s.id for s in chosen.shots] == ["a", "b", "c"], "c starts from b's last frame, b from a's"
    assert [s.id for s in chosen.shots if chosen.needed_only(s.id)] == ["a", "b"]


def test_a_cached_upstream_is_not_built_again(plan: Plan, cache: Cache) -> None:
    store_tiny(cache, plan.shot("b").key, 3, "b")
    chosen = selection(plan, ["c"], [], cache)
    assert [s.id for s in chosen.shots] == ["c"], "b's clip is cached, so its last frame can be extracted"


def test_an_extracted_frame_is_enough(plan: Plan, cache: Cache) -> None:
    from PIL import Image

    frame = cache.frame_path(plan.shot("b").key)
    frame.parent.mkdir(parents=True)
    frame.write_bytes(b"png")  # a damaged frame is no frame: b (and a, for b's start) must be built
    assert [s.id for s in selection(plan, ["c"], [], cache).shots] == ["a", "b", "c"]
    Image.new("RGB", (32, 32), (9, 9, 9)).save(frame, format="PNG")
    assert [s.id for s in selection(plan, ["c"], [], cache).shots] == ["c"]


def test_an_excluded_upstream_is_still_built_when_needed(plan: Plan, cache: Cache) -> None:
    chosen = selection(plan, ["+c"], ["a"], cache)
    assert chosen.chosen == ("b", "c") and chosen.ids == {"a", "b", "c"}


def test_a_selection_that_matches_nothing_is_empty(plan: Plan, cache: Cache) -> None:
    chosen = selection(plan, [], ["a+", "d"], cache)
    assert chosen.explicit and chosen.empty and chosen.shots == () and chosen.only == frozenset()
