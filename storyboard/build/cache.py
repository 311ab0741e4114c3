"""The content-addressed store of everything paid for: clips and last frames, by plan key.

Layout under the cache folder (default ``.storyboard/cache`` beside the storyboard)::

    <backend>/clips/ab/<key>.mp4     a generated clip
    <backend>/clips/ab/<key>.json    its record: sha256, size, duration, shot id — written last
    <backend>/frames/ab/<key>.png    the clip's last frame (derived, re-extractable)
    <backend>/state/                 the backend's own state (fal: journal, upload URLs)
    <backend>/.lock                  held by a running build

A clip counts as cached only when its record exists and its bytes still hash to the recorded
sha256: a clip from a killed build (no record) or a damaged one is never trusted. Every write
is a temp file in the same folder, then an atomic rename.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from storyboard.errors import BuildLockedError
from storyboard.util import atomic_write_bytes, atomic_write_json, make_readable, sha256_file

__all__ = [
    "Cache",
    "ClipRecord",
    "atomic_write_bytes",
    "atomic_write_json",
    "hold_lock",
    "make_readable",
    "place_file",
    "release_lock",
    "sha256_file",
]


def place_file(src: Path, dest: Path) -> None:
    """Put a copy of ``src`` at ``dest`` atomically (a hard link when the filesystem allows)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class ClipRecord:
    """What the cache knows about a stored clip."""

    key: str
    sha256: str
    size: int
    duration: float
    shot_id: str
    backend: str


class Cache:
    """One backend's part of the content-addressed store."""

    def __init__(self, root: Path, backend: str):
        self.root = root
        self.backend = backend
        self.base = root / backend
        self._lock_file: IO[str] | None = None
        self.warnings: list[str] = []

    # -- paths ---------------------------------------------------------------------------
    def clip_path(self, key: str) -> Path:
        """Where the clip for ``key`` lives (whether or not it exists)."""
        return self.base / "clips" / key[:2] / f"{key}.mp4"

    def record_path(self, key: str) -> Path:
        """Where the clip's record lives."""
        return self.base / "clips" / key[:2] / f"{key}.json"

    def frame_path(self, key: str) -> Path:
        """Where the last frame of the clip for ``key`` lives."""
        return self.base / "frames" / key[:2] / f"{key}.png"

    def first_frame_path(self, key: str) -> Path:
        """Where the first frame of the clip for ``key`` lives (a shot may end on it)."""
        return self.base / "frames" / key[:2] / f"{key}.first.png"

    @property
    def state_dir(self) -> Path:
        """The backend's own state folder."""
        d = self.base / "state"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def temp_path(self, key: str, suffix: str = ".mp4") -> Path:
        """A fresh temp path beside the final clip (same filesystem, so the rename is atomic)."""
        d = self.clip_path(key).parent
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, prefix=f".{key[:16]}.", suffix=f".tmp{suffix}")
        os.close(fd)
        return Path(tmp)

    # -- lookups -------------------------------------------------------------------------
    def lookup(self, key: str, *, verify: bool = True) -> ClipRecord | None:
        """The record of a trustworthy cached clip, or None (a damaged one is reported and dropped)."""
        rec_path = self.record_path(key)
        clip = self.clip_path(key)
        if not rec_path.exists():
            return None
        try:
            data = json.loads(rec_path.read_text("utf-8"))
            record = ClipRecord(**{k: data[k] for k in ClipRecord.__slots__})
        except (OSError, ValueError, KeyError, TypeError):
            self._drop(key, "its record is unreadable")
            return None
        if not clip.exists():
            self._drop(key, "the clip file is missing")
            return None
        if verify:
            if clip.stat().st_size != record.size or sha256_file(clip) != record.sha256:
                self._drop(key, "its bytes no longer match the recorded sha256")
                return None
        return record

    def _drop(self, key: str, why: str) -> None:
        self.warnings.append(f"cached clip {key[:12]} is damaged ({why}); it will be generated again")
        self.record_path(key).unlink(missing_ok=True)
        self.clip_path(key).unlink(missing_ok=True)
        self.frame_path(key).unlink(missing_ok=True)

    def has_frame(self, key: str) -> bool:
        """True when the last frame for ``key`` has been extracted."""
        p = self.frame_path(key)
        return p.exists() and p.stat().st_size > 0

    # -- writes --------------------------------------------------------------------------
    def store(self, key: str, tmp_clip: Path, *, shot_id: str, duration: float) -> ClipRecord:
        """Move a validated clip into the store and write its record last."""
        digest = sha256_file(tmp_clip)
        size = tmp_clip.stat().st_size
        clip = self.clip_path(key)
        clip.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp_clip, "rb") as f:
            os.fsync(f.fileno())
        make_readable(tmp_clip)
        os.replace(tmp_clip, clip)
        record = ClipRecord(key, digest, size, duration, shot_id, self.backend)
        atomic_write_json(self.record_path(key), {k: getattr(record, k) for k in ClipRecord.__slots__})
        return record

    # -- locking -------------------------------------------------------------------------
    def lock(self) -> None:
        """Take this backend's cache for one build; BuildLockedError if another build holds it."""
        self._lock_file = hold_lock(
            self.base / ".lock", f"the cache {self.base}", "wait for it to finish, or give this one its own --cache-dir"
        )

    def unlock(self) -> None:
        """Release the build lock."""
        release_lock(self._lock_file)
        self._lock_file = None

    def sweep_temps(self) -> int:
        """Remove temp files left by killed builds (only while holding the lock); return how many."""
        n = 0
        if not self.base.exists():
            return 0
        for p in self.base.rglob(".*.tmp*"):
            if p.is_file():
                p.unlink(missing_ok=True)
                n += 1
        return n


def hold_lock(path: Path, what: str, advice: str) -> IO[str]:
    """An exclusive, non-blocking flock on ``path`` (released by the kernel if the process dies).

    BuildLockedError naming ``what``, the holder's pid and ``advice`` when another process holds it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "a+", encoding="utf-8")
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        f.seek(0)
        holder = f.read().strip() or "?"
        f.close()
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            raise BuildLockedError(f"another build is using {what} (pid {holder}); {advice}") from None
        raise
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def release_lock(f: IO[str] | None) -> None:
    """Release a lock taken with :func:`hold_lock` (None is fine)."""
    if f is not None:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        f.close()
