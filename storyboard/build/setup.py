"""Before a build spends anything: the folders it writes to are usable; after a killed one, no litter.

A build writes into two folders: the build folder (``--out``) and the cache (``--cache-dir``).
A path naming a file, a read-only folder or a full disk is found here, before any shot is
generated, and reported as one sentence naming the folder and the fix (exit 2) — not as an
``OSError`` traceback after the money is spent.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from storyboard.build.cache import remove_tree
from storyboard.errors import SetupError, describe_os_error, relpath

LITTER = (".*.tmp", ".*.tmp.*", ".*.partial.mp4")  # temp files and half-stitched films of killed builds


MIN_FREE_BYTES = 32 * 1024 * 1024  # below this, the first clip or the film would not fit


def refuse_file_on_path(path: Path, what: str, flag: str) -> None:
    """SetupError when ``path``, or the nearest part of it that exists, is a file rather than a folder."""
    for parent in (path, *path.parents):
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                where = "is a file" if parent == path else f"is inside {relpath(parent)}, which is a file"
                raise SetupError(
                    f"{what} {relpath(path)} {where}, not a folder: remove or rename that file, or give another "
                    f"folder with {flag}"
                )
            return


def check_folder(path: Path, what: str, flag: str, min_free: int = MIN_FREE_BYTES) -> None:
    """SetupError unless ``path`` is (or can be made) a folder this process can write a file in, on a
    disk with at least ``min_free`` bytes free."""
    shown = relpath(path)
    refuse_file_on_path(path, what, flag)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-check.{os.getpid()}.tmp"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"storyboard write check\n")
            os.fsync(fd)
        finally:
            os.close(fd)
            probe.unlink(missing_ok=True)
        st = os.statvfs(path)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise SetupError(
                f"{what} {shown} is read-only for storyboard: make it writable (chmod u+w), or give another "
                f"folder with {flag}"
            ) from None
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise _full(what, shown, flag) from None
        raise SetupError(f"{what} {shown} cannot be used: {describe_os_error(exc)}") from None
    free = st.f_bavail * st.f_frsize
    if free < min_free:
        raise _full(what, shown, flag, f" (only {free // 1024} KB free; a build needs {min_free // 2**20} MB at least)")


def _full(what: str, shown: str, flag: str, detail: str = "") -> SetupError:
    return SetupError(
        f"the disk holding {what} {shown} is full{detail}: free some space, or give a folder on another disk "
        f"with {flag}; nothing was built or lost"
    )


def check_outputs(paths: list[Path]) -> None:
    """SetupError when a file the build will write (the film, a shot's clip or record) is taken by a folder.

    Checked before anything is spent: found at the stitch, it would come after paying for every shot.
    """
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            raise SetupError(
                f"{relpath(path)} is a folder, but the build writes a file there: move that folder away and build again"
            )


def sweep_build_folder(build_dir: Path) -> int:
    """Remove temp files and partial films that killed builds left in the build folder (hold its lock)."""
    n = 0
    for folder in (build_dir, build_dir / "shots", build_dir / "board"):
        if not folder.is_dir():
            continue
        for pattern in LITTER:
            for p in folder.glob(pattern):
                if p.is_file() or p.is_symlink():
                    remove_tree(p)
                    n += 1
    return n
