"""Two builds of one storyboard started at the same moment share one cache: one of them must stand aside.

The loser exits 1 with the lock message ("another build is using the cache") before it uploads,
submits or writes anything; the winner builds the film; the cache is whole; and a third build
afterwards finds everything cached and sends fal nothing at all.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
from pathlib import Path

import pytest

from sbtest import write_storyboard
from support.cli import results, run_cli
from support.reliability import (
    FAST_FAL,
    chains_storyboard,
    clip_frames,
    frame_count,
    submissions_by_shot,
)

CHAINS, LENGTH, SECONDS = 2, 2, 3
SHOTS = {f"c{i}_{j}" for i in range(CHAINS) for j in range(LENGTH)}
LOCKED = "another build is using the cache"


def start_together(
    root: Path, env: dict[str, str], args: list[str], n: int = 2
) -> list[subprocess.CompletedProcess[str]]:
    """Start ``n`` identical builds at the same instant (a barrier); wait for all of them."""
    barrier = threading.Barrier(n)
    done: list[subprocess.CompletedProcess[str] | None] = [None] * n

    def one(i: int) -> None:
        barrier.wait(timeout=30)
        done[i] = run_cli("build", "storyboard.yaml", *args, cwd=root, env=env, timeout=180)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(200)
    assert all(p is not None for p in done), "a build did not finish"
    return [p for p in done if p is not None]


def cache_is_whole(cache: Path) -> None:
    records = list(cache.rglob("clips/*/*.json"))
    assert {json.loads(r.read_text())["shot_id"] for r in records} == SHOTS
    for record in records:
        data = json.loads(record.read_text())
        body = record.with_suffix(".mp4").read_bytes()
        assert len(body) == data["size"] and hashlib.sha256(body).hexdigest() == data["sha256"]
    assert not list(cache.rglob(".*.tmp*"))


@pytest.mark.parametrize("backend", ["fal", "preview"])
def test_two_builds_at_once_one_stands_aside(project: Path, fake_fal_factory, backend: str) -> None:
    fake = fake_fal_factory(processing_seconds=1.0, concurrency=4)
    write_storyboard(project, chains_storyboard(CHAINS, LENGTH, duration=SECONDS))
    env = {**fake.client_env("lock-key"), **FAST_FAL} if backend == "fal" else {}
    args = ["--backend", "fal"] if backend == "fal" else []

    procs = start_together(project, env, args)
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 1], [p.stderr for p in procs]
    winner, loser = sorted(procs, key=lambda p: p.returncode)
    assert LOCKED in loser.stderr and "wait for it to finish, or give this one its own --cache-dir" in loser.stderr
    assert "Traceback" not in loser.stderr + winner.stderr
    assert "generated" not in loser.stderr, "the loser must not have built anything"

    cache_is_whole(project / ".storyboard" / "cache")
    assert {r["status"] for r in results(project / "build").values()} == {"generated"}
    assert frame_count(project / "build" / "film.mp4") == len(SHOTS) * clip_frames(backend, SECONDS)
    if backend == "fal":
        per_shot = submissions_by_shot(fake)
        assert set(per_shot) == SHOTS and all(len(s) == 1 for s in per_shot.values()), "a shot was paid twice"
        fake.reset()

    again = run_cli("build", "storyboard.yaml", *args, cwd=project, env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert {r["status"] for r in results(project / "build").values()} == {"cached"}
    assert fake.calls == [] and fake.submissions == [] and fake.uploads == []


def test_a_locked_cache_is_refused_before_anything_is_sent(project: Path, fake_fal) -> None:
    """Held by a build that is still running (here: this test holds the lock itself)."""
    from storyboard.build.cache import Cache

    write_storyboard(project, chains_storyboard(1, 2, duration=SECONDS))
    holder = Cache(project / ".storyboard" / "cache", "fal")
    holder.lock()
    try:
        proc = run_cli(
            "build",
            "storyboard.yaml",
            "--backend",
            "fal",
            cwd=project,
            env={**fake_fal.client_env("lock-key"), **FAST_FAL},
            timeout=60,
        )
    finally:
        holder.unlock()
    assert proc.returncode == 1 and LOCKED in proc.stderr, proc.stderr
    assert fake_fal.calls == [], "nothing may reach fal while another build holds the cache"
    assert not (project / "build").exists()
