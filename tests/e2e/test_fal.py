"""`storyboard build --backend fal` end to end: the CLI in a subprocess, the real fal-client,
the project's fake fal server on loopback. Nothing of ours is patched out of the path."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import imageio_ffmpeg
import pytest

from storyboard.backends.fakefal import Fault
from support.cli import results, run_cli, start_cli

KEY = "fal-test-key-7f3a9c1e5b"
FILM_FRAMES = (
    3 * 24 + sum(d * 24 + 1 for d in (5, 8, 5, 4)) - 12
)  # the title card, then Kling clips of duration × 24 + 1 frames
FAST = {"STORYBOARD_FAL_POLL": "0.05", "STORYBOARD_FAL_BACKOFF": "0.05"}


def fal_env(fake, **extra: str) -> dict[str, str]:
    return {**fake.client_env(KEY), **FAST, **extra}


def build(sb: Path, fake, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("build", str(sb), "--backend", "fal", *args, env=fal_env(fake, **extra))


def per_shot(fake) -> Counter[str]:
    """Submissions counted by the shot they came from (each test prompt names its shot's subject)."""
    return Counter(s.body["prompt"] for s in fake.submissions)


def frames(path: Path) -> int:
    return imageio_ffmpeg.count_frames_and_secs(str(path))[0]


def test_fal_build_uploads_once_submits_once_and_rebuilds_for_free(example, fake_fal):
    sb = example("greenhouse")
    proc = build(sb, fake_fal)
    assert proc.returncode == 0, proc.stderr
    assert frames(sb.parent / "build" / "greenhouse.mp4") == FILM_FRAMES

    subs = fake_fal.submissions
    assert len(subs) == 4
    uploaded = {u.url for u in fake_fal.uploads}
    for s in subs:
        assert s.endpoint == "fal-ai/kling-video/o1/standard/reference-to-video"
        body = s.body
        assert "@mira" not in body["prompt"] and "@stone" not in body["prompt"]
        urls = (
            body["image_urls"]
            + [e["frontal_image_url"] for e in body["elements"]]
            + [r for e in body["elements"] for r in e["reference_image_urls"]]
        )
        assert urls and all(u in uploaded for u in urls)
        # fal's schema: "1-3 images supported. At least one image is required."
        assert all(1 <= len(e["reference_image_urls"]) <= 3 for e in body["elements"]), body["elements"]
    orbit = next(s.body for s in subs if "orbits" in s.body["prompt"])
    assert orbit["prompt"].startswith("Take @Image1 as the start frame.")
    assert orbit["duration"] == "8"
    assert len(orbit["elements"]) == 2

    # one upload per distinct content: 8 asset files + arrival's last frame
    digests = [u.sha256 for u in fake_fal.uploads]
    assert len(digests) == len(set(digests)) == 9

    fake_fal.reset()
    again = build(sb, fake_fal)
    assert again.returncode == 0, again.stderr
    assert fake_fal.submissions == [] and fake_fal.uploads == []
    assert {r["status"] for r in results(sb.parent / "build").values()} == {"cached"}


def test_missing_key_is_a_clear_error_before_anything_is_sent(example, fake_fal):
    sb = example("greenhouse")
    proc = run_cli("build", str(sb), "--backend", "fal", env={**fake_fal.env, **FAST})
    assert proc.returncode == 2
    assert "FAL_KEY" in proc.stderr and "Traceback" not in proc.stderr
    assert fake_fal.calls == []


def test_422_is_the_users_error_with_fals_detail(example, fake_fal):
    sb = example("greenhouse")
    fake_fal.add_fault(Fault(kind="422", phase="submit", match="orbits", times=None))
    proc = build(sb, fake_fal)
    assert proc.returncode == 1
    assert "fal rejected the request for shot 'orbit' (HTTP 422)" in proc.stderr
    status = {k: v["status"] for k, v in results(sb.parent / "build").items()}
    assert status == {
        "title": "generated",
        "arrival": "generated",
        "orbit": "failed",
        "memory": "generated",
        "keepsake": "generated",
    }  # fmt: skip (the title card is drawn here, never sent)


@pytest.mark.parametrize(
    "kind,phase,times",
    [
        ("500", "submit", 2),
        ("429", "submit", 3),
        ("drop", "status", 4),
        ("500", "status", 3),
        ("500", "result", 2),
        ("truncated", "download", 2),
        ("500", "upload", 2),
    ],
)
def test_transient_faults_are_retried_without_paying_twice(example, fake_fal, kind, phase, times):
    sb = example("greenhouse")
    fault = fake_fal.add_fault(Fault(kind=kind, phase=phase, times=times))
    proc = build(sb, fake_fal)
    assert proc.returncode == 0, proc.stderr
    assert fault.used == times, "the fault never fired"
    assert max(per_shot(fake_fal).values()) == 1, "a shot was submitted twice"
    assert len(fake_fal.submissions) == 4
    assert frames(sb.parent / "build" / "greenhouse.mp4") == FILM_FRAMES


def test_stuck_request_is_resumed_by_the_next_build_not_resubmitted(example, fake_fal_factory):
    fake = fake_fal_factory(stuck_seconds=6)
    sb = example("greenhouse")
    stuck = fake.add_fault(Fault(kind="stuck", phase="job", match="orbits"))
    proc = build(sb, fake, STORYBOARD_FAL_TIMEOUT="2")
    assert stuck.used == 1
    assert proc.returncode == 1
    assert "still running on fal" in proc.stderr and "will not be submitted twice" in proc.stderr
    again = build(sb, fake, STORYBOARD_FAL_TIMEOUT="30")
    assert again.returncode == 0, again.stderr
    assert max(per_shot(fake).values()) == 1
    assert len(fake.submissions) == 4
    assert frames(sb.parent / "build" / "greenhouse.mp4") == FILM_FRAMES


def test_completed_with_error_fails_the_shot_and_the_next_build_retries_it(example, fake_fal):
    sb = example("greenhouse")
    fake_fal.add_fault(Fault(kind="completed_error", phase="job", match="orbits"))
    proc = build(sb, fake_fal)
    assert proc.returncode == 1
    assert "fal reported an error for shot 'orbit'" in proc.stderr
    again = build(sb, fake_fal)
    assert again.returncode == 0, again.stderr
    assert sum(1 for s in fake_fal.submissions if "orbits" in s.body["prompt"]) == 2  # the first one ended


def test_sigkill_mid_build_then_rerun_submits_nothing_twice(example, fake_fal_factory, tmp_path):
    fake = fake_fal_factory(processing_seconds=3.0)
    sb = example("greenhouse")
    proc = start_cli("build", str(sb), "--backend", "fal", env=fal_env(fake))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(fake.submissions) < 2:
        time.sleep(0.05)
    time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert len(fake.submissions) >= 2
    fake.configure(processing_seconds=0.2)
    again = build(sb, fake)
    assert again.returncode == 0, again.stderr
    assert max(per_shot(fake).values()) == 1, "a request was submitted twice"
    assert len(fake.submissions) == 4
    assert frames(sb.parent / "build" / "greenhouse.mp4") == FILM_FRAMES


def test_cost_and_max_cost(example, fake_fal):
    sb = example("greenhouse")
    proc = run_cli("cost", str(sb), "--json", env=fal_env(fake_fal))
    assert proc.returncode == 0, proc.stderr
    est = json.loads(proc.stdout)
    assert sum(s["usd"] for s in est["shots"]) == pytest.approx(22 * 0.084)
    assert est["total"] == pytest.approx(22 * 0.084 + sum(a["usd"] for a in est["audio"]))  # the greenhouse speaks
    refused = build(sb, fake_fal, "--max-cost", "1.00")
    assert refused.returncode == 2
    assert "over --max-cost" in refused.stderr
    assert fake_fal.calls == []
    assert build(sb, fake_fal, "--max-cost", "5").returncode == 0
    est = json.loads(run_cli("cost", str(sb), "--json", env=fal_env(fake_fal)).stdout)
    assert est["total"] == 0 and all(s["cached"] for s in est["shots"])
    # --force pays again: the cache does not make it look free
    forced = build(sb, fake_fal, "--force", "--max-cost", "1.00")
    assert forced.returncode == 2 and "over --max-cost" in forced.stderr


# The key's absence from output, files and fal's records: tests/e2e/test_secrets.py.


def test_a_kill_while_submitting_holds_the_shot_until_forced(example, fake_fal):
    sb = example("greenhouse")
    journal = sb.parent / ".storyboard" / "cache" / "fal" / "state" / "journal.jsonl"
    assert build(sb, fake_fal, "--select", "arrival").returncode == 0
    key = next(
        json.loads(line)["key"]
        for line in journal.read_text().splitlines()
        if json.loads(line).get("shot") == "arrival"
    )
    # what a build killed between sending memory's request and saving its id leaves behind
    from storyboard.compiler.compile import compile_file

    memory_key = compile_file(sb).shot("memory").key
    with open(journal, "a") as f:
        f.write(json.dumps({"event": "submitting", "key": memory_key, "shot": "memory", "t": 0}) + "\n")
    fake_fal.reset()
    held = build(sb, fake_fal)
    assert held.returncode == 1
    assert (
        "sent shot 'memory' to fal but never got the answer" in held.stderr and "--select memory --force" in held.stderr
    )
    assert not any("Fifty years later" in s.body["prompt"] for s in fake_fal.submissions)
    assert results(sb.parent / "build")["memory"]["status"] == "failed"
    forced = build(sb, fake_fal, "--select", "memory", "--force")
    assert forced.returncode == 0, forced.stderr
    assert sum("Fifty years later" in s.body["prompt"] for s in fake_fal.submissions) == 1
    assert key  # arrival's own request was journalled as submitted, then finished
    assert build(sb, fake_fal).returncode == 0
