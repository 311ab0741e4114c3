"""Run the storyboard CLI with the operating system refusing writes under one folder.

``python -m support.oslimits ARGS…`` is ``storyboard ARGS…`` with ``os.open``, ``open`` and
``os.mkdir`` patched at the OS boundary: creating or writing a file (or a folder) under
``STORYBOARD_TEST_REFUSE_UNDER`` raises ``OSError(STORYBOARD_TEST_ERRNO)`` — ``ENOSPC`` for a
full disk, ``EROFS``/``EACCES`` for a read-only folder — as the kernel would. Reading is left
alone, and storyboard's own code is not touched: only what it asks of the OS is refused. (As
root, ``chmod`` cannot make a folder read-only, and a real full disk needs a mount.)

``STORYBOARD_TEST_FREE_BYTES=N`` makes ``os.statvfs`` report ``N`` bytes free for that folder:
a disk with a few KB left, on which writing still works.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import runpy
import sys
from typing import Any


def _inside(path: Any, folder: str) -> bool:
    try:
        p = os.path.abspath(os.fsdecode(path))
    except TypeError:  # a file descriptor
        return False
    return p == folder or p.startswith(folder + os.sep)


def install(folder: str, code: int) -> None:
    """Patch os.open, open/io.open and os.mkdir to refuse writes under ``folder`` with errno ``code``."""
    folder = os.path.abspath(folder)
    real_os_open, real_io_open, real_mkdir = os.open, io.open, os.mkdir

    def refuse(path: Any) -> OSError:
        return OSError(code, os.strerror(code), os.fsdecode(path))

    def os_open(path: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and _inside(path, folder):
            raise refuse(path)
        return real_os_open(path, flags, mode, dir_fd=dir_fd)

    def io_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(c in mode for c in "wax+") and _inside(file, folder):
            raise refuse(file)
        return real_io_open(file, mode, *args, **kwargs)

    def mkdir(path: Any, mode: int = 0o777, *, dir_fd: int | None = None) -> None:
        if _inside(path, folder) and not os.path.isdir(path):
            raise refuse(path)
        real_mkdir(path, mode, dir_fd=dir_fd)

    os.open = os_open  # type: ignore[assignment]
    io.open = builtins.open = io_open  # type: ignore[assignment]
    os.mkdir = mkdir  # type: ignore[assignment]


def report_free(folder: str, free: int) -> None:
    """Patch os.statvfs to say ``free`` bytes are available on the disk holding ``folder``."""
    folder = os.path.abspath(folder)
    real_statvfs = os.statvfs

    def statvfs(path: Any) -> Any:
        st = real_statvfs(path)
        if not _inside(path, folder):
            return st
        fields = list(st)
        fields[3] = fields[4] = max(0, free // st.f_frsize)  # f_bfree, f_bavail
        return os.statvfs_result(fields)

    os.statvfs = statvfs  # type: ignore[assignment]


if __name__ == "__main__":
    folder = os.environ["STORYBOARD_TEST_REFUSE_UNDER"]
    if "STORYBOARD_TEST_FREE_BYTES" in os.environ:
        report_free(folder, int(os.environ["STORYBOARD_TEST_FREE_BYTES"]))
    else:
        install(folder, getattr(errno, os.environ.get("STORYBOARD_TEST_ERRNO", "ENOSPC")))
    sys.argv = ["storyboard", *sys.argv[1:]]
    runpy.run_module("storyboard", run_name="__main__")
