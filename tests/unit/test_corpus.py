"""The bad-input corpus: every malformed storyboard and library in ``tests/corpus/`` through the real CLI.

Each committed case is a YAML file whose first line says what it breaks (``# breaks: …``);
libraries that cases import live in ``tests/corpus/lib/``. Cases that cannot be committed (a
50 MB file, bytes that are not UTF-8, binary junk, an empty file, a symlink out of the folder)
are generated into the test's temp folder.

For every case, ``storyboard validate`` and ``storyboard compile`` must exit 2, print no
traceback, name the file at fault with a line number (``file:LINE``) and say the key word of
the expected message (:data:`CASES`). Every case runs in-process through typer's CliRunner; a
sample (:data:`SUBPROCESS_SAMPLE` and every generated case) also runs as a subprocess, as a user
would run it.

The property test at the end feeds hostile mutations of a storyboard *and of the library it
imports* to load + compile: a Plan or an InputError, never another exception, never a hang, and
never a plan holding a file outside the project.
"""

from __future__ import annotations

import os
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sbtest import build_project, draw, time_limit
from storyboard.cli.app import app
from storyboard.compiler.compile import compile_file
from storyboard.errors import InputError
from support.cli import run_cli

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
LIB = os.path.join("lib", "")  # libraries are named as lib/<name>.yaml in messages

# case file → (the file the message must name, or None for the case itself; a key word of the message)
CASES: dict[str, tuple[str | None, str]] = {
    # broken YAML
    "broken_yaml_unclosed_flow.yaml": (None, "invalid YAML"),
    "broken_yaml_bad_indent.yaml": (None, "line 15 is indented 6 spaces, but the keys of the mapping"),
    "broken_yaml_unclosed_quote.yaml": (None, "invalid YAML"),
    "tabs.yaml": (None, "YAML indents with spaces, not tabs"),
    "duplicate_key.yaml": (None, "duplicate key 'prompt'"),
    "duplicate_import_namespace.yaml": (None, "duplicate key 'cast'"),
    "control_character.yaml": (None, "unacceptable character #x0007"),
    "merge_key_scalar.yaml": (None, "a merge key (<<) needs a mapping"),
    "complex_key.yaml": (None, "a mapping key must be a plain name"),
    "comments_only.yaml": (None, "the file is empty"),
    "top_level_list.yaml": (None, "the top level must be a mapping"),
    "top_level_scalar.yaml": (None, "the top level must be a mapping"),
    # shapes and types
    "duplicate_shot_id.yaml": (None, "shot id 'a' is already used"),
    "wrong_type_title_list.yaml": (None, "expected text, got list"),
    "wrong_type_shots_mapping.yaml": (None, "expected a list, got dict"),
    "wrong_type_characters_list.yaml": (None, "expected a mapping (name: value), got list"),
    "wrong_type_prompt_number.yaml": (None, "expected text, got int 42"),
    "wrong_type_title_date.yaml": (None, "expected text, got date"),
    "version_two.yaml": (None, "2 is not allowed here; expected 1"),
    "unknown_field_top.yaml": (None, "unknown field 'soundtrack'"),
    "unknown_field_shot_typo.yaml": (None, "did you mean 'prompt'?"),
    "bad_asset_name.yaml": (None, "'1stone' is not a valid name"),
    "empty_shots.yaml": (None, "shots must not be empty"),
    "film_output_path.yaml": (None, "must be a file name ending in .mp4"),
    "film_output_nul.yaml": (None, "must be a file name ending in .mp4"),
    "film_output_too_long.yaml": (None, "must be a file name ending in .mp4"),
    "film_output_too_many_bytes.yaml": (None, "at most 200 fit a file name"),
    "film_output_hidden.yaml": (None, "no leading dot"),
    "shot_id_too_long.yaml": (None, "is too long: at most 100 characters"),
    "reserved_variable.yaml": (None, "variable name 'duration' is reserved"),
    "name_in_two_tables.yaml": (None, "'mira' is already declared under 'characters'"),
    # durations and aspect ratios
    "duration_zero.yaml": (None, "0 is out of range"),
    "duration_two.yaml": (None, "2 is out of range"),
    "duration_eleven.yaml": (None, "duration 11 is not offered by Kling O1"),
    "duration_fraction.yaml": (None, "5.5 must be a whole number"),
    "duration_word.yaml": (None, "'five' must be a whole number"),
    "duration_quoted.yaml": (None, "'5' must be a whole number"),
    "duration_negative.yaml": (None, "-3 is out of range"),
    "duration_huge_float.yaml": (None, "must be a whole number"),
    "defaults_duration_twelve.yaml": (None, "duration 12 is not offered by Kling O1"),
    "aspect_ratio_4_3.yaml": (None, "'4:3' is not allowed here"),
    "aspect_ratio_21_9_unquoted.yaml": (None, "'21:9' is not allowed here"),
    "aspect_ratio_number.yaml": (None, "1.78 is not allowed here"),
    # names and references
    "unknown_reference.yaml": (None, "unknown reference @nobody"),
    "misspelt_reference.yaml": (None, "did you mean @mira?"),
    "misspelt_namespace.yaml": (None, "did you mean @cast.ferryman?"),
    "unknown_style.yaml": (None, "unknown style 'watercolour'"),
    "unknown_start.yaml": (None, "unknown image 'glasshouse'"),
    "unknown_extends.yaml": (None, "extends unknown 'mria'"),
    "handwritten_element_tag.yaml": (None, "@Element1 is written by hand"),
    "handwritten_image_tag.yaml": (None, "@Image3 is written by hand"),
    "too_many_references.yaml": (None, "over the model's limit of 7"),
    "unknown_model.yaml": (None, "unknown model 'fal-ai/kling-video/o2/ultra'"),
    # continuity
    "continuity_cycle.yaml": (None, "continuity cycle: a.last_frame → b.last_frame → a"),
    "continuity_self.yaml": (None, "continuity cycle: a.last_frame → a"),
    "continuity_unknown_shot.yaml": (None, "unknown shot 'arival'"),
    # imports and libraries
    "import_cycle.yaml": (LIB + "cycle_b.yaml", "import cycle: cycle_a.yaml → cycle_b.yaml → cycle_a.yaml"),
    "import_missing_library.yaml": (None, "library 'lib/nowhere.yaml' not found"),
    "import_url.yaml": (None, "a library is a local file path"),
    "import_a_folder.yaml": (None, "library 'lib': not a file"),
    "namespace_clash.yaml": (None, "namespace 'mira' is also the name of an asset"),
    "library_with_shots.yaml": (LIB + "with_shots.yaml", "a library cannot have 'shots'"),
    "library_is_a_list.yaml": (LIB + "a_list.yaml", "the top level must be a mapping"),
    "library_broken_yaml.yaml": (LIB + "broken.yaml", "invalid YAML"),
    "library_python_tag.yaml": (LIB + "python_tag.yaml", "unsupported YAML tag"),
    "library_escapes_folder.yaml": (LIB + "escape.yaml", "points outside the folder"),
    "library_imports_outside.yaml": (LIB + "imports_outside.yaml", "outside the folder of the library"),
    "library_reexports_broken.yaml": (LIB + "reexport_inner.yaml", "asset file 'img/no_such_gull.png' not found"),
    "library_absolute_asset.yaml": (LIB + "absolute.yaml", "'/etc/passwd' is an absolute path"),
    # YAML bombs and nesting
    "alias_bomb_billion_laughs.yaml": (None, "an alias bomb?"),
    "alias_bomb_wide.yaml": (None, "an alias bomb?"),
    "alias_bomb_deep.yaml": (None, "nesting deeper than 64 levels"),
    "alias_recursive.yaml": (None, "nesting deeper than 64 levels"),
    "alias_undefined.yaml": (None, "found undefined alias"),
    "deep_flow_nesting.yaml": (None, "nesting deeper than 64 levels"),
    "deep_flow_nesting_mixed.yaml": (None, "nesting deeper than 64 levels"),
    "deep_block_nesting.yaml": (None, "nesting deeper than 64 levels"),
    "deep_block_sequence_nesting.yaml": (None, "nesting deeper than 64 levels"),
    # tags
    "python_object_tag.yaml": (None, "unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'"),
    "python_object_tag_in_key.yaml": (None, "unsupported YAML tag"),
    "custom_tag.yaml": (None, "unsupported YAML tag '!include'"),
    # asset files and paths
    "missing_asset.yaml": (None, "asset file 'assets/gray.png' not found"),
    "asset_not_an_image.yaml": (None, "is not a readable image"),
    "asset_too_small.yaml": (None, "the model needs at least 300 on each side"),
    "asset_is_a_folder.yaml": (None, "'assets/mira' is not a file"),
    "absolute_asset_path.yaml": (None, "'/etc/passwd' is an absolute path"),
    "tilde_asset_path.yaml": (None, "`~` is not expanded"),
    "file_url_asset.yaml": (None, "only relative paths and http(s) URLs are accepted"),
    "dotdot_escape.yaml": (None, "points outside the folder"),
    "dotdot_probe.yaml": (None, "points outside the folder"),
    "bad_url.yaml": (None, "is not a valid URL"),
    # prompts: jinja
    "jinja_mro_subclasses.yaml": (None, "the sandbox forbids"),
    "jinja_format_string.yaml": (None, "the sandbox forbids"),
    "jinja_cycler_globals.yaml": (None, "undefined variable 'cycler'"),
    "jinja_template_reference.yaml": (None, "undefined variable 'self'"),
    "jinja_syntax_error.yaml": (None, "template syntax error"),
    "jinja_power_bomb.yaml": (None, "too large a number for a prompt"),
    "jinja_repeat_bomb.yaml": (None, "too much for a prompt"),
    "jinja_nested_loops.yaml": (None, "loops run over more than 100,000 items"),
    "jinja_huge_output.yaml": (None, "renders to more than 100,000 characters"),
    "undefined_variable.yaml": (None, "undefined variable 'lense'"),
    # prompts: the work of a render (loops of any kind, calls, filters) is budgeted
    "jinja_string_loops.yaml": (None, "loops run over more than 100,000 items"),
    "jinja_list_loops.yaml": (None, "loops run over more than 100,000 items"),
    "jinja_loop_filter.yaml": (None, "loops run over more than 100,000 items"),
    "jinja_macro_recursion.yaml": (None, "the prompt's template"),  # steps, or time on a loaded machine
    "jinja_macro_infinite.yaml": (None, "calls itself too deeply"),
    "jinja_sort_in_loop.yaml": (None, "the prompt's template"),
    # prompts: memory, sized before it is built
    "jinja_center_bomb.yaml": (None, "the center filter would make 1,000,000,000 characters"),
    "jinja_join_bomb.yaml": (None, "the join filter would make 1,100,000 characters"),
    "jinja_format_width_bomb.yaml": (None, "format would make more than 1,000,000 characters"),
    "jinja_percent_width_bomb.yaml": (None, "the % format would make 900,000,013 characters"),
    "jinja_format_filter_bomb.yaml": (None, "the format filter would make 900,000,005 characters"),
    "jinja_ljust_bomb.yaml": (None, "str.ljust would make 1,000,000,000 characters"),
    "jinja_concat_doubling.yaml": (None, "joining with ~ would make 1,048,576 characters"),
    "jinja_list_doubling.yaml": (None, "adding with + would make 1,048,576 characters"),
    "jinja_replace_bomb.yaml": (None, "replace would make 10,000,000,000 characters"),
    "jinja_batch_fill_bomb.yaml": (None, "the batch filter would make 1,000,000,000 characters"),
    "jinja_list_repr_bomb.yaml": (None, "a value in the prompt renders to more than 100,000 characters"),
    "jinja_macro_buffer_bomb.yaml": (None, "builds more than 10,000,000 characters of text"),
    "jinja_square_bomb.yaml": (None, "the product is too large a number for a prompt"),
    "jinja_int_to_bytes.yaml": (None, "access to attribute 'to_bytes' of 'int' object is unsafe"),
    # prompts: an undefined value fails wherever it is used
    "undefined_in_list.yaml": (None, "'lense' is undefined"),
    "undefined_in_mapping.yaml": (None, "'lense' is undefined"),
    "undefined_through_int.yaml": (None, "'lense' is undefined"),
    "undefined_map_attribute.yaml": (None, "access to attribute '__class__' of 'str' object is unsafe"),
    "undefined_in_join.yaml": (None, "'str object' has no attribute 'nope'"),
    # prompts: vars are read-only, prompts deterministic
    "jinja_mutate_var_append.yaml": (None, "prompts cannot change variables: 'append' would change a list"),
    "jinja_mutate_var_update.yaml": (None, "prompts cannot change variables: 'update' would change a dict"),
    "jinja_mutate_shot_fields.yaml": (None, "prompts cannot change variables: 'update' would change a dict"),
    "jinja_random_filter.yaml": (None, "No filter named 'random'"),
    "jinja_huge_template.yaml": (None, "a template of 12,000 characters, over the limit of 10,000"),
    # strict values: nothing silently means something else
    "model_empty.yaml": (None, "model must not be empty"),
    "shot_model_empty.yaml": (None, "model must not be empty"),
    "version_yes.yaml": (None, "True is not allowed here; expected 1"),
    "version_float.yaml": (None, "1.0 is not allowed here; expected 1"),
    "duration_yes.yaml": (None, "True must be a whole number"),
    "transition_duration_text.yaml": (None, "'0.5' must be a number of seconds"),
    "transition_duration_yes.yaml": (None, "True must be a number of seconds"),
    "yaml11_key_inf.yaml": (None, "'.inf' is not a valid name"),
    "yaml11_key_on.yaml": (None, "did you mean @on?"),
    # paths no file system can open
    "asset_path_nul.yaml": (None, "the path contains a NUL character"),
    "import_path_nul.yaml": (None, "the path contains a NUL character"),
    "asset_path_huge.yaml": (None, "the path is 5,011 characters long"),
}

# generated into the temp folder by make_generated(): name → (file named, key word)
GENERATED: dict[str, tuple[str | None, str]] = {
    "gen_empty.yaml": (None, "the file is empty"),
    "gen_50mb.yaml": (None, "over the 20 MB limit"),
    "gen_latin1.yaml": (None, "not UTF-8 text (byte 0xe9)"),
    "gen_utf16.yaml": (None, "not UTF-8 text"),
    "gen_binary_junk.yaml": (None, "not UTF-8 text"),
    "gen_control_junk.yaml": (None, "unacceptable character"),
    "gen_symlink_outside.yaml": (None, "points outside the folder"),
    "gen_png_as_storyboard.yaml": (None, "not UTF-8 text"),
    "gen_symlink_loop_asset.yaml": (None, "a symlink loop"),
    "gen_symlink_loop_import.yaml": (None, "a symlink loop"),
    "gen_deep_imports.yaml": (os.path.join("lib", "deep", "deep30.yaml"), "imports nest more than 32 files deep"),
    "gen_deep_extends.yaml": (None, "`extends` chains more than 64 assets deep (the chain starts at 'c0')"),
    "gen_huge_wrong_type.yaml": (None, "… (5,000,001 characters) must be a whole number"),
}

# run as real subprocesses too (besides every generated case): one of each family
SUBPROCESS_SAMPLE = [
    "tabs.yaml",
    "duplicate_key.yaml",
    "duration_word.yaml",
    "misspelt_reference.yaml",
    "import_cycle.yaml",
    "alias_bomb_billion_laughs.yaml",
    "deep_flow_nesting.yaml",
    "python_object_tag.yaml",
    "dotdot_probe.yaml",
    "jinja_mro_subclasses.yaml",
    "jinja_nested_loops.yaml",
    "jinja_string_loops.yaml",
    "jinja_center_bomb.yaml",
    "jinja_macro_recursion.yaml",
    "undefined_in_list.yaml",
    "library_imports_outside.yaml",
    "control_character.yaml",
]
COMMANDS = ("validate", "compile")
# one root problem, one message: what depends on it says nothing more
ONE_MESSAGE = {"library_imports_outside.yaml", "library_reexports_broken.yaml"}
TIME_LIMIT = 60.0  # a hang guard per in-process run: the slowest case (an alias bomb) takes about one


def make_generated(root: Path) -> None:
    """Write the cases that are not committed into the project folder ``root``."""
    header = (CORPUS / "unknown_reference.yaml").read_text("utf-8").split("shots:")[0].split("\n", 1)[1]
    (root / "gen_empty.yaml").write_bytes(b"")
    with open(root / "gen_50mb.yaml", "wb") as f:  # valid YAML all the way: only its size is wrong
        f.write(header.encode() + b"vars:\n")
        line = b"  # " + b"x" * 1020 + b"\n"
        for _ in range(50 * 1024):
            f.write(line)
        f.write(b"shots:\n  - id: a\n    prompt: x\n")
    (root / "gen_latin1.yaml").write_bytes(
        "version: 1\ntitle: Café\nshots:\n  - {id: a, prompt: x}\n".encode("latin-1")
    )
    (root / "gen_utf16.yaml").write_bytes("version: 1\ntitle: T\nshots:\n  - {id: a, prompt: x}\n".encode("utf-16"))
    (root / "gen_binary_junk.yaml").write_bytes(b"\xff\xfe\x00" + random.Random(7).randbytes(8192))
    (root / "gen_control_junk.yaml").write_text("version: 1\ntitle: \x01\x02\x03\x04\x1b[31m\n", encoding="utf-8")
    (root / "gen_png_as_storyboard.yaml").write_bytes((root / "assets" / "red.png").read_bytes())
    outside = root.parent / "outside" / "secret.png"
    draw(outside, (9, 9, 9))
    (root / "assets" / "link.png").symlink_to(outside)
    (root / "gen_symlink_outside.yaml").write_text(
        header.replace("assets/grey.png", "assets/link.png") + "shots:\n  - id: a\n    prompt: x\n", encoding="utf-8"
    )
    shot = "shots:\n  - id: a\n    prompt: x\n"
    (root / "assets" / "loop.png").symlink_to("loop.png")  # a link to itself
    (root / "gen_symlink_loop_asset.yaml").write_text(
        header.replace("assets/grey.png", "assets/loop.png") + shot, encoding="utf-8"
    )
    (root / "lib" / "loop_a.yaml").symlink_to("loop_b.yaml")
    (root / "lib" / "loop_b.yaml").symlink_to("loop_a.yaml")
    (root / "gen_symlink_loop_import.yaml").write_text(
        header.replace("title: Corpus\n", "title: Corpus\nimports:\n  loop: lib/loop_a.yaml\n") + shot,
        encoding="utf-8",
    )
    deep = root / "lib" / "deep"  # a chain of 1,000 libraries, each importing the next
    deep.mkdir()
    for i in range(1000):
        (deep / f"deep{i}.yaml").write_text(f"version: 1\nimports:\n  next: deep{i + 1}.yaml\n", encoding="utf-8")
    (root / "gen_deep_imports.yaml").write_text(
        header.replace("title: Corpus\n", "title: Corpus\nimports:\n  deep: lib/deep/deep0.yaml\n") + shot,
        encoding="utf-8",
    )
    chain = "".join(f"  c{i}: {{extends: c{i + 1}}}\n" for i in range(1000)) + "  c1000: {image: assets/red.png}\n"
    (root / "gen_deep_extends.yaml").write_text(
        header.replace("characters:\n", "characters:\n" + chain) + shot, encoding="utf-8"
    )
    (root / "gen_huge_wrong_type.yaml").write_text(
        header + "shots:\n  - id: a\n    duration: " + "9" * 5_000_000 + "x\n    prompt: x\n", encoding="utf-8"
    )


@pytest.fixture(scope="module")
def corpus_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture project with every corpus file and library copied in, and the generated cases."""
    root = build_project(tmp_path_factory.mktemp("corpus") / "project")
    for case in CORPUS.glob("*.yaml"):
        shutil.copy(case, root / case.name)
    for lib in (CORPUS / "lib").glob("*.yaml"):
        shutil.copy(lib, root / "lib" / lib.name)
    # the valid library that lib/imports_outside.yaml reaches for, outside its folder
    (root / "corpus_outside.yaml").write_text("version: 1\nimages:\n  red: assets/red.png\n", encoding="utf-8")
    make_generated(root)
    return root


def check_output(case: str, code: int, stderr: str, expected: tuple[str | None, str]) -> None:
    """Exit code 2, no traceback, ``file:LINE`` and the key word."""
    named, words = expected
    named = named or case
    assert "Traceback" not in stderr, stderr
    assert "internal error" not in stderr, stderr
    assert code == 2, f"exit code {code}, expected 2:\n{stderr}"
    assert re.search(re.escape(named) + r":\d+", stderr), f"no {named}:LINE in:\n{stderr}"
    assert words in stderr, f"{words!r} not in:\n{stderr}"


def test_every_committed_case_is_in_the_table_and_says_what_it_breaks() -> None:
    committed = sorted(p.name for p in CORPUS.glob("*.yaml"))
    assert committed == sorted(CASES), "tests/corpus/ and CASES disagree"
    assert len(committed) + len(GENERATED) >= 40
    for path in [*CORPUS.glob("*.yaml"), *(CORPUS / "lib").glob("*.yaml")]:
        first = path.read_text("utf-8").split("\n", 1)[0]
        assert first.startswith("# breaks: ") and len(first) > len("# breaks: ") + 5, path.name


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", sorted(CASES) + sorted(GENERATED))
def test_case_in_process(corpus_root: Path, monkeypatch: pytest.MonkeyPatch, case: str, command: str) -> None:
    monkeypatch.chdir(corpus_root)
    with time_limit(TIME_LIMIT):
        result = CliRunner().invoke(app, [command, case])
    assert not isinstance(result.exception, TimeoutError), f"{case} hangs"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback is a failure: show it
    check_output(case, result.exit_code, result.stderr, {**CASES, **GENERATED}[case])
    if case in ONE_MESSAGE:
        assert result.stderr.count("error: ") == 1, result.stderr


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", SUBPROCESS_SAMPLE + sorted(GENERATED))
def test_case_as_a_subprocess(corpus_root: Path, case: str, command: str) -> None:
    proc = run_cli(command, case, cwd=corpus_root, timeout=60)
    check_output(case, proc.returncode, proc.stderr, {**CASES, **GENERATED}[case])
    assert proc.stdout == "", "nothing goes to stdout on failure"


def test_an_unreadable_library_is_reported_at_its_import(corpus_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A library that cannot be read (permissions) is an error at the import line, not a crash."""
    import builtins

    real_open = builtins.open

    def deny(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file).endswith("more.yaml"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.chdir(corpus_root)
    (corpus_root / "unreadable.yaml").write_text(
        "version: 1\ntitle: T\nimports:\n  more: lib/more.yaml\nshots:\n  - {id: a, prompt: x}\n", encoding="utf-8"
    )
    monkeypatch.setattr(builtins, "open", deny)
    result = CliRunner().invoke(app, ["validate", "unreadable.yaml"])
    monkeypatch.setattr(builtins, "open", real_open)
    check_output(
        "unreadable.yaml",
        result.exit_code,
        result.stderr,
        (None, "library 'lib/more.yaml': cannot read the file: Permission denied"),
    )


def test_validate_json_lists_the_problem_with_its_line(corpus_root: Path) -> None:
    """The machine-readable form carries the same location."""
    import json

    proc = run_cli("validate", "--json", "control_character.yaml", cwd=corpus_root, timeout=60)
    assert proc.returncode == 2
    [problem] = json.loads(proc.stdout)["problems"]
    assert (problem["file"], problem["line"], problem["column"]) == ("control_character.yaml", 14, 20)


# -- property: hostile mutations of a storyboard and of the library it imports --------------------

STORYBOARD = """\
version: 1
title: Fuzz
imports:
  studio: lib/studio.yaml
vars:
  lens: 35mm lens
characters:
  mira: {image: assets/mira/front.png, references: [assets/mira/side.png]}
  ferry: {extends: studio.ferryman}
images:
  greenhouse: assets/green.png
styles:
  storybook: {images: [assets/style/ink.png]}
shots:
  - id: arrival
    start: greenhouse
    prompt: "@mira meets @studio.ferryman by @studio.lake, {{ lens }}."
  - id: orbit
    start: arrival.last_frame
    style: studio.ink
    prompt: "@ferry rows @studio.boat; {% if lens %}{{ lens }}{% endif %}"
"""
LIBRARY = """\
version: 1
title: Studio
imports:
  more: more.yaml
characters:
  ferryman: {description: an old ferryman, image: img/ferry.png, references: [img/boat.png]}
  gull: {extends: more.gull}
objects:
  boat: {image: img/boat.png}
images:
  lake: img/lake.png
styles:
  ink: {images: [img/ink.png]}
"""
HOSTILE = [
    "../../secret.png",
    "../img/../../assets/red.png",
    "/etc/passwd",
    "~/.ssh/id_rsa",
    "file:///etc/passwd",
    "img/link_out.png",
    '!!python/object/apply:os.system ["true"]',
    "!!binary aGVsbG8=",
    "*nowhere",
    "&a [*a]",
    "[" * 70 + "]" * 70,
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ 9**99999 }}",
    "@Element1",
    "@Image3",
    "\x07",
    "\t",
    "<<: 5",
    "? [a]\n  : b",
    "5.5",
    "0",
    "11",
    '"five"',
    "4:3",
    "null",
    "[]",
    "{}",
    "~",
    "''",
    "https://169.254.169.254/latest",
    "studio.ferryman",
    "more.gull",
    "../more.yaml",
    "/tmp",
    "@studio.nobody",
    "@more.gull",
    "x.last_frame",
    "arrival.last_frame",
    "&x [1, 2]",
    "*x",
]


@dataclass
class Mutated:
    storyboard: str
    library: str


@st.composite
def hostile(draw_: st.DrawFn) -> Mutated:
    """The valid pair with 1-4 edits in either file: line edits, and hostile values spliced in."""
    files = {"storyboard": STORYBOARD.split("\n"), "library": LIBRARY.split("\n")}
    for _ in range(draw_(st.integers(1, 4))):
        lines = files[draw_(st.sampled_from(sorted(files)))]
        i = draw_(st.integers(0, len(lines) - 1))
        op = draw_(st.sampled_from(["value", "value", "value", "delete", "duplicate", "tab", "indent", "insert"]))
        line = lines[i]
        if op == "value" and ":" in line:  # replace what follows a key, or an item of a flow mapping
            cuts = [m.end() for m in re.finditer(r": ", line)]
            at = draw_(st.sampled_from(cuts)) if cuts else len(line)
            end = line.find(",", at)
            end = len(line) if end < 0 or draw_(st.booleans()) else end
            lines[i] = line[:at] + draw_(st.sampled_from(HOSTILE)) + line[end:]
        elif op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "duplicate":
            lines.insert(draw_(st.integers(0, len(lines))), line)
        elif op == "tab":
            lines[i] = "\t" + line
        elif op == "indent":
            lines[i] = " " * draw_(st.integers(1, 3)) + line
        elif op == "insert":
            at = draw_(st.integers(0, len(line)))
            lines[i] = line[:at] + draw_(st.sampled_from(HOSTILE)) + line[at:]
    return Mutated("\n".join(files["storyboard"]), "\n".join(files["library"]))


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project for the property test: the fixture tree, a secret outside it, a symlink out of lib/img/."""
    base = tmp_path_factory.mktemp("corpus_fuzz")
    root = build_project(base / "project")
    draw(base / "secret.png", (1, 2, 3))  # what `../../secret.png` from lib/ would reach
    (root / "lib" / "img" / "link_out.png").symlink_to(base / "secret.png")
    (root / "storyboard.yaml").write_text(STORYBOARD, encoding="utf-8")
    (root / "lib" / "studio.yaml").write_text(LIBRARY, encoding="utf-8")
    return root


def test_the_unmutated_pair_compiles(fuzz_root: Path) -> None:
    plan = compile_file(fuzz_root / "storyboard.yaml")
    assert [s.id for s in plan.shots] == ["arrival", "orbit"]


@settings(
    max_examples=int(os.environ.get("STORYBOARD_PROPERTY_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=bool(os.environ.get("CI")),
)
@given(case=hostile())
def test_hostile_mutations_compile_or_fail_cleanly(fuzz_root: Path, case: Mutated) -> None:
    """A Plan or an InputError with located problems; never another exception, a hang, or an outside file."""
    (fuzz_root / "storyboard.yaml").write_bytes(case.storyboard.encode("utf-8", "surrogatepass"))
    (fuzz_root / "lib" / "studio.yaml").write_bytes(case.library.encode("utf-8", "surrogatepass"))
    try:
        with time_limit(5):
            plan = compile_file(fuzz_root / "storyboard.yaml")
    except InputError as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.file and p.message and p.format()
        event("InputError: " + exc.problems[0].message.split(":")[0][:40])
        return
    event("compiled")
    real_root = fuzz_root.resolve()
    for shot in plan.shots:
        for ref in shot.assets():
            if ref.kind == "file":
                assert ref.path.resolve().is_relative_to(real_root), f"{ref.path} is outside the project"
