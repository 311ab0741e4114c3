"""Input that used to mean something else, or to crash: strict values, keys as written, cut messages, paths.

Issue 11, items 13 and 17: `model: ""` meant the default model, `version: yes` passed as 1, YAML 1.1
renamed keys (`on:` → True), a 5 MB value was echoed whole into the error, a symlink loop or a NUL in
a path and a 1,000-deep chain of imports or `extends` were tracebacks. The corpus
(``tests/corpus/``, ``test_corpus.py``) holds one case of each through the CLI; these tests check
what the corpus cannot: that what is accepted now means what was written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sbtest import write_storyboard
from storyboard.compiler.compile import compile_file
from storyboard.compiler.load import shown
from storyboard.errors import InputError

HEAD = """\
version: 1
title: Strict
characters:
  mira: {image: assets/mira/front.png}
"""


def problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        compile_file(path)
    return [p.format() for p in info.value.problems]


@pytest.mark.parametrize("key", ["on", "off", "yes", "no", "true", "null", "y", "n"])
def test_a_key_yaml_1_1_would_rename_keeps_the_name_written(project: Path, key: str) -> None:
    """`on:` names the asset `on` (YAML 1.1 read True): `@on` finds it, `{{ on }}` reads its var."""
    text = HEAD + f"objects:\n  {key}: {{image: assets/red.png}}\nvars:\n  {key}_var: v\n"
    text += f'shots:\n  - id: a\n    prompt: "@mira and @{key}"\n'
    shot = compile_file(write_storyboard(project, text)).shots[0]
    assert shot.prompt == "@Element1 and @Element2"
    assert [m.name for m in shot.mentions] == ["mira", key]


def test_a_var_named_like_a_yaml_1_1_boolean_renders(project: Path) -> None:
    text = (
        HEAD
        + 'vars:\n  on: lights on\n  off: lights off\nshots:\n  - id: a\n    prompt: "@mira, {{ on }}, {{ off }}"\n'
    )
    assert compile_file(write_storyboard(project, text)).shots[0].prompt == "@Element1, lights on, lights off"


def test_numeric_keys_stay_as_written(project: Path) -> None:
    """`.inf:`, `0x1F:` and `1_000:` are not renamed `inf`, `31` and `1000`: the message shows the key."""
    text = HEAD + "vars:\n  .inf: a\n  0x1F: b\n  1_000: c\nshots:\n  - {id: a, prompt: x}\n"
    found = problems(write_storyboard(project, text))
    assert ["'.inf' is not a valid name" in f for f in found].count(True) == 1
    assert any("'0x1F' is not a valid name" in f for f in found)
    assert any("'1_000' is not a valid name" in f for f in found)


def test_a_duplicate_key_is_found_as_written(project: Path) -> None:
    """`on:` and `"on":` are the same key as written; `on:` and `true:` are two (YAML 1.1 made them one)."""
    same = HEAD + 'vars:\n  on: a\n  "on": b\nshots:\n  - {id: a, prompt: x}\n'
    assert any("duplicate key 'on'" in f for f in problems(write_storyboard(project, same)))
    two = HEAD + 'vars:\n  on: a\n  "true": b\nshots:\n  - id: a\n    prompt: "{{ on }} {{ true }}"\n'
    assert compile_file(write_storyboard(project, two)).shots[0].prompt == "a True"  # jinja's own `true`


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("version: yes", "True is not allowed here; expected 1"),
        ("version: on", "True is not allowed here; expected 1"),
        ("version: 1.0", "1.0 is not allowed here; expected 1"),
        ('version: "1"', "'1' is not allowed here; expected 1"),
    ],
)
def test_version_is_the_integer_one(project: Path, line: str, words: str) -> None:
    text = HEAD.replace("version: 1", line) + "shots:\n  - {id: a, prompt: x}\n"
    [found] = problems(write_storyboard(project, text))
    assert words in found


@pytest.mark.parametrize(
    ("field", "words"),
    [
        ("duration: yes", "True must be a whole number"),
        ("duration: 5.0", "5.0 must be a whole number"),
        ("transition: {type: fade, duration: yes}", "True must be a number of seconds"),
        ('transition: {type: fade, duration: "0.5"}', "'0.5' must be a number of seconds"),
        ('model: ""', "model must not be empty"),
    ],
)
def test_numbers_and_models_are_strict(project: Path, field: str, words: str) -> None:
    text = HEAD + f"shots:\n  - {{id: a, prompt: x}}\n  - {{id: b, prompt: y, {field}}}\n"
    [found] = problems(write_storyboard(project, text))
    assert words in found


def test_an_empty_model_names_the_default_in_its_hint(project: Path) -> None:
    text = HEAD + 'model: ""\nshots:\n  - {id: a, prompt: x}\n'
    [found] = problems(write_storyboard(project, text))
    assert "model must not be empty" in found and "to use the default model (fal-ai/" in found


def test_a_transition_duration_of_a_whole_number_is_still_seconds(project: Path) -> None:
    text = HEAD + "shots:\n  - {id: a, prompt: x}\n  - {id: b, prompt: y, transition: {type: fade, duration: 1}}\n"
    assert compile_file(write_storyboard(project, text)).shots[1].transition.duration == 1.0


@pytest.mark.parametrize(
    "value",
    ['"' + "x" * 5_000_000 + '"', "[" + ", ".join(["1"] * 200_000) + "]", "9" * 5_000_000 + "x"],
    ids=["text", "list", "plain"],
)
def test_a_huge_wrong_value_is_cut_in_the_message(project: Path, value: str) -> None:
    text = HEAD + f"shots:\n  - id: a\n    duration: {value}\n    prompt: x\n"
    [found] = problems(write_storyboard(project, text))
    assert len(found) < 300, found[:400]
    assert "shots[0].duration" in found


def test_shown_cuts_long_values_and_keeps_short_ones() -> None:
    assert shown("abc") == "'abc'"
    assert shown("x" * 1000).endswith("… (1,000 characters)") and len(shown("x" * 1000)) < 110
    assert shown(list(range(1000))) == "a list of 1,000 items"
    assert len(shown({"k": "v" * 1000})) <= 81


# -- item 13: paths that cannot be followed, chains too deep to recurse -------------------------


def test_a_symlink_loop_as_an_asset_is_an_error_at_its_line(project: Path) -> None:
    (project / "assets" / "a.png").symlink_to("b.png")
    (project / "assets" / "b.png").symlink_to("a.png")
    text = HEAD + "images:\n  loop: assets/a.png\nshots:\n  - {id: a, prompt: x}\n"
    [found] = problems(write_storyboard(project, text))
    assert "storyboard.yaml:6:" in found and "a symlink loop" in found


def test_a_symlink_loop_as_a_library_import_is_an_error_at_its_line(project: Path) -> None:
    (project / "lib" / "self.yaml").symlink_to("self.yaml")
    text = HEAD + "imports:\n  me: lib/self.yaml\nshots:\n  - {id: a, prompt: x}\n"
    [found] = problems(write_storyboard(project, text))
    assert "storyboard.yaml:6:" in found and "library 'lib/self.yaml': a symlink loop" in found


def test_a_library_importing_a_symlink_loop_is_an_error_in_the_library(project: Path) -> None:
    (project / "lib" / "loop.yaml").symlink_to("loop.yaml")
    (project / "lib" / "uses_loop.yaml").write_text("version: 1\nimports:\n  l: loop.yaml\n", encoding="utf-8")
    text = HEAD + "imports:\n  u: lib/uses_loop.yaml\nshots:\n  - {id: a, prompt: x}\n"
    [found] = problems(write_storyboard(project, text))
    assert "uses_loop.yaml:3:" in found and "a symlink loop" in found


@pytest.mark.parametrize(
    "block",
    [
        'images:\n  nul: "assets/red.png\\0"\n',
        'objects:\n  o: {image: assets/red.png, references: ["assets/\\0green.png"]}\n',
        'styles:\n  s: {images: ["\\0"]}\n',
        'imports:\n  cast: "lib/cast.yaml\\0../x"\n',
    ],
)
def test_a_nul_in_a_path_is_an_error_at_its_line(project: Path, block: str) -> None:
    text = HEAD + block + "shots:\n  - {id: a, prompt: x}\n"
    [found] = problems(write_storyboard(project, text))
    assert "storyboard.yaml:6:" in found and "the path contains a NUL character" in found


def test_a_chain_of_1000_imports_is_refused_at_the_limit_naming_its_head(project: Path) -> None:
    for i in range(1000):
        (project / "lib" / f"d{i}.yaml").write_text(f"version: 1\nimports:\n  n: d{i + 1}.yaml\n", encoding="utf-8")
    text = HEAD + "imports:\n  d: lib/d0.yaml\nshots:\n  - {id: a, prompt: x}\n"
    [found] = problems(write_storyboard(project, text))
    assert "d30.yaml:3:" in found
    assert "imports nest more than 32 files deep (the chain starts storyboard.yaml → d0.yaml → d1.yaml → …)" in found


def test_a_chain_of_31_imports_still_compiles(project: Path) -> None:
    for i in range(30):
        (project / "lib" / f"d{i}.yaml").write_text(f"version: 1\nimports:\n  n: d{i + 1}.yaml\n", encoding="utf-8")
    (project / "lib" / "d30.yaml").write_text("version: 1\nimages:\n  end: ../assets/red.png\n", encoding="utf-8")
    text = HEAD + "imports:\n  d: lib/d0.yaml\nshots:\n  - {id: a, prompt: x}\n"
    with pytest.raises(InputError) as info:  # d30 reads outside its folder: the chain itself was fine
        compile_file(write_storyboard(project, text))
    assert "points outside the folder" in info.value.problems[0].message


@pytest.mark.parametrize("table", ["characters", "styles"])
def test_a_chain_of_1000_extends_is_reported_once_naming_its_head(project: Path, table: str) -> None:
    leaf = "{image: assets/red.png}" if table == "characters" else "{images: [assets/red.png]}"
    chain = "".join(f"  c{i}: {{extends: c{i + 1}}}\n" for i in range(1000)) + f"  c1000: {leaf}\n"
    text = "version: 1\ntitle: Deep\n" + f"{table}:\n" + chain + "shots:\n  - {id: a, prompt: x}\n"
    [found] = problems(write_storyboard(project, text))
    assert "`extends` chains more than 64 assets deep (the chain starts at 'c0')" in found


def test_a_chain_of_60_extends_still_compiles(project: Path) -> None:
    chain = "".join(f"  c{i}: {{extends: c{i + 1}}}\n" for i in range(60)) + "  c60: {image: assets/red.png}\n"
    text = "version: 1\ntitle: Deep\ncharacters:\n" + chain + 'shots:\n  - {id: a, prompt: "@c0"}\n'
    assert compile_file(write_storyboard(project, text)).shots[0].prompt == "@Element1"
