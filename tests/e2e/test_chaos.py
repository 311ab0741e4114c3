"""Chaos: a 30-shot film built against a fake fal that fails one call in five, at random (seeded).

Five continuity chains of six 3-second 1:1 shots, ``--jobs 4``. The fake injects 429s, 500s,
502s, dropped connections, truncated downloads, requests that complete with an error and
requests stuck for longer than the build is willing to wait. The first build must either succeed
or exit 1 naming every failed shot (stderr and run_results.json agree); with the chaos turned
off, a second build completes the film. Across both, no shot is ever submitted again while an
earlier request for it may still be running or has succeeded (checked against the fake's queue),
and the film has exactly 30 × (3 × 24 + 1) frames (Kling's clip shape). A submission whose answer
is lost is held, never re-sent on its own; the test releases it as a user would, with --force.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from sbtest import write_storyboard
from support.cli import results, run_cli
from support.reliability import (
    FAST_FAL,
    FPS,
    assert_never_resubmitted_while_running,
    chains_storyboard,
    frame_count,
    submissions_by_shot,
)

CHAINS, LENGTH, SECONDS = 5, 6, 3
SHOTS = {f"c{i}_{j}" for i in range(CHAINS) for j in range(LENGTH)}
STUCK_SECONDS = 2.5  # a stuck request ends (completed) after this long...
TIMEOUT = "1.5"  # ...but the first build waits only this long for one: it fails the shot, the next resumes it
SEEDS = [3, 11]


def build(sb: Path, fake, timeout_s: str) -> subprocess.CompletedProcess[str]:
    env = {**fake.client_env("chaos-key"), **FAST_FAL, "STORYBOARD_FAL_TIMEOUT": timeout_s}
    return run_cli("build", str(sb), "--backend", "fal", "--jobs", "4", env=env, timeout=120)


def check_outcome(proc: subprocess.CompletedProcess[str], build_dir: Path) -> dict[str, str]:
    """Exit 0 with everything built, or exit 1 with every failed and skipped shot named in both places."""
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    status = {sid: r["status"] for sid, r in results(build_dir).items()}
    assert set(status) == SHOTS, "run_results.json must list every shot"
    assert set(status.values()) <= {"generated", "cached", "failed", "skipped"}
    failed = {sid for sid, s in status.items() if s == "failed"}
    skipped = {sid for sid, s in status.items() if s == "skipped"}
    if proc.returncode == 0:
        assert not failed and not skipped
        return status
    assert proc.returncode == 1, proc.stderr
    assert failed, "exit 1 needs a failed shot"
    named = set(re.findall(r"error: shot '(\w+)' failed: \S", proc.stderr))
    assert named == failed, f"stderr names {sorted(named)}, run_results.json says {sorted(failed)}"
    for sid in failed:
        assert results(build_dir)[sid]["error"], f"{sid} failed without a reason in run_results.json"
    if skipped:
        line = re.search(r"skipped because an earlier shot failed: (.*)", proc.stderr)
        assert line and set(line.group(1).split(", ")) == skipped, proc.stderr
    return status


@pytest.mark.parametrize("seed", SEEDS)
def test_chaos_then_calm_builds_the_film_without_paying_twice(project: Path, fake_fal_factory, seed: int) -> None:
    fake = fake_fal_factory(
        chaos_rate=0.2, seed=seed, stuck_seconds=STUCK_SECONDS, processing_seconds=0.2, concurrency=8
    )
    sb = write_storyboard(project, chains_storyboard(CHAINS, LENGTH, duration=SECONDS))
    build_dir = project / "build"

    first = build(sb, fake, TIMEOUT)
    status = check_outcome(first, build_dir)
    chaos_calls = [c for c in fake.calls if c.fault and c.fault.startswith("chaos:")]
    jobs = [fake.queue.get(s.request_id) for s in fake.submissions]
    chaos_jobs = [j for j in jobs if j is not None and (j.stuck or j.error is not None)]
    assert chaos_calls or chaos_jobs, "the chaos never fired"
    assert fake.submissions, "nothing was submitted"
    print(
        f"seed {seed}: first build exit {first.returncode}, {len(chaos_calls)} chaos calls, "
        f"{len(chaos_jobs)} chaos jobs, statuses {sorted(status.values())}"
    )  # shown when the test fails

    fake.configure(chaos_rate=0)
    second = build(sb, fake, "30")
    held = set(re.findall(r"error: shot '(\w+)' failed: an earlier build sent shot", second.stderr))
    if held:  # submissions whose connection dropped: fal may have queued them, so they are held, not resent
        assert second.returncode == 1
        lost = [c for c in fake.calls if c.phase == "submit" and c.status is None]
        assert len(held) <= len(lost), f"held {sorted(held)} but only {len(lost)} submissions lost their answer"
        # what the user does once the dashboard shows fal never queued them: release the holds
        selectors = [arg for sid in sorted(held) for arg in ("--select", sid)]
        env = {**fake.client_env("chaos-key"), **FAST_FAL, "STORYBOARD_FAL_TIMEOUT": "30"}
        forced = run_cli("build", str(sb), "--backend", "fal", "--jobs", "4", *selectors, "--force", env=env)
        assert forced.returncode == 0, forced.stderr
        second = build(sb, fake, "30")
    assert second.returncode == 0, second.stderr
    final = check_outcome(second, build_dir)
    for sid, before in status.items():  # what the first build made is reused, not made again
        if before == "generated":
            assert final[sid] == "cached", f"{sid} was generated by the first build but not reused"
    # Kling clips are duration × 24 + 1 frames; the film keeps every clip's real frame count

    again, lost = assert_never_resubmitted_while_running(fake)
    assert lost == 0
    print(f"seed {seed}: {len(fake.submissions)} submissions, {again} after an error")
    per_shot = submissions_by_shot(fake)
    assert set(per_shot) == SHOTS, "every shot was submitted at least once"
    failed_jobs = sum(1 for j in jobs if j is not None and j.error is not None)
    assert again <= failed_jobs, "only requests that ended in an error may be submitted again"
    assert frame_count(build_dir / "film.mp4") == CHAINS * LENGTH * (SECONDS * FPS + 1)


def test_a_submission_whose_answer_is_lost_is_not_sent_twice(project: Path, fake_fal_factory) -> None:
    """The connection drops *after* fal queued the request: the request runs, its id never arrives."""
    from storyboard.backends.fakefal import Fault

    fake = fake_fal_factory(processing_seconds=0.2)
    sb = write_storyboard(project, chains_storyboard(1, 2, duration=SECONDS))
    dropped = fake.add_fault(Fault(kind="drop_after", phase="submit", times=1, match="Shot c0_0"))
    proc = build(sb, fake, "30")
    assert dropped.used == 1, "the fault never fired"
    assert proc.returncode == 1, proc.stderr
    assert len(submissions_by_shot(fake)["c0_0"]) == 1, "paid twice for c0_0"
    assert "error: shot 'c0_0' failed: the request for shot 'c0_0' was sent to fal but its answer was lost" in (
        proc.stderr
    )
    assert "--select c0_0 --force" in proc.stderr
    again = build(sb, fake, "30")  # the next build holds it too: fal ran it, and a resend would pay twice
    assert again.returncode == 1 and "never got the answer" in again.stderr
    assert len(submissions_by_shot(fake)["c0_0"]) == 1, "paid twice for c0_0"
