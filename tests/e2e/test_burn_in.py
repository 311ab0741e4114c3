"""Burned-in subtitles on request: the film's picture gets the lines drawn in (measured: a frame
during a line differs from the same frame of the soft-subtitled film at the bottom, where the
line is, and hardly anywhere else), and the soft track and the SRT/WebVTT files stay."""

from __future__ import annotations

import re
from pathlib import Path

import av
import numpy as np

from sbtest import write_storyboard
from support.cli import run_cli

FILM = """\
version: 1
title: Burn
voices:
  narrator: {preview: en}
shots:
  - id: one
    duration: 4
    prompt: A quiet room.
    lines:
      - {speaker: narrator, text: "Here we are again.", offset: 0.5}
film:
  subtitles: SUBTITLES
"""


def frame_at(path: Path, seconds: float) -> np.ndarray:
    """The frame shown at ``seconds``, as RGB, decoded by PyAV."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        for f in c.decode(stream):
            if f.time is not None and f.time >= seconds:
                return f.to_ndarray(format="rgb24").astype(int)
    raise AssertionError(f"no frame at {seconds} s")


def test_burned_subtitles_draw_the_line_into_the_picture(project: Path) -> None:
    soft = write_storyboard(project, FILM.replace("SUBTITLES", "true"), "soft.yaml")
    burn = write_storyboard(project, FILM.replace("SUBTITLES", "{burn_in: true}"), "burn.yaml")
    for sb, out in ((soft, "soft"), (burn, "burn")):
        done = run_cli("build", str(sb), "--out", str(project / out), cwd=project)
        assert done.returncode == 0, done.stderr
    srt = (project / "burn" / "film.srt").read_text()
    assert (project / "burn" / "film.vtt").exists()
    stamps = [float(x.replace(",", ".")) for x in re.findall(r"00:00:(\d\d,\d\d\d)", srt)[:2]]
    middle = sum(stamps) / 2
    assert stamps[1] - stamps[0] > 0.5, srt
    plain, burned = frame_at(project / "soft" / "film.mp4", middle), frame_at(project / "burn" / "film.mp4", middle)
    diff = np.abs(plain - burned).max(axis=2)
    h = diff.shape[0]
    bottom, rest = diff[int(h * 0.8) :], diff[: int(h * 0.7)]
    assert (bottom > 60).mean() > 0.01  # the line's letters, in the bottom fifth
    assert (rest > 60).mean() < 0.001  # above it: the same picture (re-encoding noise only)
    with av.open(str(project / "burn" / "film.mp4")) as c:
        kinds = sorted(s.type for s in c.streams)
    assert kinds == ["audio", "subtitle", "video"]  # the sound and the soft track stay

    # an unchanged rebuild leaves the burned film alone: nothing stitched, mixed or burned again
    film = project / "burn" / "film.mp4"
    before = (film.read_bytes(), film.stat().st_mtime_ns)
    done = run_cli("build", str(burn), "--out", str(project / "burn"), cwd=project)
    assert done.returncode == 0, done.stderr
    assert (film.read_bytes(), film.stat().st_mtime_ns) == before
    assert "film unchanged" in done.stderr and "sound unchanged" in done.stderr, done.stderr

    # a changed line is burned once, over the clean picture, never over the old burned one:
    # the rebuilt film matches a film burned from scratch with the new line
    changed = FILM.replace("SUBTITLES", "{burn_in: true}").replace("Here we are again.", "Somewhere else, now.")
    burn.write_text(changed)
    scratch = write_storyboard(project, changed, "scratch.yaml")
    for sb, out in ((burn, "burn"), (scratch, "scratch")):
        done = run_cli("build", str(sb), "--out", str(project / out), cwd=project)
        assert done.returncode == 0, done.stderr
    srt = (project / "burn" / "film.srt").read_text()
    new_stamps = [float(x.replace(",", ".")) for x in re.findall(r"00:00:(\d\d,\d\d\d)", srt)[:2]]
    for t in (middle, sum(new_stamps) / 2):
        again = np.abs(frame_at(film, t) - frame_at(project / "scratch" / "film.mp4", t)).max(axis=2)
        assert (again > 60).mean() < 0.001, t  # the old line is nowhere under the new one

    # burn_in turned off again: the picture is the stitch's again, not the burned one remixed
    burn.write_text(FILM.replace("SUBTITLES", "true"))
    done = run_cli("build", str(burn), "--out", str(project / "burn"), cwd=project)
    assert done.returncode == 0, done.stderr
    unburned = frame_at(project / "burn" / "film.mp4", middle)
    assert (np.abs(plain - unburned).max(axis=2)[int(h * 0.8) :] > 60).mean() < 0.001
