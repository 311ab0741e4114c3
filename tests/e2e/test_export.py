"""``storyboard export``: the built cut written for editors, and read back by each format's own
OpenTimelineIO adapter. What is checked comes from the read-back file and from the film measured
with PyAV — never from storyboard's own report: the shots by name and length in frames, the
picture track as long as the film to the frame, the crossfade, the audio tracks and their sounds,
and every media path an absolute file that exists."""

from __future__ import annotations

import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import av
import opentimelineio as otio
import pytest

from sbtest import build_project, write_storyboard
from support.cli import run_cli
from support.shared import copy_of, made_once

FPS = 24
STORYBOARD = """
version: 1
title: Export
defaults: {duration: 3, aspect_ratio: "16:9"}
voices:
  narrator: {preview: en, fal: George}
shots:
  - id: door
    prompt: A red door in a white wall.
    lines:
      - {speaker: narrator, text: "Somebody left the door open.", offset: 0.4}
    sfx:
      - {prompt: a door creaking, duration: 2}
  - id: sky
    prompt: A blue sky over a field.
    transition: {type: crossfade, duration: 0.5}
  - id: field
    prompt: A green field at dusk.
    transition: {type: fade, duration: 1}
film:
  output: export.mp4
  music:
    - {prompt: a soft piano theme, level: -12}
"""
SHOTS = ["door", "sky", "field"]
SOUNDS = {"door.line1", "door.sfx1", "music1"}
# format → (adapter, suffix, audio tracks the format carries, a transition read back)
FORMATS = {
    "fcp7": ("fcp_xml", ".xml", 3, True),
    "fcpxml": ("fcpx_xml", ".fcpxml", 3, False),
    "aaf": ("AAF", ".aaf", 3, True),
    "edl": ("cmx_3600", ".edl", 0, True),
    "otio": ("otio_json", ".otio", 3, True),
}


def _build(root: Path) -> dict[str, Any]:
    build_project(root)
    write_storyboard(root, STORYBOARD)
    proc = run_cli("build", str(root / "storyboard.yaml"))
    assert proc.returncode == 0, proc.stderr
    return {}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A three-shot film (a crossfade, a fade, a line, an effect, music) built once per run with the
    preview (shared by the workers), copied for this module."""
    folder, _ = made_once(tmp_path_factory, "export", _build)
    return copy_of(folder, tmp_path_factory.mktemp("export") / "project")


def film_frames(film: Path) -> int:
    """The film's picture length in frames, counted by decoding it."""
    with av.open(str(film)) as c:
        return sum(1 for _ in c.decode(video=0))


def read_back(path: Path, adapter: str) -> Any:
    """The exported file as its own adapter reads it (the first timeline of a collection)."""
    result = otio.adapters.read_from_file(str(path), adapter_name=adapter)
    if isinstance(result, otio.schema.SerializableCollection):
        result = next(iter(result.find_children(descended_from_type=otio.schema.Timeline, shallow_search=True)))
    return result


def local_file(url: str) -> Path:
    parsed = urllib.parse.urlparse(url)
    assert parsed.scheme == "file", url
    return Path(urllib.request.url2pathname(parsed.path))


def built_durations(root: Path) -> dict[str, int]:
    """Each shot's length in frames in the build's own timeline (what was built)."""
    timeline = otio.adapters.read_from_file(str(root / "build" / "export.otio"))
    return {c.name: round(c.duration().value) for c in timeline.video_tracks()[0].find_clips()}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_export_reads_back_by_its_own_adapter(built: Path, fmt: str) -> None:
    adapter, suffix, audio_tracks, has_transition = FORMATS[fmt]
    dest = built / "out" / f"cut{suffix}"
    proc = run_cli("export", str(built / "storyboard.yaml"), "--format", fmt, "--output", str(dest))
    assert proc.returncode == 0, proc.stderr
    timeline = read_back(dest, adapter)
    picture = timeline.video_tracks()
    assert len(picture) == 1
    clips = list(picture[0].find_clips())
    assert [c.name for c in clips] == SHOTS
    # the picture lasts as long as the film, to the frame, at the film's rate
    assert all(c.duration().rate == FPS for c in clips)
    assert round(picture[0].duration().value) == film_frames(built / "build" / "export.mp4")
    transitions = [t for t in picture[0] if isinstance(t, otio.schema.Transition)]
    if has_transition:
        assert [round(t.duration().value) for t in transitions] == [round(0.5 * FPS)]
    if fmt != "edl":  # an EDL's dissolve moves the cut point into the incoming event: the lengths differ there
        assert {c.name: round(c.duration().value) for c in clips} == built_durations(built)
    for c in clips:
        path = local_file(c.media_reference.target_url)
        assert path.is_absolute() and path.is_file(), path
        if fmt != "edl":  # the EDL reader gives a dissolve's incoming event the outgoing clip's file
            assert path.name == f"{c.name}.mp4"
    if fmt == "edl":  # ... while the EDL names each clip's file (``* FROM CLIP:`` / ``* TO CLIP:``)
        text = dest.read_text("utf-8")
        for shot in SHOTS:
            assert (built / "build" / "shots" / f"{shot}.mp4").resolve().as_uri() in text
    # the sound, where the format carries it
    tracks = timeline.audio_tracks()
    assert len(tracks) == audio_tracks
    sounds = [c for t in tracks for c in t.find_clips()]
    assert {c.name for c in sounds} == (SOUNDS if audio_tracks else set())
    for c in sounds:
        path = local_file(c.media_reference.target_url)
        assert path.is_file() and path.suffix == ".wav", path
        assert round(c.duration().value) >= 1
    # what the format cannot carry is said, not silently dropped
    if fmt == "otio":  # OTIO keeps the fade as effects on the two clips
        assert [[e.effect_name for e in c.effects] for c in clips] == [[], ["FadeOut"], ["FadeIn"]]
    else:
        assert "sky (FadeOut), field (FadeIn)" in proc.stderr and "written as cuts" in proc.stderr
    if fmt == "edl":
        assert "3 audio track(s) with 3 sound(s) are not in it" in proc.stderr
    if fmt == "fcpxml":
        assert "written as a cut" in proc.stderr and "crossfade into sky" in proc.stderr


def test_export_with_the_mix_stems(built: Path) -> None:
    dest = built / "out" / "stems.xml"
    proc = run_cli("export", str(built / "storyboard.yaml"), "-f", "fcp7", "--audio", "stems", "--output", str(dest))
    assert proc.returncode == 0, proc.stderr
    timeline = read_back(dest, "fcp_xml")
    total = round(timeline.video_tracks()[0].duration().value)
    stems = {c.name: c for t in timeline.audio_tracks() for c in t.find_clips()}
    assert set(stems) == {f"export.{s}.wav" for s in ("dialogue", "effects", "music")}
    for c in stems.values():
        assert local_file(c.media_reference.target_url).is_file()
        assert round(c.duration().value) == total  # a stem is as long as the film


def test_export_default_path_and_stale_storyboard(built: Path, tmp_path: Path) -> None:
    proc = run_cli("export", str(built / "storyboard.yaml"), "--format", "edl")
    assert proc.returncode == 0, proc.stderr
    assert (built / "build" / "export" / "export.edl").is_file()
    assert "changed since the film was built" not in proc.stderr
    changed = built / "changed.yaml"
    changed.write_text((built / "storyboard.yaml").read_text("utf-8").replace("at dusk", "at dawn"), "utf-8")
    proc = run_cli("export", str(changed), "--format", "edl", "--out", str(built / "build"), "--output",
                   str(tmp_path / "x.edl"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "changed since the film was built" in proc.stderr


def test_export_refuses_a_film_not_built(tmp_path: Path) -> None:
    root = build_project(tmp_path / "p")
    write_storyboard(root, STORYBOARD)
    proc = run_cli("export", str(root / "storyboard.yaml"), "--format", "fcp7")
    assert proc.returncode == 2
    assert "has not been built" in proc.stderr and "storyboard build" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (root / "build" / "export").exists()


def test_export_refuses_a_build_whose_clips_are_gone(built: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(built, copy, symlinks=True)
    (copy / "build" / "shots" / "sky.mp4").unlink()
    proc = run_cli("export", str(copy / "storyboard.yaml"), "--format", "aaf")
    assert proc.returncode == 2
    assert "sky" in proc.stderr and "run `storyboard build" in proc.stderr
    assert "Traceback" not in proc.stderr
