"""Debian's Chromium through Playwright, for the browser tests (Playwright's own browsers are never downloaded)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"  # tests/artifacts (git-ignored), beside board.png


def artifacts(tmp_path: Path) -> Path:
    """Where screenshots go, kept after the run: ``$STORYBOARD_TEST_ARTIFACTS`` when set, else tests/artifacts/.

    ``tmp_path`` is the fallback when that folder cannot be made (a read-only checkout).
    """
    env = os.environ.get("STORYBOARD_TEST_ARTIFACTS")
    base = Path(env) if env else ARTIFACTS
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError:
        base = tmp_path
    base.mkdir(parents=True, exist_ok=True)
    return base


@contextmanager
def chromium_tab(width: int = 1366, height: int = 900) -> Iterator[tuple[Any, list[str]]]:
    """A tab of Debian's Chromium through Playwright, and the list its console errors are appended to;
    the browser is closed after the block."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            tab = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            yield tab, errors
        finally:
            browser.close()
