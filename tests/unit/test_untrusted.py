"""Untrusted libraries: a library written by another studio must not reach outside its folder.

A library's asset that climbs out with ``..``, is absolute, goes through a symlink, or starts
with ``~`` is refused with a clear message (exit 2). ``--allow-outside-assets`` lifts the folder
rule but never the image check: a text file renamed ``.png`` is still refused, before a single
byte is sent to fal (checked against the fake fal server). Nothing of the file's content ever
appears in a message. Prompts live only in storyboards, but ``vars`` carry strings: a var holding
``{{ … }}`` is text, never rendered a second time.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sbtest import draw, write_storyboard
from storyboard.compiler.compile import compile_file
from support.cli import run_cli

SECRET = "TOP-SECRET-CONTENT-0451"  # what the files outside hold: must never be printed
KEY = "fal-untrusted-key-6b1d0e"

STORYBOARD = """\
version: 1
title: Untrusted
imports:
  evil: lib/evil.yaml
characters:
  mira: {image: assets/mira/front.png}
shots:
  - id: a
    duration: 3
    aspect_ratio: "1:1"
    prompt: "@mira meets @evil.thief."
"""


def library(image: str) -> str:
    return f'version: 1\ncharacters:\n  thief:\n    description: a thief\n    image: "{image}"\n'


@pytest.fixture
def outside(project: Path) -> Path:
    """A folder beside the project holding a text file renamed .png, a .txt and a real image."""
    folder = project.parent
    (folder / "secret.png").write_text(SECRET + "\n", encoding="utf-8")
    (folder / "secret.txt").write_text(SECRET + "\n", encoding="utf-8")
    draw(folder / "real.png", (1, 2, 3))
    home = folder / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n", encoding="utf-8")
    return folder


def escape(kind: str, project: Path, outside: Path) -> str:
    """The asset string of each way out, setting up what it needs."""
    if kind == "dotdot":
        return "../../secret.png"
    if kind == "dotdot_txt":
        return "../../secret.txt"
    if kind == "absolute":
        return str(outside / "secret.png")
    if kind == "symlink":
        link = project / "lib" / "img" / "innocent.png"
        link.symlink_to(outside / "secret.png")
        return "img/innocent.png"
    if kind == "symlinked_folder":
        (project / "lib" / "img" / "shared").symlink_to(outside, target_is_directory=True)
        return "img/shared/secret.png"
    if kind == "tilde":
        return "~/.ssh/id_rsa"
    raise AssertionError(kind)


REFUSALS = {
    "dotdot": "'../../secret.png' points outside the folder of the file that declares it",
    "dotdot_txt": "'../../secret.txt' points outside the folder of the file that declares it",
    "absolute": "is an absolute path",
    "symlink": "'img/innocent.png' points outside the folder of the file that declares it",
    "symlinked_folder": "'img/shared/secret.png' points outside the folder of the file that declares it",
    "tilde": "'~/.ssh/id_rsa': `~` is not expanded",
}
# with --allow-outside-assets: the folder rule is lifted, the image check is not (and ~ stays refused)
WITH_FLAG = {kind: "is not a readable image" for kind in REFUSALS} | {"tilde": "`~` is not expanded"}


def env_for(outside: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(outside / "home"), **extra}


def assert_refused(proc, lib: str, words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{lib}:" in proc.stderr and words in proc.stderr, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr, "the outside file's content was printed"


@pytest.mark.parametrize("kind", sorted(REFUSALS))
def test_escaping_asset_is_refused(project: Path, outside: Path, kind: str) -> None:
    write_storyboard(project, library(escape(kind, project, outside)), "lib/evil.yaml")
    sb = write_storyboard(project, STORYBOARD)
    for command in ("validate", "compile", "build"):
        proc = run_cli(command, str(sb), cwd=project, env=env_for(outside), timeout=60)
        assert_refused(proc, os.path.join("lib", "evil.yaml") + ":5", REFUSALS[kind])
    assert not (project / "build").exists(), "a refused build must not start"


@pytest.mark.parametrize("kind", sorted(REFUSALS))
def test_allow_outside_assets_still_refuses_a_non_image_before_any_upload(
    project: Path, outside: Path, fake_fal, kind: str
) -> None:
    write_storyboard(project, library(escape(kind, project, outside)), "lib/evil.yaml")
    sb = write_storyboard(project, STORYBOARD)
    proc = run_cli("validate", str(sb), "--allow-outside-assets", cwd=project, env=env_for(outside), timeout=60)
    assert_refused(proc, os.path.join("lib", "evil.yaml"), WITH_FLAG[kind])
    proc = run_cli(
        "build",
        str(sb),
        "--backend",
        "fal",
        "--allow-outside-assets",
        cwd=project,
        timeout=120,
        env=env_for(outside, **fake_fal.client_env(KEY), STORYBOARD_FAL_POLL="0.05"),
    )
    assert_refused(proc, os.path.join("lib", "evil.yaml"), WITH_FLAG[kind])
    assert fake_fal.uploads == [] and fake_fal.submissions == []
    assert fake_fal.calls == [], "nothing at all may reach fal"


def test_allow_outside_assets_does_let_a_real_image_in(project: Path, outside: Path, fake_fal) -> None:
    """The control for the test above: the flag works, so the refusal there is the image check."""
    write_storyboard(project, library("../../real.png"), "lib/evil.yaml")
    sb = write_storyboard(project, STORYBOARD)
    assert run_cli("validate", str(sb), cwd=project, timeout=60).returncode == 2
    proc = run_cli(
        "build",
        str(sb),
        "--backend",
        "fal",
        "--allow-outside-assets",
        cwd=project,
        timeout=120,
        env={**fake_fal.client_env(KEY), "STORYBOARD_FAL_POLL": "0.05"},
    )
    assert proc.returncode == 0, proc.stderr
    assert len(fake_fal.submissions) == 1
    assert len(fake_fal.uploads) == 2  # mira and the outside image


def test_a_library_may_not_import_outside_its_folder(project: Path, outside: Path) -> None:
    (outside / "stolen.yaml").write_text(f"version: 1\ntitle: {SECRET}\nimages:\n  x: real.png\n", encoding="utf-8")
    write_storyboard(project, "version: 1\nimports:\n  up: ../../stolen.yaml\n", "lib/evil.yaml")
    sb = write_storyboard(project, STORYBOARD.replace("@mira meets @evil.thief.", "@mira waits."))
    proc = run_cli("validate", str(sb), cwd=project, timeout=60)
    assert_refused(
        proc, os.path.join("lib", "evil.yaml") + ":3", "is outside the folder of the library that imports it"
    )
    assert run_cli("validate", str(sb), "--allow-outside-assets", cwd=project, timeout=60).returncode == 0
    # the storyboard itself, the user's own file, may import from anywhere
    ok = write_storyboard(
        project,
        STORYBOARD.replace("lib/evil.yaml", "../stolen.yaml").replace("@mira meets @evil.thief.", "@mira at @evil.x."),
    )
    assert run_cli("validate", str(ok), cwd=project, timeout=60).returncode == 0


def test_a_python_tag_in_a_library_runs_nothing(project: Path) -> None:
    write_storyboard(project, 'version: 1\ntitle: !!python/object/apply:os.system ["touch pwned"]\n', "lib/evil.yaml")
    sb = write_storyboard(project, STORYBOARD.replace("@mira meets @evil.thief.", "@mira waits."))
    proc = run_cli("build", str(sb), cwd=project, timeout=60)
    assert_refused(proc, os.path.join("lib", "evil.yaml") + ":2", "unsupported YAML tag")
    assert not (project / "pwned").exists()


def test_an_alias_bomb_in_a_library_fails_fast(project: Path) -> None:
    lines = ["version: 1", "description: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [
        f"title: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]"
        if i == 9
        else f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]"
        for i in range(1, 10)
    ]
    write_storyboard(project, "\n".join(lines) + "\n", "lib/evil.yaml")
    sb = write_storyboard(project, STORYBOARD.replace("@mira meets @evil.thief.", "@mira waits."))
    # the subprocess timeout is the hang guard; the message (the expansion limit was hit) is what proves it stops early
    proc = run_cli("validate", str(sb), cwd=project, timeout=120)
    assert_refused(proc, os.path.join("lib", "evil.yaml"), "an alias bomb?")


def test_urls_in_a_library_are_passed_through_unfetched(project: Path) -> None:
    """Not defended, by design (docs/security.md): a URL goes to fal as written; storyboard never fetches it."""
    write_storyboard(project, library("http://169.254.169.254/latest/meta-data/"), "lib/evil.yaml")
    sb = write_storyboard(project, STORYBOARD)
    proc = run_cli("compile", str(sb), "--json", cwd=project, timeout=60)
    assert proc.returncode == 0, proc.stderr
    [shot] = json.loads(proc.stdout)["shots"]
    assert "http://169.254.169.254/latest/meta-data/" in json.dumps(shot)


# -- vars are data, not templates ------------------------------------------------------------------

VARS_BOARD = """\
version: 1
title: Vars
vars:
  evil: "{{ 7 * 7 }}"
  escape: "{{ ''.__class__.__mro__[1].__subclasses__() }}"
  chain: "{{ evil }}"
  block: "{% for i in range(3) %}x{% endfor %}"
characters:
  mira: {image: assets/mira/front.png}
shots:
  - id: fast
    prompt: "@mira {{ evil }} {{ escape }} {{ chain }} {{ block }}"
  - id: jinja
    prompt: "@mira {% if true %}{{ evil }} {{ escape }} {{ chain }} {{ block }}{% endif %}"
  - id: filtered
    prompt: "@mira {{ evil | upper }} {{ [evil, chain] | join(' ') }}"
"""


def test_a_var_holding_a_template_is_never_rendered_twice(project: Path) -> None:
    plan = compile_file(write_storyboard(project, VARS_BOARD))
    literal = (
        "{{ 7 * 7 }} {{ ''.__class__.__mro__[1].__subclasses__() }} {{ evil }} {% for i in range(3) %}x{% endfor %}"
    )
    assert plan.shot("fast").prompt == "@Element1 " + literal  # the fast path (plain substitution)
    assert plan.shot("jinja").prompt == "@Element1 " + literal  # the sandbox
    assert plan.shot("filtered").prompt == "@Element1 {{ 7 * 7 }} {{ 7 * 7 }} {{ evil }}"
    for shot in plan.shots:
        assert "49" not in shot.prompt and "xxx" not in shot.prompt and "class '" not in shot.prompt


SPARSE_STORYBOARD = """\
version: 1
title: Sparse
objects:
  huge: {image: huge.png}
shots:
  - id: one
    prompt: "@huge on a table."
"""


def test_a_sparse_multi_gigabyte_png_is_refused_by_its_size_without_reading_it(tmp_path: Path) -> None:
    """An 8 GB sparse file named .png costs a stat, not its bytes: validate exits 2 under a 512 MB memory cap."""
    import resource
    import subprocess
    import sys

    (tmp_path / "storyboard.yaml").write_text(SPARSE_STORYBOARD)
    with open(tmp_path / "huge.png", "wb") as f:
        f.truncate(8 * 1024**3)  # sparse: no disk used, but read_bytes() would need 8 GB of memory

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (512 * 1024**2, 512 * 1024**2))

    done = subprocess.run(
        [sys.executable, "-m", "storyboard", "validate", "storyboard.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=cap_memory,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
    assert "storyboard.yaml:4:" in done.stderr, done.stderr
    assert "'huge.png' is 8589.9 MB; the model takes images up to 10 MB" in done.stderr, done.stderr
