"""Never twice, never for nothing: the fal backend's money rules end to end.

The real CLI in a subprocess, the real fal-client, the project's strict fake fal on loopback.
Each test provokes one way a build could pay twice or pay for nothing and measures, from the
fake's own records, that it did not.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import imageio_ffmpeg

from sbtest import write_storyboard
from storyboard.backends.fakefal import Fault
from support.cli import results, run_cli

KEY = "fal-money-key-2b7e1d"
FAST = {"STORYBOARD_FAL_POLL": "0.05", "STORYBOARD_FAL_BACKOFF": "0.02"}

ONE_SHOT = """\
version: 1
title: Money
defaults: {duration: 3, aspect_ratio: "1:1"}
characters:
  mira: {image: assets/mira/front.png, references: [assets/mira/side.png]}
shots:
  - id: dawn
    prompt: "Shot dawn: @mira wakes at first light."
"""

PROMPT_ONLY = """\
version: 1
title: Words
defaults: {duration: 3, aspect_ratio: "1:1"}
shots:
  - id: words
    prompt: "Shot words: a slow dawn over a grey sea."
"""


def build(sb: Path, fake, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**fake.client_env(KEY), **FAST, **extra}
    return run_cli("build", str(sb), "--backend", "fal", *args, env=env, timeout=120)


def journal(sb: Path) -> list[dict]:
    path = sb.parent / ".storyboard" / "cache" / "fal" / "state" / "journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def cached_clip(sb: Path) -> Path:
    [clip] = (sb.parent / ".storyboard" / "cache" / "fal" / "clips").rglob("*.mp4")
    return clip


def frames(path: Path) -> int:
    return imageio_ffmpeg.count_frames_and_secs(str(path))[0]


def test_every_submission_disables_fallbacks_and_is_sent_once(project: Path, fake_fal) -> None:
    sb = write_storyboard(project, ONE_SHOT)
    proc = build(sb, fake_fal)
    assert proc.returncode == 0, proc.stderr
    submits = [c for c in fake_fal.calls if c.phase == "submit"]
    assert len(submits) == 1 and submits[0].headers is not None
    assert submits[0].headers.get("x-fal-disable-fallbacks") == "true"
    assert "authorization" not in submits[0].headers  # the fake never records the key
    assert frames(sb.parent / "build" / "film.mp4") == 3 * 24 + 1  # a Kling clip: duration × 24 + 1 frames


def test_uploads_ask_for_a_lifetime_and_the_state_files_carry_a_version(project: Path, fake_fal) -> None:
    sb = write_storyboard(project, ONE_SHOT)
    assert build(sb, fake_fal).returncode == 0
    assert fake_fal.uploads and all(
        u.lifecycle == {"expiration_duration_seconds": 7 * 24 * 3600} for u in fake_fal.uploads
    )
    state = sb.parent / ".storyboard" / "cache" / "fal" / "state"
    uploads = json.loads((state / "uploads.json").read_text())
    assert uploads["version"] == 2
    for entry in uploads["uploads"].values():
        assert entry["expires_at"] - entry["uploaded_at"] == 7 * 24 * 3600
    assert journal(sb)[0] == {"event": "journal", "version": 2}


def test_a_submission_whose_answer_is_lost_is_held_not_sent_again(project: Path, fake_fal) -> None:
    sb = write_storyboard(project, ONE_SHOT)
    dropped = fake_fal.add_fault(Fault(kind="drop_after", phase="submit", times=1))
    first = build(sb, fake_fal)
    assert dropped.used == 1
    assert first.returncode == 1
    assert len(fake_fal.submissions) == 1, "the lost submission was sent again"
    assert "its answer was lost" in first.stderr and "https://fal.ai/dashboard/requests" in first.stderr
    assert "--select dawn --force" in first.stderr
    held = build(sb, fake_fal)
    assert held.returncode == 1 and "never got the answer" in held.stderr
    assert len(fake_fal.submissions) == 1
    forced = build(sb, fake_fal, "--select", "dawn", "--force")
    assert forced.returncode == 0, forced.stderr
    assert len(fake_fal.submissions) == 2  # the user chose to pay again


def test_a_submit_that_never_left_the_machine_releases_its_hold(project: Path, fake_fal) -> None:
    sb = write_storyboard(project, PROMPT_ONLY)
    with socket.socket() as closed:  # a port with nothing listening: connection refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    dead = {name: f"http://127.0.0.1:{port}" for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")}
    offline = build(sb, fake_fal, STORYBOARD_FAL_RETRIES="1", **dead)
    assert offline.returncode == 1
    assert "nothing was queued" in offline.stderr, offline.stderr
    events = [e["event"] for e in journal(sb) if e.get("key")]
    assert events[-1] == "intent_dropped", events
    online = build(sb, fake_fal)
    assert online.returncode == 0, online.stderr  # no --force needed: fal never saw the first one
    assert len(fake_fal.submissions) == 1


def test_a_phantom_is_a_final_failure_in_fals_words(project: Path, fake_fal) -> None:
    sb = write_storyboard(project, ONE_SHOT)
    fake_fal.add_fault(Fault(kind="phantom", phase="job", times=None))
    first = build(sb, fake_fal)
    assert first.returncode == 1
    assert "elementReferList: size must be between 1 and 3" in first.stderr
    assert "HTTP 422" in first.stderr
    assert len(fake_fal.submissions) == 1 and fake_fal.count("result", 422) == 1, "retried"
    assert not (sb.parent / ".storyboard" / "cache" / "fal" / "clips").exists() or not list(
        (sb.parent / ".storyboard" / "cache" / "fal" / "clips").rglob("*.mp4")
    ), "a phantom was cached"
    again = build(sb, fake_fal)
    assert again.returncode == 1 and "elementReferList" in again.stderr
    assert len(fake_fal.submissions) == 1, "a refused request was sent again as it was"
    fake_fal.faults.clear()
    forced = build(sb, fake_fal, "--select", "dawn", "--force")
    assert forced.returncode == 0, forced.stderr
    assert len(fake_fal.submissions) == 2


def test_a_damaged_cached_clip_is_downloaded_again_not_generated(project: Path, fake_fal) -> None:
    sb = write_storyboard(project, ONE_SHOT)
    assert build(sb, fake_fal).returncode == 0
    result = next(e for e in journal(sb) if e["event"] == "result")
    assert result["url"].startswith("https://v3.fal.media/files/")
    clip = cached_clip(sb)
    good = clip.read_bytes()
    clip.chmod(0o644)
    clip.write_bytes(good[: len(good) // 2] + b"\0" * (len(good) - len(good) // 2))  # damaged in place
    fake_fal.reset()
    again = build(sb, fake_fal)
    assert again.returncode == 0, again.stderr
    assert fake_fal.submissions == [], "a damaged clip was paid for again"
    # one download of the video (the build's estimate of what it will spend first asks with a HEAD, 0 bytes)
    assert [d.request_id for d in fake_fal.downloads if d.size] == [result["request_id"]]
    assert cached_clip(sb).read_bytes() == good
    assert results(sb.parent / "build")["dawn"]["status"] == "generated"


def test_a_deleted_clip_whose_url_is_gone_is_counted_and_paid(project: Path, fake_fal) -> None:
    sb = write_storyboard(project, ONE_SHOT)
    env = {**fake_fal.client_env(KEY), **FAST}
    assert build(sb, fake_fal).returncode == 0
    cached_clip(sb).unlink()
    free = run_cli("cost", str(sb), "--json", env=env)
    assert free.returncode == 0, free.stderr
    assert json.loads(free.stdout)["total"] == 0 and json.loads(free.stdout)["shots"][0]["refetch"] is True
    assert build(sb, fake_fal, "--max-cost", "0").returncode == 0  # downloaded again: free
    assert len(fake_fal.submissions) == 1

    cached_clip(sb).unlink()
    assert fake_fal.expire() == 1
    priced = run_cli("cost", str(sb), "--json", env=env)
    assert json.loads(priced.stdout)["total"] > 0
    refused = build(sb, fake_fal, "--max-cost", "0")
    assert refused.returncode == 2 and "over --max-cost" in refused.stderr
    assert len(fake_fal.submissions) == 1
    paid = build(sb, fake_fal)
    assert paid.returncode == 0, paid.stderr
    assert "generated again (paid)" in paid.stderr
    assert len(fake_fal.submissions) == 2


def test_a_cut_download_resumes_with_a_range_request(project: Path, fake_fal) -> None:
    sb = write_storyboard(project, ONE_SHOT)
    cut = fake_fal.add_fault(Fault(kind="truncated", phase="download", times=1))
    proc = build(sb, fake_fal)
    assert proc.returncode == 0, proc.stderr
    assert cut.used == 1
    videos = [d for d in fake_fal.downloads if d.request_id is not None]
    assert [(d.status, d.truncated) for d in videos] == [(200, True), (206, False)]
    assert videos[0].size + videos[1].size == videos[0].total, "the resumed download fetched bytes twice"
    assert len(fake_fal.submissions) == 1
    assert frames(sb.parent / "build" / "film.mp4") == 3 * 24 + 1


def test_a_download_that_does_not_decode_is_fetched_again_not_trusted(project: Path, fake_fal) -> None:
    sb = write_storyboard(project, ONE_SHOT)
    bad = fake_fal.add_fault(Fault(kind="corrupt", phase="download", times=1))
    proc = build(sb, fake_fal)
    assert proc.returncode == 0, proc.stderr
    assert bad.used == 1
    videos = [d for d in fake_fal.downloads if d.request_id is not None]
    assert len(videos) == 2 and len(fake_fal.submissions) == 1
    assert frames(cached_clip(sb)) == 3 * 24 + 1


CHAIN = """\
version: 1
title: Chain
defaults: {duration: 3, aspect_ratio: "1:1"}
images:
  sky: assets/blue.png
shots:
  - id: first
    start: sky
    prompt: "Shot first: a slow dawn."
  - id: second
    start: first.last_frame
    prompt: "Shot second: the dawn goes on."
"""


def test_a_last_frame_fal_would_refuse_is_never_uploaded(project: Path, fake_fal_factory) -> None:
    fake = fake_fal_factory(processing_seconds=0.05, video_sizes={"1:1": (240, 240)})  # under fal's 300 px
    sb = write_storyboard(project, CHAIN)
    proc = build(sb, fake)
    assert proc.returncode == 1
    assert "first.last_frame cannot be a start or end frame on fal: it is 240×240 pixels" in proc.stderr, proc.stderr
    assert len(fake.uploads) == 1 and len(fake.submissions) == 1  # only the first shot's own start image
    assert results(sb.parent / "build")["second"]["status"] == "failed"
