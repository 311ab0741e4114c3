"""JSON Schemas of the storyboard format, generated from the pydantic models in :mod:`storyboard.compiler.spec`.

The files under ``schemas/`` at the repository root are generated, never edited by hand::

    python -m storyboard.compiler.schema            # rewrite schemas/*.json
    python -m storyboard.compiler.schema --check    # exit 1 if the committed files are stale

Editors use them through a comment on a storyboard's first line
(``# yaml-language-server: $schema=../../schemas/storyboard.schema.json``). The schemas check
shapes and types only, like the models: names, references and files are checked by
``storyboard validate``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from storyboard.compiler.spec import Library, Storyboard

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"

# file name → (model, $id, title, description)
_SCHEMAS: dict[str, tuple[type[BaseModel], str, str, str]] = {
    "storyboard.schema.json": (
        Storyboard,
        "urn:storyboard:schema:v1:storyboard",
        "Storyboard",
        "A storyboard file, format version 1: assets (characters, objects, styles, images), imports of "
        "libraries, defaults, vars and shots, each shot compiled into one Kling O1 reference-to-video "
        "request. Generated from storyboard.compiler.spec by `python -m storyboard.compiler.schema`; do not edit.",
    ),
    "library.schema.json": (
        Library,
        "urn:storyboard:schema:v1:library",
        "Storyboard library",
        "A storyboard library file, format version 1: reusable characters, objects, styles and images "
        "(and imports of other libraries), with no shots and no film. Generated from storyboard.compiler.spec by "
        "`python -m storyboard.compiler.schema`; do not edit.",
    ),
}


def generate() -> dict[str, dict[str, Any]]:
    """Every schema, keyed by its file name under ``schemas/``."""
    out: dict[str, dict[str, Any]] = {}
    for name, (model, schema_id, title, description) in _SCHEMAS.items():
        schema = model.model_json_schema()
        schema["$schema"] = JSON_SCHEMA_DIALECT
        schema["$id"] = schema_id
        schema["title"] = title
        schema["description"] = description
        _close_name_maps(schema)
        out[name] = schema
    return out


def _close_name_maps(node: Any) -> None:
    """Reject keys that are not names: pydantic emits ``patternProperties`` but leaves other keys open."""
    if isinstance(node, dict):
        if "patternProperties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _close_name_maps(value)
    elif isinstance(node, list):
        for value in node:
            _close_name_maps(value)


def render(schema: dict[str, Any]) -> str:
    """The text of one schema file: sorted keys, two-space indent, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


SchemaFiles = Callable[[], dict[str, dict[str, Any]]]


def stale_files(files: SchemaFiles, directory: Path) -> list[str]:
    """Names of the ``files()`` schemas missing from ``directory`` or differing from a fresh generation."""
    return [
        name
        for name, schema in files().items()
        if not (directory / name).is_file() or (directory / name).read_text(encoding="utf-8") != render(schema)
    ]


def write_files(files: SchemaFiles, directory: Path) -> list[Path]:
    """Write the ``files()`` schemas into ``directory`` (created if needed); return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in files().items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8", newline="\n")
        written.append(path)
    return written


def schema_command(argv: list[str] | None, *, prog: str, description: str, files: SchemaFiles) -> int:
    """``python -m PROG [--check] [DIR]``: write the ``files()`` schemas, or report the stale ones (exit 1)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "directory", nargs="?", type=Path, default=SCHEMA_DIR, help="where to write (default: schemas/)"
    )
    parser.add_argument("--check", action="store_true", help="only report stale files; exit 1 if any")
    args = parser.parse_args(argv)
    if args.check:
        names = stale_files(files, args.directory)
        for name in names:
            print(f"{args.directory / name} is stale: run `{prog}`", file=sys.stderr)
        return 1 if names else 0
    for path in write_files(files, args.directory):
        print(path)
    return 0


def stale(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of schema files missing from ``directory`` or differing from a fresh generation."""
    return stale_files(generate, directory)


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema into ``directory`` (created if needed); return the paths written."""
    return write_files(generate, directory)


def main(argv: list[str] | None = None) -> int:
    """``python -m storyboard.compiler.schema [--check] [DIR]``."""
    return schema_command(
        argv, prog="python -m storyboard.compiler.schema", description=__doc__.splitlines()[0], files=generate
    )


if __name__ == "__main__":
    sys.exit(main())
