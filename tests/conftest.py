"""Shared fixtures: the fixture project (see :mod:`sbtest`), copied into each test's tmp folder."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from sbtest import build_project, write_storyboard


@pytest.fixture(scope="session")
def asset_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture tree, drawn once per session. Read-only: copy it (``project``) to change it."""
    return build_project(tmp_path_factory.mktemp("asset_tree"))


@pytest.fixture
def project(asset_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the fixture tree; the working directory is set to it."""
    root = tmp_path / "project"
    shutil.copytree(asset_tree, root)
    monkeypatch.chdir(root)
    return root


@pytest.fixture(name="write_storyboard")
def write_storyboard_fixture() -> Callable[..., Path]:
    """:func:`write_storyboard` as a fixture, for tests that prefer a fixture to an import."""
    return write_storyboard


@pytest.fixture(autouse=True)
def _no_fal_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see a real key (messages are redacted against it)."""
    for var in ("FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET"):
        monkeypatch.delenv(var, raising=False)
