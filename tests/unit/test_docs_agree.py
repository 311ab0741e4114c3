"""Where the user docs state a fact about the tool, the tool agrees (issue 10, item 7).

Each test reads the sentence or example from ``docs/`` and checks it against what the code does,
so that a change to either one without the other fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from storyboard.build.run import write_run_results
from storyboard.cli.scaffold import init_project

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_init_makes_as_many_files_as_cli_md_says(tmp_path: Path) -> None:
    text = (DOCS / "cli.md").read_text("utf-8")
    (said,) = re.findall(r"✓ created (\d+) files in my-film", text)
    written = init_project(tmp_path / "my-film", "My Film")
    on_disk = sorted(p for p in (tmp_path / "my-film").rglob("*") if p.is_file())
    assert sorted(written) == on_disk
    assert len(on_disk) == int(said)
    words = {9: "nine"}
    assert f"in a new or empty folder, {words[len(on_disk)]} files" in text
    for path in on_disk:  # every file is named in the paragraph
        rel = path.relative_to(tmp_path / "my-film").as_posix()
        assert rel.startswith("schemas/") or f"`{rel}`" in text, rel


def test_run_results_film_is_relative_as_cli_md_shows(tmp_path: Path) -> None:
    text = (DOCS / "cli.md").read_text("utf-8")
    (shown,) = re.findall(r'"film": "([^"]+)"', text)
    build_dir = tmp_path / "build"
    build_dir.mkdir()
    data = json.loads(write_run_results(build_dir, "preview", build_dir / shown, []).read_text("utf-8"))
    assert data["film"] == shown == "greenhouse.mp4"
    assert "relative to the build folder" in text


def test_format_md_no_longer_says_transitions_are_checked_after_paying() -> None:
    text = (DOCS / "format.md").read_text("utf-8")
    assert "checked only when the film is stitched" not in text
    assert "`storyboard validate` (and so `compile` and `build`) checks this" in text


def test_cli_md_says_a_selective_build_stitches_when_every_clip_exists() -> None:
    text = (DOCS / "cli.md").read_text("utf-8")
    assert "A selective build does not stitch" not in text
    assert "only when every shot is built" not in text
    assert "A selective build stitches the film when every shot of the storyboard has its clip" in text


EXAMPLE = DOCS.parent / "examples" / "greenhouse" / "storyboard.yaml"


def _block(text: str, after: str, fence: str) -> str:
    start = text.index(fence, text.index(after)) + len(fence)
    return text[start : text.index("```\n", start)]


def test_format_md_shows_the_greenhouse_example_as_it_is() -> None:
    """The running example, but for the file's own header comment."""
    doc = _block((DOCS / "format.md").read_text("utf-8"), "## The running example", "```yaml\n")
    lines = EXAMPLE.read_text("utf-8").splitlines(keepends=True)
    body = [lines[0]] + [line for line in lines[1:] if not line.startswith("# ")]
    assert doc == "".join(body)


def test_format_md_shows_what_compile_prints_for_the_greenhouse() -> None:
    """Keys, prompts and every element's reference views, as `storyboard compile` prints them today."""
    from storyboard.compiler.compile import compile_file
    from storyboard.views.report import plan_text

    console = _block((DOCS / "format.md").read_text("utf-8"), "`storyboard compile` prints the four", "```console\n")
    command, printed = console.split("\n", 1)
    assert command == "$ storyboard compile examples/greenhouse/storyboard.yaml"
    assert printed == plan_text(compile_file(EXAMPLE)).rstrip("\n") + "\n"
