"""Title cards end to end: the real CLI builds a film that opens on a card, and the film is probed —
the card's frames show the text over the background, the frames and seconds add up, a rebuild
takes the card from the cache, and a bad card exits 2 with file:line."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np

from sbtest import write_storyboard
from support.cli import run_cli

FILM = """\
version: 1
title: The Greenhouse
shots:
  - id: title
    duration: 4
    card:
      text: "{{ title }}"
      background: "#204060"
      color: "#ffff00"
      size: 96
  - id: one
    duration: 3
    prompt: A ball rolls.
"""


def frames(path: Path) -> list[np.ndarray]:
    """Every frame of the film's video as RGB arrays, decoded by PyAV."""
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_a_film_opens_on_its_title_card(project: Path) -> None:
    sb = write_storyboard(project, FILM)
    done = run_cli("build", str(sb), cwd=project)
    assert done.returncode == 0, done.stderr
    film = project / "build" / "film.mp4"
    pictures = frames(film)
    assert len(pictures) == (4 + 3) * 24  # the card's 96 frames, then the shot's 72: no gap, no overlap
    with av.open(str(film)) as c:
        v = c.streams.video[0]
        assert (v.width, v.height, v.codec_context.pix_fmt) == (1280, 720, "yuv420p")
        assert abs(float(c.duration / av.time_base) - 7.0) < 0.05
    mid = pictures[48].astype(int)  # 2 s in: the title fully faded in
    background = np.array([0x20, 0x40, 0x60])
    corner = mid[:80, :80].reshape(-1, 3)
    assert np.abs(corner - background).max() <= 6  # the colour, where there is no text
    centre = mid[300:420, 340:940].reshape(-1, 3)
    yellow = (centre[:, 0] > 200) & (centre[:, 1] > 200) & (centre[:, 2] < 90)
    assert yellow.mean() > 0.05  # the yellow title is drawn in the middle …
    first = pictures[0].astype(int)[300:420, 340:940].reshape(-1, 3)
    assert np.abs(first - background).max() <= 8  # … and fades in: nothing of it on the first frame
    after = pictures[4 * 24 + 10].astype(int)[300:420, 340:940].reshape(-1, 3)
    assert np.abs(after - background).mean() > 10  # the shot after the card is the preview's picture
    stamp = json.loads((project / "build" / ".film.json").read_text())
    assert stamp["method"] == "copy"  # the card joins the preview clip by stream copy

    clip = project / "build" / "shots" / "title.mp4"
    before = clip.read_bytes()
    again = run_cli("build", str(sb), cwd=project)
    assert again.returncode == 0, again.stderr
    results = json.loads((project / "build" / "run_results.json").read_text())
    assert {s["id"]: s["status"] for s in results["shots"]} == {"title": "cached", "one": "cached"}
    assert clip.read_bytes() == before

    cost = run_cli("cost", str(sb), "--json", cwd=project)
    assert cost.returncode == 0, cost.stderr
    priced = {s["id"]: s["usd"] for s in json.loads(cost.stdout)["shots"]}
    assert priced["title"] == 0.0 and priced["one"] > 0  # a card costs nothing on any backend
    graph = run_cli("graph", str(sb), "--format", "text", cwd=project)
    assert "card title (4 s)" in graph.stdout


def test_a_card_with_an_unknown_font_exits_2_with_its_line(project: Path) -> None:
    sb = write_storyboard(project, FILM.replace("      size: 96\n", "      size: 96\n      font: fonts/Title.ttf\n"))
    done = run_cli("build", str(sb), cwd=project)
    assert done.returncode == 2
    assert "storyboard.yaml:11:13: shots[0].card.font: asset file 'fonts/Title.ttf' not found" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (project / "build").exists()


def test_a_card_in_a_paid_build_is_never_sent(project: Path, fake_fal) -> None:
    """On fal a card is still drawn here: one submission (the shot), no upload of the card's font or picture."""
    (project / "fonts").mkdir()
    from storyboard.media.card import default_font_bytes

    (project / "fonts" / "Title.otf").write_bytes(default_font_bytes())
    sb = write_storyboard(
        project,
        FILM.replace("      size: 96\n", "      size: 96\n      font: fonts/Title.otf\n").replace(
            '"#204060"', "assets/blue.png"
        ),
    )
    env = {**fake_fal.client_env("fal-cards-key-5e1a"), "STORYBOARD_FAL_POLL": "0.05"}
    done = run_cli("build", str(sb), "--backend", "fal", env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    [shot] = fake_fal.submissions
    assert shot.body["prompt"] == "A ball rolls." and "storyboard/card" not in shot.endpoint
    assert not fake_fal.uploads  # the shot has no images; the card's files never leave the machine
    film = project / "build" / "film.mp4"
    clip = next((project / ".storyboard" / "cache" / "fal" / "clips").rglob("*.mp4"))
    with av.open(str(clip)) as c:
        generated = (c.streams.video[0].width, c.streams.video[0].height)
    with av.open(str(film)) as c:
        video = c.streams.video[0]
        seconds = float(c.duration / av.time_base)
        shape = (video.width, video.height)
    assert abs(seconds - 7.0) < 0.1  # the card and Kling's clip in one film
    assert shape == generated != (1280, 720)  # in the generated clip's frame: the card follows it, not the reverse


def test_cost_counts_a_cards_seconds_apart_from_the_video_to_pay_for(project: Path) -> None:
    sb = write_storyboard(project, FILM)
    done = run_cli("cost", str(sb))
    assert done.returncode == 0, done.stderr
    assert "for 3 s of video not yet generated (and 4 s of title cards, drawn here for free)" in done.stdout
