"""`storyboard build` end to end: the real CLI in a subprocess, the film probed, not trusted."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import imageio_ffmpeg
from PIL import Image

from storyboard.media.probe import probe
from support.cli import results, run_cli, start_cli

GREENHOUSE_FRAMES = (3 + 5 + 8 + 5 + 4) * 24 - 12  # a title card and four shots, one 0.5 s crossfade into `memory`


def film_frames(path: Path) -> int:
    """Decode the whole film: the true frame count."""
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    return frames


def test_build_makes_the_film(example):
    sb = example("greenhouse")
    proc = run_cli("build", str(sb))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    film = sb.parent / "build" / "greenhouse.mp4"
    info = probe(film)
    assert (info.width, info.height) == (1280, 720)
    assert info.fps == 24
    assert film_frames(film) == GREENHOUSE_FRAMES
    res = results(sb.parent / "build")
    assert {r["status"] for r in res.values()} == {"generated"}
    for sid in ("title", "arrival", "orbit", "memory", "keepsake"):
        assert (sb.parent / "build" / "shots" / f"{sid}.mp4").exists()
    assert (sb.parent / "build" / "manifest.json").exists()
    assert "5 generated, 0 cached, 0 failed" in proc.stderr

    # an unchanged rebuild renders nothing, and neither stitches nor mixes the film again
    clips = {p: p.stat().st_mtime_ns for p in (sb.parent / ".storyboard").rglob("*.mp4")}
    film_written = film.stat().st_mtime_ns
    again = run_cli("build", str(sb))
    assert again.returncode == 0, again.stderr
    assert {r["status"] for r in results(sb.parent / "build").values()} == {"cached"}
    assert {p: p.stat().st_mtime_ns for p in (sb.parent / ".storyboard").rglob("*.mp4")} == clips
    assert "0 generated, 5 cached" in again.stderr
    assert "(sound unchanged)" in again.stderr
    assert film.stat().st_mtime_ns == film_written, "an unchanged rebuild wrote the film again"


def _repaint(path: Path) -> None:
    with Image.open(path) as im:
        im = im.convert("RGB")
    im.putpixel((0, 0), (1, 2, 3))
    im.save(path)


def test_asset_change_regenerates_exactly_its_shots(built_greenhouse):
    sb = built_greenhouse  # built once: every shot is cached
    _repaint(sb.parent / "assets" / "stone.png")  # used by orbit, memory, keepsake
    proc = run_cli("build", str(sb))
    assert proc.returncode == 0, proc.stderr
    status = {k: v["status"] for k, v in results(sb.parent / "build").items()}
    assert status == {"title": "cached", "arrival": "cached", "orbit": "generated", "memory": "generated",
                      "keepsake": "generated"}  # fmt: skip

    _repaint(sb.parent / "assets" / "mira" / "front.png")  # arrival, and orbit continues from it
    proc = run_cli("build", str(sb))
    status = {k: v["status"] for k, v in results(sb.parent / "build").items()}
    assert status == {"title": "cached", "arrival": "generated", "orbit": "generated", "memory": "cached",
                      "keepsake": "cached"}  # fmt: skip


def test_failed_shot_skips_only_its_dependents(example):
    sb = example("greenhouse")
    proc = run_cli(
        "build", str(sb), "--backend", "support.backends:FlakyBackend", env={"STORYBOARD_TEST_FAIL": "arrival"}
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    status = {k: v["status"] for k, v in results(sb.parent / "build").items()}
    assert status == {"title": "generated", "arrival": "failed", "orbit": "skipped", "memory": "generated",
                      "keepsake": "generated"}  # fmt: skip
    assert "shot 'arrival' failed: the test backend was told to fail 'arrival'" in proc.stderr
    assert not (sb.parent / "build" / "greenhouse.mp4").exists()

    # the next run builds what is missing and reuses the rest
    proc = run_cli("build", str(sb), "--backend", "support.backends:FlakyBackend")
    assert proc.returncode == 0, proc.stderr
    status = {k: v["status"] for k, v in results(sb.parent / "build").items()}
    assert status == {"title": "cached", "arrival": "generated", "orbit": "generated", "memory": "cached",
                      "keepsake": "cached"}  # fmt: skip
    assert film_frames(sb.parent / "build" / "greenhouse.mp4") == GREENHOUSE_FRAMES


def test_sigkill_leaves_nothing_trusted_and_the_next_build_completes(example, tmp_path):
    sb = example("greenhouse")
    log = tmp_path / "renders.log"
    env = {"STORYBOARD_TEST_SLEEP": "30", "STORYBOARD_TEST_LOG": str(log)}
    proc = start_cli("build", str(sb), "-b", "support.backends:SlowBackend", env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not log.exists() or len(log.read_text().split()) < 2):
        time.sleep(0.1)
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    cache = sb.parent / ".storyboard" / "cache" / "support.backends_SlowBackend"
    partial = [p for p in cache.rglob("*.tmp*")]
    assert partial, "the kill should have caught a clip half-written"
    assert not [p for p in cache.rglob("*.mp4") if not p.name.startswith(".")], "no clip may be final yet"

    done = run_cli("build", str(sb), "-b", "support.backends:SlowBackend", env={"STORYBOARD_TEST_SLEEP": "0"})
    assert done.returncode == 0, done.stderr
    assert {r["status"] for r in results(sb.parent / "build").values()} == {"generated"}
    assert not list(cache.rglob("*.tmp*"))
    assert film_frames(sb.parent / "build" / "greenhouse.mp4") == GREENHOUSE_FRAMES


def test_damaged_cached_clip_is_regenerated_with_a_warning(built_greenhouse):
    sb = built_greenhouse  # built once: every shot is cached
    clip = next((sb.parent / ".storyboard" / "cache" / "preview" / "clips").rglob("*.mp4"))
    clip.chmod(0o644)  # cache files are read-only
    clip.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    proc = run_cli("build", str(sb))
    assert proc.returncode == 0, proc.stderr
    assert "is damaged" in proc.stderr
    assert sorted(v["status"] for v in results(sb.parent / "build").values()).count("generated") >= 1
    assert film_frames(sb.parent / "build" / "greenhouse.mp4") == GREENHOUSE_FRAMES
