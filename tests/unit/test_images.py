"""Generated images in the build: the checks before an image is sent on to Kling, the store, what a build needs."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from sbtest import write_storyboard
from storyboard.build.cache import Cache
from storyboard.build.images import ImageStore, check_generated, images_needed
from storyboard.compiler.compile import compile_file
from storyboard.errors import MediaError

SHEET = """\
version: 1
title: Sheet
characters:
  mira: {generate: {prompt: an explorer, views: 2}}
images:
  hall: {generate: {prompt: a hall}}
shots:
  - id: one
    prompt: "@mira walks."
  - id: two
    start: hall
    prompt: An empty hall.
"""


def _png(path: Path, size: tuple[int, int], fmt: str = "PNG") -> Path:
    Image.new("RGB", size, (90, 120, 150)).save(path, format=fmt)
    return path


@pytest.fixture
def plan(project: Path):
    return compile_file(write_storyboard(project, SHEET))


def test_a_generated_image_is_checked_against_klings_limits(plan, tmp_path: Path) -> None:
    front, view = plan.image("mira.front"), plan.image("mira.view1")
    assert check_generated(front, _png(tmp_path / "ok.png", (768, 1024))) == ("PNG", 768, 1024)
    with pytest.raises(MediaError, match="is 640×1024, not the 768×1024 asked for"):
        check_generated(front, _png(tmp_path / "other.png", (640, 1024)))
    assert check_generated(view, _png(tmp_path / "view.png", (880, 1184)))[1:] == (
        880,
        1184,
    )  # a view's size is the endpoint's
    with pytest.raises(MediaError, match="at least 300 pixels a side"):
        check_generated(view, _png(tmp_path / "small.png", (299, 400)))
    with pytest.raises(MediaError, match="aspect ratio 2.67"):
        check_generated(view, _png(tmp_path / "wide.png", (1600, 600)))
    with pytest.raises(MediaError, match="GIF image"):
        check_generated(view, _png(tmp_path / "anim.gif", (400, 400), "GIF"))
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(MediaError, match="not a readable image"):
        check_generated(view, tmp_path / "junk.png")


def test_the_store_trusts_only_an_image_that_still_hashes_to_its_record(plan, tmp_path: Path) -> None:
    store = ImageStore(Cache(tmp_path / "cache", "preview"))
    front = plan.image("mira.front")
    raw = store.temp(front.key)
    _png(raw, (768, 1024))
    record = store.store(front, raw, "preview")
    assert store.file(front.key) == store.path(record) and not raw.exists()
    store.path(record).chmod(0o644)
    store.path(record).write_bytes(b"damaged")
    assert store.lookup(front.key) is None and not store.record_path(front.key).exists()


def test_a_selection_needs_the_images_of_its_shots_and_their_sources(plan) -> None:
    assert [i.id for i in images_needed(plan, None)] == ["mira.front", "mira.view1", "mira.view2", "hall.image"]
    assert [i.id for i in images_needed(plan, [plan.shot("two")])] == ["hall.image"]
    only_view = [i for i in images_needed(plan, [plan.shot("one")]) if i.source]
    assert {i.source for i in only_view} == {"mira.front"}
