"""The static board shows takes, the pick, approvals and notes, and portrait references whole (Chromium)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sbtest import draw, write_storyboard
from storyboard.build.review import read_review, render_review, review_path, update_review
from storyboard.errors import UsageError
from support.browser import artifacts, chromium_tab
from support.cli import run_cli

STORYBOARD = """\
version: 1
title: Review
defaults:
  duration: 3
characters:
  tall:
    image: assets/tall.png      # a portrait: 320 × 800
images:
  red: assets/red.png
shots:
  - id: one
    start: red
    takes: 2
    pick: 2
    prompt: "@tall walks in."
  - id: two
    prompt: "@tall waves."
"""


def test_review_file_round_trip_and_refusal(tmp_path: Path) -> None:
    sb = tmp_path / "film.yaml"
    path = review_path(sb)
    assert path.name == "film.review.yaml"
    update_review(path, "film.yaml", ["a", "b"], "b", approved=True, take=2)
    update_review(path, "film.yaml", ["a", "b"], "a", note="Too dark.\nTry dusk.")
    text = path.read_text("utf-8")
    assert text.startswith("# Review of film.yaml")
    assert text.index("  a:") < text.index("  b:")  # storyboard order, one shot after the other
    reviews = read_review(path)
    assert reviews["b"].approved and reviews["b"].take == 2
    assert reviews["a"].note == "Too dark.\nTry dusk." and not reviews["a"].approved
    assert render_review("film.yaml", reviews, ["a", "b"]) == text  # stable: rewriting changes nothing
    path.write_text("shots: [unclosed\n", "utf-8")
    with pytest.raises(UsageError, match="not readable YAML"):
        read_review(path)


def test_static_board_shows_takes_pick_review_and_whole_portraits(project: Path, tmp_path: Path) -> None:
    draw(project / "assets" / "tall.png", (30, 90, 160), (320, 800))
    sb = write_storyboard(project, STORYBOARD)
    built = run_cli("build", str(sb), cwd=project)
    assert built.returncode == 0, built.stderr
    update_review(review_path(sb), sb.name, ["one", "two"], "one", approved=True, take=2, note="Keep take 2.")
    made = run_cli("board", str(sb), cwd=project)
    assert made.returncode == 0, made.stderr
    page = project / "build" / "board" / "index.html"
    html = page.read_text("utf-8")
    assert "<script" not in html  # the static board stays script-free
    with chromium_tab() as (tab, errors):
        tab.goto(page.as_uri())
        card = tab.locator("#shot-one")
        assert card.locator(".approved").inner_text() == "approved (take 2)"
        assert "Keep take 2." in card.locator(".note").inner_text()
        takes = card.locator(".takes figure")
        assert takes.count() == 2
        assert "in the film" in card.locator("#shot-one-take2").inner_text()
        assert "in the film" not in card.locator("#shot-one-take1").inner_text()
        # both takes are playable: their clips load and have a duration
        for n in (1, 2):
            video = card.locator(f"#shot-one-take{n} video")
            tab.wait_for_function("v => v.readyState >= 1 && v.duration > 2", arg=video.element_handle())
        assert tab.locator("#shot-two .takes").count() == 0  # a plain one-take shot shows no strip
        # the portrait reference is shown whole: the picture inside the box keeps its 2:5 shape
        img = tab.locator("#shot-one .refs figure img").first
        box = img.evaluate(
            """i => { const s = getComputedStyle(i); const r = i.getBoundingClientRect();
                   return {fit: s.objectFit, w: r.width, h: r.height, nw: i.naturalWidth, nh: i.naturalHeight}; }"""
        )
        assert box["fit"] == "contain", box
        assert box["nh"] / box["nw"] == pytest.approx(800 / 320, rel=0.02)
        tab.screenshot(path=str(artifacts(tmp_path) / "static-board-takes.png"), full_page=True)
        assert errors == []
    assert read_review(review_path(sb))["one"].note == "Keep take 2."
