"""Approvals and notes: ``<storyboard>.review.yaml`` beside the storyboard, a file people read and diff.

::

    # Review of storyboard.yaml: approvals and notes (written by `storyboard serve`; edit freely).
    version: 1
    shots:
      arrival:
        approved: true
        take: 2            # the take that was approved
        note: Mira's scarf should be redder.

Shots appear in storyboard order, one key per line, so a change to one shot is a small diff.
The file is written atomically; a file changed on disk since it was read is refused, as picks are.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from storyboard.errors import UsageError, relpath
from storyboard.util import atomic_write_bytes

REVIEW_VERSION = 1
MAX_NOTE = 4000  # characters


@dataclass(frozen=True, slots=True)
class ShotReview:
    """One shot's review: approved (and which take), and a note."""

    approved: bool = False
    take: int | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """As the live board's API gives it."""
        return {"approved": self.approved, "take": self.take, "note": self.note}


def review_path(storyboard: Path) -> Path:
    """``film.yaml`` → ``film.review.yaml`` in the same folder."""
    return storyboard.with_name(f"{storyboard.stem}.review.yaml")


def read_review(path: Path) -> dict[str, ShotReview]:
    """The reviews in ``path`` by shot id ({} when there is no file); UsageError when it is not readable."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    try:
        data = yaml.safe_load(raw.decode("utf-8")) or {}
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"{relpath(path)} is not readable YAML ({exc.__class__.__name__}); fix or delete it") from None
    shots = data.get("shots") if isinstance(data, dict) else None
    out: dict[str, ShotReview] = {}
    for sid, entry in (shots or {}).items() if isinstance(shots, dict) else ():
        if not isinstance(entry, dict):
            continue
        take = entry.get("take")
        out[str(sid)] = ShotReview(
            approved=entry.get("approved") is True,
            take=take if isinstance(take, int) and not isinstance(take, bool) else None,
            note=str(entry.get("note") or ""),
        )
    return out


def digest(path: Path) -> str | None:
    """sha256 of the file, or None when it does not exist."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def render_review(storyboard_name: str, reviews: dict[str, ShotReview], order: list[str]) -> str:
    """The file's text: a header comment, then the shots in storyboard order (others after, sorted)."""
    ids = [s for s in order if s in reviews] + sorted(s for s in reviews if s not in order)
    shots: dict[str, dict[str, Any]] = {}
    for sid in ids:
        r = reviews[sid]
        entry: dict[str, Any] = {"approved": r.approved}
        if r.take is not None:
            entry["take"] = r.take
        if r.note:
            entry["note"] = r.note
        if r.approved or r.note:
            shots[sid] = entry
    body = yaml.safe_dump({"version": REVIEW_VERSION, "shots": shots}, sort_keys=False, allow_unicode=True, width=100)
    head = f"# Review of {storyboard_name}: approvals and notes (written by `storyboard serve`; edit freely).\n"
    return head + body


def update_review(
    path: Path,
    storyboard_name: str,
    order: list[str],
    shot_id: str,
    *,
    approved: bool | None = None,
    take: int | None = None,
    note: str | None = None,
) -> dict[str, ShotReview]:
    """Change one shot's approval or note in ``path`` and write it atomically; returns every review.

    Refuses (StaleFileError-like UsageError) when the file changed between reading and writing.
    """
    if note is not None and len(note) > MAX_NOTE:
        raise UsageError(f"a note has at most {MAX_NOTE} characters")
    before = digest(path)
    reviews = read_review(path)
    old = reviews.get(shot_id, ShotReview())
    reviews[shot_id] = ShotReview(
        approved=old.approved if approved is None else approved,
        take=(take if approved else None) if approved is not None else old.take,
        note=old.note if note is None else note.strip(),
    )
    text = render_review(storyboard_name, reviews, order)
    if digest(path) != before:
        raise UsageError(f"{relpath(path)} changed on disk while it was being updated; nothing was written — try again")
    atomic_write_bytes(path, text.encode("utf-8"))
    return read_review(path)
