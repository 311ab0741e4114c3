"""Small hints a user needs (issue 10, item 8), word for word with their lines.

A selector that matches nothing suggests the one meant (`character:keeper` → `cast.keeper`); an
unknown shot in a selector, in `start` or after `@` suggests the nearest id and `.last_frame`; a
YAML indentation mistake is said in words; ``storyboard --version`` prints the version.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import storyboard
from sbtest import write_storyboard
from storyboard.build.selection import select
from storyboard.compiler.compile import compile_file
from storyboard.errors import InputError, UsageError
from storyboard.plan import Plan

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def lines(path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        compile_file(path)
    return [p.format() for p in info.value.problems]


# -- selectors -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ferry() -> Plan:
    """The ferry example: everything but the traveller comes from the library `cast`."""
    return compile_file(EXAMPLES / "ferry" / "storyboard.yaml")


def refused(plan: Plan, *selectors: str) -> str:
    with pytest.raises(UsageError) as info:
        select(plan, list(selectors))
    return str(info.value)


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        (
            "character:ferryman",
            "selector 'character:ferryman' matches no shot — did you mean 'character:cast.ferryman'?",
        ),
        ("object:lantern+", "selector 'object:lantern+' matches no shot — did you mean 'object:cast.lantern+'?"),
        (
            "character:cast.boat",
            "selector 'character:cast.boat' matches no shot — did you mean 'object:cast.boat'?",
        ),
        ("style:ink", "selector 'style:ink' matches no shot — did you mean 'style:cast.ink'?"),
        ("character:travller", "selector 'character:travller' matches no shot — did you mean 'character:traveller'?"),
        ("character:nobody", "selector 'character:nobody' matches no shot"),
    ],
)
def test_a_selector_that_matches_nothing_suggests_the_one_meant(ferry: Plan, selector: str, message: str) -> None:
    assert refused(ferry, selector) == message


def test_the_suggested_selector_works(ferry: Plan) -> None:
    assert select(ferry, ["character:cast.ferryman"])


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("bording", "unknown shot 'bording' in selector 'bording' — did you mean 'boarding'?"),
        ("+bording+", "unknown shot 'bording' in selector '+bording+' — did you mean 'boarding'?"),
        ("shot:crosing", "unknown shot 'crosing' in selector 'shot:crosing' — did you mean 'crossing'?"),
        (
            "crossing.last_frame",
            "unknown shot 'crossing.last_frame' in selector 'crossing.last_frame' — a selector names the shot: "
            "write 'crossing' (its last frame is built with it)",
        ),
    ],
)
def test_an_unknown_shot_in_a_selector_suggests_the_nearest_id(ferry: Plan, selector: str, message: str) -> None:
    assert refused(ferry, selector) == message


# -- start and @shot.last_frame ----------------------------------------------------------------

SHOTS = """\
version: 1
title: Hints
characters:
  mira: {image: assets/mira/front.png}
images:
  greenhouse: assets/green.png
shots:
  - id: arrival
    prompt: "@mira arrives."
"""


def test_start_naming_a_shot_says_to_write_last_frame(project: Path) -> None:
    path = write_storyboard(project, SHOTS + "  - id: orbit\n    start: arrival\n    prompt: x\n")
    assert lines(path) == [
        "storyboard.yaml:11:12: shots[1].start: unknown image 'arrival'; 'arrival' is a shot "
        "— to start from a shot's last frame write 'arrival.last_frame'"
    ]


def test_start_near_a_shot_id_suggests_its_last_frame(project: Path) -> None:
    path = write_storyboard(project, SHOTS + "  - id: orbit\n    start: arival\n    prompt: x\n")
    assert lines(path) == [
        "storyboard.yaml:11:12: shots[1].start: unknown image 'arival' "
        "— to start from a shot's last frame write 'arrival.last_frame'"
    ]


def test_start_near_an_image_still_suggests_the_image(project: Path) -> None:
    path = write_storyboard(project, SHOTS + "  - id: orbit\n    start: greenhose\n    prompt: x\n")
    assert lines(path) == [
        "storyboard.yaml:11:12: shots[1].start: unknown image 'greenhose' — did you mean 'greenhouse'?"
    ]


def test_an_unknown_shot_in_start_suggests_the_nearest_last_frame(project: Path) -> None:
    path = write_storyboard(project, SHOTS + "  - id: orbit\n    start: arival.last_frame\n    prompt: x\n")
    assert lines(path) == [
        "storyboard.yaml:11:12: shots[1].start: unknown shot 'arival' in 'arival.last_frame' "
        "— did you mean 'arrival.last_frame'?"
    ]
    path = write_storyboard(project, SHOTS + "  - id: orbit\n    start: zzz.last_frame\n    prompt: x\n")
    assert lines(path) == [
        "storyboard.yaml:11:12: shots[1].start: unknown shot 'zzz' in 'zzz.last_frame' "
        "— `start` takes an image name or `<shot id>.last_frame`"
    ]


def test_last_frame_of_an_asset_or_a_misspelt_shot_in_a_prompt_is_an_error(project: Path) -> None:
    """`@mira.last_frame` used to become the text `@Element1.last_frame`, sent as it was."""
    path = write_storyboard(project, SHOTS + '  - id: orbit\n    prompt: "@mira.last_frame and @arival.last_frame"\n')
    assert lines(path) == [
        "storyboard.yaml:11:13: shots[1].prompt: shot 'orbit': unknown shot 'mira' in @mira.last_frame "
        "— only a shot has a last frame: write @<shot id>.last_frame",
        "storyboard.yaml:11:13: shots[1].prompt: shot 'orbit': unknown shot 'arival' in @arival.last_frame "
        "— did you mean @arrival.last_frame?",
    ]


# -- YAML indentation in words ---------------------------------------------------------------

INDENT = "keys of one mapping start in the same column, and a value on its own line is indented under its key"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            'version: 1\ntitle: T\nshots:\n  - id: a\n    prompt: "x"\n      duration: 5\n',
            "storyboard.yaml:6:7: invalid YAML: line 6 is indented 6 spaces, but the keys of the mapping it "
            f"belongs to (from line 4) are indented 4 spaces — {INDENT}",
        ),
        (
            "version: 1\ntitle: T\nshots:\n  - id: a\n    prompt: x\n      duration: 5\n",
            "storyboard.yaml:6:7: invalid YAML: line 6 is indented deeper than line 5 above it, so YAML reads it "
            "as more of that line's value, and its `:` cannot start a key there — indent it as much as line 5 if "
            "it is another key of the same mapping, or quote the value of line 5",
        ),
        (
            "version: 1\ntitle: T\ncharacters:\n  mira:\n    image: a.png\n   references: []\nshots: []\n",
            "storyboard.yaml:6:4: invalid YAML: line 6 is indented 3 spaces, but the keys of the mapping it "
            f"belongs to (from line 4) are indented 2 spaces, and line 5 above it 4 spaces — {INDENT}",
        ),
        (
            "version: 1\ntitle: T\nshots:\n  - id: a\n    prompt: x\n - id: b\n   prompt: y\n",
            "storyboard.yaml:6:2: invalid YAML: line 6 is a list item (`- `) indented 1 space, but the item above "
            "it (line 4) is indented 2 spaces — start every item of one list in the same column",
        ),
        (
            "version: 1\n title: T\n",
            "storyboard.yaml:2:2: invalid YAML: line 2 is indented deeper than line 1 above it, so YAML reads it "
            "as more of that line's value, and its `:` cannot start a key there — indent it as much as line 1 if "
            "it is another key of the same mapping, or quote the value of line 1",
        ),
        (
            "version: 1\ntitle: T\nshots:\n  - id: a\n    prompt: The camera: slow\n",
            "storyboard.yaml:5:23: invalid YAML: line 5 has a `: ` inside a plain value, which YAML reads as the "
            'start of a key — put the value in quotes: `prompt: "The camera: slow"`',
        ),
    ],
    ids=["deeper-after-quoted", "deeper-after-plain", "between-two-levels", "list-item", "top-level", "colon"],
)
def test_a_yaml_indentation_mistake_is_said_in_words(project: Path, text: str, line: str) -> None:
    assert lines(write_storyboard(project, text)) == [line]


# -- --version -------------------------------------------------------------------------------


def test_version_prints_the_package_version(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "storyboard", "--version"],
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"storyboard {storyboard.__version__}\n", "")
