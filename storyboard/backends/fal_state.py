"""The fal backend's durable state: the journal of submitted requests and the upload cache.

Both live in the backend's state folder inside the cache (``<cache>/fal/state``), which only
one build uses at a time (the cache lock). Neither ever holds a credential.

* ``journal.jsonl`` — append-only, fsynced: a request id is on disk before we wait on it, so a
  build killed at any moment and run again polls the same request instead of paying again.
* ``uploads.json`` — content hash → CDN URL and upload time; a URL is reused for 6 days
  (fal keeps uploads at least 7).
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from storyboard.errors import redact
from storyboard.util import atomic_write_json

UPLOAD_TTL_SECONDS = 6 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Submission:
    """A request that was submitted for a shot key and may still be running or done."""

    key: str
    shot: str
    endpoint: str
    request_id: str
    submitted_at: float


class Journal:
    """Append-only record of submissions and their ends, keyed by shot cache key."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._active: dict[str, Submission] = {}
        self._intents: set[str] = set()  # keys being submitted whose request id was never written
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue  # a line torn by a crash: everything before it still counts
                if e.get("event") == "submitting":
                    self._intents.add(e["key"])
                elif e.get("event") == "intent_dropped":
                    self._intents.discard(e["key"])
                elif e.get("event") == "submitted":
                    self._intents.discard(e["key"])
                    self._active[e["key"]] = Submission(e["key"], e["shot"], e["endpoint"], e["request_id"], e["t"])
                elif e.get("event") in ("finished", "failed", "abandoned"):
                    current = self._active.get(e["key"])
                    if current is not None and current.request_id == e.get("request_id"):
                        del self._active[e["key"]]

    def active(self, key: str) -> Submission | None:
        """The submission for ``key`` that has not ended, if any."""
        with self._lock:
            return self._active.get(key)

    def _append(self, entry: dict[str, object]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, sort_keys=True) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def dangling(self, key: str) -> bool:
        """True when an earlier build was stopped between sending ``key``'s request and saving its id."""
        with self._lock:
            return key in self._intents

    def submitting(self, key: str, shot: str) -> None:
        """Record durably that ``key``'s request is about to be sent (closed by submitted or dropped)."""
        with self._lock:
            self._append({"event": "submitting", "key": key, "shot": shot, "t": time.time()})
            self._intents.add(key)

    def drop_intent(self, key: str, why: str) -> None:
        """The request certainly did not reach fal's queue (or the user chose to send it again)."""
        with self._lock:
            self._append({"event": "intent_dropped", "key": key, "t": time.time(), "detail": redact(why)[:200]})
            self._intents.discard(key)

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
            self._active[sub.key] = sub
            self._intents.discard(sub.key)

    def ended(self, sub: Submission, event: str, detail: str = "") -> None:
        """Record that a submission ended: ``finished`` (clip stored in the cache), ``failed`` or ``abandoned``."""
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
            if self._active.get(sub.key) == sub:
                del self._active[sub.key]


class UploadCache:
    """Content hash → uploaded URL, reused while younger than :data:`UPLOAD_TTL_SECONDS`."""

    def __init__(self, path: Path, ttl: float = UPLOAD_TTL_SECONDS):
        self.path = path
        self.ttl = ttl
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        try:
            self._data: dict[str, dict[str, object]] = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            self._data = {}

    def lock_for(self, digest: str) -> threading.Lock:
        """A lock per content hash, so two shots never upload the same bytes at once."""
        with self._lock:
            return self._locks.setdefault(digest, threading.Lock())

    def get(self, digest: str, now: float | None = None) -> str | None:
        """The URL for these bytes if uploaded recently enough."""
        with self._lock:
            entry = self._data.get(digest)
        if not entry:
            return None
        if (now or time.time()) - float(entry["uploaded_at"]) > self.ttl:  # type: ignore[arg-type]
            return None
        return str(entry["url"])

    def put(self, digest: str, url: str, size: int) -> None:
        """Remember an upload (written atomically)."""
        with self._lock:
            self._data[digest] = {"url": url, "uploaded_at": time.time(), "size": size}
            atomic_write_json(self.path, self._data)
