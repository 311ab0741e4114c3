"""End-to-end fixtures: bundled examples copied into a temp folder."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from support.cli import EXAMPLES


@pytest.fixture
def example(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a bundled example (and the shared libraries) into tmp; returns its storyboard path."""

    def copy(name: str) -> Path:
        shutil.copytree(EXAMPLES / name, tmp_path / name, ignore=shutil.ignore_patterns("build", ".storyboard"))
        if (EXAMPLES / "libraries").exists() and not (tmp_path / "libraries").exists():
            shutil.copytree(EXAMPLES / "libraries", tmp_path / "libraries")
        return tmp_path / name / "storyboard.yaml"

    return copy
