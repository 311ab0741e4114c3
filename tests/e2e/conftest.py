"""End-to-end fixtures: bundled examples copied into a temp folder, and the greenhouse built once."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from support.cli import EXAMPLES, run_cli
from support.shared import copy_of, made_once


@pytest.fixture
def example(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a bundled example (and the shared libraries) into tmp; returns its storyboard path."""

    def copy(name: str) -> Path:
        shutil.copytree(EXAMPLES / name, tmp_path / name, ignore=shutil.ignore_patterns("build", ".storyboard"))
        if (EXAMPLES / "libraries").exists() and not (tmp_path / "libraries").exists():
            shutil.copytree(EXAMPLES / "libraries", tmp_path / "libraries")
        return tmp_path / name / "storyboard.yaml"

    return copy


def _build_greenhouse(folder: Path) -> dict[str, Any]:
    root = folder / "greenhouse"
    shutil.copytree(EXAMPLES / "greenhouse", root, ignore=shutil.ignore_patterns("build", ".storyboard"))
    proc = run_cli("build", str(root / "storyboard.yaml"))
    assert proc.returncode == 0, proc.stderr
    return {"stderr": proc.stderr}


@pytest.fixture(scope="session")
def greenhouse_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The greenhouse example built once per run with `storyboard build` (preview backend), shared
    by every worker: (its folder — read-only, copy it —, the build's stderr)."""
    folder, info = made_once(tmp_path_factory, "greenhouse", _build_greenhouse)
    return folder / "greenhouse", info["stderr"]


@pytest.fixture
def built_greenhouse(greenhouse_build: tuple[Path, str], tmp_path: Path) -> Path:
    """A private copy of the built greenhouse (film, build folder and cache); returns its storyboard path.

    For tests whose first build only sets the scene; a test of what a first build does builds itself.
    """
    return copy_of(greenhouse_build[0], tmp_path / "built" / "greenhouse") / "storyboard.yaml"
