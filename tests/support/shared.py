"""Artefacts made once per test run and shared by every xdist worker, each test reading a copy.

A build of an example costs seconds of rendering and encoding; copying its folder costs
milliseconds. :func:`made_once` makes a named artefact once per run — under ``pytest -n 3`` the
first worker to ask makes it while the others wait on a file lock, then all read the same
folder — and :func:`copy_of` gives a test its own copy to read or change. Tests that check what
a first build does (statuses, messages, what is generated) still build for themselves.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

_DONE = ".made-once.json"


def _shared_root(factory: pytest.TempPathFactory) -> Path:
    """The run's folder shared by its workers (xdist gives each worker a subfolder of it)."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def made_once(
    factory: pytest.TempPathFactory, name: str, make: Callable[[Path], dict[str, Any]]
) -> tuple[Path, dict[str, Any]]:
    """The folder ``name`` made by ``make(folder)`` once per run, and what ``make`` returned (JSON).

    Treat the folder as read-only (take a :func:`copy_of` it). If ``make`` raises, nothing is
    recorded: the next worker to ask makes it again (and fails the same way, with its message).
    """
    root = _shared_root(factory) / "made-once"
    root.mkdir(exist_ok=True)
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        done = folder / _DONE
        if done.exists():
            return folder, json.loads(done.read_text("utf-8"))
        if folder.exists():  # a worker that failed half-way
            shutil.rmtree(folder)
        folder.mkdir()
        info = make(folder)
        done.write_text(json.dumps(info), "utf-8")
        return folder, info


def copy_of(folder: Path, dest: Path) -> Path:
    """A private copy of a :func:`made_once` folder at ``dest`` (times and modes kept); returns ``dest``."""
    shutil.copytree(folder, dest, symlinks=True, ignore=shutil.ignore_patterns(_DONE))
    return dest
