"""Golden files: one storyboard per mapping rule of the contract, compiled to ``compile --json``.

Each case is ``tests/fixtures/cases/<where>/<name>.yaml``: it is copied to the same place in a
fresh copy of the fixture project (``story/x.yaml`` lands in ``<project>/story/``) and compiled;
the output must equal ``tests/golden/<name>.json`` byte for byte. After an intended change::

    STORYBOARD_UPDATE_GOLDEN=1 pytest tests/unit/test_golden.py

and review the diff. Golden files are snapshots, so each case also has the prompts the contract
says it must produce written out by hand below (``EXPECTED``): regenerating a golden file cannot
hide a broken rule.

Also here: determinism (in one process and across processes with different hash seeds) and what
the cache key depends on.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sbtest import CASES, draw, write_storyboard
from storyboard.compiler.compile import compile_file
from storyboard.plan import Plan
from support import cli as support_cli

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
UPDATE = os.environ.get("STORYBOARD_UPDATE_GOLDEN") == "1"
CASE_FILES = sorted(CASES.rglob("*.yaml"))
REGENERATE = "STORYBOARD_UPDATE_GOLDEN=1 pytest tests/unit/test_golden.py"

# case name → per shot: (prompt, image_urls, [frontal, references…] per element, depends_on);
# an element declared without references sends its frontal image as its one reference view
EXPECTED: dict[str, list[tuple[str | None, list[str], list[list[str]], list[str]]]] = {
    "elements_first_mention": [
        (
            "The @Element1 glows in @Element2's hands while the @Element3 flickers.",
            [],
            [
                ["assets/grey.png", "assets/grey.png"],
                ["assets/mira/front.png", "assets/mira/side.png", "assets/mira/back.png"],
                ["assets/orange.png", "assets/orange.png"],
            ],
            [],
        ),
        (
            "@Element1, then @Element2, then @Element3.",
            [],
            [
                ["assets/orange.png", "assets/orange.png"],
                ["assets/mira/front.png", "assets/mira/side.png", "assets/mira/back.png"],
                ["assets/grey.png", "assets/grey.png"],
            ],
            [],
        ),
    ],
    "start_frame_sentence": [
        (
            "Take @Image1 as the start frame. The camera swoops down and reveals @Element1 under @Image2.",
            ["assets/green.png", "assets/cyan.png"],
            [["assets/mira/front.png", "assets/mira/front.png"]],
            [],
        ),
    ],
    "start_frame_mentioned": [
        (
            "Under @Image2, @Element1 walks into @Image1 and looks back at @Image1.",
            ["assets/green.png", "assets/cyan.png"],
            [["assets/mira/front.png", "assets/mira/front.png"]],
            [],
        ),
    ],
    "style_sentence": [
        (
            "Take @Image1 as the start frame. A slow dolly across the glasshouse. "
            "Make sure to keep it as the style of @Image2.",
            ["assets/green.png", "assets/style/ink.png"],
            [],
            [],
        ),
        (
            "Take @Image1 as the start frame. A slow dolly across the glasshouse. "
            "Make sure to keep it as the style of @Image2 and @Image3.",
            ["assets/green.png", "assets/style/ink.png", "assets/style/wash.png"],
            [],
            [],
        ),
        (
            "Take @Image1 as the start frame. A slow dolly across the glasshouse. "
            "Make sure to keep it as the style of @Image2, @Image3 and @Image4.",
            ["assets/green.png", "assets/style/ink.png", "assets/style/wash.png", "assets/style/paper.png"],
            [],
            [],
        ),
    ],
    "style_mentioned": [
        (
            "Take @Image1 as the start frame. @Element1 in the manner of @Image2 and @Image3.",
            ["assets/green.png", "assets/style/ink.png", "assets/style/wash.png"],
            [["assets/mira/front.png", "assets/mira/front.png"]],
            [],
        ),
        (
            "@Element1 drawn like @Image1. Make sure to keep it as the style of @Image2 and @Image3.",
            ["assets/yellow.png", "assets/style/ink.png", "assets/style/wash.png"],
            [["assets/mira/front.png", "assets/mira/front.png"]],
            [],
        ),
    ],
    "style_null": [
        (
            "@Element1 waves. Make sure to keep it as the style of @Image1.",
            ["assets/style/paper.png"],
            [["assets/mira/front.png", "assets/mira/front.png"]],
            [],
        ),
        ("@Element1 waves.", [], [["assets/mira/front.png", "assets/mira/front.png"]], []),
    ],
    "same_name_twice": [
        (
            "@Element1 sees @Image1. @Element2 sinks into @Image1; @Element1 dives after @Element2, "
            "and @Element1 surfaces.",
            ["assets/blue.png"],
            [["assets/mira/front.png", "assets/mira/front.png"], ["assets/grey.png", "assets/grey.png"]],
            [],
        ),
    ],
    "literal_at": [
        (
            "A shop sign reads @home; @Element1 points at it. A tag @mira is painted on the wall @.",
            [],
            [["assets/mira/front.png", "assets/mira/front.png"]],
            [],
        ),
    ],
    "email_untouched": [
        (
            "@Element1 writes mira@greenhouse.org, old_mira@example.com and josé@correo.es on the envelope.",
            [],
            [["assets/mira/front.png", "assets/mira/front.png"]],
            [],
        ),
    ],
    "library_namespace": [
        (
            "Take @Image1 as the start frame. @Element1 rows @Element2 across the lake. "
            "Make sure to keep it as the style of @Image2.",
            ["../lib/img/lake.png", "../lib/img/ink.png"],
            [["../lib/img/ferry.png", "../lib/img/ferry.png"], ["../lib/img/boat.png", "../lib/img/boat.png"]],
            [],
        ),
        (
            "@Element1 waves from @Image1.",
            ["../lib/img/lake.png"],
            [["../lib/img/ferry.png", "../lib/img/ferry.png"]],
            [],
        ),
    ],
    "extends_local": [
        (
            "@Element1 remembers @Element2; @Element3 watches. Make sure to keep it as the style of @Image1.",
            ["assets/style/ink.png"],
            [
                ["assets/mira/old_front.png", "assets/mira/side.png", "assets/mira/back.png"],
                ["assets/mira/front.png", "assets/mira/side.png", "assets/mira/back.png"],
                ["assets/mira/front.png", "assets/mira/front.png"],
            ],
            [],
        ),
    ],
    "extends_library": [
        (
            "@Element1, @Element2 and @Element3 share the boat.",
            [],
            [
                ["lib/img/ferry.png", "assets/red.png"],
                ["lib/img/ferry.png", "lib/img/ferry.png"],
                ["lib/img/gull.png", "lib/img/gull.png"],
            ],
            [],
        ),
    ],
    "continuity": [
        ("@Element1 arrives.", [], [["assets/mira/front.png", "assets/mira/front.png"]], []),
        (
            "Take @Image1 as the start frame. The camera orbits @Element1.",
            ["arrival.last_frame"],
            [["assets/mira/front.png", "assets/mira/front.png"]],
            ["arrival"],
        ),
        (
            "Take @Image1 as the start frame. Close on @Element1's face.",
            ["orbit.last_frame"],
            [["assets/mira/front.png", "assets/mira/front.png"]],
            ["orbit"],
        ),
        ("An empty lake at dawn.", [], [], []),
        (
            "Back to @Image1; @Element1 smiles.",
            ["arrival.last_frame"],
            [["assets/mira/front.png", "assets/mira/front.png"]],
            ["arrival"],
        ),
    ],
    "durations": [
        ("A blink.", [], [], []),
        ("A breath.", [], [], []),
        ("A long take.", [], [], []),
    ],
    "defaults_cascade": [
        (
            "35mm lens, 8 seconds at 9:16 in storybook. Make sure to keep it as the style of @Image1.",
            ["assets/style/paper.png"],
            [],
            [],
        ),
        (
            "overrides: 4 s, 8 s by default, night. Make sure to keep it as the style of @Image1.",
            ["assets/blue.png"],
            [],
            [],
        ),
    ],
}
EXPECTED.update(
    {
        "model_o1_image_to_video": [
            (
                "Take @Image1 as the start frame. The sun crosses the sky over the glasshouse. "
                "End on @Image2 as the end frame.",
                [],
                [],
                [],
            ),
            ("Time runs back from @Image1 to @Image2.", [], [], ["day"]),
        ],
        "model_o3_reference": [
            (
                "@Element1 walks along the shore of @Image1, humming. Make sure to keep it as the style of @Image2.",
                ["assets/blue.png", "assets/style/ink.png"],
                [["assets/mira/front.png", "assets/mira/side.png"]],
                [],
            ),
            (None, ["assets/blue.png"], [["assets/mira/front.png", "assets/mira/side.png"]], ["long"]),
            ("An empty shore.", [], [], []),
        ],
        "model_o3_image_to_video": [("The moon rises over the lake.", [], [], [])],
        "model_v3_image_to_video": [
            ("@Element1 sings by the water.", [], [["assets/mira/front.png", "assets/mira/front.png"]], []),
            ("@Element1 stops and listens.", [], [["assets/mira/front.png", "assets/mira/front.png"]], ["sing"]),
        ],
        "model_edit": [
            ("The camera orbits @Element1.", [], [["assets/mira/front.png", "assets/mira/front.png"]], []),
            (
                "Make it night; @Element1 holds a lantern. Make sure to keep it as the style of @Image1.",
                ["assets/style/ink.png"],
                [["assets/mira/front.png", "assets/mira/front.png"]],
                ["orbit"],
            ),
            ("Add falling snow.", [], [], ["orbit_night"]),
        ],
    }
)
# request fields other than prompt and assets, where a case is about them
EXPECTED_FIELDS: dict[str, list[dict[str, Any]]] = {
    "model_o1_image_to_video": [
        {
            "endpoint": "fal-ai/kling-video/o1/standard/image-to-video",
            "start_image_url": "assets/yellow.png",
            "end_image_url": "assets/blue.png",
            "duration": "8",
        },
        {
            "endpoint": "fal-ai/kling-video/o1/image-to-video",
            "start_image_url": "day.last_frame",
            "end_image_url": "assets/yellow.png",
            "duration": "5",
        },
    ],
    "model_o3_reference": [
        {"start_image_url": "assets/blue.png", "duration": "15", "generate_audio": True, "aspect_ratio": "16:9"},
        {
            "multi_prompt": [
                {"prompt": "@Element1 wakes up.", "duration": "4"},
                {"prompt": "@Element1 opens the door to @Image1.", "duration": "6"},
            ],
            "end_image_url": "long.first_frame",
            "duration": "10",
            "generate_audio": False,
        },
        {"endpoint": "fal-ai/kling-video/o3/pro/reference-to-video", "generate_audio": False},
    ],
    "model_o3_image_to_video": [
        {"image_url": "assets/blue.png", "end_image_url": "assets/grey.png", "duration": "12", "generate_audio": False}
    ],
    "model_v3_image_to_video": [
        {"start_image_url": "assets/blue.png", "generate_audio": True, "duration": "5"},
        {"start_image_url": "sing.last_frame", "generate_audio": False, "duration": "11"},
    ],
    "model_edit": [
        {"duration": "6", "aspect_ratio": "9:16"},
        {"endpoint": "fal-ai/kling-video/o1/standard/video-to-video/edit", "video_url": "orbit.clip"},
        {"endpoint": "fal-ai/kling-video/o1/video-to-video/edit", "video_url": "orbit_night.clip"},
    ],
    "durations": [
        {"duration": "3", "aspect_ratio": "16:9"},
        {"duration": "5", "aspect_ratio": "16:9"},
        {"duration": "10", "aspect_ratio": "16:9"},
    ],
    "defaults_cascade": [
        {"duration": "8", "aspect_ratio": "9:16", "endpoint": "fal-ai/kling-video/o1/standard/reference-to-video"},
        {"duration": "4", "aspect_ratio": "1:1", "endpoint": "fal-ai/kling-video/o1/reference-to-video"},
    ],
}


def plan_text(plan: Plan) -> str:
    """The plan exactly as ``storyboard compile --json`` prints it."""
    return json.dumps(plan.to_json(), indent=2, ensure_ascii=False) + "\n"


def place_case(project: Path, case: Path) -> Path:
    """Copy a case file to the same relative place inside ``project``; return the copy."""
    target = project / case.relative_to(CASES)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(case, target)
    return target


def check_golden(name: str, text: str) -> None:
    """Compare ``text`` with ``tests/golden/<name>.json``, or rewrite it when updating."""
    golden = GOLDEN / f"{name}.json"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8", newline="\n")
        return
    assert golden.is_file(), f"no golden file {golden.name}: create it with `{REGENERATE}`"
    assert text == golden.read_text(encoding="utf-8"), (
        f"compiled output differs from {golden.name}; if the change is intended, run `{REGENERATE}` and review the diff"
    )


def run_cli(args: list[str], cwd: Path, seed: str = "0") -> subprocess.CompletedProcess[str]:
    """``storyboard ARGS`` in a fresh interpreter (:func:`support.cli.run_cli`) with a fixed hash seed."""
    return support_cli.run_cli(*args, cwd=cwd, env={"PYTHONHASHSEED": seed, "COLUMNS": "200"}, timeout=60)


@pytest.mark.parametrize("case", CASE_FILES, ids=lambda p: p.stem)
def test_golden(project: Path, case: Path) -> None:
    """Each case compiles to its golden file, byte for byte, with no absolute path in it."""
    plan = compile_file(place_case(project, case))
    text = plan_text(plan)
    assert str(project) not in text and str(project.resolve()) not in text
    for shot in plan.to_json()["shots"]:
        request = shot["request"]
        urls = request.get("image_urls", []) + [
            u for el in request.get("elements", []) for u in [el["frontal_image_url"], *el["reference_image_urls"]]
        ]
        urls += [request[k] for k in ("start_image_url", "image_url", "end_image_url", "video_url") if k in request]
        assert not any(os.path.isabs(u) for u in urls), urls
    check_golden(case.stem, text)


@pytest.mark.parametrize("case", CASE_FILES, ids=lambda p: p.stem)
def test_case_follows_the_contract(project: Path, case: Path) -> None:
    """The hand-written expectation of each case (independent of the golden snapshot)."""
    assert case.stem in EXPECTED, f"write the expected prompts of {case.name} into EXPECTED"
    shots = compile_file(place_case(project, case)).to_json()["shots"]
    got = [
        (
            s["request"].get("prompt"),
            s["request"].get("image_urls", []),
            [[el["frontal_image_url"], *el["reference_image_urls"]] for el in s["request"].get("elements", [])],
            s["depends_on"],
        )
        for s in shots
    ]
    assert got == EXPECTED[case.stem]
    for shot, fields in zip(shots, EXPECTED_FIELDS.get(case.stem, [{}] * len(shots)), strict=True):
        flat = {**shot["request"], "endpoint": shot["endpoint"]}
        assert {k: flat[k] for k in fields} == fields


def test_every_golden_file_has_a_case() -> None:
    """No orphaned golden file is left behind when a case is renamed or removed."""
    names = {p.stem for p in CASE_FILES}
    orphans = sorted(p.name for p in GOLDEN.glob("*.json") if p.stem not in names)
    assert not orphans, f"golden files without a case in tests/fixtures/cases/: {orphans}"
    assert len(names) == len(CASE_FILES), "two cases share a name"


def test_cli_json_matches_golden_in_separate_processes(project: Path) -> None:
    """`storyboard compile --json` in two fresh interpreters with different hash seeds prints the golden file."""
    case = place_case(project, CASES / "story" / "library_namespace.yaml")
    outputs = []
    for seed in ("0", "4242"):
        result = run_cli(["compile", str(case.relative_to(project)), "--json"], cwd=project, seed=seed)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    if not UPDATE:
        check_golden("library_namespace", outputs[0])


_COMPILE_ALL = """
import json, sys
from storyboard.compiler.compile import compile_file
for path in sys.argv[1:]:
    sys.stdout.write(json.dumps(compile_file(path).to_json(), indent=2, ensure_ascii=False) + "\\n")
"""


def test_every_case_is_identical_across_processes(project: Path) -> None:
    """Every case, compiled in fresh interpreters with different hash seeds, gives this process's bytes."""
    cases = [str(place_case(project, case).relative_to(project)) for case in CASE_FILES]
    here = "".join(plan_text(compile_file(c)) for c in cases)
    for seed in ("1", "987654"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", _COMPILE_ALL, *cases],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == here


def test_compiling_twice_is_byte_identical(project: Path) -> None:
    """The same storyboard compiles to the same bytes and keys every time, in one process."""
    texts = [plan_text(compile_file(place_case(project, case))) for case in CASE_FILES for _ in range(2)]
    assert texts[0::2] == texts[1::2]


def test_keys_do_not_depend_on_where_the_project_lives(project: Path, tmp_path: Path) -> None:
    """Moving the whole project elsewhere keeps every cache key (keys hash content, not paths)."""
    case = place_case(project, CASES / "continuity.yaml")
    before = plan_text(compile_file(case))
    moved = shutil.copytree(project, tmp_path / "elsewhere" / "deeper")
    assert plan_text(compile_file(moved / case.name)) == before


# -- what the cache key depends on -----------------------------------------------------------

KEYS_BOARD = """\
version: 1
title: Keys
characters:
  mira: {image: assets/red.png}
objects:
  stone: {image: assets/grey.png}
shots:
  - id: first
    prompt: "@mira arrives."
  - id: second
    start: first.last_frame
    prompt: "@mira turns."
  - id: unrelated
    prompt: "@stone rests."
"""


def keys(path: Path) -> dict[str, str]:
    """Shot id → cache key of the storyboard at ``path``."""
    return {s.id: s.key for s in compile_file(path).shots}


def test_key_changes_with_asset_bytes(project: Path) -> None:
    """New bytes under the same path change the key of every shot using it, and only those."""
    path = write_storyboard(project, KEYS_BOARD)
    before = keys(path)
    draw(project / "assets/red.png", (201, 40, 40))
    after = keys(path)
    assert after["first"] != before["first"]
    assert after["second"] != before["second"]
    assert after["unrelated"] == before["unrelated"]


def test_key_ignores_the_asset_path(project: Path) -> None:
    """The same bytes under another file name keep the key (assets enter keys by content)."""
    path = write_storyboard(project, KEYS_BOARD)
    before = keys(path)
    shutil.copyfile(project / "assets/red.png", project / "assets/renamed.png")
    path = write_storyboard(project, KEYS_BOARD.replace("assets/red.png", "assets/renamed.png"))
    assert keys(path) == before


def test_key_changes_with_the_prompt(project: Path) -> None:
    """Editing a prompt changes that shot's key and its dependants', not the others'."""
    path = write_storyboard(project, KEYS_BOARD)
    before = keys(path)
    path = write_storyboard(project, KEYS_BOARD.replace("@mira arrives.", "@mira arrives, slowly."))
    after = keys(path)
    assert after["first"] != before["first"]
    assert after["second"] != before["second"], "the upstream key changed, so must this one"
    assert after["unrelated"] == before["unrelated"]


def test_key_changes_with_duration_and_aspect_ratio(project: Path) -> None:
    """Every request field enters the key."""
    path = write_storyboard(project, KEYS_BOARD)
    before = keys(path)
    for extra in ("    duration: 6\n", '    aspect_ratio: "1:1"\n', "    model: o1-pro\n"):
        text = KEYS_BOARD.replace('    prompt: "@stone rests."\n', '    prompt: "@stone rests."\n' + extra)
        assert keys(write_storyboard(project, text))["unrelated"] != before["unrelated"], extra


def test_unrelated_edits_keep_keys(project: Path) -> None:
    """Notes, descriptions, titles, shot order and unused assets do not enter any key."""
    path = write_storyboard(project, KEYS_BOARD)
    before = keys(path)
    edited = (
        KEYS_BOARD.replace("title: Keys", "title: Keys, second draft")
        .replace('    prompt: "@stone rests."', '    notes: a note for the board\n    prompt: "@stone rests."')
        .replace("objects:\n", "images:\n  unused: assets/cyan.png\nobjects:\n")
    )
    assert keys(write_storyboard(project, edited)) == before
    # the unrelated shot moved to the top
    top, rest = edited.split("shots:\n")
    moved = top + "shots:\n" + rest[rest.index("  - id: unrelated") :] + rest[: rest.index("  - id: unrelated")]
    assert keys(write_storyboard(project, moved)) == before
