"""Generated assets through the real fal-client against the fake fal server.

The fake checks each image request against fal's own schema for FLUX.1 [dev] and FLUX.1 Kontext
[pro] (storyboard/backends/fakefal/images.py, which never reads the compiler) and answers real
images of the size asked. A build killed while an image is being generated resumes the
journalled request: no image is paid for twice.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from PIL import Image

from sbtest import write_storyboard
from support.cli import results, run_cli, start_cli

KEY = "fal-test-key-generated-0001"
FAST = {"STORYBOARD_FAL_POLL": "0.05", "STORYBOARD_FAL_BACKOFF": "0.05"}
FLUX, KONTEXT = "fal-ai/flux/dev", "fal-ai/flux-pro/kontext"

SHEET = """\
version: 1
title: Sheet
characters:
  mira:
    generate:
      prompt: A young explorer with a red scarf, whole figure, plain background
      views: 2
images:
  hall:
    generate: {prompt: An empty glass hall at noon, aspect_ratio: "16:9"}
shots:
  - id: one
    start: hall
    duration: 3
    prompt: "@mira walks into the hall."
"""


def _cached_images(root: Path) -> dict[str, Path]:
    out = {}
    for record in (root / ".storyboard" / "cache" / "fal" / "images").rglob("*.json"):
        data = json.loads(record.read_text("utf-8"))
        out[data["id"]] = record.with_suffix(".png")
    return out


def test_a_generated_character_builds_through_the_real_client(project: Path, fake_fal_factory) -> None:
    from storyboard.backends.fakefal import Fault

    fake = fake_fal_factory()
    # the video endpoints' faults reach the image endpoints too: a 500 at submit is not queued, so it is sent again
    fake.add_fault(Fault(kind="500", phase="submit", times=1, match="explorer"))
    sb = write_storyboard(project, SHEET)
    env = {**fake.client_env(KEY), **FAST}
    proc = run_cli("build", str(sb), "--backend", "fal", env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert fake.count("submit", 500) == 1
    made = fake.image_submissions
    assert sorted(s.endpoint for s in made) == sorted([FLUX, FLUX, KONTEXT, KONTEXT])
    front = next(s.body for s in made if s.endpoint == FLUX and "explorer" in s.body["prompt"])
    assert front == {
        "prompt": "A young explorer with a red scarf, whole figure, plain background",
        "image_size": {"width": 768, "height": 1024},
        "num_images": 1,
        "seed": 1,
        "output_format": "png",
    }
    cached = _cached_images(project)
    uploads = {u.url: u for u in fake.uploads}
    views = [s.body for s in made if s.endpoint == KONTEXT]
    assert {v["image_url"] for v in views} <= set(uploads), "each view is made from the uploaded frontal image"
    assert len({v["image_url"] for v in views}) == 1, "the frontal image is uploaded once"
    with Image.open(cached["mira.front"]) as im:
        assert im.size == (768, 1024)
    with Image.open(cached["hall.image"]) as im:
        assert im.size == (1344, 768)
    with Image.open(cached["mira.view1"]) as im:  # Kontext keeps the input's shape at about a megapixel
        assert abs(im.width / im.height - 0.75) < 0.02
    shot = fake.submissions[0].body
    assert shot["elements"][0]["frontal_image_url"] in uploads and shot["image_urls"][0] in uploads
    assert len(shot["elements"][0]["reference_image_urls"]) == 2
    assert {r["status"] for r in results(project / "build").values()} == {"generated"}

    fake.reset()
    again = run_cli("build", str(sb), "--backend", "fal", env=env, timeout=600)
    assert again.returncode == 0, again.stderr
    assert fake.image_submissions == [] and fake.submissions == [], "a rebuild pays for nothing"

    # a bad request never leaves the machine: the compiler refuses it, exit 2, nothing sent
    fake.reset()
    write_storyboard(project, SHEET.replace("views: 2", "views: 4"))
    refused = run_cli("build", str(sb), "--backend", "fal", env=env, timeout=600)
    assert refused.returncode == 2 and "views: 4" in refused.stderr
    assert fake.image_submissions == [] and fake.calls == []


def _settled(journal: Path) -> bool:
    """At least one request is journalled as submitted, and none is only "submitting"."""
    if not journal.exists():
        return False
    events = [json.loads(line) for line in journal.read_text("utf-8").splitlines() if line.startswith("{")]
    sending = {e["key"] for e in events if e.get("event") == "submitting"}
    sent = {e["key"] for e in events if e.get("event") == "submitted"}
    return bool(sent) and sending <= sent


def test_the_fake_refuses_what_fal_refuses() -> None:
    from storyboard.backends.fakefal import images

    assert images.validate(FLUX, {"prompt": "x", "image_size": {"width": 20000, "height": 10}})[0]["loc"] == [
        "body", "image_size", "width",
    ]  # fmt: skip
    assert [e["loc"] for e in images.validate(KONTEXT, {"prompt": "x"})] == [["body", "image_url"]]
    assert images.validate(FLUX, {"prompt": "x", "output_format": "webp"})[0]["type"] == "enum"
    assert images.validate(FLUX, {"prompt": "x", "num_images": 5})[0]["type"] == "value_error"
    assert images.validate(FLUX, {"prompt": "x", "steps": 5})[0]["type"] == "extra_forbidden"
    assert images.validate(FLUX, {"prompt": "x", "image_size": "portrait_4_3", "seed": 3}) == []


def test_a_build_killed_while_an_image_is_made_resumes_it_without_paying_twice(project: Path, fake_fal_factory) -> None:
    fake = fake_fal_factory(processing_seconds=2.0)
    sb = write_storyboard(project, SHEET)
    env = {**fake.client_env(KEY), **FAST}
    journal = project / ".storyboard" / "cache" / "fal" / "state" / "journal.jsonl"
    proc = start_cli("build", str(sb), "--backend", "fal", cwd=project, env=env)
    try:
        deadline = time.monotonic() + 120
        # kill once fal has accepted a frontal image and the journal holds the id of every request sent
        # (a kill between sending and saving the id holds that image instead: tested for shots in test_crash)
        while proc.poll() is None and not _settled(journal):
            assert time.monotonic() < deadline, "no image was submitted"
            time.sleep(0.02)
        assert proc.poll() is None, "the build ended before the kill"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    before = [s.endpoint for s in fake.image_submissions]
    assert before and set(before) == {FLUX}, before  # killed while the frontal images ran
    rerun = run_cli("build", str(sb), "--backend", "fal", env=env, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert "resuming request" in rerun.stderr
    made = [s.endpoint for s in fake.image_submissions]
    assert sorted(made) == sorted([FLUX, FLUX, KONTEXT, KONTEXT]), f"an image was paid twice: {made}"
    assert len(fake.submissions) == 1
