"""JSON Schemas of the build's output files, generated from :mod:`storyboard.build.outputs`.

Beside the storyboard format's schemas under ``schemas/``, generated, never edited by hand::

    python -m storyboard.build.schema            # rewrite schemas/manifest.schema.json, run_results.schema.json
    python -m storyboard.build.schema --check    # exit 1 if the committed files are stale

Tools that read a build (a dashboard, a CI step) validate ``manifest.json`` and
``run_results.json`` against them; each file's ``version`` says which schema it follows.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from storyboard.build.outputs import Manifest, RunResults
from storyboard.compiler.schema import JSON_SCHEMA_DIALECT, SCHEMA_DIR, render, schema_command, stale_files, write_files

__all__ = ["generate", "main", "render", "stale", "write"]

# file name → (model, $id, title, description)
_SCHEMAS: dict[str, tuple[type[BaseModel], str, str, str]] = {
    "manifest.schema.json": (
        Manifest,
        "urn:storyboard:schema:v1:manifest",
        "Build manifest",
        "manifest.json in a build folder, version 1: the plan as built (every shot's request, key, clip, "
        "transition and mentions) and the build graph. Generated from storyboard.build.outputs by "
        "`python -m storyboard.build.schema`; do not edit.",
    ),
    "run_results.schema.json": (
        RunResults,
        "urn:storyboard:schema:v1:run_results",
        "Build run results",
        "run_results.json in a build folder, version 1: what happened to each shot in the last build "
        "(generated, cached, failed or skipped), its time and error, and the film. Generated from "
        "storyboard.build.outputs by `python -m storyboard.build.schema`; do not edit.",
    ),
}


def generate() -> dict[str, dict[str, Any]]:
    """Every build output schema, keyed by its file name under ``schemas/``."""
    out: dict[str, dict[str, Any]] = {}
    for name, (model, schema_id, title, description) in _SCHEMAS.items():
        schema = model.model_json_schema(mode="serialization")
        schema["$schema"] = JSON_SCHEMA_DIALECT
        schema["$id"] = schema_id
        schema["title"] = title
        schema["description"] = description
        out[name] = schema
    return out


def stale(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of build output schema files missing from ``directory`` or differing from a fresh generation."""
    return stale_files(generate, directory)


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every build output schema into ``directory`` (created if needed); return the paths written."""
    return write_files(generate, directory)


def main(argv: list[str] | None = None) -> int:
    """``python -m storyboard.build.schema [--check] [DIR]``."""
    return schema_command(
        argv, prog="python -m storyboard.build.schema", description=__doc__.splitlines()[0], files=generate
    )


if __name__ == "__main__":
    sys.exit(main())
