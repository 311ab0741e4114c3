"""Every registered Kling model through the real fal-client against the fake fal server.

One storyboard with a shot on each endpoint of the registry (end frames, 12 s, several prompts,
native audio, edits): `storyboard build --backend fal` in a subprocess. The fake checks each
request against that endpoint's own published schema (storyboard/backends/fakefal/endpoints.py,
which never reads the compiler's registry) and returns clips of the endpoint's shape.
"""

from __future__ import annotations

from pathlib import Path

from sbtest import write_storyboard
from storyboard.compiler.models import packaged_registry
from storyboard.media.probe import probe
from support.cli import results, run_cli

KEY = "fal-test-key-models-0001"
FAST = {"STORYBOARD_FAL_POLL": "0.05", "STORYBOARD_FAL_BACKOFF": "0.05"}
REAL_SIZES = {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (960, 960)}  # Kling's outputs are ≥ 720p

FAMILY = """\
version: 1
title: The family
characters:
  mira: {image: assets/mira/front.png, references: [assets/mira/side.png]}
images:
  dawn: assets/yellow.png
  dusk: assets/blue.png
styles:
  ink: {images: [assets/style/ink.png]}
shots:
  - id: ref
    duration: 3
    prompt: "@mira waves."
  - id: ref_pro
    model: o1-pro
    duration: 3
    prompt: "@mira bows."
  - id: firstlast
    model: o1-i2v
    start: dawn
    end: dusk
    duration: 3
    prompt: The day passes.
  - id: firstlast_pro
    model: o1-i2v-pro
    start: ref.last_frame
    duration: 3
    prompt: The light fades.
  - id: long
    model: o3
    start: dawn
    end: ref.first_frame
    audio: true
    duration: 12
    style: ink
    prompt: "@mira walks and hums."
  - id: parts
    model: o3-pro
    multi_prompt:
      - {prompt: "@mira wakes.", duration: 3}
      - {prompt: "@mira stands.", duration: 3}
  - id: four_k
    model: o3-4k
    duration: 3
    prompt: A wide lake.
  - id: o3_i2v
    model: o3-i2v
    start: dusk
    audio: true
    duration: 3
    prompt: Night falls.
  - id: v3
    model: v3
    start: dawn
    duration: 3
    prompt: "@mira sings."
  - id: edit
    edit: ref
    prompt: Make it night around @mira.
  - id: edit_pro
    model: o1-edit-pro
    edit: edit
    prompt: Add snow.
"""


def test_every_registered_model_builds_through_the_real_client(project: Path, fake_fal_factory) -> None:
    fake = fake_fal_factory(video_sizes=REAL_SIZES)
    sb = write_storyboard(project, FAMILY)
    proc = run_cli("build", str(sb), "--backend", "fal", env={**fake.client_env(KEY), **FAST}, timeout=600)
    assert proc.returncode == 0, proc.stderr
    by_endpoint = {s.endpoint: s.body for s in fake.submissions}
    video_models = {m.endpoint for m in packaged_registry().models if m.kind in ("video", "edit")}
    assert set(by_endpoint) == video_models, "every registered model was submitted once"
    assert len(fake.submissions) == 11

    firstlast = by_endpoint["fal-ai/kling-video/o1/standard/image-to-video"]
    assert set(firstlast) == {"prompt", "start_image_url", "end_image_url", "duration"}
    long = next(s.body for s in fake.submissions if s.body.get("duration") == "12")
    assert long["generate_audio"] is True and "end_image_url" in long and "start_image_url" in long
    parts = by_endpoint["fal-ai/kling-video/o3/pro/reference-to-video"]
    assert [p["duration"] for p in parts["multi_prompt"]] == ["3", "3"] and "prompt" not in parts
    assert "image_url" in by_endpoint["fal-ai/kling-video/o3/standard/image-to-video"]
    uploaded = {u.url for u in fake.uploads}
    edit = by_endpoint["fal-ai/kling-video/o1/standard/video-to-video/edit"]
    assert edit["video_url"] in uploaded and "duration" not in edit

    shots = project / "build" / "shots"
    outcome = results(project / "build")
    assert {r["status"] for r in outcome.values()} == {"generated"}
    # measured from the files: an edit is as long and as large as its source; image-to-video
    # follows its start image's shape (the fixture's images are square)
    ref, edit_clip = probe(shots / "ref.mp4"), probe(shots / "edit.mp4")
    assert (edit_clip.width, edit_clip.height) == (ref.width, ref.height) == REAL_SIZES["16:9"]
    assert abs(edit_clip.duration - ref.duration) < 0.1
    assert (probe(shots / "firstlast.mp4").width, probe(shots / "firstlast.mp4").height) == REAL_SIZES["1:1"]
    assert abs(probe(shots / "long.mp4").duration - 12) < 0.1

    fake.reset()
    again = run_cli("build", str(sb), "--backend", "fal", env={**fake.client_env(KEY), **FAST}, timeout=600)
    assert again.returncode == 0, again.stderr
    assert fake.submissions == [], "a rebuild pays for nothing"


def test_an_edit_of_a_clip_too_small_for_the_endpoint_is_held(project: Path, fake_fal_factory) -> None:
    """The fake's default clips are 640×360: the edit endpoint takes 720 px and more, so nothing is sent for it."""
    fake = fake_fal_factory()
    sb = write_storyboard(
        project,
        "version: 1\ntitle: Small\nshots:\n  - id: a\n    duration: 3\n    prompt: A lake.\n"
        "  - id: b\n    edit: a\n    prompt: Make it night.\n",
    )
    proc = run_cli("build", str(sb), "--backend", "fal", env={**fake.client_env(KEY), **FAST}, timeout=600)
    assert proc.returncode == 1
    assert "held, nothing sent: the clip of 'a' is 640×360" in proc.stderr
    assert [s.endpoint for s in fake.submissions] == ["fal-ai/kling-video/o1/standard/reference-to-video"]
