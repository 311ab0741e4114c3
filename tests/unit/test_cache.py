"""The content-addressed cache: only a recorded clip whose bytes still match is trusted."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from storyboard.build.cache import Cache, place_file
from storyboard.errors import BuildLockedError
from support.tiny import store_tiny, tiny_clip

KEY = "ab" + "0" * 62


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "cache", "tiny")


def test_a_stored_clip_is_found_with_its_record(cache: Cache) -> None:
    store_tiny(cache, KEY, 3, "a")
    record = cache.lookup(KEY)
    assert record is not None and (record.shot_id, record.backend, record.duration) == ("a", "tiny", 3.0)
    assert record.size == len(tiny_clip(3)) and cache.clip_path(KEY).read_bytes() == tiny_clip(3)
    assert cache.clip_path(KEY).parent.name == "ab", "clips are sharded by the key's first two characters"
    assert json.loads(cache.record_path(KEY).read_text())["sha256"] == record.sha256
    assert cache.warnings == []


def test_nothing_stored_is_a_miss(cache: Cache) -> None:
    assert cache.lookup(KEY) is None and cache.warnings == []


def test_a_clip_without_its_record_is_not_trusted(cache: Cache) -> None:
    """A build killed between the clip and its record (the record is written last)."""
    clip = cache.clip_path(KEY)
    clip.parent.mkdir(parents=True)
    clip.write_bytes(tiny_clip(3))
    assert cache.lookup(KEY) is None


def test_changed_bytes_are_dropped_with_a_warning(cache: Cache) -> None:
    store_tiny(cache, KEY, 3, "a")
    data = bytearray(cache.clip_path(KEY).read_bytes())
    data[-1] ^= 0xFF
    cache.clip_path(KEY).write_bytes(bytes(data))
    assert cache.lookup(KEY, verify=False) is not None, "the quick lookup trusts the record"
    assert cache.lookup(KEY) is None
    assert not cache.clip_path(KEY).exists() and not cache.record_path(KEY).exists()
    assert cache.warnings == [
        f"cached clip {KEY[:12]} is damaged (its bytes no longer match the recorded sha256); it will be generated again"
    ]


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda c: c.record_path(KEY).write_text("{", "utf-8"), "its record is unreadable"),
        (lambda c: c.record_path(KEY).write_text('{"key": 1}', "utf-8"), "its record is unreadable"),
        (lambda c: c.clip_path(KEY).unlink(), "the clip file is missing"),
    ],
)
def test_damage_is_reported_and_dropped(cache: Cache, damage, why: str) -> None:  # type: ignore[no-untyped-def]
    store_tiny(cache, KEY, 3, "a")
    frame = cache.frame_path(KEY)
    frame.parent.mkdir(parents=True)
    frame.write_bytes(b"png")
    damage(cache)
    assert cache.lookup(KEY) is None
    assert why in cache.warnings[0]
    assert not cache.has_frame(KEY), "a dropped clip's last frame goes too"


def test_only_a_frame_that_decodes_counts(cache: Cache) -> None:
    from PIL import Image

    frame = cache.frame_path(KEY)
    frame.parent.mkdir(parents=True)
    frame.write_bytes(b"")
    assert not cache.has_frame(KEY)
    frame.write_bytes(b"png")  # bytes, but no picture: never a start frame
    assert not cache.has_frame(KEY)
    Image.new("RGB", (32, 32), (9, 9, 9)).save(frame, format="PNG")
    assert cache.has_frame(KEY)


def test_temp_files_live_beside_the_clip_and_are_swept(cache: Cache) -> None:
    tmp = cache.temp_path(KEY)
    assert tmp.parent == cache.clip_path(KEY).parent and tmp.name.startswith(".")
    cache.lock()
    try:
        assert cache.sweep_temps() == 1 and not tmp.exists()
    finally:
        cache.unlock()


def test_one_build_at_a_time(cache: Cache, tmp_path: Path) -> None:
    cache.lock()
    try:
        other = Cache(tmp_path / "cache", "tiny")
        with pytest.raises(BuildLockedError, match=rf"another build is using the cache .* \(pid {os.getpid()}\)"):
            other.lock()
        free = Cache(tmp_path / "cache", "other")
        free.lock()  # another backend's part is free
        free.unlock()
    finally:
        cache.unlock()
    other.lock()
    other.unlock()


def test_stored_files_are_readable_by_others(cache: Cache) -> None:
    store_tiny(cache, KEY, 3, "a")
    assert cache.clip_path(KEY).stat().st_mode & 0o044


def test_place_file_replaces_atomically(tmp_path: Path) -> None:
    src, dest = tmp_path / "src.mp4", tmp_path / "out" / "dest.mp4"
    src.write_bytes(b"one")
    place_file(src, dest)
    src2 = tmp_path / "src2.mp4"
    src2.write_bytes(b"two")
    place_file(src2, dest)
    assert dest.read_bytes() == b"two" and sorted(p.name for p in dest.parent.iterdir()) == ["dest.mp4"]
