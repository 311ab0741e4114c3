"""init, status, ls, graph, selectors, the OTIO timeline and CLI manners — through the real CLI."""

from __future__ import annotations

import json
import re

import imageio_ffmpeg
import pytest
from PIL import Image

from support.cli import results, run_cli

COMMANDS = ["validate", "compile", "build", "cost", "ls", "status", "graph", "board", "init", "export", "freeze"]


def test_init_makes_a_project_that_builds_offline_at_once(tmp_path):
    proj = tmp_path / "my-film"
    made = run_cli("init", str(proj))
    assert made.returncode == 0, made.stderr
    sb = proj / "storyboard.yaml"
    assert sb.read_text().startswith("# yaml-language-server: $schema=schemas/storyboard.schema.json")
    assert (proj / "schemas" / "storyboard.schema.json").exists()
    built = run_cli("build", str(sb))
    assert built.returncode == 0, built.stderr
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(proj / "build" / "film.mp4"))
    assert frames == 3 * 5 * 24 - 12  # three 5 s shots, one 0.5 s crossfade
    again = run_cli("init", str(proj))
    assert again.returncode == 2 and "not empty" in again.stderr


def test_status_explains_why_each_shot_is_stale(example, built_greenhouse):
    first = run_cli("status", str(example("greenhouse")), "--json")
    assert {s["state"] for s in json.loads(first.stdout)["shots"]} == {"stale"}
    assert all(s["reasons"] == ["never built"] for s in json.loads(first.stdout)["shots"])
    sb = built_greenhouse  # the same storyboard after `storyboard build`
    fresh = json.loads(run_cli("status", str(sb), "--json").stdout)["shots"]
    assert {s["state"] for s in fresh} == {"up to date"}

    text = sb.read_text()
    text = text.replace("The camera orbits @mira slowly", "The camera orbits @mira very slowly")
    text = text.replace("  - id: keepsake\n    duration: 4", "  - id: keepsake\n    duration: 6")
    sb.write_text(text)
    img = sb.parent / "assets" / "mira" / "old_front.png"
    with Image.open(img) as im:
        im = im.convert("RGB")
    im.putpixel((1, 1), (9, 9, 9))
    im.save(img)
    reasons = {s["id"]: s["reasons"] for s in json.loads(run_cli("status", str(sb), "--json").stdout)["shots"]}
    assert reasons["arrival"] == []
    assert reasons["orbit"] == ["prompt changed"]
    assert reasons["memory"] == ["asset assets/mira/old_front.png changed (its bytes differ)"]
    assert reasons["keepsake"] == ["duration changed (4 → 6)"]

    # change the first shot: the shot that continues from it is stale for that reason
    sb.write_text(sb.read_text().replace("{{ lens }}, cinematic lighting.", "{{ lens }}, soft lighting."))
    reasons = {s["id"]: s["reasons"] for s in json.loads(run_cli("status", str(sb), "--json").stdout)["shots"]}
    assert reasons["arrival"] == ["prompt changed"]
    assert "the shot it continues from (arrival) changed" in reasons["orbit"]


def test_select_builds_only_the_selection_and_stitches_only_when_complete(example):
    sb = example("greenhouse")
    listed = json.loads(run_cli("ls", str(sb), "--select", "arrival+", "--json").stdout)
    assert [s["id"] for s in listed["shots"]] == ["arrival", "orbit"]
    listed = json.loads(run_cli("ls", str(sb), "--select", "+orbit memory", "--exclude", "arrival", "--json").stdout)
    # arrival is excluded, but orbit needs its last frame and nothing is cached: it is listed as needed
    assert [(s["id"], s["selected"]) for s in listed["shots"]] == [
        ("arrival", False),
        ("orbit", True),
        ("memory", True),
    ]
    listed = json.loads(run_cli("ls", str(sb), "--select", "object:stone", "--json").stdout)
    assert [s["id"] for s in listed["shots"] if s["selected"]] == ["orbit", "memory", "keepsake"]
    assert [s["id"] for s in listed["shots"] if not s["selected"]] == ["arrival"]  # orbit's start frame
    listed = json.loads(run_cli("ls", str(sb), "--select", "character:old_mira", "--json").stdout)
    assert [s["id"] for s in listed["shots"]] == ["memory"]

    proc = run_cli("build", str(sb), "--select", "orbit")
    assert proc.returncode == 0, proc.stderr
    # orbit needs arrival's last frame, which is not cached: arrival is built too
    assert set(results(sb.parent / "build")) == {"arrival", "orbit"}
    assert not (sb.parent / "build" / "greenhouse.mp4").exists()
    assert "film not stitched" in proc.stderr

    bad = run_cli("build", str(sb), "--select", "orbitt")
    assert bad.returncode == 2 and "did you mean 'orbit'" in bad.stderr

    proc = run_cli("build", str(sb))
    assert proc.returncode == 0, proc.stderr
    assert {k: v["status"] for k, v in results(sb.parent / "build").items()} == {
        "title": "generated",
        "arrival": "cached",
        "orbit": "cached",
        "memory": "generated",
        "keepsake": "generated",
    }
    assert (sb.parent / "build" / "greenhouse.mp4").exists()


def test_timeline_reads_back_and_matches_the_film(built_greenhouse):
    import opentimelineio as otio

    sb = built_greenhouse
    film = sb.parent / "build" / "greenhouse.mp4"
    timeline = otio.adapters.read_from_file(str(sb.parent / "build" / "greenhouse.otio"))
    (track,) = [t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Video]  # audio: test_sound.py
    clips = [c for c in track if isinstance(c, otio.schema.Clip)]
    assert [c.name for c in clips] == ["title", "arrival", "orbit", "memory", "keepsake"]
    for c in clips:
        assert c.media_reference.target_url == f"shots/{c.name}.mp4"
        assert (sb.parent / "build" / c.media_reference.target_url).exists()
        assert c.metadata["storyboard"]["prompt"].startswith(("The Greenhouse", "Take @Image1", "Fifty", "Close-up"))
    transitions = [t for t in track if isinstance(t, otio.schema.Transition)]
    assert len(transitions) == 1 and transitions[0].transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(film))
    assert track.duration().to_frames() == frames


@pytest.mark.parametrize(
    "fmt,marker", [("mermaid", "flowchart LR"), ("dot", "digraph storyboard"), ("text", "film greenhouse.mp4")]
)
def test_graph_formats(example, fmt, marker):
    sb = example("greenhouse")
    proc = run_cli("graph", str(sb), "--format", fmt)
    assert proc.returncode == 0, proc.stderr
    assert marker in proc.stdout
    assert "arrival.last_frame" in proc.stdout or "last frame of arrival" in proc.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    proc = run_cli(command, "--help")
    assert proc.returncode == 0
    assert "Example:" in proc.stdout
    assert not re.search(r"\x1b\[", proc.stdout), "NO_COLOR must turn colour off"
