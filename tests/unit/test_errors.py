"""Error messages, word for word: one test per kind of bad input.

Each test checks what a user reads: the file, the line and column where the YAML node starts,
the field path, the message and the hint. A change of wording fails here on purpose; update the
test together with ``docs/format.md`` when it is intended.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from sbtest import draw, time_limit, write_storyboard
from storyboard.compiler.compile import compile_file
from storyboard.errors import InputError, Problem
from support import cli as support_cli

# 13 lines; the first shot starts on line 14
BASE = """\
version: 1
title: Errors
characters:
  mira: {image: assets/mira/front.png}
objects:
  stone: {image: assets/grey.png}
images:
  greenhouse: assets/green.png
styles:
  storybook: {images: [assets/style/ink.png]}
shots:
  - id: first
    prompt: "@mira walks."
"""
NAME_HINT = "names use letters, digits and _, and do not start with a digit (e.g. old_mira)"
TAG_HINT = "the compiler numbers @ElementN/@ImageN itself: write the asset's name (e.g. @mira)"
SANDBOX_HINT = "prompts may only use variables and filters"

Where = tuple[str | None, int | None, int | None, str, str, str | None]


def problems(path: Path) -> list[Problem]:
    """The problems compiling ``path`` reports (it must fail with an InputError)."""
    with pytest.raises(InputError) as info:
        compile_file(path)
    return info.value.problems


def facts(path: Path) -> list[Where]:
    """Each problem as (file, line, column, path, message, hint)."""
    return [(p.file, p.line, p.column, p.path, p.message, p.hint) for p in problems(path)]


def board(project: Path, text: str, name: str = "storyboard.yaml") -> Path:
    """Write a storyboard (dedented) into the project."""
    return write_storyboard(project, text, name)


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``storyboard ARGS`` in a subprocess (:func:`support.cli.run_cli`), wide enough for long messages."""
    return support_cli.run_cli(*args, cwd=cwd, env={"COLUMNS": "300"}, timeout=60)


# -- shapes and types (validate.py) ----------------------------------------------------------


def test_unknown_field_suggests_the_close_one(project: Path) -> None:
    path = board(project, BASE + "  - id: second\n    promt: The camera orbits.\n")
    assert facts(path) == [
        ("storyboard.yaml", 14, 5, "shots[1].prompt", "missing required field 'prompt'", None),
        ("storyboard.yaml", 15, 5, "shots[1].promt", "unknown field 'promt'", "did you mean 'prompt'?"),
    ]


def test_unknown_field_without_a_close_one_lists_the_fields(project: Path) -> None:
    path = board(project, BASE.replace("title: Errors\n", "title: Errors\nsoundtrack: x.mp3\n"))
    assert facts(path) == [
        (
            "storyboard.yaml",
            3,
            1,
            "soundtrack",
            "unknown field 'soundtrack'",
            "known fields: imports, characters, objects, styles, images, voices, version, title, model, models, defaults, vars, "
            "shots, "
            "film",
        ),
    ]


def test_unknown_field_in_an_asset(project: Path) -> None:
    path = board(
        project,
        BASE.replace("  mira: {image: assets/mira/front.png}", "  mira: {image: assets/mira/front.png, refrences: []}"),
    )
    assert facts(path) == [
        (
            "storyboard.yaml",
            4,
            40,
            "characters.mira.refrences",
            "unknown field 'refrences'",
            "did you mean 'references'?",
        ),
    ]


def test_missing_prompt(project: Path) -> None:
    path = board(project, BASE + "  - id: second\n    duration: 5\n")
    assert facts(path) == [("storyboard.yaml", 14, 5, "shots[1].prompt", "missing required field 'prompt'", None)]


def test_missing_top_level_fields(project: Path) -> None:
    path = board(project, "version: 1\ntitle: T\n")
    assert facts(path) == [("storyboard.yaml", 1, 1, "shots", "missing required field 'shots'", None)]
    path = board(project, "version: 1\nshots:\n  - {id: a, prompt: x}\n")
    assert facts(path) == [("storyboard.yaml", 1, 1, "title", "missing required field 'title'", None)]


def test_no_title_and_no_shots_looks_like_a_library(project: Path) -> None:
    path = board(project, "version: 1\ncharacters: {}\n")
    assert facts(path) == [
        ("storyboard.yaml", 1, 1, "", "this looks like a library (no shots)", "build a storyboard that imports it"),
    ]


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (
            ("  - id: first\n", "  - id: first\n    duration: five\n"),
            (13, 15, "shots[0].duration", "'five' must be a whole number or `auto`"),
        ),
        (("title: Errors", "title: [a, b]"), (2, 8, "title", "expected text, got list ['a', 'b']")),
        (
            ("characters:\n  mira: {image: assets/mira/front.png}", "characters: [mira]"),
            (3, 13, "characters", "expected a mapping (name: value), got list"),
        ),
        (
            ('    prompt: "@mira walks."', "    prompt: {text: hi}"),
            (13, 13, "shots[0].prompt", "expected text, got dict {'text': 'hi'}"),
        ),
        (
            ("[assets/style/ink.png]", "assets/style/ink.png"),
            (10, 23, "styles.storybook.images", "expected a list, got str"),
        ),
        (("version: 1", "version: 2"), (1, 10, "version", "2 is not allowed here; expected 1")),
    ],
    ids=["duration-text", "title-list", "table-list", "prompt-mapping", "images-not-list", "version"],
)
def test_wrong_type(project: Path, edit: tuple[str, str], where: tuple[int, int, str, str]) -> None:
    path = board(project, BASE.replace(*edit))
    assert facts(path) == [("storyboard.yaml", *where, None)]


def test_bad_names(project: Path) -> None:
    text = BASE.replace("  stone:", "  1stone:").replace("- id: first", "- id: first-shot")
    assert facts(board(project, text)) == [
        ("storyboard.yaml", 6, 3, "objects.1stone", "'1stone' is not a valid name", NAME_HINT),
        ("storyboard.yaml", 12, 9, "shots[0].id", "'first-shot' is not a valid name", NAME_HINT),
    ]


def test_name_used_in_two_tables(project: Path) -> None:
    path = board(project, BASE.replace("  greenhouse: assets/green.png", "  stone: assets/green.png"))
    assert facts(path) == [
        (
            "storyboard.yaml",
            8,
            3,
            "images.stone",
            "'stone' is already declared under 'objects'",
            "names are unique across characters, objects, styles and images",
        ),
    ]


def test_asset_named_like_a_model_tag(project: Path) -> None:
    path = board(project, BASE.replace("  stone:", "  Element1:"))
    assert facts(path) == [
        (
            "storyboard.yaml",
            6,
            3,
            "objects.Element1",
            "'Element1' looks like one of the model's own tags",
            "the compiler numbers @ElementN/@ImageN itself: choose another name",
        ),
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2", "2 is out of range: input should be greater than or equal to 3"),
        ("16", "16 is out of range: input should be less than or equal to 15"),
        ("5.5", "5.5 must be a whole number or `auto`"),  # a shot's duration may be `auto` (defaults' may not)
        ('"5"', "'5' must be a whole number or `auto`"),
    ],
)
def test_duration_out_of_range(project: Path, value: str, message: str) -> None:
    path = board(project, BASE + f"  - id: second\n    duration: {value}\n    prompt: x\n")
    assert facts(path) == [("storyboard.yaml", 15, 15, "shots[1].duration", message, None)]


def test_duration_in_defaults(project: Path) -> None:
    path = board(project, BASE.replace("shots:\n", "defaults:\n  duration: 16\nshots:\n"))
    assert facts(path) == [
        (
            "storyboard.yaml",
            12,
            13,
            "defaults.duration",
            "16 is out of range: input should be less than or equal to 15",
            None,
        ),
    ]


def test_duration_past_the_models_range(project: Path) -> None:
    """11 s is a valid duration, but not on O1: the problem names the model and the ones that allow it."""
    path = board(project, BASE + "  - id: second\n    duration: 11\n    prompt: x\n")
    [(file, line, column, where, message, hint)] = facts(path)
    assert (file, line, column, where) == ("storyboard.yaml", 15, 15, "shots[1].duration")
    assert message == "duration 11 is not offered by Kling O1 reference-to-video (standard)"
    assert hint is not None and "3..10" in hint and "o3" in hint


def test_duration_in_defaults_past_the_models_range(project: Path) -> None:
    """A default the shot's model does not offer is reported where it is written."""
    path = board(project, BASE.replace("shots:\n", "defaults:\n  duration: 12\nshots:\n"))
    [(file, line, column, where, message, _hint)] = facts(path)
    assert (file, line, where) == ("storyboard.yaml", 12, "defaults.duration")
    assert message == "duration 12 is not offered by Kling O1 reference-to-video (standard)"


def test_bad_aspect_ratio(project: Path) -> None:
    path = board(project, BASE + '  - id: second\n    aspect_ratio: "4:3"\n    prompt: x\n')
    assert facts(path) == [
        (
            "storyboard.yaml",
            15,
            19,
            "shots[1].aspect_ratio",
            "'4:3' is not allowed here; expected '16:9', '9:16' or '1:1'",
            None,
        ),
    ]


def test_unquoted_aspect_ratio_is_text(project: Path) -> None:
    """YAML 1.1 reads a plain 16:9 as the base-60 number 969; storyboard keeps the text (as YAML 1.2 does)."""
    path = board(project, BASE + "  - id: second\n    aspect_ratio: 9:16\n    prompt: x\n")
    assert compile_file(path).shot("second").aspect_ratio == "9:16"
    path = board(project, BASE + "  - id: second\n    aspect_ratio: 4:3\n    prompt: x\n")
    assert facts(path)[0][4] == "'4:3' is not allowed here; expected '16:9', '9:16' or '1:1'"


@pytest.mark.parametrize(
    ("value", "where"),
    [
        (
            "dissolve",
            (
                15,
                17,
                "shots[1].transition",
                "'dissolve' is not allowed here; expected 'cut', 'crossfade' or 'fade'",
                None,
            ),
        ),
        (
            "{type: wipe}",
            (
                15,
                24,
                "shots[1].transition.type",
                "'wipe' is not allowed here; expected 'cut', 'crossfade' or 'fade'",
                None,
            ),
        ),
        (
            "{type: fade, duratoin: 1}",
            (15, 30, "shots[1].transition.duratoin", "unknown field 'duratoin'", "did you mean 'duration'?"),
        ),
        (
            "{type: fade, duration: 9}",
            (
                15,
                40,
                "shots[1].transition.duration",
                "9 is out of range: input should be less than or equal to 5",
                None,
            ),
        ),
    ],
    ids=["unknown-name", "unknown-type", "typo", "too-long"],
)
def test_bad_transition_says_one_thing(project: Path, value: str, where: tuple[int, int, str, str, str | None]) -> None:
    """A transition is a name or a mapping: only the form the user wrote is explained, not both."""
    path = board(project, BASE + f"  - id: second\n    transition: {value}\n    prompt: x\n")
    assert facts(path) == [("storyboard.yaml", *where)]


def test_film_output_must_be_a_file_name(project: Path) -> None:
    path = board(project, BASE + "film:\n  output: ../out/film.mp4\n")
    assert facts(path) == [
        (
            "storyboard.yaml",
            15,
            11,
            "film.output",
            "'../out/film.mp4' must be a file name ending in .mp4",
            "no folders, no control characters, no leading dot, at most 100 characters before .mp4: "
            "the film is written to the build folder",
        ),
    ]


def test_unknown_model_lists_the_known_ones(project: Path) -> None:
    path = board(project, BASE.replace("title: Errors", "title: Errors\nmodel: sora"))
    assert facts(path) == [
        (
            "storyboard.yaml",
            3,
            8,
            "model",
            "unknown model 'sora'",
            "known models: kling-o1-pro, kling-o1-standard, o1, o1-edit, o1-edit-pro, o1-edit-standard, "
            "o1-first-last, o1-first-last-pro, o1-i2v, o1-i2v-pro, o1-i2v-standard, o1-pro, o1-ref, o1-ref-pro, "
            "o1-standard, o3, o3-4k, o3-i2v, o3-pro, o3-ref, o3-ref-pro, o3-standard, v3, v3-i2v, v3-pro "
            "(`storyboard models` lists them)",
        ),
    ]


def test_misspelt_model_suggests_the_close_one(project: Path) -> None:
    path = board(project, BASE + "  - id: second\n    model: o1-standrd\n    prompt: x\n")
    assert facts(path) == [
        ("storyboard.yaml", 15, 12, "shots[1].model", "unknown model 'o1-standrd'", "did you mean 'o1-standard'?"),
    ]


def test_reserved_variable_name(project: Path) -> None:
    path = board(project, BASE.replace("shots:\n", "vars:\n  duration: 5\nshots:\n"))
    assert facts(path) == [
        (
            "storyboard.yaml",
            12,
            3,
            "vars.duration",
            "variable name 'duration' is reserved",
            "shot fields use it in prompts: rename the variable",
        ),
    ]


# -- YAML itself (load.py) -------------------------------------------------------------------


def test_duplicate_key_names_both_lines(project: Path) -> None:
    path = board(project, BASE + "  - id: second\n    prompt: one\n    duration: 5\n    prompt: two\n")
    assert facts(path) == [
        (
            "storyboard.yaml",
            17,
            5,
            "shots[1].prompt",
            "duplicate key 'prompt' (first written on line 15)",
            "YAML keeps only one of them: remove or rename one",
        ),
    ]


def test_duplicate_asset_in_one_table(project: Path) -> None:
    path = board(
        project,
        BASE.replace(
            "  stone: {image: assets/grey.png}", "  stone: {image: assets/grey.png}\n  stone: {image: assets/red.png}"
        ),
    )
    assert facts(path) == [
        (
            "storyboard.yaml",
            7,
            3,
            "objects.stone",
            "duplicate key 'stone' (first written on line 6)",
            "YAML keeps only one of them: remove or rename one",
        ),
    ]


def test_two_imports_under_one_namespace(project: Path) -> None:
    path = board(
        project, BASE.replace("title: Errors", "title: Errors\nimports:\n  cast: lib/cast.yaml\n  cast: lib/more.yaml")
    )
    assert facts(path) == [
        (
            "storyboard.yaml",
            5,
            3,
            "imports.cast",
            "duplicate key 'cast' (first written on line 4)",
            "YAML keeps only one of them: remove or rename one",
        ),
    ]


def test_tab_indentation(project: Path) -> None:
    path = board(project, BASE + "  - id: second\n\tprompt: x\n")
    assert facts(path) == [
        (
            "storyboard.yaml",
            15,
            1,
            "",
            "invalid YAML: found a tab character that violates indentation",
            "YAML indents with spaces, not tabs",
        ),
    ]


def test_tab_before_a_list(project: Path) -> None:
    path = board(project, "version: 1\ntitle: T\nshots:\n\t- id: a\n")
    assert facts(path) == [
        (
            "storyboard.yaml",
            4,
            1,
            "",
            "invalid YAML: found character that cannot start any token",
            "YAML indents with spaces, not tabs",
        ),
    ]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            BASE + '  - id: second\n    prompt: "never closed\n',
            (16, 1, "invalid YAML: found unexpected end of stream", "while scanning a quoted scalar"),
        ),
        (
            BASE + "  - id: second\n   prompt: x\n",
            (
                15,
                4,
                "invalid YAML: line 15 is indented 3 spaces, but the list it belongs to (from line 12) "
                "has its items (`- `) at 2 spaces",
                "indent a list item's keys past its `- ` (two more spaces than the `-`), all in one column",
            ),
        ),
        (
            "version: 1\ntitle: T\nshots: [\n",
            (4, 1, "invalid YAML: did not find expected node content", "while parsing a flow node"),
        ),
        (
            "version: 1\n- id: a\n",
            (
                2,
                1,
                "invalid YAML: line 2 starts a list item (`- `) where the mapping from line 1 expects a key",
                "a list is the value of a key: write the key (e.g. `shots:`) and indent the items under it",
            ),
        ),
    ],
    ids=["unclosed-quote", "bad-indent", "unclosed-bracket", "list-in-mapping"],
)
def test_broken_yaml(project: Path, text: str, where: tuple[int, int, str, str | None]) -> None:
    line, column, message, hint = where
    assert facts(board(project, text)) == [("storyboard.yaml", line, column, "", message, hint)]


@pytest.mark.parametrize(
    "text",
    ["", "\n\n   \n", "# yaml-language-server: $schema=x.json\n# nothing else\n"],
    ids=["empty", "blank", "comments"],
)
def test_empty_file(project: Path, text: str) -> None:
    assert facts(board(project, text)) == [
        ("storyboard.yaml", 1, None, "", "the file is empty", "start with `version: 1`")
    ]


def test_top_level_not_a_mapping(project: Path) -> None:
    assert facts(board(project, "- id: a\n  prompt: x\n")) == [
        ("storyboard.yaml", 1, 1, "", "the top level must be a mapping (`version: 1`, `title: …`, …)", None),
    ]


def test_not_utf8(project: Path) -> None:
    path = project / "storyboard.yaml"
    path.write_bytes(b"version: 1\ntitle: Caf\xe9\nshots: []\n")
    assert facts(path) == [("storyboard.yaml", 2, None, "", "not UTF-8 text (byte 0xe9)", "save it as UTF-8")]


def test_utf8_with_bom_is_fine(project: Path) -> None:
    path = project / "storyboard.yaml"
    path.write_bytes("\ufeff".encode() + BASE.encode())
    assert [s.id for s in compile_file(path).shots] == ["first"]


@pytest.mark.parametrize(
    ("value", "message", "hint"),
    [
        (
            "!!python/object/apply:os.system [ls]",
            "unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'",
            "storyboards use plain YAML values only",
        ),
        ("!custom x", "unsupported YAML tag '!custom'", "storyboards use plain YAML values only"),
        ("!!int many", "'many' is not a valid int", "remove the tag, or quote the value to write text"),
    ],
    ids=["python-object", "custom", "bad-int"],
)
def test_object_tags_are_refused(project: Path, value: str, message: str, hint: str) -> None:
    path = board(project, BASE.replace("title: Errors", f"title: {value}"))
    assert facts(path) == [("storyboard.yaml", 2, 8, "title", message, hint)]


def test_tagged_key_is_refused(project: Path) -> None:
    path = board(project, BASE.replace("title: Errors", "title: Errors\nvars: {!odd lens: 35mm}"))
    assert facts(path) == [
        ("storyboard.yaml", 3, 8, "vars", "unsupported YAML tag '!odd'", "storyboards use plain YAML values only"),
    ]


def test_alias_bomb_fails_fast(project: Path) -> None:
    lines = [
        "version: 1",
        "title: Bomb",
        "vars:",
        '  a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
    ]
    lines += [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    lines += ["shots:", "  - id: a", "    prompt: x"]
    path = board(project, "\n".join(lines) + "\n")
    with time_limit(120):  # a hang guard, not a timing: the count below is what proves it stops early
        [(file, line, column, where, message, hint)] = facts(path)
    assert message == "the document expands to more than 2,000,000 values (an alias bomb?)"
    assert (file, hint) == ("storyboard.yaml", None)
    assert 4 <= (line or 0) <= 13 and column is not None
    assert where.startswith("vars.a"), where


def test_deep_nesting(project: Path) -> None:
    path = board(project, BASE.replace("title: Errors", "title: Errors\nvars: {x: " + "[" * 70 + "]" * 70 + "}"))
    assert facts(path) == [("storyboard.yaml", 3, 11, "", "nesting deeper than 64 levels", None)]


# -- names and references (resolve.py, prompts.py) -----------------------------------------


def test_unknown_reference_suggests_the_close_one(project: Path) -> None:
    path = board(project, BASE.replace("@mira walks.", "@mria walks past @greenhose."))
    assert facts(path) == [
        ("storyboard.yaml", 13, 13, "shots[0].prompt", "shot 'first': unknown reference @mria", "did you mean @mira?"),
        (
            "storyboard.yaml",
            13,
            13,
            "shots[0].prompt",
            "shot 'first': unknown reference @greenhose",
            "did you mean @greenhouse?",
        ),
    ]


def test_unknown_reference_without_a_close_one(project: Path) -> None:
    path = board(project, BASE.replace("@mira walks.", "@zebedee walks."))
    assert facts(path) == [
        (
            "storyboard.yaml",
            13,
            13,
            "shots[0].prompt",
            "shot 'first': unknown reference @zebedee",
            "declare it under characters, objects, styles or images (or write @@ for a literal @)",
        ),
    ]


def test_unknown_namespaced_reference(project: Path) -> None:
    text = BASE.replace("title: Errors", "title: Errors\nimports:\n  cast: lib/cast.yaml")
    path = board(project, text.replace("@mira walks.", "@cast.feryman rows; @more.gull flies."))
    assert facts(path) == [
        (
            "storyboard.yaml",
            15,
            13,
            "shots[0].prompt",
            "shot 'first': unknown reference @cast.feryman",
            "did you mean @cast.ferryman?",
        ),
        (
            "storyboard.yaml",
            15,
            13,
            "shots[0].prompt",
            "shot 'first': unknown reference @more.gull",
            "'more' is not an imported namespace",
        ),
    ]


def test_libraries_of_libraries_are_not_visible(project: Path) -> None:
    """`more` is imported by cast.yaml, not by the storyboard: `@cast.more.gull` is not a name."""
    text = BASE.replace("title: Errors", "title: Errors\nimports:\n  cast: lib/cast.yaml")
    path = board(project, text.replace("@mira walks.", "@cast.more.gull flies."))
    assert facts(path) == [
        (
            "storyboard.yaml",
            15,
            13,
            "shots[0].prompt",
            "shot 'first': unknown reference @cast.more",
            "did you mean @cast.lake?",
        ),
    ]


@pytest.mark.parametrize("tag", ["@Element1", "@Image2"])
def test_hand_written_model_tags(project: Path, tag: str) -> None:
    path = board(project, BASE.replace("@mira walks.", f"@mira walks towards {tag}."))
    assert facts(path) == [
        ("storyboard.yaml", 13, 13, "shots[0].prompt", f"shot 'first': {tag} is written by hand", TAG_HINT),
    ]


def test_unknown_extends(project: Path) -> None:
    path = board(
        project,
        BASE.replace(
            "  stone: {image: assets/grey.png}", "  stone: {image: assets/grey.png}\n  pebble: {extends: stnoe}"
        ),
    )
    assert facts(path) == [
        (
            "storyboard.yaml",
            7,
            21,
            "objects.pebble.extends",
            "'pebble' extends unknown 'stnoe'",
            "did you mean 'stone'?",
        ),
    ]


def test_extends_of_the_wrong_kind(project: Path) -> None:
    path = board(project, BASE.replace("  stone: {image: assets/grey.png}", "  stone: {extends: greenhouse}"))
    assert facts(path) == [
        (
            "storyboard.yaml",
            6,
            20,
            "objects.stone.extends",
            "'stone' (object) cannot extend 'greenhouse', which is an image",
            None,
        ),
    ]


def test_extends_cycle(project: Path) -> None:
    path = board(
        project,
        BASE.replace("  stone: {image: assets/grey.png}", "  stone: {extends: pebble}\n  pebble: {extends: stone}"),
    )
    hint = "an asset cannot extend itself, even indirectly"
    # one cycle, one message: at the first of its assets in the file, with the whole chain
    assert facts(path) == [
        ("storyboard.yaml", 6, 20, "objects.stone.extends", "`extends` cycle: stone → pebble → stone", hint),
    ]


def test_element_without_image(project: Path) -> None:
    path = board(project, BASE.replace("  stone: {image: assets/grey.png}", "  stone: {description: a stone}"))
    assert facts(path) == [
        (
            "storyboard.yaml",
            6,
            10,
            "objects.stone",
            "object 'stone' has no `image`",
            "add the frontal image: `image: path/to/front.png`",
        ),
    ]


def test_import_cycle_prints_the_chain(project: Path) -> None:
    write_storyboard(project, "version: 1\nimports:\n  b: b.yaml\n", "libs/a.yaml")
    write_storyboard(project, "version: 1\nimports:\n  c: c.yaml\n", "libs/b.yaml")
    write_storyboard(project, "version: 1\nimports:\n  a: a.yaml\n", "libs/c.yaml")
    path = board(project, BASE.replace("title: Errors", "title: Errors\nimports:\n  a: libs/a.yaml"))
    assert facts(path) == [
        (os.path.join("libs", "c.yaml"), 3, 6, "imports.a", "import cycle: a.yaml → b.yaml → c.yaml → a.yaml", None),
    ]


def test_a_library_importing_itself(project: Path) -> None:
    write_storyboard(project, "version: 1\nimports:\n  me: self.yaml\n", "libs/self.yaml")
    path = board(project, BASE.replace("title: Errors", "title: Errors\nimports:\n  s: libs/self.yaml"))
    assert facts(path) == [
        (os.path.join("libs", "self.yaml"), 3, 7, "imports.me", "import cycle: self.yaml → self.yaml", None),
    ]


def test_missing_library(project: Path) -> None:
    path = board(project, BASE.replace("title: Errors", "title: Errors\nimports:\n  cast: lib/cats.yaml"))
    assert facts(path) == [("storyboard.yaml", 4, 9, "imports.cast", "library 'lib/cats.yaml' not found", None)]


def test_namespace_equal_to_a_local_name(project: Path) -> None:
    path = board(project, BASE.replace("title: Errors", "title: Errors\nimports:\n  mira: lib/cast.yaml"))
    assert facts(path) == [
        (
            "storyboard.yaml",
            4,
            3,
            "imports.mira",
            "namespace 'mira' is also the name of an asset in this file",
            "rename the namespace or the asset",
        ),
    ]


def test_library_with_shots(project: Path) -> None:
    write_storyboard(project, "version: 1\ncharacters: {}\nshots:\n  - id: a\n    prompt: x\n", "lib/bad.yaml")
    path = board(project, BASE.replace("title: Errors", "title: Errors\nimports:\n  bad: lib/bad.yaml"))
    assert facts(path) == [
        (
            os.path.join("lib", "bad.yaml"),
            3,
            1,
            "shots",
            "a library cannot have 'shots'",
            "only storyboards have shots and a film",
        ),
    ]


def test_error_inside_a_library_names_the_library(project: Path) -> None:
    write_storyboard(project, "version: 1\ncharacters:\n  ghost: {image: img/ghost.png}\n", "lib/bad.yaml")
    path = board(project, BASE.replace("title: Errors", "title: Errors\nimports:\n  bad: lib/bad.yaml"))
    assert facts(path) == [
        (
            os.path.join("lib", "bad.yaml"),
            3,
            18,
            "characters.ghost.image",
            "asset file 'img/ghost.png' not found",
            "did you mean 'boat.png'?",
        ),
    ]


def test_storyboard_given_a_library(project: Path) -> None:
    assert facts(project / "lib" / "more.yaml") == [
        (
            os.path.join("lib", "more.yaml"),
            1,
            1,
            "",
            "this looks like a library (no shots)",
            "build a storyboard that imports it",
        ),
    ]


# -- asset files (assets.py) -----------------------------------------------------------------


def test_missing_asset_even_when_unused(project: Path) -> None:
    path = board(
        project,
        BASE.replace("  greenhouse: assets/green.png", "  greenhouse: assets/green.png\n  spare: assets/gren.png"),
    )
    assert facts(path) == [
        (
            "storyboard.yaml",
            9,
            10,
            "images.spare",
            "asset file 'assets/gren.png' not found",
            "did you mean 'green.png'?",
        ),
    ]


def test_non_image_asset(project: Path) -> None:
    path = board(project, BASE.replace("assets/grey.png", "assets/not_an_image.png"))
    assert facts(path) == [
        (
            "storyboard.yaml",
            6,
            18,
            "objects.stone.image",
            "'assets/not_an_image.png' is not a readable image (UnidentifiedImageError)",
            "use a PNG, JPEG or WebP",
        ),
    ]


def test_image_under_300_px(project: Path) -> None:
    path = board(project, BASE.replace("[assets/style/ink.png]", "[assets/style/ink.png, assets/small.png]"))
    assert facts(path) == [
        (
            "storyboard.yaml",
            10,
            46,
            "styles.storybook.images[1]",
            "'assets/small.png' is 200×320 pixels; the model needs at least 300 on each side",
            None,
        ),
    ]


def test_image_of_an_unaccepted_format(project: Path) -> None:
    from PIL import Image

    Image.new("RGB", (320, 320), (1, 2, 3)).save(project / "assets" / "flat.gif", format="GIF")
    path = board(project, BASE.replace("assets/grey.png", "assets/flat.gif"))
    assert facts(path) == [
        (
            "storyboard.yaml",
            6,
            18,
            "objects.stone.image",
            "'assets/flat.gif' is a GIF image; the model takes PNG, JPEG or WebP",
            None,
        ),
    ]


def test_image_too_thin(project: Path) -> None:
    draw(project / "assets" / "banner.png", (9, 9, 9), (900, 320))
    path = board(project, BASE.replace("assets/grey.png", "assets/banner.png"))
    assert facts(path) == [
        (
            "storyboard.yaml",
            6,
            18,
            "objects.stone.image",
            "'assets/banner.png' has aspect ratio 2.81; the model takes 0.40 to 2.50",
            None,
        ),
    ]


@pytest.mark.parametrize(
    ("raw", "message", "hint"),
    [
        (
            "/etc/hosts",
            "'/etc/hosts' is an absolute path",
            "write it relative to this file (or pass --allow-outside-assets)",
        ),
        ("~/mira.png", "'~/mira.png': `~` is not expanded", "write the path relative to this file"),
        ("file:///tmp/mira.png", "'file:///tmp/mira.png': only relative paths and http(s) URLs are accepted", None),
        (
            "ftp://example.com/mira.png",
            "'ftp://example.com/mira.png': only relative paths and http(s) URLs are accepted",
            None,
        ),
        (
            '"data:image/png;base64,AAAA"',
            "'data:image/png;base64,AAAA': only relative paths and http(s) URLs are accepted",
            None,
        ),
        ("https://", "'https://' is not a valid URL", None),
    ],
    ids=["absolute", "tilde", "file-url", "ftp", "data-url", "empty-url"],
)
def test_refused_asset_paths(project: Path, raw: str, message: str, hint: str | None) -> None:
    path = board(project, BASE.replace("assets/grey.png", raw))
    assert facts(path) == [("storyboard.yaml", 6, 18, "objects.stone.image", message, hint)]


def test_http_urls_pass_through(project: Path) -> None:
    path = board(project, BASE.replace("assets/grey.png", "https://example.com/stone.png").replace("@mira", "@stone"))
    assert compile_file(path).shot("first").elements[0].frontal.display == "https://example.com/stone.png"


OUTSIDE_HINT = "keep assets beside the file (a shared library may not read other files), or pass --allow-outside-assets"


def test_path_escaping_the_storyboard_folder(project: Path) -> None:
    path = board(project, BASE.replace("assets/grey.png", "../assets/grey.png"), "story/storyboard.yaml")
    [fact] = [f for f in facts(path) if f[3] == "objects.stone.image"]
    assert fact == (
        os.path.join("story", "storyboard.yaml"),
        6,
        18,
        "objects.stone.image",
        "'../assets/grey.png' points outside the folder of the file that declares it",
        OUTSIDE_HINT,
    )


def test_path_escaping_the_library_folder(project: Path) -> None:
    write_storyboard(project, "version: 1\nimages:\n  red: ../assets/red.png\n", "lib/sneaky.yaml")
    path = board(project, BASE.replace("title: Errors", "title: Errors\nimports:\n  s: lib/sneaky.yaml"))
    assert facts(path) == [
        (
            os.path.join("lib", "sneaky.yaml"),
            3,
            8,
            "images.red",
            "'../assets/red.png' points outside the folder of the file that declares it",
            OUTSIDE_HINT,
        ),
    ]


def test_escape_is_checked_for_each_declaring_file(project: Path) -> None:
    """A file first used legitimately by one library may not be reached from outside by another."""
    write_storyboard(project, "version: 1\nimages:\n  lake: img/lake.png\n", "lib/fair.yaml")
    write_storyboard(project, "version: 1\nimages:\n  lake: ../img/lake.png\n", "lib/sub/sneaky.yaml")
    text = BASE.replace(
        "title: Errors", "title: Errors\nimports:\n  fair: lib/fair.yaml\n  sneaky: lib/sub/sneaky.yaml"
    )
    assert facts(board(project, text)) == [
        (
            os.path.join("lib", "sub", "sneaky.yaml"),
            3,
            9,
            "images.lake",
            "'../img/lake.png' points outside the folder of the file that declares it",
            OUTSIDE_HINT,
        ),
    ]


def test_a_library_escape_does_not_blame_the_storyboard(project: Path) -> None:
    """The storyboard's own `assets/red.png` is fine even though a library reached the same file from outside."""
    write_storyboard(project, "version: 1\nimages:\n  red: ../assets/red.png\n", "lib/sneaky.yaml")
    text = BASE.replace("title: Errors", "title: Errors\nimports:\n  s: lib/sneaky.yaml")
    text = text.replace("  greenhouse: assets/green.png", "  greenhouse: assets/green.png\n  red: assets/red.png")
    assert [(f[0], f[3]) for f in facts(board(project, text))] == [(os.path.join("lib", "sneaky.yaml"), "images.red")]


def test_symlink_escaping_the_folder(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.png"
    draw(outside, (5, 5, 5))
    try:
        (project / "assets" / "link.png").symlink_to(outside)
    except OSError:  # pragma: no cover - no symlinks here
        pytest.skip("symlinks not available")
    path = board(project, BASE.replace("assets/grey.png", "assets/link.png"))
    assert facts(path)[0][4] == "'assets/link.png' points outside the folder of the file that declares it"


# -- shots (compile.py, graph.py) ------------------------------------------------------------


def test_continuity_cycle_prints_the_cycle(project: Path) -> None:
    text = BASE + (
        "  - id: a\n    start: b.last_frame\n    prompt: x\n  - id: b\n    start: a.last_frame\n    prompt: y\n"
    )
    assert facts(board(project, text)) == [
        (
            "storyboard.yaml",
            15,
            12,
            "shots[1].start",
            "continuity cycle: a.last_frame → b.last_frame → a",
            "a shot cannot start from a frame that depends on itself",
        ),
    ]


def test_shot_starting_from_its_own_frame(project: Path) -> None:
    text = BASE + "  - id: a\n    start: a.last_frame\n    prompt: x\n"
    assert facts(board(project, text)) == [
        (
            "storyboard.yaml",
            15,
            12,
            "shots[1].start",
            "continuity cycle: a.last_frame → a",
            "a shot cannot start from a frame that depends on itself",
        ),
    ]


def test_unknown_shot_in_start(project: Path) -> None:
    text = BASE + "  - id: second\n    start: frist.last_frame\n    prompt: x\n"
    assert facts(board(project, text)) == [
        (
            "storyboard.yaml",
            15,
            12,
            "shots[1].start",
            "unknown shot 'frist' in 'frist.last_frame'",
            "did you mean 'first.last_frame'?",
        ),
    ]


def test_start_must_be_an_image(project: Path) -> None:
    text = BASE + "  - id: second\n    start: mira\n    prompt: x\n  - id: third\n    start: greenhose\n    prompt: x\n"
    assert facts(board(project, text)) == [
        ("storyboard.yaml", 15, 12, "shots[1].start", "'mira' is a character, not an image", None),
        ("storyboard.yaml", 18, 12, "shots[2].start", "unknown image 'greenhose'", "did you mean 'greenhouse'?"),
    ]


def test_style_must_be_a_style(project: Path) -> None:
    text = (
        BASE.replace("shots:\n", "defaults:\n  style: storybok\nshots:\n")
        + "  - id: second\n    style: greenhouse\n    prompt: x\n"
    )
    assert facts(board(project, text)) == [
        ("storyboard.yaml", 12, 10, "defaults.style", "unknown style 'storybok'", "did you mean 'storybook'?"),
        ("storyboard.yaml", 17, 12, "shots[1].style", "'greenhouse' is an image, not a style", None),
    ]


def test_duplicate_shot_id(project: Path) -> None:
    text = BASE + "  - id: second\n    prompt: x\n  - id: first\n    prompt: y\n"
    assert facts(board(project, text)) == [
        (
            "storyboard.yaml",
            16,
            9,
            "shots[2].id",
            "shot id 'first' is already used by shots[0]",
            "shot ids must be unique",
        ),
    ]


def test_more_than_seven_references_lists_what_counted(project: Path) -> None:
    text = BASE.replace(
        "  greenhouse: assets/green.png",
        "  greenhouse: assets/green.png\n  red: assets/red.png\n  blue: assets/blue.png\n  cyan: assets/cyan.png",
    ).replace("[assets/style/ink.png]", "[assets/style/ink.png, assets/style/wash.png]")
    text += '  - id: crowded\n    start: greenhouse\n    style: storybook\n    prompt: "@mira and @stone by @red, @blue and @cyan."\n'
    assert facts(board(project, text)) == [
        (
            "storyboard.yaml",
            20,
            13,
            "shots[1].prompt",
            "shot 'crowded': 8 references, over the model's limit of 7: @Image1 start frame greenhouse, @Image2 image red, "
            "@Image3 image blue, @Image4 image cyan, @Image5 style storybook, @Image6 style storybook, "
            "@Element1 mira, @Element2 stone",
            "split the shot, drop a reference, or use a style with fewer images",
        ),
    ]


def test_exactly_seven_references_is_fine(project: Path) -> None:
    text = BASE.replace(
        "  greenhouse: assets/green.png",
        "  greenhouse: assets/green.png\n  red: assets/red.png\n  blue: assets/blue.png",
    ).replace("[assets/style/ink.png]", "[assets/style/ink.png, assets/style/wash.png]")
    text += (
        '  - id: full\n    start: greenhouse\n    style: storybook\n    prompt: "@mira and @stone by @red and @blue."\n'
    )
    shot = compile_file(board(project, text)).shot("full")
    assert len(shot.image_urls) + len(shot.elements) == 7


def test_undefined_variable_names_the_shot(project: Path) -> None:
    text = (
        BASE.replace("shots:\n", "vars:\n  lens: 35mm\nshots:\n")
        + '  - id: second\n    prompt: "{{ len }} and {{ lens }}"\n'
    )
    assert facts(board(project, text)) == [
        (
            "storyboard.yaml",
            17,
            13,
            "shots[1].prompt",
            "shot 'second': undefined variable 'len' in the prompt",
            "did you mean 'lens'?",
        ),
    ]


def test_undefined_variable_in_a_jinja_block(project: Path) -> None:
    text = BASE + '  - id: second\n    prompt: "{% if night %}dark{% endif %}"\n'
    assert facts(board(project, text)) == [
        (
            "storyboard.yaml",
            15,
            13,
            "shots[1].prompt",
            "shot 'second': undefined variable in the prompt: 'night' is undefined",
            "define it under `vars:`",
        ),
    ]


def test_template_syntax_error(project: Path) -> None:
    text = BASE + '  - id: second\n    prompt: "{% if x %}dark"\n'
    assert facts(board(project, text)) == [
        (
            "storyboard.yaml",
            15,
            13,
            "shots[1].prompt",
            "shot 'second': template syntax error on prompt line 1: Unexpected end of template. Jinja was looking for the "
            "following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'.",
            None,
        ),
    ]


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ title.__class__.__base__.__subclasses__() }}",
        "{{ defaults.__class__.__init__.__globals__ }}",
        "{{ '{0.__class__}'.format(title) }}",
        "{% for c in ''.__class__.__mro__ %}{{ c }}{% endfor %}",
    ],
)
def test_sandbox_escape_is_a_clear_error(project: Path, template: str) -> None:
    text = BASE + f'  - id: second\n    prompt: "{template}"\n'
    [(file, line, column, where, message, hint)] = facts(board(project, text))
    assert (file, line, column, where, hint) == ("storyboard.yaml", 15, 13, "shots[1].prompt", SANDBOX_HINT)
    assert message.startswith("shot 'second': the prompt tried something the sandbox forbids: access to attribute ")
    assert "is unsafe" in message


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ cycler.__init__.__globals__ }}", "shot 'second': undefined variable 'cycler' in the prompt"),
        (
            "{{ range(10**9) | list }}",
            "shot 'second': the prompt template failed: OverflowError: Range too big. "
            "The sandbox blocks ranges larger than MAX_RANGE (100000).",
        ),
    ],
    ids=["no-globals", "huge-range"],
)
def test_sandbox_limits(project: Path, template: str, message: str) -> None:
    text = BASE + f'  - id: second\n    prompt: "{template}"\n'
    [fact] = facts(board(project, text))
    assert fact[1:5] == (15, 13, "shots[1].prompt", message)


def test_prompt_empty_after_rendering(project: Path) -> None:
    text = (
        BASE.replace("shots:\n", "vars:\n  nothing: ''\nshots:\n") + '  - id: second\n    prompt: "  {{ nothing }}  "\n'
    )
    assert facts(board(project, text)) == [
        ("storyboard.yaml", 17, 13, "shots[1].prompt", "shot 'second': the prompt is empty", "describe the shot"),
    ]


# -- reporting -------------------------------------------------------------------------------


def test_several_errors_in_one_file_are_reported_together(project: Path) -> None:
    text = BASE + (
        '  - id: second\n    prompt: "@mria waves at @Image1."\n'
        '  - id: third\n    start: nowhere.last_frame\n    prompt: "{{ lens }}"\n'
        "  - id: first\n    prompt: again\n"
    )
    with pytest.raises(InputError) as info:
        compile_file(board(project, text))
    assert [(p.line, p.path, p.message) for p in info.value.problems] == [
        (15, "shots[1].prompt", "shot 'second': unknown reference @mria"),
        (15, "shots[1].prompt", "shot 'second': @Image1 is written by hand"),
        (17, "shots[2].start", "unknown shot 'nowhere' in 'nowhere.last_frame'"),
        (18, "shots[2].prompt", "shot 'third': undefined variable 'lens' in the prompt"),
        (19, "shots[3].id", "shot id 'first' is already used by shots[0]"),
    ]
    assert str(info.value).splitlines()[-1] == "5 problems found."


def test_asset_problems_are_reported_together_in_file_order(project: Path) -> None:
    text = BASE.replace("assets/grey.png", "assets/gray.png").replace("assets/green.png", "assets/small.png")
    text = text.replace("  mira: {image: assets/mira/front.png}", "  mira: {extends: nobody}")
    assert [(f[1], f[3]) for f in facts(board(project, text))] == [
        (4, "characters.mira.extends"),
        (6, "objects.stone.image"),
        (8, "images.greenhouse"),
    ]


def test_problem_format(project: Path) -> None:
    path = board(project, BASE + "  - id: second\n    promt: x\n")
    with pytest.raises(InputError) as info:
        compile_file(path)
    assert str(info.value) == (
        "storyboard.yaml:14:5: shots[1].prompt: missing required field 'prompt'\n"
        "storyboard.yaml:15:5: shots[1].promt: unknown field 'promt' — did you mean 'prompt'?\n"
        "2 problems found."
    )


def test_missing_file() -> None:
    with pytest.raises(InputError) as info:
        compile_file(Path("no/such/storyboard.yaml"))
    assert str(info.value) == os.path.join("no", "such", "storyboard.yaml") + ": file not found"


# -- the command line ------------------------------------------------------------------------


def test_cli_validate_bad_file(project: Path) -> None:
    board(project, BASE + "  - id: second\n    promt: x\n", "bad.yaml")
    result = run_cli(["validate", "bad.yaml"], project)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "error: bad.yaml:14:5: shots[1].prompt: missing required field 'prompt'\n"
        "error: bad.yaml:15:5: shots[1].promt: unknown field 'promt' — did you mean 'prompt'?\n"
        "2 problems found.\n"
    )
    assert "Traceback" not in result.stderr


def test_cli_validate_missing_file(project: Path) -> None:
    result = run_cli(["validate", "missing.yaml"], project)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", "error: missing.yaml: file not found\n")


def test_cli_validate_json_lists_problems(project: Path) -> None:
    import json

    board(project, BASE.replace("@mira walks.", "@mria walks."), "bad.yaml")
    result = run_cli(["validate", "bad.yaml", "--json"], project)
    assert result.returncode == 2
    assert json.loads(result.stdout) == {
        "valid": False,
        "problems": [
            {
                "file": "bad.yaml",
                "line": 13,
                "column": 13,
                "path": "shots[0].prompt",
                "message": "shot 'first': unknown reference @mria",
                "hint": "did you mean @mira?",
            },
        ],
    }
    assert "Traceback" not in result.stderr


def test_cli_validate_good_file(project: Path) -> None:
    board(project, BASE)
    result = run_cli(["validate", "storyboard.yaml", "--json"], project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("{") and '"valid": true' in result.stdout
