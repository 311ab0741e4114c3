"""The examples of the Kling family (examples/greenhouse/{end_frames,several_prompts,edits}.yaml) build offline.

The real CLI with the default preview backend; the film's length and shape are measured from
the file.
"""

from __future__ import annotations

import pytest

from storyboard.media.probe import probe
from support.cli import results, run_cli


@pytest.mark.parametrize(
    ("name", "film", "seconds"),
    [
        ("end_frames", "dawn_to_dusk.mp4", 6 + 12),
        ("several_prompts", "three_beats.mp4", 12 + 5),
        ("edits", "night.mp4", 5 * 3),
    ],
)
def test_model_example_builds_offline(example, name: str, film: str, seconds: int) -> None:
    sb = example("greenhouse").with_name(f"{name}.yaml")
    proc = run_cli("build", str(sb))
    assert proc.returncode == 0, proc.stderr
    info = probe(sb.parent / "build" / film)
    assert abs(info.duration - seconds) < 0.1
    assert (info.width, info.height) == (1280, 720)
    assert {r["status"] for r in results(sb.parent / "build").values()} == {"generated"}
