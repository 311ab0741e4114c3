"""The executor: cache hit or backend call per shot, in dependency order, failures contained.

Runs on the tiny in-memory backend (32×32 clips encoded in-process), so each test takes well
under a second of work: no ffmpeg process, no preview rendering.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storyboard.build.cache import Cache
from storyboard.build.executor import Event, ExecuteOptions, Executor
from storyboard.build.outputs import Activity, ShotStatus
from storyboard.plan import Plan
from support.tiny import CHAIN, TinyBackend, chain_plan, store_tiny


@pytest.fixture
def plan(project: Path) -> Plan:
    return chain_plan(project)


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "cache", "tiny")


def run(plan: Plan, cache: Cache, backend: TinyBackend, tmp_path: Path, **options: object) -> tuple[dict, list[Event]]:  # type: ignore[type-arg]
    events: list[Event] = []
    executor = Executor(plan, backend, cache, tmp_path / "shots", ExecuteOptions(**options), events.append)  # type: ignore[arg-type]
    return executor.run(), events


def statuses(results: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {sid: r.status for sid, r in results.items()}


def test_every_shot_is_generated_once_in_dependency_order(plan: Plan, cache: Cache, tmp_path: Path) -> None:
    backend = TinyBackend()
    results, events = run(plan, cache, backend, tmp_path)
    assert statuses(results) == dict.fromkeys("abcd", ShotStatus.GENERATED)
    assert sorted(backend.generated) == ["a", "b", "c", "d"]
    order = backend.generated
    assert order.index("a") < order.index("b") < order.index("c")
    assert sorted(backend.committed_ids) == ["a", "b", "c", "d"], "committed after each clip is stored"
    for sid in "abcd":
        assert cache.lookup(plan.shot(sid).key) is not None
        assert (tmp_path / "shots" / f"{sid}.mp4").stat().st_size > 0
        recorded = json.loads((tmp_path / "shots" / f"{sid}.json").read_text())
        assert recorded["key"] == plan.shot(sid).key
    assert cache.has_frame(plan.shot("a").key) and cache.has_frame(plan.shot("b").key)
    assert not cache.has_frame(plan.shot("c").key), "no shot continues from c"
    waiting = [e for e in events if e.state == Activity.WAITING]
    assert {(e.shot_id, e.message) for e in waiting} == {("b", "after a"), ("c", "after b")}


def test_a_second_run_reuses_everything(plan: Plan, cache: Cache, tmp_path: Path) -> None:
    run(plan, cache, TinyBackend(), tmp_path)
    again = TinyBackend()
    results, _ = run(plan, cache, again, tmp_path)
    assert statuses(results) == dict.fromkeys("abcd", ShotStatus.CACHED) and again.generated == []


def test_a_failure_skips_only_what_depends_on_it(plan: Plan, cache: Cache, tmp_path: Path) -> None:
    results, events = run(plan, cache, TinyBackend(fail={"b"}), tmp_path)
    assert statuses(results) == {
        "a": ShotStatus.GENERATED,
        "b": ShotStatus.FAILED,
        "c": ShotStatus.SKIPPED,
        "d": ShotStatus.GENERATED,
    }
    assert results["b"].error == "told to fail b" and results["c"].error == "'b' failed"
    assert cache.lookup(plan.shot("b").key) is None
    assert (Event("c", ShotStatus.SKIPPED, "'b' failed")) in events


def test_force_regenerates_a_cached_shot(plan: Plan, cache: Cache, tmp_path: Path) -> None:
    run(plan, cache, TinyBackend(), tmp_path)
    backend = TinyBackend()
    results, _ = run(plan, cache, backend, tmp_path, force=frozenset({"d"}))
    assert backend.generated == ["d"] and results["d"].status == ShotStatus.GENERATED
    assert results["a"].status == ShotStatus.CACHED


def test_a_selection_builds_the_uncached_shots_it_needs(plan: Plan, cache: Cache, tmp_path: Path) -> None:
    backend = TinyBackend()
    results, _ = run(plan, cache, backend, tmp_path, only=frozenset({"c"}))
    assert sorted(results) == ["a", "b", "c"] and backend.generated == ["a", "b", "c"]


def test_a_cached_upstream_gives_its_frame_without_a_generation(plan: Plan, cache: Cache, tmp_path: Path) -> None:
    store_tiny(cache, plan.shot("b").key, 3, "b")
    backend = TinyBackend()
    results, _ = run(plan, cache, backend, tmp_path, only=frozenset({"c"}))
    assert backend.generated == ["c"] and sorted(results) == ["c"]
    assert cache.has_frame(plan.shot("b").key)


def test_a_clip_of_the_wrong_length_is_refused_and_not_cached(plan: Plan, cache: Cache, tmp_path: Path) -> None:
    backend = TinyBackend(seconds={"d": 3})
    results, _ = run(plan, cache, backend, tmp_path)
    assert results["d"].status == ShotStatus.FAILED
    assert results["d"].error == "the clip lasts 3.00 s, not the 5 s requested"
    assert cache.lookup(plan.shot("d").key) is None and "d" not in backend.committed_ids
    assert not list(cache.clip_path(plan.shot("d").key).parent.glob(".*tmp*")), "the temp clip is removed"


def test_a_bug_in_a_backend_fails_that_shot_only(plan: Plan, cache: Cache, tmp_path: Path) -> None:
    class Buggy(TinyBackend):
        def generate(self, job):  # type: ignore[no-untyped-def]
            if job.shot.id == "d":
                raise KeyError("oops")
            super().generate(job)

    results, _ = run(plan, cache, Buggy(), tmp_path)
    assert results["d"].status == ShotStatus.FAILED and results["d"].error == "internal error: KeyError: 'oops'"
    assert results["c"].status == ShotStatus.GENERATED


def test_the_longest_chain_starts_first(plan: Plan, cache: Cache, tmp_path: Path) -> None:
    backend = TinyBackend()
    run(plan, cache, backend, tmp_path, jobs=1)
    assert backend.generated[0] == "a", "a heads 9 s of work (a, b, c); d is 5 s"


def test_identical_requests_are_generated_once(project: Path, cache: Cache, tmp_path: Path) -> None:
    twin = (
        CHAIN
        + """
      - id: e
        start: blue
        duration: 5
        prompt: a blue sky, still
"""
    )
    plan = chain_plan(project, twin)
    assert plan.shot("d").key == plan.shot("e").key
    backend = TinyBackend()
    results, _ = run(plan, cache, backend, tmp_path)
    assert backend.generated.count("d") + backend.generated.count("e") == 1
    assert {results["d"].status, results["e"].status} == {ShotStatus.GENERATED, ShotStatus.CACHED}
