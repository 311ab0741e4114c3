"""The JSON Schemas under ``schemas/``: generated from the models, committed, and in step with them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from sbtest import CASES, CAST_LIBRARY, MORE_LIBRARY
from storyboard.compiler import schema

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
REGENERATE = "python -m storyboard.compiler.schema"


def example_files() -> list[Path]:
    """Every storyboard and library the project ships or tests with: examples/ and the golden cases."""
    return sorted((REPO / "examples").rglob("*.yaml")) + sorted(CASES.rglob("*.yaml"))


def is_library(data: dict[str, Any]) -> bool:
    """Libraries have no shots (how ``storyboard`` itself tells them apart)."""
    return "shots" not in data


def test_schema_dir_is_at_the_repo_root() -> None:
    """``python -m storyboard.compiler.schema`` writes where the committed files are."""
    assert schema.SCHEMA_DIR == SCHEMAS


@pytest.mark.parametrize("name", ["storyboard.schema.json", "library.schema.json"])
def test_committed_schema_is_fresh(name: str) -> None:
    """The committed file equals a fresh generation from storyboard.compiler.spec."""
    path = SCHEMAS / name
    assert path.is_file(), f"{path} is missing: run `{REGENERATE}`"
    fresh = schema.render(schema.generate()[name])
    assert path.read_text(encoding="utf-8") == fresh, (
        f"schemas/{name} is stale (storyboard/spec.py changed): run `{REGENERATE}` and commit the result"
    )


def test_generate_shapes() -> None:
    """Both schemas: 2020-12 dialect, an $id, a title and a description; keys sorted, trailing newline."""
    generated = schema.generate()
    assert set(generated) == {"storyboard.schema.json", "library.schema.json"}
    for name, body in generated.items():
        assert body["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert body["$id"].endswith(name.split(".")[0])
        assert body["title"] and body["description"]
        assert body["additionalProperties"] is False, "unknown top-level fields must be rejected"
        text = schema.render(body)
        assert text.endswith("}\n") and not text.endswith("\n\n")
        assert json.loads(text) == body
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert generated["storyboard.schema.json"]["required"] == ["version", "title", "shots"]
    assert "shots" not in generated["library.schema.json"]["properties"]


def test_names_are_closed_maps() -> None:
    """Asset tables accept only identifier keys (``1mira`` is flagged by the editor too)."""
    props = schema.generate()["storyboard.schema.json"]["properties"]
    for table in ("characters", "objects", "styles", "images", "imports", "vars"):
        assert list(props[table]["patternProperties"]) == ["^[A-Za-z_][A-Za-z0-9_]*$"]
        assert props[table]["additionalProperties"] is False


def test_main_writes_and_checks(tmp_path: Path) -> None:
    """``python -m storyboard.compiler.schema DIR`` writes both files; ``--check`` exits 1 on a stale one."""
    run = [sys.executable, "-m", "storyboard.compiler.schema"]
    assert subprocess.run([*run, str(tmp_path)], capture_output=True, check=False).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["library.schema.json", "storyboard.schema.json"]
    assert subprocess.run([*run, "--check", str(tmp_path)], capture_output=True, check=False).returncode == 0
    (tmp_path / "library.schema.json").write_text("{}\n", encoding="utf-8")
    stale = subprocess.run([*run, "--check", str(tmp_path)], capture_output=True, text=True, check=False)
    assert stale.returncode == 1
    assert "library.schema.json is stale: run `python -m storyboard.compiler.schema`" in stale.stderr


def _documents() -> list[tuple[str, dict[str, Any]]]:
    """(name, data) of every example/fixture storyboard and library, libraries included."""
    docs = [(str(p.relative_to(REPO)), yaml.safe_load(p.read_text(encoding="utf-8"))) for p in example_files()]
    docs += [
        ("sbtest.CAST_LIBRARY", yaml.safe_load(CAST_LIBRARY)),
        ("sbtest.MORE_LIBRARY", yaml.safe_load(MORE_LIBRARY)),
    ]
    return docs


@pytest.mark.parametrize(("name", "data"), _documents(), ids=lambda v: v if isinstance(v, str) else "")
def test_examples_validate_against_schema(name: str, data: dict[str, Any]) -> None:
    """Every example and fixture validates against its schema (needs the optional `jsonschema`)."""
    jsonschema = pytest.importorskip("jsonschema")
    which = "library.schema.json" if is_library(data) else "storyboard.schema.json"
    body = json.loads((SCHEMAS / which).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(body)
    errors = sorted(jsonschema.Draft202012Validator(body).iter_errors(data), key=str)
    assert not errors, f"{name}: " + "; ".join(e.message for e in errors)


@pytest.mark.parametrize(
    "bad",
    [
        {"version": 1, "title": "T", "shots": [{"id": "a", "promt": "x"}]},
        {"version": 1, "title": "T", "shots": [{"id": "a", "prompt": "x", "duration": 16}]},
        {"version": 1, "title": "T", "shots": []},
        {
            "version": 1,
            "title": "T",
            "characters": {"1mira": {"image": "a.png"}},
            "shots": [{"id": "a", "prompt": "x"}],
        },
        {"version": 2, "title": "T", "shots": [{"id": "a", "prompt": "x"}]},
    ],
    ids=["typo", "duration", "no-shots", "bad-name", "version"],
)
def test_schema_rejects_what_the_compiler_rejects(bad: dict[str, Any]) -> None:
    """A typo, an out-of-range duration, no shots, a bad name, another version: invalid for editors too."""
    jsonschema = pytest.importorskip("jsonschema")
    body = json.loads((SCHEMAS / "storyboard.schema.json").read_text(encoding="utf-8"))
    assert list(jsonschema.Draft202012Validator(body).iter_errors(bad))


def test_the_old_module_path_still_runs_with_a_deprecation_warning(tmp_path: Path) -> None:
    """``python -m storyboard.schema`` (documented before the layers moved) still works, and says where it went."""
    done = subprocess.run(
        [sys.executable, "-W", "default", "-m", "storyboard.schema", str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "storyboard.compiler.schema" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["library.schema.json", "storyboard.schema.json"]
