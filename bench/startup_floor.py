"""The start-up floor: the least a ``validate`` built on storyboard's own libraries can cost.

A two-command typer app whose ``validate FILE [--json] [--allow-outside-assets]`` reads the file
with PyYAML's libyaml loader, checks it with one pydantic model and imports Pillow (the image
checks) — the same libraries, the same command line, none of storyboard's own work. typer 0.29
builds a pydantic ``TypeAdapter`` for each parameter of the command it runs, so pydantic is
paid for by the command line even before a storyboard is read.

:mod:`bench.startup_bench` times ``storyboard validate`` against this script, run the same way
(``python bench/startup_floor.py validate FILE``): the difference is what storyboard itself adds
(its modules, its models, compiling the storyboard, checking and decoding its images).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from pydantic import BaseModel, ConfigDict

app = typer.Typer(add_completion=False)


class Document(BaseModel):
    """A storyboard's top level, as loosely as pydantic allows."""

    model_config = ConfigDict(extra="allow")
    title: str = ""


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """The app's global options, as storyboard has them."""


@app.command()
def validate(
    file: Path,
    json_out: Annotated[bool, typer.Option("--json")] = False,
    allow_outside_assets: Annotated[bool, typer.Option("--allow-outside-assets")] = False,
) -> None:
    """Read FILE, check its top level, print one line."""
    from PIL import Image  # noqa: F401  (storyboard's image checks import it)

    data = yaml.load(file.read_text("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    doc = Document.model_validate(data)
    typer.echo(f"{file}: {doc.title!r}")


@app.command()
def compile(file: Path) -> None:
    """A second command, so that typer builds a group as storyboard's app does."""


if __name__ == "__main__":
    app()
