"""Fit after the speech exists: the build measures each generated line against its shot and warns
(file:line, the shot, the measured numbers), before the film is stitched and without failing."""

from __future__ import annotations

import re
from pathlib import Path

from sbtest import write_storyboard
from support.cli import run_cli

# 45 characters spoken slowly (rate 90) by eSpeak NG: over 4 s of speech in a 3-s shot
FILM = """\
version: 1
title: Slow
voices:
  slow: {preview: en, rate: 90}
shots:
  - id: title          # a card first: it has no lines, and the warning must still name 'short'
    duration: 3
    card: {text: Slow}
  - id: short
    duration: 3
    prompt: A door closes.
    lines:
      - {speaker: slow, text: "Wait for me, I am coming with you to the end."}
  - id: after
    duration: 3
    prompt: An empty hall.
"""


def test_the_build_warns_when_the_real_speech_outruns_its_shot(project: Path) -> None:
    sb = write_storyboard(project, FILM)
    done = run_cli("build", str(sb), cwd=project)
    assert done.returncode == 0, done.stderr
    match = re.search(
        r"warning: storyboard\.yaml:13:9: shot 'short': its 1 line end ([\d.]+) s in, measured from the generated "
        r"speech; the shot is 3 s",
        done.stderr,
    )
    assert match, done.stderr
    assert float(match.group(1)) > 3.5
    assert "shot 'title'" not in done.stderr and "shot 'after'" not in done.stderr, done.stderr
    assert (project / "build" / "film.mp4").exists()  # a warning: the film is still made
