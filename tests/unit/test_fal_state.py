"""The fal backend's journal and upload cache: torn lines, versions, lifetimes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storyboard.backends.fal_state import (
    JOURNAL_VERSION,
    UPLOAD_LIFETIME_SECONDS,
    Journal,
    Submission,
    UploadCache,
    parse_records,
)
from storyboard.errors import UsageError

HEADER = json.dumps({"event": "journal", "version": JOURNAL_VERSION}) + "\n"


def line(**record: object) -> str:
    return json.dumps(record, sort_keys=True) + "\n"


def test_an_append_after_a_torn_line_starts_on_a_fresh_line(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_text(HEADER + line(event="submitting", key="k1", shot="a", t=1) + '{"event": "subm')  # torn by a crash
    journal = Journal(path)
    journal.submitting("k2", "b")
    assert path.read_text().splitlines()[-1].startswith('{"event": "submitting"')
    reloaded = Journal(path)
    assert reloaded.dangling("k1") and reloaded.dangling("k2"), "the record after the torn line was lost"


def test_a_record_glued_onto_a_torn_line_is_still_read(tmp_path: Path) -> None:
    """What an older version left: the next record appended on the torn line itself."""
    path = tmp_path / "journal.jsonl"
    glued = '{"endpoint": "e", "event": "submitted", "key": "k0", "req' + line(
        event="submitting", key="k3", shot="c", t=2
    )
    path.write_text(HEADER + glued + line(event="submitting", key="k4", shot="d", t=3))
    journal = Journal(path)
    assert journal.dangling("k3") and journal.dangling("k4")
    assert journal.active("k0") is None  # the torn record itself is not guessed at


@pytest.mark.parametrize("cut", [5, 17, 40])
def test_a_truncated_journal_never_hides_what_follows(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "journal.jsonl"
    sub = line(event="submitted", key="k1", shot="a", endpoint="e", request_id="r1", t=1)
    path.write_text(HEADER + sub[:cut])  # a full disk cut the last write
    Journal(path).submitting("k2", "b")
    Journal(path).submitted(Submission("k2", "b", "e", "r2", 2.0))
    reloaded = Journal(path)
    assert reloaded.active("k2") is not None and not reloaded.dangling("k2")


def test_parse_records_skips_blank_and_torn_lines() -> None:
    text = '{"a": 1}\n\n{"b": \n{"c": 3}\n{"x"{"d": 4}\n'
    assert parse_records(text) == [{"a": 1}, {"c": 3}, {"d": 4}]


def test_a_journal_from_version_1_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_text(line(event="submitting", key="k1", shot="a", t=1))  # version 1: no header
    journal = Journal(path)
    assert journal.dangling("k1") and journal.notes
    assert path.read_text().splitlines()[0] == HEADER.strip()


def test_a_journal_from_a_newer_version_is_refused_not_misread(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_text(json.dumps({"event": "journal", "version": 99}) + "\n" + line(event="whatever", key="k"))
    with pytest.raises(UsageError, match="another version of storyboard"):
        Journal(path)
    assert Journal(path, read_only=True).videos() == {}


def test_videos_are_journalled_and_forgotten_when_gone(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    sub = Submission("k", "a", "e", "r", 1.0)
    journal.submitted(sub)
    journal.result(sub, "https://v3.fal.media/files/x/output.mp4", 123)
    journal.ended(sub, "finished")
    video = Journal(tmp_path / "journal.jsonl").video("k")
    assert video is not None and video.url.endswith("output.mp4") and video.size == 123
    journal.url_gone(video, "HTTP 404")
    assert Journal(tmp_path / "journal.jsonl").video("k") is None


def test_a_rejection_holds_the_key_until_released(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    sub = Submission("k", "a", "e", "r", 1.0)
    journal.submitted(sub)
    journal.ended(sub, "rejected", "elementReferList: size must be between 1 and 3")
    assert "elementReferList" in (Journal(tmp_path / "journal.jsonl").rejected("k") or "")
    journal.drop_intent("k", "--force")
    assert Journal(tmp_path / "journal.jsonl").rejected("k") is None


def test_uploads_are_reused_until_a_day_before_they_expire(tmp_path: Path) -> None:
    cache = UploadCache(tmp_path / "uploads.json")
    cache.put("d", "https://v3.fal.media/files/a/b.png", 10)
    data = json.loads((tmp_path / "uploads.json").read_text())
    assert data["version"] == 2
    entry = data["uploads"]["d"]
    assert entry["expires_at"] - entry["uploaded_at"] == UPLOAD_LIFETIME_SECONDS
    assert cache.get("d", now=entry["uploaded_at"] + 5 * 86400) is not None
    assert cache.get("d", now=entry["uploaded_at"] + 6 * 86400 + 1) is None


def test_an_upload_cache_from_version_1_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "uploads.json"
    path.write_text(json.dumps({"d": {"url": "https://v3.fal.media/files/a/b.png", "uploaded_at": 1000.0, "size": 3}}))
    cache = UploadCache(path)
    assert cache.notes and cache.get("d", now=1000.0 + 86400) == "https://v3.fal.media/files/a/b.png"


@pytest.mark.parametrize("text", ['{"version": 7, "uploads": {}}', "not json", "[1, 2]"])
def test_an_upload_cache_of_another_version_is_moved_aside(tmp_path: Path, text: str) -> None:
    path = tmp_path / "uploads.json"
    path.write_text(text)
    cache = UploadCache(path)
    assert cache.get("d") is None and cache.notes and "moved to" in cache.notes[0]
    assert not path.exists() and [p.name for p in tmp_path.iterdir() if p.name.endswith(".old")]
