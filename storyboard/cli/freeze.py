"""``storyboard freeze``: a generated asset written to files, so a library can share it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from storyboard.cli.context import RunContext
from storyboard.cli.options import BackendOpt, CacheOpt, FileArg, JsonOpt, handle_errors
from storyboard.errors import relpath


@handle_errors
def freeze(
    run: RunContext,
    file: FileArg,
    name: Annotated[str, typer.Argument(help="The generated asset (a character, object, style or image).")],
    to: Annotated[
        Path | None,
        typer.Option("--to", help="The folder for its images. (default: assets/NAME/ beside the storyboard)"),
    ] = None,
    backend: BackendOpt = None,
    cache_dir: CacheOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write a generated asset's images to files and point its declaration at them (`image:`/`references:`),
    keeping the file's comments; its shots stay cached.

    Example: [bold]storyboard freeze examples/lighthouse/storyboard.yaml keeper[/]
    """
    from storyboard.build.freeze import freeze as freeze_asset
    from storyboard.build.run import default_build_dir, last_backend, open_cache
    from storyboard.compiler.compile import compile_file

    plan = compile_file(file)
    # by default, the backend of the last build: its images are the ones the film shows
    name_ = run.backend_name(backend or last_backend(default_build_dir(plan)))
    cache = open_cache(plan, run.cache_dir(cache_dir), name_)
    outcome = freeze_asset(plan, name, cache, to, name_)
    term = run.terminal
    if json_out:
        term.json(
            {
                "asset": name,
                "backend": name_,
                "files": [relpath(p) for p in outcome.files],
                "storyboard": relpath(outcome.storyboard),
                "refiled": outcome.refiled,
            }
        )
        return
    for p in outcome.files:
        term.data(relpath(p))
    kept = f"; {len(outcome.refiled)} cached shot(s) kept under their new keys" if outcome.refiled else ""
    term.success(
        f"{name} frozen from the {name_} cache into {len(outcome.files)} file(s); {relpath(file)} rewritten{kept}"
    )
