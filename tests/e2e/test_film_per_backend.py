"""A preview build never silently replaces a paid film (issue 10, item 5)."""

from __future__ import annotations

import json
from pathlib import Path

from sbtest import write_storyboard
from support.cli import run_cli

STORY = """\
version: 1
title: Paid
defaults: {duration: 3, aspect_ratio: "1:1"}
characters:
  mira: {image: assets/mira/front.png, references: [assets/mira/side.png]}
shots:
  - id: dawn
    prompt: "Shot dawn: @mira wakes at first light."
"""


def test_a_preview_build_refuses_to_replace_the_fal_film(project: Path, fake_fal) -> None:
    sb = write_storyboard(project, STORY)
    env = {**fake_fal.client_env("k-film"), "STORYBOARD_FAL_POLL": "0.05"}
    paid = run_cli("build", str(sb), "--backend", "fal", env=env)
    assert paid.returncode == 0, paid.stderr
    assert "fal film: build/film.mp4" in paid.stderr
    film = project / "build" / "film.mp4"
    paid_bytes = film.read_bytes()

    preview = run_cli("build", str(sb))  # the default backend is preview
    assert preview.returncode == 2, preview.stderr
    assert "holds the film built with --backend fal" in preview.stderr and "--out build/preview" in preview.stderr
    assert "Traceback" not in preview.stderr
    assert film.read_bytes() == paid_bytes, "the paid film was replaced"
    assert json.loads((project / "build" / "run_results.json").read_text())["backend"] == "fal"

    status = json.loads(run_cli("status", str(sb), "--json").stdout)  # the folder's backend, by default
    assert status["backend"] == "fal" and status["film"] == {"path": "build/film.mp4", "backend": "fal"}
    assert [s["state"] for s in status["shots"]] == ["up to date"]

    aside = run_cli("build", str(sb), "--out", "build/preview")
    assert aside.returncode == 0, aside.stderr
    assert "preview film: build/preview/film.mp4" in aside.stderr
    assert film.read_bytes() == paid_bytes

    again = run_cli("build", str(sb), "--backend", "fal", env=env)  # the paid film, from the cache
    assert again.returncode == 0 and len(fake_fal.submissions) == 1
