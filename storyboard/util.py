"""Small helpers every layer needs: did-you-mean, content hashes, atomic writes.

They live here, in the shared contract, so that no layer borrows them from another (the
compiler from the build, media from the cache). Nothing here imports the rest of storyboard.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["atomic_write_bytes", "atomic_write_json", "closest", "did_you_mean", "make_readable", "sha256_file"]

Choices = list[str] | set[str] | tuple[str, ...]


def closest(word: str, choices: Choices) -> str | None:
    """The choice closest to ``word`` (difflib's ratio of at least 0.6), or None: the one did-you-mean."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, choices: Choices) -> str | None:
    """``did you mean 'X'?`` for the closest choice, or None."""
    close = closest(word, choices)
    return f"did you mean {close!r}?" if close else None


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _umask() -> int:
    """The process umask, read without changing it (Linux's /proc), else by the set-and-restore dance."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # pragma: no cover - not Linux
    os.umask(mask)
    return mask


def make_readable(path: Path) -> None:
    """Give a file the permissions a plain ``open()`` would (mkstemp makes them owner-only)."""
    os.chmod(path, 0o666 & ~_umask())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    # O_EXCL with mode 0o666: the umask applies as for open(), and no one else's file is reused
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically (sorted keys, indented)."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))
