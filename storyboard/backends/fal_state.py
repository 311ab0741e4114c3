"""The fal backend's durable state: the journal of submitted requests and the upload cache.

Both live in the backend's state folder inside the cache (``<cache>/fal/state``), which only
one build uses at a time (the cache lock). Neither ever holds a credential. Both carry a
version number; a file from another version is migrated (from version 1) or refused/moved
aside with a message, never misread.

* ``journal.jsonl`` — append-only, fsynced: a request id is on disk before we wait on it, so a
  build killed at any moment and run again polls the same request instead of paying again. Its
  first line is ``{"event": "journal", "version": 2}``. Every append starts on a fresh line, and
  a line torn by a crash (a full disk, a power cut) never hides the records after it. The
  result's video URL is journalled too, so a cached clip damaged later is downloaded again from
  fal's CDN while that URL lives instead of being paid for again.
* ``uploads.json`` — ``{"version": 2, "uploads": {sha256: {url, uploaded_at, expires_at, size}}}``:
  a URL is reused until a day before the lifetime it was uploaded with runs out.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from storyboard.errors import UsageError, redact
from storyboard.util import atomic_write_bytes, atomic_write_json

JOURNAL_VERSION = 2
UPLOADS_VERSION = 2
UPLOAD_LIFETIME: Final = "7d"  # asked of fal explicitly for every upload (fal_client.StorageSettings)
UPLOAD_LIFETIME_SECONDS = 7 * 24 * 3600
UPLOAD_MARGIN_SECONDS = 24 * 3600  # an upload is reused until this long before it expires
UPLOAD_TTL_SECONDS = UPLOAD_LIFETIME_SECONDS - UPLOAD_MARGIN_SECONDS


class Submittable(Protocol):
    """What a submission needs of the node it is for (a shot, a sound or an image): its id, key and endpoint."""

    @property
    def id(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def endpoint(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Submission:
    """A request that was submitted for a shot key and may still be running or done."""

    key: str
    shot: str
    endpoint: str
    request_id: str
    submitted_at: float


@dataclass(frozen=True, slots=True)
class Video:
    """Where fal put the result of a finished request for a shot key."""

    key: str
    request_id: str
    url: str
    size: int | None


def parse_records(text: str) -> list[dict[str, Any]]:
    """Every whole JSON record in a journal's text, torn lines skipped but never what follows them.

    A torn line is a record cut short by a crash; an older version of the tool could then glue
    the next record onto it on the same line. Each ``{`` on an unreadable line is tried as the
    start of a record that runs to the end of the line, so the glued record is still found.
    """
    decoder = json.JSONDecoder()
    out: list[dict[str, Any]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
            start = line.find("{", 1)
            while start != -1:
                try:
                    candidate, end = decoder.raw_decode(line, start)
                except ValueError:
                    candidate, end = None, -1
                if isinstance(candidate, dict) and end == len(line):
                    record = candidate
                    break
                start = line.find("{", start + 1)
        if isinstance(record, dict):
            out.append(record)
    return out


class Journal:
    """Append-only record of submissions and their ends, keyed by shot cache key."""

    def __init__(self, path: Path, *, read_only: bool = False):
        self.path = path
        self.read_only = read_only  # only look: no migration written, another version reads as empty
        self._lock = threading.Lock()
        self._active: dict[str, Submission] = {}
        self._intents: set[str] = set()  # keys being submitted whose request id was never written
        self._rejected: dict[str, str] = {}  # keys fal refused after accepting them (a phantom), with fal's words
        self._videos: dict[str, Video] = {}  # keys whose result video URL is known
        self.notes: list[str] = []  # what the user should know about the file (a migration)
        self._load()

    def _load(self) -> None:
        try:
            text = self.path.read_text("utf-8", errors="replace")
        except FileNotFoundError:
            text = ""
        records = parse_records(text)
        if records and records[0].get("event") == "journal":
            version = records[0].get("version")
            if version != JOURNAL_VERSION and self.read_only:
                return
            if version != JOURNAL_VERSION:
                raise UsageError(
                    f"{self.path} was written by another version of storyboard (journal version {version!r}, "
                    f"this one reads {JOURNAL_VERSION}); it may hold requests still running on fal, so it is not "
                    "read blindly. Build with the version that wrote it, or — once every request listed there is "
                    "finished at https://fal.ai/dashboard/requests — move the file aside"
                )
        elif records and not self.read_only:  # version 1 had no header; its records mean the same: migrate in place
            header = json.dumps({"event": "journal", "version": JOURNAL_VERSION}) + "\n"
            body = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
            atomic_write_bytes(self.path, (header + body).encode("utf-8"))
            self.notes.append(f"the fal journal {self.path} was migrated from version 1 to {JOURNAL_VERSION}")
        for e in records:
            self._apply(e)

    def _apply(self, e: dict[str, Any]) -> None:
        event, key = e.get("event"), e.get("key")
        if not isinstance(key, str):
            return
        try:
            if event == "submitting":
                self._intents.add(key)
            elif event == "intent_dropped":
                self._intents.discard(key)
                self._rejected.pop(key, None)
            elif event == "submitted":
                self._intents.discard(key)
                self._active[key] = Submission(key, e["shot"], e["endpoint"], e["request_id"], e["t"])
            elif event == "result" and isinstance(e.get("url"), str):
                self._videos[key] = Video(key, e["request_id"], e["url"], e.get("size"))
            elif event == "url_gone":
                if key in self._videos and self._videos[key].url == e.get("url"):
                    del self._videos[key]
            elif event in ("finished", "failed", "abandoned", "rejected"):
                current = self._active.get(key)
                if current is not None and current.request_id == e.get("request_id"):
                    del self._active[key]
                if event == "rejected":
                    self._rejected[key] = str(e.get("detail", ""))
        except KeyError:
            return  # a record missing a field it needs: not ours to guess

    def _append(self, entry: dict[str, object]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(entry, sort_keys=True) + "\n").encode("utf-8")
        with open(self.path, "a+b") as f:
            size = f.seek(0, os.SEEK_END)
            if size == 0 and entry.get("event") != "journal":
                f.write((json.dumps({"event": "journal", "version": JOURNAL_VERSION}) + "\n").encode("utf-8"))
            elif size > 0:
                f.seek(size - 1)
                if f.read(1) != b"\n":  # the last line was torn: start this record on a line of its own
                    line = b"\n" + line
                f.seek(0, os.SEEK_END)
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        self._apply(entry)

    def active(self, key: str) -> Submission | None:
        """The submission for ``key`` that has not ended, if any."""
        with self._lock:
            return self._active.get(key)

    def dangling(self, key: str) -> bool:
        """True when an earlier build was stopped between sending ``key``'s request and saving its id."""
        with self._lock:
            return key in self._intents

    def rejected(self, key: str) -> str | None:
        """fal's words if it refused ``key``'s request after accepting it (held until --force)."""
        with self._lock:
            return self._rejected.get(key)

    def video(self, key: str) -> Video | None:
        """The result video journalled for ``key`` whose URL is not known to be gone."""
        with self._lock:
            return self._videos.get(key)

    def videos(self) -> dict[str, Video]:
        """Every journalled result video by key."""
        with self._lock:
            return dict(self._videos)

    def submitting(self, key: str, shot: str) -> None:
        """Record durably that ``key``'s request is about to be sent (closed by submitted or dropped)."""
        with self._lock:
            self._append({"event": "submitting", "key": key, "shot": shot, "t": time.time()})

    def drop_intent(self, key: str, why: str) -> None:
        """The request certainly did not reach fal's queue (or the user chose to send it again)."""
        with self._lock:
            self._append({"event": "intent_dropped", "key": key, "t": time.time(), "detail": redact(why)[:200]})

    def submitted(self, sub: Submission) -> None:
        """Record a submission durably (before waiting on it)."""
        with self._lock:
            self._append(
                {
                    "event": "submitted",
                    "key": sub.key,
                    "shot": sub.shot,
                    "endpoint": sub.endpoint,
                    "request_id": sub.request_id,
                    "t": sub.submitted_at,
                }
            )

    def result(self, sub: Submission, url: str, size: int | None) -> None:
        """Record where the finished request's video is, before downloading it."""
        with self._lock:
            self._append(
                {
                    "event": "result",
                    "key": sub.key,
                    "request_id": sub.request_id,
                    "url": url,
                    "size": size,
                    "t": time.time(),
                }
            )

    def url_gone(self, video: Video, why: str) -> None:
        """The CDN no longer serves ``video``: regenerating it would be paid."""
        with self._lock:
            self._append({"event": "url_gone", "key": video.key, "url": video.url, "t": time.time(), "detail": why})

    def ended(self, sub: Submission, event: str, detail: str = "") -> None:
        """Record that a submission ended: ``finished`` (clip cached), ``failed``, ``abandoned`` or ``rejected``."""
        with self._lock:
            self._append(
                {
                    "event": event,
                    "key": sub.key,
                    "request_id": sub.request_id,
                    "t": time.time(),
                    "detail": redact(detail)[:500],
                }
            )  # fal's error text may echo the key


def read_videos(state_dir: Path) -> dict[str, Video]:
    """The journalled result videos of a state folder, read without changing anything."""
    return Journal(state_dir / "journal.jsonl", read_only=True).videos()


class UploadCache:
    """Content hash → uploaded URL, reused until :data:`UPLOAD_MARGIN_SECONDS` before it expires."""

    def __init__(self, path: Path, margin: float = UPLOAD_MARGIN_SECONDS):
        self.path = path
        self.margin = margin
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self.notes: list[str] = []
        self._data: dict[str, dict[str, Any]] = self._read()

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return self._move_aside("it is unreadable")
        if isinstance(data, dict) and data.get("version") == UPLOADS_VERSION and isinstance(data.get("uploads"), dict):
            return {k: v for k, v in data["uploads"].items() if isinstance(v, dict)}
        if data == {}:
            return {}
        if isinstance(data, dict) and "version" not in data and all(isinstance(v, dict) for v in data.values()):
            # version 1: {sha256: {url, uploaded_at, size}}, uploaded with fal's default lifetime (at least 7 days)
            migrated = {}
            for digest, entry in data.items():
                try:
                    uploaded = float(entry["uploaded_at"])
                    migrated[digest] = {**entry, "expires_at": uploaded + UPLOAD_LIFETIME_SECONDS}
                except (KeyError, TypeError, ValueError):
                    continue
            self.notes.append(f"the upload cache {self.path} was migrated from version 1 to {UPLOADS_VERSION}")
            return migrated
        version = data.get("version") if isinstance(data, dict) else None
        return self._move_aside(f"it is version {version!r}, this storyboard reads {UPLOADS_VERSION}")

    def _move_aside(self, why: str) -> dict[str, dict[str, Any]]:
        aside = self.path.with_name(f"{self.path.name}.{int(time.time())}.old")
        try:
            os.replace(self.path, aside)
        except OSError:
            aside = self.path
        self.notes.append(
            f"the upload cache {self.path} was not used ({why}); moved to {aside.name} — inputs are uploaded again"
        )
        return {}

    def lock_for(self, digest: str) -> threading.Lock:
        """A lock per content hash, so two shots never upload the same bytes at once."""
        with self._lock:
            return self._locks.setdefault(digest, threading.Lock())

    def get(self, digest: str, now: float | None = None) -> str | None:
        """The URL for these bytes while it has more than the margin left to live."""
        with self._lock:
            entry = self._data.get(digest)
        if not entry:
            return None
        try:
            expires = float(entry["expires_at"])
            url = str(entry["url"])
        except (KeyError, TypeError, ValueError):
            return None
        if (now if now is not None else time.time()) > expires - self.margin:
            return None
        return url

    def put(self, digest: str, url: str, size: int, lifetime: float = UPLOAD_LIFETIME_SECONDS) -> None:
        """Remember an upload made with ``lifetime`` seconds to live (written atomically)."""
        now = time.time()
        with self._lock:
            self._data[digest] = {"url": url, "uploaded_at": now, "expires_at": now + lifetime, "size": size}
            atomic_write_json(self.path, {"version": UPLOADS_VERSION, "uploads": self._data})
