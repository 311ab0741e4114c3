"""The build's file handling, piece by piece: copies that are not links, a read-only cache, lookups
that verify, sound frames, input snapshots, set-up sentences, redaction of every spelling of a key."""

from __future__ import annotations

import base64
import errno
import hashlib
import os
from pathlib import Path
from urllib.parse import quote

import pytest
from PIL import Image

from storyboard.build import cache as cache_module
from storyboard.build.cache import Cache, copy_bytes, place_file
from storyboard.build.inputs import snapshot_input
from storyboard.errors import AssetChangedError, describe_os_error, redact
from storyboard.media.frames import frame_is_sound
from storyboard.plan import AssetRef

DATA = os.urandom(3 * 1024 * 1024 + 17)


@pytest.mark.parametrize("path", ["reflink", "copy_file_range", "plain"])
def test_copy_bytes_makes_an_independent_copy_whichever_way_it_copies(tmp_path, monkeypatch, path):
    src, dest = tmp_path / "src.mp4", tmp_path / "dest.mp4"
    src.write_bytes(DATA)
    if path != "reflink":  # this machine's filesystem may not share blocks: refuse them outright
        monkeypatch.setattr(cache_module.fcntl, "ioctl", _refuse)
    if path == "plain":
        monkeypatch.setattr(cache_module.os, "copy_file_range", _refuse)
    copy_bytes(src, dest)
    assert dest.read_bytes() == DATA
    assert not os.path.samefile(src, dest)
    with open(dest, "r+b") as f:  # an in-place write into the copy
        f.write(b"\0" * 4096)
    assert src.read_bytes() == DATA


def test_a_copy_cut_short_by_copy_file_range_is_finished_by_a_plain_copy(tmp_path, monkeypatch):
    src, dest = tmp_path / "src.mp4", tmp_path / "dest.mp4"
    src.write_bytes(DATA)
    calls = []

    def short(fd_in: int, fd_out: int, count: int) -> int:
        calls.append(count)
        if len(calls) > 1:
            raise OSError(errno.EXDEV, "cross-device")
        return os.write(fd_out, os.read(fd_in, 1000))

    monkeypatch.setattr(cache_module.fcntl, "ioctl", _refuse)
    monkeypatch.setattr(cache_module.os, "copy_file_range", short)
    copy_bytes(src, dest)
    assert dest.read_bytes() == DATA and len(calls) == 2


def _refuse(*_args: object) -> int:
    raise OSError(errno.EOPNOTSUPP, "not supported")


def test_place_file_replaces_a_hard_link_and_leaves_a_good_copy_alone(tmp_path):
    src = tmp_path / "cache.mp4"
    src.write_bytes(DATA)
    digest = hashlib.sha256(DATA).hexdigest()
    dest = tmp_path / "build" / "s1.mp4"
    dest.parent.mkdir()
    os.link(src, dest)  # what older versions published
    place_file(src, dest, digest)
    assert not os.path.samefile(src, dest) and dest.read_bytes() == DATA
    inode = dest.stat().st_ino
    place_file(src, dest, digest)
    assert dest.stat().st_ino == inode, "a copy that holds the right bytes is not rewritten"
    dest.write_bytes(b"other")
    place_file(src, dest, digest)
    assert dest.read_bytes() == DATA
    assert not [p for p in dest.parent.iterdir() if p.name.startswith(".")], "no temp file left"


def test_stored_files_are_read_only_and_a_changed_clip_is_caught_even_when_remembered(tmp_path):
    cache = Cache(tmp_path / "cache", "preview")
    tmp = cache.temp_path("ab" * 32)
    tmp.write_bytes(DATA)
    record = cache.store("ab" * 32, tmp, shot_id="s1", duration=3.0)
    clip = cache.clip_path(record.key)
    assert clip.stat().st_mode & 0o777 == 0o444
    assert cache.record_path(record.key).stat().st_mode & 0o777 == 0o444
    assert cache.lookup(record.key) == record
    clip.chmod(0o644)
    data = bytearray(DATA)
    data[100] ^= 0xFF
    clip.write_bytes(bytes(data))  # same size, new bytes: the remembered hash must not hide it
    assert cache.lookup(record.key, drop=False) is None
    assert clip.exists(), "drop=False reports and keeps"
    assert cache.lookup(record.key) is None and not clip.exists()


def _png(path: Path) -> bytes:
    Image.new("RGB", (64, 48), (10, 200, 30)).save(path, format="PNG")
    return path.read_bytes()


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # truncated
        lambda b: b[:40] + bytes(x ^ 0xFF for x in b[40:48]) + b[48:],  # bytes flipped, same size
        lambda b: b"",  # empty
        lambda b: b"not a picture at all" * 10,  # junk
    ],
    ids=["truncated", "flipped", "empty", "junk"],
)
def test_a_damaged_frame_is_not_sound(tmp_path, damage):
    path = tmp_path / "frame.png"
    good = _png(path)
    assert frame_is_sound(path)
    path.write_bytes(damage(good))
    assert not frame_is_sound(path)


def test_a_jpeg_named_png_is_not_a_sound_frame(tmp_path):
    path = tmp_path / "frame.png"
    Image.new("RGB", (64, 48)).save(path, format="JPEG")
    assert not frame_is_sound(path)
    assert not frame_is_sound(tmp_path / "missing.png")


def test_snapshot_holds_the_hashed_bytes_or_refuses(tmp_path):
    asset = tmp_path / "mira.png"
    first = _png(asset)
    ref = AssetRef("file", str(asset), "assets/mira.png", hashlib.sha256(first).hexdigest())
    copy = snapshot_input(ref, tmp_path / "scratch", "s1")
    assert copy.read_bytes() == first and copy.name == "mira.png"
    assert copy.stat().st_mode & 0o777 == 0o444
    asset.write_bytes(first + b"\0")  # edited after compiling: the copy made before stands
    assert snapshot_input(ref, tmp_path / "scratch", "s2") == copy
    with pytest.raises(AssetChangedError, match="assets/mira.png changed while the build was running"):
        snapshot_input(ref, tmp_path / "other-scratch", "s3")
    asset.unlink()
    with pytest.raises(AssetChangedError, match="was removed while the build was running"):
        snapshot_input(ref, tmp_path / "third-scratch", "s4")
    assert not list((tmp_path / "other-scratch").rglob("*.tmp")), "no temp file left behind"


@pytest.mark.parametrize(
    ("code", "name", "words"),
    [
        (errno.ENOSPC, "build/shots/.s1.mp4.123.ab.tmp", "the disk holding build/shots is full: free some space"),
        (errno.EROFS, "build/run_results.json", "build/run_results.json is on a read-only filesystem"),
        (errno.EACCES, ".storyboard/cache", "storyboard may not use .storyboard/cache (permission denied)"),
        (errno.ENOTDIR, "afile/x", "afile/x goes through a file where a folder should be"),
        (errno.ENAMETOOLONG, "x" * 300, "is too long a name for the filesystem"),
    ],
)
def test_os_errors_become_sentences_naming_the_place_and_the_fix(code, name, words):
    text = describe_os_error(OSError(code, os.strerror(code), name))
    assert words in text
    assert "Errno" not in text


KEY_ID = "5f0e8c2a-7d4b-4e61-9a3f-0c9b8d7e6f5a"
KEY_SECRET = "9c4e2b7a1d6f3e8b5a0c7d2e4f6a8b1c"


@pytest.mark.parametrize("tail", ["", "\r", "\n", "\r\n", " "])
@pytest.mark.parametrize("split", [False, True])
def test_redact_covers_every_spelling_of_the_key(monkeypatch, tail, split):
    key = f"{KEY_ID}:{KEY_SECRET}"
    if split:
        monkeypatch.setenv("FAL_KEY_ID", KEY_ID)
        monkeypatch.setenv("FAL_KEY_SECRET", KEY_SECRET + tail)
    else:
        monkeypatch.setenv("FAL_KEY", key + tail)
    raw = key + tail
    texts = [
        f"Illegal header value b'Key {raw}'",
        f"Illegal header value {('Key ' + raw).encode()!r}",
        repr(raw),
        f'{{"authorization": "Key {raw}"}}'.replace("\r", "\\r").replace("\n", "\\n"),
        quote(raw, safe=""),
        quote(raw, safe="").lower(),
        quote(raw),
        base64.b64encode(key.encode()).decode(),
        f"id {KEY_ID} alone",
        f"secret {KEY_SECRET!r} alone",
        f"secret {quote(KEY_SECRET + tail)} encoded",
    ]
    for text in texts:
        out = redact(text)
        assert KEY_SECRET not in out and KEY_ID not in out, (text, out)
        assert "***" in out
    assert base64.b64encode(key.encode()).decode() not in redact(base64.b64encode(key.encode()).decode())
