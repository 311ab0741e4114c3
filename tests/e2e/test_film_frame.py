"""The film's frame is a decision (issue 10, item 6): `film.aspect_ratio`, a warning, padding.

A shot in another ratio is named by `validate` (and `build`) with what the stitch does to it,
as a warning (exit 0), apart from errors; the stitched film has the film's ratio, measured from
the file, with the odd shot fitted inside it and padded with black — nothing cropped.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np

from sbtest import write_storyboard
from support.cli import run_cli

MIXED = """\
version: 1
title: Mixed
defaults: {duration: 3}
characters:
  mira: {image: assets/red.png}
shots:
  - id: wide
    prompt: "@mira walks."
  - id: tall
    aspect_ratio: "9:16"
    prompt: "@mira climbs."
"""
TALL_WARNING = (
    "warning: storyboard.yaml:10:19: shots[1].aspect_ratio: shot 'tall' is 9:16 but the film is 16:9: the stitch "
    "fits the whole picture inside the film's frame and pads it with black bars left and right (pillarbox) — make "
    "them agree (`film.aspect_ratio` or the shot's `aspect_ratio`) if that is not what you want"
)


def film_frames(path: Path) -> tuple[int, int, list[np.ndarray]]:
    """(width, height, every frame as RGB) of the film, decoded from the file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        return stream.codec_context.width, stream.codec_context.height, frames


def test_validate_warns_about_a_shot_in_another_ratio_and_exits_0(project: Path) -> None:
    sb = write_storyboard(project, MIXED)
    proc = run_cli("validate", str(sb.name), cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        TALL_WARNING,
        "✓ storyboard.yaml: valid — 2 shots, 1 character, 0 objects, 0 styles, 0 images, 1 warning",
    ]
    data = json.loads(run_cli("validate", sb.name, "--json", cwd=project).stdout)
    assert data["valid"] is True and data["problems"] == []
    assert [(w["line"], w["path"]) for w in data["warnings"]] == [(10, "shots[1].aspect_ratio")]


def test_warnings_and_errors_stay_distinct(project: Path) -> None:
    """An invalid storyboard lists its errors only; the warning is for a storyboard that builds."""
    sb = write_storyboard(project, MIXED.replace('prompt: "@mira walks."', 'prompt: "@mria walks."'))
    proc = run_cli("validate", sb.name, cwd=project)
    assert proc.returncode == 2
    assert [line.split(":")[0] for line in proc.stderr.splitlines()] == ["error"]


def test_build_prints_the_warning_and_pads_the_tall_shot_into_a_16_9_film(project: Path) -> None:
    sb = write_storyboard(project, MIXED)
    proc = run_cli("build", sb.name, cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[0] == TALL_WARNING
    width, height, frames = film_frames(project / "build" / "film.mp4")
    assert (width, height) == (1280, 720)
    tall = frames[-1]  # the 9:16 clip, fitted to 720 rows: 405 columns of picture in the middle
    assert tall[:, :400].max() < 24 and tall[:, -400:].max() < 24, "the sides are black (pillarbox)"
    assert tall[:, 560:720].mean() > 40, "the picture is in the middle, not cropped away"
    assert frames[0][:, :400].mean() > 40, "the 16:9 clip fills the frame"


def test_film_aspect_ratio_sets_the_frame_even_when_no_shot_has_it(project: Path) -> None:
    text = MIXED.replace('    aspect_ratio: "9:16"\n', "") + 'film:\n  aspect_ratio: "9:16"\n'
    sb = write_storyboard(project, text)
    proc = run_cli("build", sb.name, cwd=project)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert [w.split(": shot ")[1].split(" is ")[0] for w in warnings] == ["'wide'", "'tall'"]
    assert all("pads it with black bars above and below (letterbox)" in w for w in warnings)
    width, height, frames = film_frames(project / "build" / "film.mp4")
    assert (width, height) == (720, 1280), "9:16, as long as the clips' longer side"
    assert frames[0][:400].max() < 24 and frames[0][-400:].max() < 24, "black above and below"
    assert frames[0][560:720].mean() > 40
