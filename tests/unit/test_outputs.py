"""The build's output files: typed, versioned, and described by committed schemas that are in step.

One real (preview) build, in-process, writes ``manifest.json`` and ``run_results.json``; both
must validate against ``schemas/`` and keep the words they always had.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from sbtest import write_storyboard
from storyboard.build import outputs, schema
from storyboard.cli.app import app

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
REGENERATE = "python -m storyboard.build.schema"

TWO_SHOTS = """
    version: 1
    title: Two
    images:
      red: assets/red.png
    shots:
      - id: a
        start: red
        duration: 3
        notes: the establishing shot
        prompt: a red room, the camera still
      - id: b
        start: a.last_frame
        duration: 3
        transition: {type: crossfade, duration: 0.5}
        prompt: the camera pushes into the red room
"""


@pytest.mark.parametrize("name", ["manifest.schema.json", "run_results.schema.json"])
def test_committed_output_schema_is_fresh(name: str) -> None:
    path = SCHEMAS / name
    assert path.is_file(), f"{path} is missing: run `{REGENERATE}`"
    assert path.read_text(encoding="utf-8") == schema.render(schema.generate()[name]), (
        f"schemas/{name} is stale (storyboard/build/outputs.py changed): run `{REGENERATE}` and commit the result"
    )


def test_check_reports_a_stale_directory(tmp_path: Path) -> None:
    assert schema.main(["--check", str(tmp_path)]) == 1
    schema.write(tmp_path)
    assert schema.main(["--check", str(tmp_path)]) == 0


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, asset_tree: Path) -> Path:
    """A two-shot preview build (in-process); returns its build folder."""
    root = tmp_path_factory.mktemp("outputs")
    (root / "assets").mkdir()
    (root / "assets" / "red.png").write_bytes((asset_tree / "assets" / "red.png").read_bytes())
    sb = write_storyboard(root, TWO_SHOTS)
    result = CliRunner().invoke(app, ["build", str(sb), "--cache-dir", str(root / "cache")])
    assert result.exit_code == 0, result.output
    return root / "build"


@pytest.mark.parametrize("name", ["manifest", "run_results"])
def test_a_real_build_validates_against_its_schema(built: Path, name: str) -> None:
    data = json.loads((built / f"{name}.json").read_text("utf-8"))
    jsonschema.Draft202012Validator(json.loads((SCHEMAS / f"{name}.schema.json").read_text("utf-8"))).validate(data)
    assert data["version"] == 1


def test_run_results_keep_their_words(built: Path) -> None:
    data = json.loads((built / "run_results.json").read_text("utf-8"))
    assert set(data) == {"version", "backend", "film", "shots"}
    assert data["backend"] == "preview" and data["film"] == "film.mp4"
    assert [(s["id"], s["status"], s["error"]) for s in data["shots"]] == [
        ("a", "generated", None),
        ("b", "generated", None),
    ]
    assert set(data["shots"][0]) == {"id", "key", "status", "seconds", "error"}


def test_manifest_keeps_its_fields(built: Path) -> None:
    data = json.loads((built / "manifest.json").read_text("utf-8"))
    assert set(data) == {"version", "storyboard_version", "title", "backend", "source", "shots", "film", "graph"}
    a, b = data["shots"]
    assert a["notes"] == "the establishing shot" and "notes" not in b, "notes appear only on shots that have them"
    assert b["depends_on"] == ["a"] and b["transition"] == {"type": "crossfade", "duration": 0.5}
    assert a["clip"] == "shots/a.mp4" and data["film"] == {"output": "film.mp4"}
    assert ["frame:a", "shot:b"] in data["graph"]["edges"]


def test_statuses_are_their_words() -> None:
    assert [s.value for s in outputs.ShotStatus] == ["generated", "cached", "failed", "skipped"]
    assert json.dumps(outputs.ShotStatus.CACHED) == '"cached"' and f"{outputs.ShotStatus.FAILED}" == "failed"
    assert json.dumps(outputs.Freshness.UP_TO_DATE) == '"up to date"'
    assert [s for s in outputs.ShotStatus if s.built] == [outputs.ShotStatus.GENERATED, outputs.ShotStatus.CACHED]


def test_a_typo_in_an_output_structure_fails_at_once() -> None:
    with pytest.raises(ValueError):
        outputs.ShotRun(id="a", key="k", status="done", seconds=1.0, error=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        outputs.RunResults(backend="x", film=None, shots=[], extra=1)  # type: ignore[call-arg]
