"""The review commands: ``pick``, ``reroll`` and ``serve``.

Registered on the app by :mod:`storyboard.cli.app`; thin, like the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from storyboard.cli.context import RunContext
from storyboard.cli.options import (
    BackendOpt,
    CacheOpt,
    FileArg,
    MaxCostOpt,
    OutsideOpt,
    PricesOpt,
    QuietOpt,
    handle_errors,
)
from storyboard.errors import UsageError

ShotArg = Annotated[str, typer.Argument(help="The shot's id.", show_default=False)]


def _known_shot(plan: object, shot_id: str) -> None:
    from storyboard.plan import Plan
    from storyboard.util import did_you_mean

    assert isinstance(plan, Plan)
    ids = [s.id for s in plan.shots]
    if shot_id not in ids:
        hint = did_you_mean(shot_id, ids)
        raise UsageError(
            f"unknown shot {shot_id!r} in {plan.source.name}"
            + (f" — {hint}" if hint else f"; its shots: {', '.join(ids)}")
        )


@handle_errors
def pick(
    run: RunContext,
    file: FileArg,
    shot: ShotArg,
    take: Annotated[int, typer.Argument(help="The take to put into the film (1, 2, …).", show_default=False)],
    backend: BackendOpt = None,
    cache_dir: CacheOpt = None,
    allow_outside_assets: OutsideOpt = False,
) -> None:
    """Choose the take of a shot that goes into the film: writes `pick: N` into the storyboard.

    Only that line changes (comments and formatting are kept). The take must exist in the
    backend's cache. Example: [bold]storyboard pick storyboard.yaml orbit 2[/]
    """
    from storyboard.build.picks import file_digest, write_pick
    from storyboard.build.run import open_cache
    from storyboard.build.takes import cached_takes
    from storyboard.compiler.compile import CompileOptions, compile_file

    digest = file_digest(file) if file.is_file() else None
    plan = compile_file(file, CompileOptions(allow_outside_assets=allow_outside_assets))
    _known_shot(plan, shot)
    name = run.backend_name(backend)
    cache = open_cache(plan, run.cache_dir(cache_dir), name)
    have = cached_takes(cache, plan.shot(shot))
    if take not in have:
        built = f"its takes on {name}: {', '.join(map(str, have))}" if have else f"it has no take on {name} yet"
        raise UsageError(
            f"shot {shot!r} has no take {take}; {built} — build it with `storyboard build --select {shot} "
            f"--takes {take}` or add one with `storyboard reroll {file} {shot}`"
        )
    edit = write_pick(file, shot, take, expect_sha256=digest)
    term = run.terminal
    was = f" (was {edit.previous})" if edit.previous is not None else f" (was {plan.shot(shot).take}, the default)"
    term.success(f"{shot}: picked take {take}{was} — {file}:{edit.line}")
    term.info(f"next: storyboard build {file}")


@handle_errors
def reroll(
    run: RunContext,
    file: FileArg,
    shots: Annotated[list[str], typer.Argument(help="The shots to generate once more.", show_default=False)],
    backend: BackendOpt = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, max=64, help="Takes generated at once.")] = None,
    cache_dir: CacheOpt = None,
    max_cost: MaxCostOpt = None,
    prices: PricesOpt = None,
    quiet: QuietOpt = False,
    allow_outside_assets: OutsideOpt = False,
) -> None:
    """Generate one more take of each shot given; every earlier take is kept.

    The film keeps its picked takes until you `storyboard pick` the new one. Like
    `build --select SHOT --force`, but the shots' sounds are kept as they are. Example: [bold]storyboard reroll storyboard.yaml orbit[/]
    """
    from storyboard.cli.commands import build_film
    from storyboard.compiler.compile import CompileOptions, compile_file

    plan = compile_file(file, CompileOptions(allow_outside_assets=allow_outside_assets))
    for shot in shots:
        _known_shot(plan, shot)
    build_film(
        run,
        file,
        backend=backend,
        jobs=jobs,
        select=[f"shot:{s}" for s in shots],
        force=True,
        cache_dir=cache_dir,
        max_cost=max_cost,
        prices=prices,
        allow_outside_assets=allow_outside_assets,
        reroll=True,
    )


@handle_errors
def serve(
    run: RunContext,
    file: FileArg,
    host: Annotated[str, typer.Option("--host", help="The interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535, help="The port (0: any free one).")] = 8400,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Listen on an interface other than loopback (requires a token).")
    ] = False,
    token: Annotated[
        str | None,
        typer.Option(
            "--token", help="The token remote browsers must give (env: STORYBOARD_SERVE_TOKEN; default: made up)."
        ),
    ] = None,
    backend: BackendOpt = None,
    cache_dir: CacheOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Build folder. (default: build/ beside the storyboard)")
    ] = None,
    prices: PricesOpt = None,
    no_previews: Annotated[
        bool, typer.Option("--no-previews", help="Do not render preview animatics in the background.")
    ] = False,
) -> None:
    """Serve the live board: recompiles on save, renders previews, streams builds, picks and approves.

    Example: [bold]storyboard serve storyboard.yaml[/] then open http://127.0.0.1:8400/
    """
    from storyboard.serve.app import ServeOptions, run_server

    run_server(
        ServeOptions(
            file=file,
            host=host,
            port=port,
            allow_remote=allow_remote,
            token=token,
            backend=run.backend_name(backend),
            cache_dir=run.cache_dir(cache_dir),
            build_dir=out,
            prices=prices or run.settings.prices,
            previews=not no_previews,
            token_from_environment=run.settings.serve_token,
            backend_options=run.backend_options,
        ),
        run.terminal,
    )
