"""The content-addressed store of everything paid for: clips and last frames, by plan key.

Layout under the cache folder (default ``.storyboard/cache`` beside the storyboard)::

    <backend>/clips/ab/<key>.mp4     a generated clip
    <backend>/clips/ab/<key>.json    its record: sha256, size, duration, shot id — written last
    <backend>/frames/ab/<key>.png    the clip's last frame (derived, re-extractable)
    <backend>/state/                 the backend's own state (fal: journal, upload URLs)
    <backend>/.lock                  held by a running build

A clip counts as cached only when its record exists and its bytes still hash to the recorded
sha256: a clip from a killed build (no record) or a damaged one is never trusted. Every write
is a temp file in the same folder, then an atomic rename; every stored file is read-only
(0o444), and the build folder gets copies (reflinks where the filesystem has them), never hard
links, so nothing written through the build folder reaches a paid clip.
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
    "copy_bytes",
    "hold_lock",
    "make_readable",
    "place_file",
    "release_lock",
    "remove_tree",
    "seal",
    "sha256_file",
]


FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int) — share the blocks copy-on-write (btrfs, xfs, …)
READ_ONLY = 0o444  # every file the cache holds: nothing may write into a paid clip in place


def copy_bytes(src: Path, dest: Path) -> None:
    """Write an independent copy of ``src`` to ``dest``: a reflink where the filesystem has one, else a copy.

    Never a hard link: a tool that writes into the copy in place (``cp other.mp4 build/shots/a.mp4``,
    ``ffmpeg -y … build/shots/a.mp4``) must not reach the cached clip behind it.
    """
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        try:
            fcntl.ioctl(fout.fileno(), FICLONE, fin.fileno())
            return
        except OSError:
            pass
        size = os.fstat(fin.fileno()).st_size
        try:  # in the kernel, without passing through Python (itself a reflink on some filesystems)
            done = 0
            while done < size:
                n = os.copy_file_range(fin.fileno(), fout.fileno(), size - done)
                if n == 0:
                    break
                done += n
            if done == size:
                return
        except (OSError, AttributeError):
            pass
        fin.seek(0)
        fout.seek(0)
        fout.truncate()
        shutil.copyfileobj(fin, fout, 1 << 20)


def place_file(src: Path, dest: Path, digest: str | None = None) -> None:
    """Put a copy of ``src`` at ``dest`` atomically (see :func:`copy_bytes`), writable by its owner.

    With ``digest`` (the sha256 of ``src``), a ``dest`` that already holds those bytes as a file
    of its own is left alone; a hard link into the cache (from older versions) is replaced.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    if digest is not None and _holds(dest, src, digest):
        return
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        copy_bytes(src, tmp)
        make_readable(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _holds(dest: Path, src: Path, digest: str) -> bool:
    """True when ``dest`` is a separate file (not a link to ``src``) with the bytes hashing to ``digest``."""
    try:
        st, src_st = dest.stat(), src.stat()
        if (st.st_dev, st.st_ino) == (src_st.st_dev, src_st.st_ino) or st.st_size != src_st.st_size:
            return False
        return sha256_file(dest) == digest
    except OSError:
        return False


def seal(path: Path) -> None:
    """Make a cache file read-only (0o444), so a stray in-place write fails instead of damaging it."""
    os.chmod(path, READ_ONLY)


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
        self._verified: dict[str, tuple[int, int, int]] = {}  # key → (size, mtime, inode) when last hashed

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

    @property
    def scratch_dir(self) -> Path:
        """Scratch space for one build (input snapshots, preview renders), emptied by the next build."""
        d = self.base / "scratch"
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
    def lookup(self, key: str, *, verify: bool = True, drop: bool = True) -> ClipRecord | None:
        """The record of a trustworthy cached clip, or None.

        ``verify`` hashes the clip (once per process while its size and mtime stay put); a damaged
        clip is reported in :attr:`warnings` and, with ``drop`` (only while holding the lock),
        removed so the build makes it again. Read-only commands pass ``drop=False``.
        """
        rec_path = self.record_path(key)
        clip = self.clip_path(key)
        if not rec_path.exists():
            return None
        try:
            data = json.loads(rec_path.read_text("utf-8"))
            record = ClipRecord(**{k: data[k] for k in ClipRecord.__slots__})
        except (OSError, ValueError, KeyError, TypeError):
            self._damaged(key, "its record is unreadable", drop)
            return None
        try:
            st = clip.stat()
        except OSError:
            self._damaged(key, "the clip file is missing", drop)
            return None
        if verify:
            stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
            if self._verified.get(key) != stamp:
                if st.st_size != record.size or sha256_file(clip) != record.sha256:
                    self._verified.pop(key, None)
                    self._damaged(key, "its bytes no longer match the recorded sha256", drop)
                    return None
                self._verified[key] = stamp
        return record

    def _damaged(self, key: str, why: str, drop: bool) -> None:
        if not drop:
            note = f"cached clip {key[:12]} is damaged ({why}); a build will generate it again"
            if note not in self.warnings:
                self.warnings.append(note)
            return
        self._drop(key, why)

    def _drop(self, key: str, why: str) -> None:
        self.warnings.append(f"cached clip {key[:12]} is damaged ({why}); it will be generated again")
        self.record_path(key).unlink(missing_ok=True)
        self.clip_path(key).unlink(missing_ok=True)
        self.frame_path(key).unlink(missing_ok=True)

    def has_frame(self, key: str) -> bool:
        """True when the last frame for ``key`` has been extracted and decodes as a picture."""
        from storyboard.media.frames import frame_is_sound

        p = self.frame_path(key)
        return frame_is_sound(p)

    # -- writes --------------------------------------------------------------------------
    def store(self, key: str, tmp_clip: Path, *, shot_id: str, duration: float) -> ClipRecord:
        """Move a validated clip into the store and write its record last."""
        digest = sha256_file(tmp_clip)
        size = tmp_clip.stat().st_size
        clip = self.clip_path(key)
        clip.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp_clip, "rb") as f:
            os.fsync(f.fileno())
        seal(tmp_clip)
        os.replace(tmp_clip, clip)
        st = clip.stat()
        self._verified[key] = (st.st_size, st.st_mtime_ns, st.st_ino)  # hashed just now
        record = ClipRecord(key, digest, size, duration, shot_id, self.backend)
        atomic_write_json(self.record_path(key), {k: getattr(record, k) for k in ClipRecord.__slots__})
        seal(self.record_path(key))
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
        """Remove what killed builds left (only while holding the lock): temp files, the scratch
        folder, stitch work folders; return how many files and folders went."""
        n = 0
        if not self.base.exists():
            return 0
        for p in self.base.rglob(".*.tmp*"):
            if p.is_file():
                p.unlink(missing_ok=True)
                n += 1
        for folder in (self.base / "scratch", self.base / "stitch"):
            if folder.is_dir():
                for p in folder.iterdir():
                    remove_tree(p)
                    n += 1
        return n


def remove_tree(path: Path) -> None:
    """Remove a file or a folder with everything in it, read-only files included."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


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
