"""One root problem gives one message (issue 10, item 7), word for word with its line.

What depends on a broken thing — an asset that ``extends`` a broken asset, an ``extends`` into a
library whose import failed, a re-export of a broken asset — says nothing more: the user fixes
the one line reported and the rest follows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sbtest import write_storyboard
from storyboard.compiler.compile import compile_file
from storyboard.errors import InputError


def messages(path: Path) -> list[str]:
    """The problems of compiling ``path``, each as its message alone."""
    with pytest.raises(InputError) as info:
        compile_file(path)
    return [p.message for p in info.value.problems]


def lines(path: Path) -> list[str]:
    """The problems of compiling ``path``, each as the line the CLI prints."""
    with pytest.raises(InputError) as info:
        compile_file(path)
    return [p.format() for p in info.value.problems]


def test_a_broken_asset_re_exported_through_extends_is_reported_once(project: Path) -> None:
    """lib/more.yaml's gull has a missing image; lib/cast.yaml re-exports it (`gull: {extends: more.gull}`)."""
    more = project / "lib" / "more.yaml"
    more.write_text(more.read_text("utf-8").replace("img/gull.png", "img/gul.png"), encoding="utf-8")
    path = write_storyboard(
        project, "version: 1\ntitle: T\nimports: {cast: lib/cast.yaml}\nshots:\n  - {id: a, prompt: '@cast.gull'}\n"
    )
    assert lines(path) == [
        "lib/more.yaml:5:12: characters.gull.image: asset file 'img/gul.png' not found — did you mean 'gull.png'?"
    ]


def test_a_chain_of_extends_from_a_broken_asset_is_reported_once(project: Path) -> None:
    path = write_storyboard(
        project,
        """\
        version: 1
        title: T
        characters:
          a: {image: assets/missing.png}
          b: {extends: a}
          c: {extends: b, description: the third}
        shots:
          - {id: s, prompt: "@c"}
        """,
    )
    assert lines(path) == ["storyboard.yaml:4:14: characters.a.image: asset file 'assets/missing.png' not found"]


def test_an_import_outside_a_library_folder_does_not_also_report_the_extends_on_it(project: Path) -> None:
    (project / "outside.yaml").write_text("version: 1\nimages:\n  red: assets/red.png\n", encoding="utf-8")
    (project / "lib" / "reach.yaml").write_text(
        "version: 1\nimports:\n  up: ../outside.yaml\ncharacters:\n  kid: {extends: up.red}\n"
        "  other: {extends: up.nothing}\nstyles:\n  look: {extends: up.red}\n",
        encoding="utf-8",
    )
    path = write_storyboard(
        project, "version: 1\ntitle: T\nimports: {reach: lib/reach.yaml}\nshots:\n  - {id: a, prompt: x}\n"
    )
    assert lines(path) == [
        "lib/reach.yaml:3:7: imports.up: '../outside.yaml' is outside the folder of the library that imports it "
        "— keep imported libraries beside the library (a shared library may not read other files), "
        "or pass --allow-outside-assets"
    ]


def test_an_extends_into_a_library_that_did_load_is_still_checked(project: Path) -> None:
    """Only the failed namespace is silenced: a wrong name in a good library is still an error."""
    path = write_storyboard(
        project,
        """\
        version: 1
        title: T
        imports: {cast: lib/cast.yaml, gone: lib/none.yaml}
        characters:
          a: {extends: cast.ferrymann}
          b: {extends: gone.x}
        shots:
          - {id: s, prompt: x}
        """,
    )
    assert lines(path) == [
        "storyboard.yaml:3:38: imports.gone: library 'lib/none.yaml' not found",
        "storyboard.yaml:5:16: characters.a.extends: 'a' extends unknown 'cast.ferrymann' — did you mean 'cast.ferryman'?",
    ]


def test_music_placed_against_a_shot_refused_for_its_prompt_adds_no_second_message(project: Path) -> None:
    """The shot's own problem is the root; `film.music` naming that shot is not "unknown"."""
    long = "x" * 2600
    found = messages(
        write_storyboard(
            project,
            f"""\
            version: 1
            title: T
            film:
              music:
                - {{prompt: soft piano, start: b, end: b}}
            shots:
              - {{id: a, prompt: A quiet shore.}}
              - {{id: b, prompt: "{long}"}}
            """,
        )
    )
    assert len(found) == 1, found
    assert "shot 'b': the prompt is 2,600 characters" in found[0]


def test_music_against_a_shot_that_does_not_exist_is_still_an_error(project: Path) -> None:
    found = messages(
        write_storyboard(
            project,
            """\
            version: 1
            title: T
            film:
              music:
                - {prompt: soft piano, start: c}
            shots:
              - {id: a, prompt: A quiet shore.}
            """,
        )
    )
    assert found == ["unknown shot 'c'"], found
