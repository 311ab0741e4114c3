"""Hardening, round two (issue 11): what a careless script, a broken disk or a busy painter still got
through. Each test failed before its fix; each runs the real CLI in a subprocess (or typer's runner
for pure argument checks) and measures the files, not storyboard's report of them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from sbtest import write_storyboard
from storyboard.cli.app import app
from support.cli import cli_env, results, run_cli

SLOW = "support.backends:SlowBackend"

CHAIN = """\
version: 1
title: Hardening
defaults: {duration: 3, aspect_ratio: "1:1"}
characters:
  mira: {image: assets/mira/front.png}
images:
  lake: assets/blue.png
shots:
  - id: s1
    start: lake
    prompt: "@mira walks to the lake."
  - id: s2
    start: s1.last_frame
    prompt: "@mira sits down."
  - id: s3
    prompt: "Shot three: @mira waves."
"""


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cache_clip(project: Path, shot: str, backend: str = "preview") -> Path:
    """The cached clip of ``shot`` (by the key build/shots/<shot>.json records)."""
    key = json.loads((project / "build" / "shots" / f"{shot}.json").read_text())["key"]
    ns = backend.replace(":", "_") if backend not in ("preview", "fal") else backend
    return project / ".storyboard" / "cache" / ns / "clips" / key[:2] / f"{key}.mp4"


def cache_frame(project: Path, shot: str) -> Path:
    key = json.loads((project / "build" / "shots" / f"{shot}.json").read_text())["key"]
    return project / ".storyboard" / "cache" / "preview" / "frames" / key[:2] / f"{key}.png"


def flip_middle(path: Path) -> None:
    """Damage a file in place, keeping its size (only a hash or a decode can tell)."""
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = bytes(b ^ 0xFF for b in data[mid : mid + 64])
    path.write_bytes(bytes(data))


def renders(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


# -- 1: the build folder holds copies; the cache is read-only --------------------------------------


def test_writing_into_a_published_clip_in_place_does_not_reach_the_cache(project, tmp_path):
    sb = write_storyboard(project, CHAIN)
    log = tmp_path / "renders.log"
    env = {"STORYBOARD_TEST_LOG": str(log)}
    first = run_cli("build", str(sb), "-b", SLOW, env=env)
    assert first.returncode == 0, first.stderr
    shots = project / "build" / "shots"
    cached = cache_clip(project, "s1", SLOW)
    paid = sha(cached)
    assert not os.path.samefile(shots / "s1.mp4", cached), "the build folder must hold a copy, not a link"
    for clip in cached.parent.parent.rglob("*"):
        if clip.is_file():
            assert clip.stat().st_mode & 0o777 == 0o444, f"cache files are read-only: {clip}"
    # what `cp other.mp4 build/shots/s1.mp4` and `ffmpeg -y … build/shots/s1.mp4` do: write in place
    with open(shots / "s1.mp4", "r+b") as f:
        f.write((shots / "s3.mp4").read_bytes())
        f.truncate()
    assert sha(cached) == paid, "an in-place write through the build folder damaged the paid clip"
    log.unlink()
    again = run_cli("build", str(sb), "-b", SLOW, env=env)
    assert again.returncode == 0, again.stderr
    assert renders(log) == [], "nothing may be paid again"
    assert {r["status"] for r in results(project / "build").values()} == {"cached"}
    assert sha(shots / "s1.mp4") == paid, "the published copy is restored from the cache"


# -- 2: an empty selector is an error --------------------------------------------------------------


@pytest.mark.parametrize("command", ["build", "cost", "ls"])
@pytest.mark.parametrize("flag", ["--select", "-s", "--exclude"])
@pytest.mark.parametrize("value", ["", "   ", "\t"])
def test_an_empty_or_blank_selector_is_refused(project, command, flag, value):
    if flag == "-s" and command == "cost":
        flag = "--select"
    sb = write_storyboard(project, CHAIN)
    result = CliRunner().invoke(
        app, [command, str(sb), flag, value, "--force"] if command == "build" else [command, str(sb), flag, value]
    )
    assert result.exit_code == 2, result.output
    name = "--exclude" if flag == "--exclude" else "--select"
    assert f"{name} was given an empty selector" in result.output
    assert not (project / "build").exists(), "nothing was built"


# -- 3: the estimate is what the build will spend -------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "-0.01"])
def test_max_cost_that_is_no_limit_is_refused(project, value):
    sb = write_storyboard(project, CHAIN)
    result = CliRunner().invoke(app, ["build", str(sb), f"--max-cost={value}"])
    assert result.exit_code == 2, result.output
    assert "is not a limit" in result.output
    assert not (project / "build").exists()


def test_cost_counts_a_truncated_cached_clip_as_to_be_paid_and_keeps_it(project):
    sb = write_storyboard(project, CHAIN)
    assert run_cli("build", str(sb)).returncode == 0
    clip = cache_clip(project, "s3")
    clip.chmod(0o644)
    clip.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    proc = run_cli("cost", str(sb), "-b", "preview", "--json")
    assert proc.returncode == 0, proc.stderr
    est = {s["id"]: s for s in json.loads(proc.stdout)["shots"]}
    assert not est["s3"]["cached"] and est["s3"]["usd"] > 0
    assert est["s1"]["cached"] and est["s2"]["cached"]
    assert "is damaged" in proc.stderr
    assert clip.exists(), "cost is read-only: it reports a damaged clip, the build drops it"
    status = run_cli("status", str(sb), "--json")
    rows = {s["id"]: s for s in json.loads(status.stdout)["shots"]}
    assert rows["s3"]["state"] == "stale" and "damaged" in " ".join(rows["s3"]["reasons"])
    ls = run_cli("ls", str(sb), "--select", "s3", "--json")
    assert [r["cached"] for r in json.loads(ls.stdout)["shots"]] == [False]


TWINS = """\
version: 1
title: Twins
defaults: {duration: 3, aspect_ratio: "1:1"}
characters:
  hero: {image: assets/red.png}
shots:
  - id: one
    prompt: "@hero waves."
  - id: two
    prompt: "@hero waves."
  - id: three
    prompt: "@hero sits down."
"""


def test_the_estimate_counts_identical_requests_once_as_the_build_pays_them(project, tmp_path):
    sb = write_storyboard(project, TWINS)
    proc = run_cli("cost", str(sb), "--json")
    est = json.loads(proc.stdout)
    paid = [s["id"] for s in est["shots"] if not s["cached"]]
    assert paid == ["one", "three"], est
    assert est["total"] == pytest.approx(sum(s["usd"] for s in est["shots"]))
    # and --force, too, makes the twin once
    log = tmp_path / "renders.log"
    assert run_cli("build", str(sb), "-b", SLOW).returncode == 0
    forced = run_cli("build", str(sb), "-b", SLOW, "--force", env={"STORYBOARD_TEST_LOG": str(log)})
    assert forced.returncode == 0, forced.stderr
    # --force adds take 2 of every shot (issue 15); the twins' take 2 are one request, made once
    assert sorted(renders(log)) in (["one.take2", "three.take2"], ["three.take2", "two.take2"])


# -- 6: nothing damaged goes into a film ----------------------------------------------------------


def test_a_selective_build_refuses_to_stitch_a_damaged_unselected_clip(project):
    sb = write_storyboard(project, CHAIN)
    assert run_cli("build", str(sb)).returncode == 0
    film = project / "build" / "film.mp4"
    before = sha(film)
    flip_middle(cache_clip(project, "s3"))
    write_storyboard(project, CHAIN.replace("@mira sits down.", "@mira sits down by the water."))
    proc = run_cli("build", str(sb), "--select", "s2")
    assert proc.returncode == 1, proc.stderr
    assert "film not stitched: the cached clip of s3 is damaged" in proc.stderr
    assert "--select s3" in proc.stderr
    assert sha(film) == before, "the old film stays; no film with a damaged clip is written"
    assert results(project / "build")["s2"]["status"] == "generated"
    fixed = run_cli("build", str(sb), "--select", "s3")
    assert fixed.returncode == 0, fixed.stderr
    assert sha(film) != before


def test_a_film_written_over_in_place_is_stitched_again(project):
    sb = write_storyboard(project, CHAIN)
    assert run_cli("build", str(sb)).returncode == 0
    film = project / "build" / "film.mp4"
    good = sha(film)
    flip_middle(film)
    proc = run_cli("build", str(sb))
    assert proc.returncode == 0, proc.stderr
    assert "film unchanged" not in proc.stderr
    assert sha(film) == good


# -- 7: the bytes used are the bytes hashed -------------------------------------------------------

PAINTED = """\
version: 1
title: Painted
defaults: {duration: 3, aspect_ratio: "1:1"}
characters:
  mira: {image: assets/mira/front.png}
  gull: {image: assets/green.png}
shots:
  - id: early
    prompt: "@mira walks in."
  - id: late
    prompt: "Later: @mira walks out."
  - id: last
    prompt: "At last: @gull flies off."
"""


def _wait_for(predicate, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def test_an_asset_edited_during_the_build_cannot_poison_the_cache(project, tmp_path):
    clean = tmp_path / "clean"
    shutil.copytree(project, clean)
    write_storyboard(clean, PAINTED)
    assert run_cli("build", str(clean / "storyboard.yaml"), "-b", SLOW).returncode == 0
    sb = write_storyboard(project, PAINTED)
    log = tmp_path / "renders.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "storyboard", "build", str(sb), "-b", SLOW, "-j", "1"],
        env=cli_env(
            {"STORYBOARD_TEST_LOG": str(log), "STORYBOARD_TEST_SLEEP": "3", "STORYBOARD_TEST_FAST": "late,last"}
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: "early" in renders(log))
        for painted in ("mira/front.png", "green.png"):  # a painter saves over both pictures
            Image.new("RGB", (320, 320), (0, 200, 0)).save(project / "assets" / painted)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, err
    assert "assets/green.png changed while the build was running" in err
    res = results(project / "build")
    assert [res[s]["status"] for s in ("early", "late", "last")] == ["generated", "generated", "failed"]
    # each clip was made from the picture its key hashes: byte for byte what a clean build makes
    # (`late` got the copy of mira read, and hashed, before the painter saved)
    for shot in ("early", "late"):
        assert sha(cache_clip(project, shot, SLOW)) == sha(cache_clip(clean, shot, SLOW)), shot
    again = run_cli("build", str(sb), "-b", SLOW)
    assert again.returncode == 0, again.stderr
    assert {r["status"] for r in results(project / "build").values()} == {"generated"}, "new pictures, new keys"


def test_fal_uploads_only_the_bytes_the_keys_were_computed_from(project, fake_fal_factory):
    """The plan is compiled, then the painter saves, then the build runs: nothing of the new picture is
    uploaded under the old key; the shot using it fails with a sentence; the others are made."""
    from storyboard.build.run import BuildOptions, run_build
    from storyboard.compiler.compile import compile_file

    fake = fake_fal_factory(processing_seconds=0.1)
    sb = write_storyboard(project, PAINTED)
    plan = compile_file(sb)
    Image.new("RGB", (320, 320), (0, 200, 0)).save(project / "assets" / "green.png")
    options = BuildOptions(backend="fal", jobs=1, backend_options={"poll_seconds": 0.05, "backoff": 0.02})
    with fake.environ("fake-key"):
        outcome = run_build(plan, options, lambda _e: None)
    res = {r.id: r for r in outcome.results}
    assert res["early"].status == res["late"].status == "generated"
    assert (
        res["last"].status == "failed" and "assets/green.png changed while the build was running" in res["last"].error
    )
    compiled = {ref.sha256 for s in plan.shots for ref in s.assets() if ref.kind == "file"}
    assert fake.uploads and {u.sha256 for u in fake.uploads} <= compiled
    assert "At last" not in json.dumps([sub.body for sub in fake.submissions]), "nothing was sent for `last`"


# -- 8: a damaged last frame is never a start frame -----------------------------------------------


def test_a_damaged_last_frame_is_extracted_again_before_it_is_used(project):
    sb = write_storyboard(project, CHAIN)
    assert run_cli("build", str(sb)).returncode == 0
    frame = cache_frame(project, "s1")
    good_frame, good_clip = sha(frame), sha(cache_clip(project, "s2"))
    flip_middle(frame)
    proc = run_cli("build", str(sb), "--select", "s2", "--force")
    assert proc.returncode == 0, proc.stderr
    assert "last frame of 's1' in the cache was damaged" in proc.stderr
    assert sha(frame) == good_frame
    assert sha(cache_clip(project, "s2")) == good_clip, "s2 started from the true last frame of s1"


def test_a_damaged_frame_and_clip_upstream_are_built_again(project):
    sb = write_storyboard(project, CHAIN)
    assert run_cli("build", str(sb)).returncode == 0
    frame = cache_frame(project, "s1")
    frame.chmod(0o644)
    frame.write_bytes(frame.read_bytes()[:100])
    flip_middle(cache_clip(project, "s1"))
    ls = run_cli("ls", str(sb), "--select", "s2", "--json")
    assert [r["id"] for r in json.loads(ls.stdout)["shots"]] == ["s1", "s2"], "ls says s1 must be built again"
    proc = run_cli("build", str(sb), "--select", "s2", "--force")
    assert proc.returncode == 0, proc.stderr
    assert results(project / "build")["s1"]["status"] == "generated"


# -- 15: set-up problems are a sentence and exit 2 ------------------------------------------------


def test_out_or_cache_dir_naming_a_file_is_a_sentence(project):
    sb = write_storyboard(project, CHAIN)
    (project / "afile").write_text("not a folder")
    for args, what in (
        (["--out", "afile"], "the build folder afile is a file, not a folder"),
        (["--out", "afile/build"], "is inside afile, which is a file"),
        (["--cache-dir", "afile"], "is inside afile, which is a file"),
    ):
        proc = run_cli("build", str(sb), *args, cwd=project)
        assert proc.returncode == 2, proc.stderr
        assert what in proc.stderr, proc.stderr
        assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    assert (project / "afile").read_text() == "not a folder"


def test_a_folder_where_the_film_or_a_clip_goes_is_found_before_anything_is_built(project, tmp_path):
    sb = write_storyboard(project, CHAIN)
    log = tmp_path / "renders.log"
    for taken in ("build/film.mp4", "build/shots/s2.mp4"):
        (project / taken).mkdir(parents=True)
        proc = run_cli("build", str(sb), "-b", SLOW, cwd=project, env={"STORYBOARD_TEST_LOG": str(log)})
        assert proc.returncode == 2, proc.stderr
        assert f"{taken} is a folder, but the build writes a file there" in proc.stderr, proc.stderr
        assert renders(log) == [], "found before paying"
        (project / taken).rmdir()


def limited(args: list[str], cwd: Path, folder: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``storyboard ARGS`` with the OS refusing writes under ``folder`` with errno ``code``."""
    return subprocess.run(
        [sys.executable, "-m", "support.oslimits", *args],
        cwd=cwd,
        env=cli_env({"STORYBOARD_TEST_REFUSE_UNDER": str(folder), "STORYBOARD_TEST_ERRNO": code, **env}),
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.parametrize(
    ("where", "code", "words"),
    [
        ("build", "EROFS", "the build folder build is read-only for storyboard"),
        ("build", "EACCES", "the build folder build is read-only for storyboard"),
        ("build", "ENOSPC", "the disk holding the build folder build is full"),
        (".storyboard/cache", "EROFS", "the cache .storyboard/cache/preview is read-only for storyboard"),
        (".storyboard/cache", "ENOSPC", "the disk holding the cache .storyboard/cache/preview is full"),
    ],
)
def test_an_unwritable_folder_is_found_before_anything_is_built(project, tmp_path, where, code, words):
    sb = write_storyboard(project, CHAIN)
    log = tmp_path / "renders.log"
    proc = limited(
        ["build", "storyboard.yaml", "-b", SLOW], project, project / where, code, STORYBOARD_TEST_LOG=str(log)
    )
    assert proc.returncode == 2, proc.stderr
    assert words.replace("preview", "support.backends_SlowBackend") in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    assert renders(log) == []
    assert sb.exists()


def test_a_disk_with_a_few_kb_free_is_found_before_anything_is_built(project, tmp_path):
    write_storyboard(project, CHAIN)
    log = tmp_path / "renders.log"
    proc = subprocess.run(
        [sys.executable, "-m", "support.oslimits", "build", "storyboard.yaml", "-b", SLOW],
        cwd=project,
        env=cli_env(
            {
                "STORYBOARD_TEST_REFUSE_UNDER": str(project),
                "STORYBOARD_TEST_FREE_BYTES": "8192",
                "STORYBOARD_TEST_LOG": str(log),
            }
        ),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 2, proc.stderr
    cache = ".storyboard/cache/support.backends_SlowBackend"
    assert f"the disk holding the cache {cache} is full (only 8 KB free" in proc.stderr, proc.stderr
    assert renders(log) == []


def test_ls_cost_and_status_refuse_a_cache_dir_naming_a_file(project):
    sb = write_storyboard(project, CHAIN)
    (project / "afile").write_text("x")
    for command in ("ls", "cost", "status"):
        proc = CliRunner().invoke(app, [command, str(sb), "--cache-dir", "afile"])
        assert proc.exit_code == 2, proc.output
        assert "is inside afile, which is a file" in proc.output


def test_a_disk_that_fills_up_during_the_build_stops_it_with_a_sentence_and_keeps_what_was_made(project, tmp_path):
    write_storyboard(project, CHAIN)
    (project / "build" / "shots").mkdir(parents=True)  # a folder of an earlier build, on a disk now full
    log = tmp_path / "renders.log"
    proc = limited(
        ["build", "storyboard.yaml", "-j", "1", "-b", SLOW],
        project,
        project / "build" / "shots",
        "ENOSPC",
        STORYBOARD_TEST_LOG=str(log),
    )
    assert proc.returncode == 2, proc.stderr
    assert "is full: free some space and build again; finished shots are kept" in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    made = renders(log)
    assert len(made) == 1, "the build stops at the first full-disk failure"
    log.unlink()
    again = run_cli("build", "storyboard.yaml", "-b", SLOW, cwd=project, env={"STORYBOARD_TEST_LOG": str(log)})
    assert again.returncode == 0, again.stderr
    assert made[0] not in renders(log), "the clip made before the disk filled was kept"


# -- 19: killed builds leave nothing behind -------------------------------------------------------


def test_litter_of_killed_builds_is_swept_by_the_next(project):
    sb = write_storyboard(project, CHAIN)
    assert run_cli("build", str(sb)).returncode == 0
    build = project / "build"
    cache = project / ".storyboard" / "cache" / "preview"
    litter = [
        build / "shots" / ".s1.json.4242.abcd1234.tmp",
        build / ".run_results.json.4242.abcd1234.tmp",
        build / ".film.x1y2z3.partial.mp4",
        build / "shots" / ".s1.mp4.4242.tmp",
        cache / "scratch" / "storyboard-preview-abc" / "background.rgb",
        cache / "scratch" / "inputs" / "ab" / "front.png",
        cache / "stitch" / "stitch-abc" / "part.mp4",
    ]
    for p in litter:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x" * 1000)
    assert run_cli("build", str(sb)).returncode == 0
    left = [p for p in litter if p.exists()]
    assert left == [], left
    assert not list((cache / "scratch").iterdir()) if (cache / "scratch").exists() else True


def test_a_killed_preview_build_leaves_no_scratch_in_the_system_temp_folder(project, tmp_path):
    sb = write_storyboard(project, CHAIN.replace("duration: 3", "duration: 10"))
    tmpdir = tmp_path / "systemtmp"
    tmpdir.mkdir()
    cache = project / ".storyboard" / "cache" / "preview"
    proc = subprocess.Popen(
        [sys.executable, "-m", "storyboard", "build", str(sb), "-j", "1"],
        env=cli_env({"TMPDIR": str(tmpdir)}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:

        def rendering() -> bool:
            return any(tmpdir.glob("storyboard-preview-*")) or any((cache / "scratch").glob("storyboard-preview-*"))

        _wait_for(rendering)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert not list(tmpdir.glob("storyboard-preview-*")), "preview scratch belongs in the cache"
    assert any((cache / "scratch").glob("storyboard-preview-*"))
    assert run_cli("build", str(sb), "--select", "s3").returncode == 0
    assert not (cache / "scratch").exists() or not list((cache / "scratch").iterdir())
