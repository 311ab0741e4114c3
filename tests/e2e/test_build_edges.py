"""Build behaviours found missing in review, each pinned by a test that failed before its fix."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from sbtest import write_storyboard
from storyboard.compiler.compile import compile_file
from storyboard.errors import InputError
from support.cli import results, run_cli, start_cli

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

DISTINCT = TWINS.replace('  - id: two\n    prompt: "@hero waves."', '  - id: two\n    prompt: "@hero jumps."')


def test_identical_requests_are_generated_once_even_in_parallel(project, tmp_path):
    sb = write_storyboard(project, TWINS)
    log = tmp_path / "renders.log"
    proc = run_cli(
        "build",
        str(sb),
        "-j",
        "3",
        "-b",
        "support.backends:SlowBackend",
        env={"STORYBOARD_TEST_SLEEP": "1", "STORYBOARD_TEST_LOG": str(log)},
    )
    assert proc.returncode == 0, proc.stderr
    renders = log.read_text().split()
    assert sorted(renders) in (["one", "three"], ["three", "two"])
    status = sorted(r["status"] for r in results(project / "build").values())
    assert status == ["cached", "generated", "generated"]


def test_film_is_restitched_when_the_backend_changes(project):
    sb = write_storyboard(project, TWINS)
    assert run_cli("build", str(sb)).returncode == 0
    film = project / "build" / "film.mp4"
    first = json.loads((project / "build" / ".film.json").read_text())
    proc = run_cli("build", str(sb), "-b", "support.backends:FlakyBackend")
    assert proc.returncode == 0, proc.stderr
    second = json.loads((project / "build" / ".film.json").read_text())
    assert first["key"] != second["key"], "a film of another backend's clips was kept"
    assert "film unchanged" not in proc.stderr and film.exists()


def test_selective_build_that_completes_the_set_stitches_the_film(project):
    sb = write_storyboard(project, DISTINCT)
    assert run_cli("build", str(sb), "--select", "one three").returncode == 0
    assert not (project / "build" / "film.mp4").exists()
    proc = run_cli("build", str(sb), "--select", "two")
    assert proc.returncode == 0, proc.stderr
    assert (project / "build" / "film.mp4").exists()


def test_outputs_are_readable_by_others(project):
    sb = write_storyboard(project, TWINS)
    assert run_cli("build", str(sb)).returncode == 0
    for name in ("film.mp4", "run_results.json", "manifest.json", "shots/one.mp4"):
        mode = (project / "build" / name).stat().st_mode & 0o777
        assert mode & 0o044, f"{name} is {oct(mode)}"
    assert json.loads((project / "build" / "run_results.json").read_text())["film"] == "film.mp4"


def test_interrupted_build_keeps_the_results_of_finished_shots(project, tmp_path):
    sb = write_storyboard(project, DISTINCT)
    log = tmp_path / "renders.log"
    env = {"STORYBOARD_TEST_SLEEP": "60", "STORYBOARD_TEST_FAST": "one", "STORYBOARD_TEST_LOG": str(log)}
    proc = start_cli(
        "build", str(sb), "-j", "1", "-b", "support.backends:SlowBackend", env=env, capture=True, new_session=False,
        ctrl_c=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not log.exists() or len(log.read_text().split()) < 2):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted; finished work is kept" in err
    done = results(project / "build")
    assert done.get("one", {}).get("status") == "generated"


def test_bad_fal_settings_are_usage_errors(project):
    sb = write_storyboard(project, TWINS)
    proc = run_cli("build", str(sb), "-b", "fal", env={"FAL_KEY": "x" * 12, "STORYBOARD_FAL_RETRIES": "many"})
    assert proc.returncode == 2
    assert "STORYBOARD_FAL_RETRIES='many'" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "transition,messages",
    [
        ("{type: crossfade, duration: 2.5}", []),
        ("{type: fade, duration: 3}", []),
        (
            "{type: crossfade, duration: 3}",
            [
                "transitions take 3 s of shot 'two', which lasts 3 s",
                "transitions take 3 s of shot 'three', which lasts 3 s",
            ],
        ),
        # the stitch's rule: a transition is no longer than either shot it touches
        ("{type: fade, duration: 5}", ["the fade into 'three' lasts 5 s, but shot 'two' lasts 3 s (3 s)"]),
    ],
)
def test_transitions_must_fit_their_shots_at_compile_time(project, transition, messages):
    text = TWINS.replace(
        '    prompt: "@hero sits down."', f'    prompt: "@hero sits down."\n    transition: {transition}'
    )
    sb = write_storyboard(project, text)
    if not messages:
        compile_file(sb)
        return
    with pytest.raises(InputError) as err:
        compile_file(sb)
    problems = err.value.problems
    assert [p.path for p in problems] == ["shots[2].transition"] * len(messages)
    assert [p.message for p in problems] == messages


def test_first_shot_transition_is_a_cut_and_none_renders_as_nothing(project):
    text = TWINS.replace(
        '  - id: one\n    prompt: "@hero waves."',
        '  - id: one\n    transition: {type: fade, duration: 1}\n    prompt: "@hero waves{{ style }}."',
    )
    plan = compile_file(write_storyboard(project, text))
    assert plan.shots[0].transition.type == "cut"
    assert plan.shots[0].prompt == "@Element1 waves."
    assert os.environ.get("FAL_KEY") is None


def test_two_backends_building_into_one_folder_do_not_interleave(project, tmp_path):
    sb = write_storyboard(project, DISTINCT)
    log = tmp_path / "renders.log"
    env = {"STORYBOARD_TEST_SLEEP": "30", "STORYBOARD_TEST_LOG": str(log)}
    slow = start_cli("build", str(sb), "-b", "support.backends:SlowBackend", env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not log.exists():
            time.sleep(0.05)
        assert log.exists(), "the slow build never started"
        other = run_cli("build", str(sb))  # the preview backend: another cache, the same build folder
        assert other.returncode == 1
        assert "another build is using the build folder" in other.stderr and "--out" in other.stderr
    finally:
        os.killpg(slow.pid, signal.SIGKILL)
        slow.wait(timeout=10)
    assert run_cli("build", str(sb)).returncode == 0  # the lock died with the killed build
