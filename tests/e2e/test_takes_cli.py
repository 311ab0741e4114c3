"""Takes, --force, reroll and pick through the real CLI: every take is kept, the pick makes the film."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from sbtest import write_storyboard
from storyboard.build.run import open_cache
from storyboard.compiler.compile import compile_file
from support.cli import results, run_cli

STORYBOARD = """\
# Takes: three shots, the second continues from the first
version: 1
title: Takes
defaults:
  duration: 3
images:
  red: assets/red.png
  blue: assets/blue.png
shots:
  - id: one   # two takes to choose from
    start: red
    takes: 2
    prompt: A red room, @blue on the wall.
  - id: two
    start: one.last_frame
    prompt: The camera pulls back from @blue.
  - id: three
    prompt: A blue sky over @red.
"""


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def sb(project: Path) -> Path:
    return write_storyboard(project, STORYBOARD)


def _cached(sb: Path, backend: str = "preview") -> dict[str, list[int]]:
    from storyboard.build.takes import cached_takes

    plan = compile_file(sb)
    cache = open_cache(plan, None, backend)
    return {s.id: cached_takes(cache, s) for s in plan.shots}


def test_takes_force_reroll_and_pick(sb: Path) -> None:
    root = sb.parent
    cost = run_cli("cost", str(sb), "--json", cwd=root)
    assert cost.returncode == 0, cost.stderr
    est = json.loads(cost.stdout)
    assert sorted(s["id"] for s in est["shots"]) == ["one", "one.take2", "three", "two"]
    assert est["total"] == pytest.approx(4 * 3 * 0.084)  # takes count: one's two takes are two generations

    built = run_cli("build", str(sb), cwd=root)
    assert built.returncode == 0, built.stderr
    assert {sid: r["status"] for sid, r in results(root / "build").items()} == dict.fromkeys(
        ["one", "one.take2", "two", "three"], "generated"
    )
    assert _cached(sb) == {"one": [1, 2], "two": [1], "three": [1]}
    film = root / "build" / "film.mp4"
    assert film.is_file()
    first_film = _sha(film)
    assert _sha(root / "build" / "shots" / "one.mp4") != _sha(root / "build" / "shots" / "one.take2.mp4")

    # --force adds a take and replaces nothing: the film keeps its picked takes
    keys_before = {s.id: s.key for s in compile_file(sb).shots}
    forced = run_cli("build", str(sb), "--select", "three", "--force", cwd=root)
    assert forced.returncode == 0, forced.stderr
    assert results(root / "build")["three.take2"]["status"] == "generated"
    assert _cached(sb)["three"] == [1, 2]
    assert _sha(film) == first_film
    rerolled = run_cli("reroll", str(sb), "three", cwd=root)
    assert rerolled.returncode == 0, rerolled.stderr
    assert _cached(sb)["three"] == [1, 2, 3]
    assert {s.id: s.key for s in compile_file(sb).shots} == keys_before

    # --takes for a selection, and ls / status show the takes
    more = run_cli("build", str(sb), "--select", "two", "--takes", "2", cwd=root)
    assert more.returncode == 0, more.stderr
    assert _cached(sb)["two"] == [1, 2]
    ls = json.loads(run_cli("ls", str(sb), "--json", cwd=root).stdout)["shots"]
    assert [(r["id"], r["take"], r["in_film"]) for r in ls] == [
        ("one", 1, True),
        ("one.take2", 2, False),
        ("two", 1, True),
        ("three", 1, True),
    ]
    assert ls[3]["cached_takes"] == [1, 2, 3]

    # pick writes the YAML (one line), and the film, and only what continues from the pick, change
    before_text = sb.read_text("utf-8")
    picked = run_cli("pick", str(sb), "one", "2", cwd=root)
    assert picked.returncode == 0, picked.stderr
    assert "picked take 2 (was 1, the default)" in picked.stderr
    assert sb.read_text("utf-8") == before_text.replace("    takes: 2\n", "    takes: 2\n    pick: 2\n")
    status = run_cli("status", str(sb), cwd=root)
    assert status.returncode == 0, status.stderr
    lines = dict(line.split(None, 1) for line in status.stdout.splitlines())
    assert "picked take 2 (was 1)" in lines["one"] and lines["one"].startswith("up to date")
    assert lines["two"] == "stale: the shot it continues from (one) now uses take 2 (was 1)"
    assert lines["three"].startswith("up to date")
    rebuilt = run_cli("build", str(sb), cwd=root)
    assert rebuilt.returncode == 0, rebuilt.stderr
    statuses = {sid: r["status"] for sid, r in results(root / "build").items()}
    assert statuses["one"] == "cached" and statuses["three"] == "cached"
    assert statuses["two"] == "generated"  # it starts from take 2's last frame now
    assert _sha(film) != first_film
    assert _sha(root / "build" / "shots" / "one.mp4") == _sha(
        open_cache(compile_file(sb), None, "preview").clip_path(compile_file(sb).shot("one").take_key(2))
    )
    again = run_cli("status", str(sb), cwd=root)
    assert "was 1" not in again.stdout, again.stdout


def test_pick_and_reroll_refuse_bad_input_with_exit_2_and_change_nothing(sb: Path) -> None:
    root = sb.parent
    assert run_cli("build", str(sb), "--select", "one", cwd=root).returncode == 0
    text = sb.read_text("utf-8")
    for args, words in (
        (["pick", str(sb), "too", "1"], "unknown shot 'too'"),
        (["pick", str(sb), "one", "3"], "shot 'one' has no take 3; its takes on preview: 1, 2"),
        (["pick", str(sb), "three", "1"], "shot 'three' has no take 1; it has no take on preview yet"),
        (["reroll", str(sb), "thre"], "did you mean 'three'"),
    ):
        proc = run_cli(*args, cwd=root)
        assert proc.returncode == 2, (args, proc.stderr)
        assert words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert sb.read_text("utf-8") == text


SPOKEN = """\
version: 1
title: Spoken takes
defaults:
  duration: 3
voices:
  narrator: {fal: George, preview: en}
images:
  red: assets/red.png
shots:
  - id: one
    start: red
    prompt: A red room.
    lines:
      - speaker: narrator
        text: The room was red.
        offset: 0.5
"""


def _sounds(build_dir: Path) -> dict[str, str]:
    data = json.loads((build_dir / "run_results.json").read_text("utf-8"))
    return {s["id"]: s["status"] for s in data.get("sounds", [])}


def test_reroll_adds_a_take_of_the_picture_and_keeps_the_sound_and_a_pick_remixes(project: Path) -> None:
    sb = write_storyboard(project, SPOKEN)
    build_dir = project / "build"
    assert run_cli("build", str(sb), cwd=project).returncode == 0
    assert _sounds(build_dir) == {"one.line1": "generated"}
    film = build_dir / "film.mp4"
    first = _sha(film)
    rolled = run_cli("reroll", str(sb), "one", cwd=project)
    assert rolled.returncode == 0, rolled.stderr
    assert results(build_dir)["one.take2"]["status"] == "generated"
    assert _sounds(build_dir) == {"one.line1": "cached"}  # a reroll is about the picture
    assert _sha(film) == first  # the film keeps take 1 until it is picked
    assert run_cli("pick", str(sb), "one", "2", cwd=project).returncode == 0
    assert run_cli("build", str(sb), cwd=project).returncode == 0
    assert _sha(film) != first  # stitched and mixed again with take 2
    timeline = json.loads((build_dir / "manifest.json").read_text("utf-8"))
    assert timeline["shots"][0]["take"] == 2
    forced = run_cli("build", str(sb), "--force", "--select", "one", cwd=project)
    assert forced.returncode == 0, forced.stderr
    assert _sounds(build_dir) == {"one.line1": "generated"}  # --force still makes the shot's sounds again
    assert results(build_dir)["one.take3"]["status"] == "generated"
