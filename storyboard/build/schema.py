"""JSON Schemas of the build's output files, generated from :mod:`storyboard.build.outputs`.

Beside the storyboard format's schemas under ``schemas/``, generated, never edited by hand::

    python -m storyboard.build.schema            # rewrite schemas/manifest.schema.json, run_results.schema.json
    python -m storyboard.build.schema --check    # exit 1 if the committed files are stale

Tools that read a build (a dashboard, a CI step) validate ``manifest.json`` and
``run_results.json`` against them; each file's ``version`` says which schema it follows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from storyboard.build.outputs import Manifest, RunResults
from storyboard.compiler.schema import JSON_SCHEMA_DIALECT, SCHEMA_DIR, render

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
    """File names under ``directory`` that are missing or differ from a fresh generation."""
    return [
        name
        for name, schema in generate().items()
        if not (directory / name).is_file() or (directory / name).read_text(encoding="utf-8") != render(schema)
    ]


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every build output schema into ``directory`` (created if needed); return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in generate().items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8", newline="\n")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m storyboard.build.schema [--check] [DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m storyboard.build.schema", description=__doc__.splitlines()[0])
    parser.add_argument(
        "directory", nargs="?", type=Path, default=SCHEMA_DIR, help="where to write (default: schemas/)"
    )
    parser.add_argument("--check", action="store_true", help="only report stale files; exit 1 if any")
    args = parser.parse_args(argv)
    if args.check:
        names = stale(args.directory)
        for name in names:
            print(f"{args.directory / name} is stale: run `python -m storyboard.build.schema`", file=sys.stderr)
        return 1 if names else 0
    for path in write(args.directory):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
