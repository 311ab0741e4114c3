"""Debian's Chromium through Playwright, for the browser tests (Playwright's own browsers are never downloaded)."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def artifacts(tmp_path: Path) -> Path:
    """Where screenshots go: ``$STORYBOARD_TEST_ARTIFACTS`` (e.g. build/test-artifacts) when set, else tmp."""
    env = os.environ.get("STORYBOARD_TEST_ARTIFACTS")
    base = Path(env) if env else tmp_path
    base.mkdir(parents=True, exist_ok=True)
    return base
