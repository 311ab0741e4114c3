"""`storyboard serve`: a real server subprocess driven by Debian's Chromium through Playwright.

The page loads without console errors; a save on disk reaches the page; a deliberate error shows
with its line, in the CLI's words, and goes when fixed; picking a take in the page writes the YAML
(one line) and the stitched film changes; approvals and notes land in the review file. Screenshots
are kept in tests/artifacts/ (or ``$STORYBOARD_TEST_ARTIFACTS``). Every wait is bounded (``WAIT``),
and one server and one browser serve every step.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sbtest import write_storyboard
from support.browser import artifacts, chromium_tab
from support.cli import cli_env, run_cli

STORYBOARD = """\
# The live board's test film
version: 1
title: Live
defaults:
  duration: 3
images:
  red: assets/red.png
  blue: assets/blue.png
shots:
  - id: one
    start: red
    takes: 2
    prompt: A red room, @blue on the wall.
  - id: two
    start: one.last_frame
    prompt: The camera pulls back from @blue.
  - id: three
    prompt: A blue sky over @red.
"""

WAIT = 60.0  # seconds a step may take at most on a loaded machine (the measured times are printed)


def _sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


class Server:
    """A `storyboard serve` subprocess; its URL is read from what it prints."""

    def __init__(self, sb: Path, *args: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "storyboard", "serve", str(sb), "--port", "0", *args],
            cwd=sb.parent,
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.url: str | None = None
        ready = threading.Event()

        def read() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self.lines.append(line)
                m = re.search(r"at (http://\S+) ", line)
                if m:
                    self.url = m.group(1)
                    ready.set()
            ready.set()

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        ready.wait(WAIT)
        if not self.url:
            self.stop()
            pytest.fail("storyboard serve did not start:\n" + "".join(self.lines))

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.reader.join(timeout=10)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        return self.proc.returncode


@pytest.fixture
def served(project: Path) -> Iterator[tuple[Path, Server]]:
    sb = write_storyboard(project, STORYBOARD)
    built = run_cli("build", str(sb), cwd=project)
    assert built.returncode == 0, built.stderr
    server = Server(sb)
    try:
        yield sb, server
    finally:
        server.stop()


def _wait_file(predicate, what: str) -> float:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    while time.monotonic() - t0 < WAIT:
        if predicate():
            return time.monotonic() - t0
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def test_live_board_in_chromium(served: tuple[Path, Server], tmp_path: Path) -> None:
    sb, server = served
    root = sb.parent
    shots_dir = artifacts(tmp_path)
    film = root / "build" / "film.mp4"
    with chromium_tab() as (tab, errors):
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
        tab.goto(server.url or "")
        assert tab.locator("h1").inner_text() == "Live"
        assert tab.locator("#shot-one .takes figure").count() == 2
        tab.evaluate(
            """() => { window.__seen = []; const es = new EventSource('/events');
               for (const k of ['shot', 'progress', 'build']) es.addEventListener(k, e => __seen.push([k, JSON.parse(e.data)])); }"""
        )
        tab.screenshot(path=str(shots_dir / "serve-1-loaded.png"), full_page=True)

        # a save on disk reaches the page
        t0 = time.monotonic()
        sb.write_text(sb.read_text("utf-8").replace("title: Live", "title: Live again"), "utf-8")
        tab.wait_for_function("document.querySelector('h1').textContent === 'Live again'", timeout=WAIT * 1000)
        print(f"save → page: {time.monotonic() - t0:.2f} s")

        # a deliberate error appears with its line, in the CLI's words, and goes when fixed
        good = sb.read_text("utf-8")
        t0 = time.monotonic()
        sb.write_text(good.replace("    prompt: A blue sky", "    duration: eleven\n    prompt: A blue sky"), "utf-8")
        tab.wait_for_function("document.querySelectorAll('#problems .problem').length > 0", timeout=WAIT * 1000)
        print(f"error → page: {time.monotonic() - t0:.2f} s")
        cli = run_cli("validate", str(sb.name), cwd=root)
        expected = [line for line in cli.stderr.splitlines() if line.startswith("error:")]
        assert expected and ":18:" in expected[0], cli.stderr
        assert tab.locator("#problems .problem").all_inner_texts() == expected
        assert tab.locator("h1").inner_text() == "Live again"  # the last good board stays below
        tab.screenshot(path=str(shots_dir / "serve-2-error.png"), full_page=True)
        sb.write_text(good, "utf-8")
        tab.wait_for_function("document.querySelectorAll('#problems .problem').length === 0", timeout=WAIT * 1000)

        # picking take 2 in the page writes one line of the YAML, and the film follows
        before_film = _sha(film)
        before_text = sb.read_text("utf-8")
        tab.locator('button.pick[data-shot="one"][data-take="2"]').click()
        _wait_file(lambda: "pick: 2" in sb.read_text("utf-8"), "the pick in the YAML")
        assert sb.read_text("utf-8") == before_text.replace("    takes: 2\n", "    takes: 2\n    pick: 2\n")
        took = _wait_file(lambda: _sha(film) not in (None, before_film), "the film stitched with take 2")
        print(f"pick → new film: {took:.2f} s")
        tab.wait_for_function(
            "(document.querySelector('#shot-one-take2') || {textContent: ''}).textContent.includes('in the film')",
            timeout=WAIT * 1000,
        )
        tab.wait_for_function(
            "window.__seen.some(([k, d]) => k === 'build' && d.state === 'done')", timeout=WAIT * 1000
        )
        seen = tab.evaluate("window.__seen")
        assert any(k == "shot" and d["id"] == "two" and d["state"] == "generated" for k, d in seen), seen
        assert any(k == "progress" and d["total"] >= 1 for k, d in seen), seen
        assert any(k == "build" and d["state"] == "done" for k, d in seen), seen

        # approve and annotate: the review file beside the storyboard
        tab.locator('form.review[data-shot="one"] .approve').check()
        _wait_file(lambda: (root / "storyboard.review.yaml").is_file(), "the review file")
        tab.locator('form.review[data-shot="one"] .note-text').fill("Take 2: the light is right.")
        tab.locator('form.review[data-shot="one"] .save-note').click()
        _wait_file(lambda: "the light is right" in (root / "storyboard.review.yaml").read_text("utf-8"), "the note")
        tab.wait_for_function(
            "(document.querySelector('#shot-one .approved') || {textContent: ''}).textContent === 'approved (take 2)'",
            timeout=WAIT * 1000,
        )
        tab.screenshot(path=str(shots_dir / "serve-3-picked.png"), full_page=True)
        assert errors == [], errors
    review = (root / "storyboard.review.yaml").read_text("utf-8")
    assert "approved: true" in review and "take: 2" in review
    assert server.stop() == 0, "".join(server.lines)


def test_serve_refuses_a_port_in_use_and_other_interfaces(project: Path) -> None:
    sb = write_storyboard(project, STORYBOARD)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = run_cli("serve", str(sb), "--port", str(port), cwd=project, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert f"port {port} on 127.0.0.1 is in use" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("serve", str(sb), "--host", "0.0.0.0", cwd=project, timeout=60)
    assert proc.returncode == 2 and "refusing to listen on 0.0.0.0" in proc.stderr and "--allow-remote" in proc.stderr
