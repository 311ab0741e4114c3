"""Commands around the build: ``ls``, ``status``, ``graph``, ``board``, ``init``, ``fakefal``.

Registered on the app by :mod:`storyboard.cli.app`; thin, like the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from storyboard.cli.context import RunContext
from storyboard.cli.options import (
    BackendOpt,
    CacheOpt,
    ExcludeOpt,
    FileArg,
    JsonOpt,
    OutsideOpt,
    SelectOpt,
    TakesOpt,
    handle_errors,
)
from storyboard.errors import relpath

OutDirOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="Build folder. (default: build/ beside the storyboard)")
]


@handle_errors
def ls_cmd(
    run: RunContext,
    file: FileArg,
    select: SelectOpt = None,
    exclude: ExcludeOpt = None,
    backend: BackendOpt = None,
    cache_dir: CacheOpt = None,
    takes: TakesOpt = None,
    json_out: JsonOpt = False,
    allow_outside_assets: OutsideOpt = False,
) -> None:
    """List the shots a build with the same selection would build (with the uncached shots whose
    last frames they need), without building.

    Example: [bold]storyboard ls examples/greenhouse/storyboard.yaml --select orbit+[/]
    """
    from storyboard.build.run import open_cache
    from storyboard.build.selection import selection, shots_to_build
    from storyboard.build.takes import cached_takes, plan_takes, split_unit
    from storyboard.compiler.compile import CompileOptions, compile_file

    plan = compile_file(file, CompileOptions(allow_outside_assets=allow_outside_assets))
    cache = open_cache(plan, run.cache_dir(cache_dir), run.backend_name(backend))
    chosen = selection(plan, select, exclude, cache)
    units = plan_takes(plan, cache, only=chosen.only, takes=takes)
    rows: list[dict[str, Any]] = []
    for s in shots_to_build(units.plan, units.only, cache):
        shot_id, _ = split_unit(s.id)
        rows.append(
            {
                "id": s.id,
                "shot": shot_id,
                "take": s.take,
                "in_film": shot_id == s.id,
                "duration": s.duration,
                "depends_on": list(s.depends_on),
                "key": s.key,
                "cached": cache.lookup(s.key, drop=False) is not None,
                "cached_takes": cached_takes(cache, s) if shot_id == s.id else [],
                "selected": not chosen.needed_only(shot_id),
            }
        )
    from storyboard.build.audio import SoundStore, sounds_to_build

    store = SoundStore(cache)
    sound_rows = [
        {
            "id": a.id,
            "kind": a.kind,
            "shot": a.shot,
            "key": a.key,
            "cached": store.lookup(a.key, verify=False) is not None,
        }
        for a in sounds_to_build(plan, chosen.only)
    ]
    from storyboard.build.images import ImageStore, images_to_build

    image_store = ImageStore(cache)
    image_rows: list[dict[str, Any]] = [
        {
            "id": i.id,
            "asset": i.asset,
            "endpoint": i.endpoint,
            "key": i.key,
            "depends_on": [i.source] if i.source else [],
            "cached": image_store.lookup(i.key, verify=False) is not None,
        }  # fmt: skip
        for i in images_to_build(plan, chosen.only, cache)
    ]
    term = run.terminal
    if json_out:
        term.json(
            {
                "shots": rows,
                **({"sounds": sound_rows} if sound_rows else {}),
                **({"images": image_rows} if image_rows else {}),
            }  # fmt: skip
        )
        return
    for ir in image_rows:
        after = f"  after {ir['depends_on'][0]}" if ir["depends_on"] else ""
        term.data(f"{ir['id']:<20} image  {'cached' if ir['cached'] else 'to build':<8}{after}")
    for r in rows:
        after = f"  after {', '.join(r['depends_on'])}" if r["depends_on"] else ""
        needed = "" if r["selected"] else "  (needed for its last frame)"
        take = f"take {r['take']}" + (" in the film" if r["in_film"] else "")
        if r["cached_takes"] not in ([], [1]):
            take += f" (cached: {', '.join(map(str, r['cached_takes']))})"
        line = f"{r['id']:<20} {r['duration']:>3} s  {'cached' if r['cached'] else 'to build':<8}  {take:<24}{after}{needed}"
        term.data(line.rstrip())
    for r in sound_rows:
        term.data(f"{r['id']:<20} {r['kind']:>5}  {'cached' if r['cached'] else 'to build'}")


@handle_errors
def status(
    run: RunContext,
    file: FileArg,
    backend: BackendOpt = None,
    out: OutDirOpt = None,
    cache_dir: CacheOpt = None,
    select: SelectOpt = None,
    exclude: ExcludeOpt = None,
    json_out: JsonOpt = False,
    allow_outside_assets: OutsideOpt = False,
) -> None:
    """Say which shots are up to date and why the others are stale (the selected ones, with --select).

    Example: [bold]storyboard status examples/greenhouse/storyboard.yaml[/]
    """
    from storyboard.build.run import default_build_dir, last_backend, open_cache
    from storyboard.build.selection import selection
    from storyboard.compiler.compile import CompileOptions, compile_file
    from storyboard.views.status import image_statuses, shot_statuses, sound_statuses

    plan = compile_file(file, CompileOptions(allow_outside_assets=allow_outside_assets))
    build_dir = (out or default_build_dir(plan)).absolute()
    # by default, the backend of the build folder's last build: its clips are the ones there
    name = run.backend_name(backend or last_backend(build_dir))
    cache = open_cache(plan, run.cache_dir(cache_dir), name)
    chosen = set(selection(plan, select, exclude, cache).chosen)
    statuses = [s for s in shot_statuses(plan, cache, build_dir) if s.id in chosen]
    sound = [s for s in sound_statuses(plan, cache, build_dir) if s.id.split(".")[0] in chosen or "." not in s.id]
    from storyboard.build.images import images_needed

    used = {i.id for i in images_needed(plan, [s for s in plan.shots if s.id in chosen])}
    pictures = [s for s in image_statuses(plan, cache, build_dir) if s.id in used or len(chosen) == len(plan.shots)]
    film = build_dir / plan.film.output
    built_by = last_backend(build_dir)
    term = run.terminal
    if json_out:
        term.json(
            {
                "backend": name,
                "film": {"path": relpath(film), "backend": built_by} if film.is_file() else None,
                "shots": [s.to_json() for s in statuses],
                **({"sounds": [s.to_json() for s in sound]} if sound else {}),
                **({"images": [s.to_json() for s in pictures]} if pictures else {}),
            }
        )
        return
    if film.is_file():
        term.info(f"film: {relpath(film)}, from the last build with --backend {built_by or '?'}")
    term.info(f"shots as the {name} backend's cache holds them:")
    statuses = pictures + statuses + sound
    for s in statuses:
        extra = "".join(f" · {t}" for t in (s.takes_text(), s.pick_change if s.up_to_date else None) if t)
        if s.up_to_date:
            term.data(f"{s.id:<20} up to date{extra}")
        else:
            term.data(f"{s.id:<20} stale: {'; '.join(s.reasons)}{extra}")
    stale = sum(1 for s in statuses if not s.up_to_date)
    term.info(f"{len(statuses) - stale} up to date, {stale} stale")


@handle_errors
def graph(
    run: RunContext,
    file: FileArg,
    fmt: Annotated[str, typer.Option("--format", "-f", help="mermaid, dot or text.")] = "text",
    allow_outside_assets: OutsideOpt = False,
) -> None:
    """Show the build graph: uploads, shots, last-frame edges and the film.

    Example: [bold]storyboard graph examples/greenhouse/storyboard.yaml --format mermaid[/]
    """
    from storyboard.compiler.compile import CompileOptions, compile_file
    from storyboard.errors import UsageError
    from storyboard.graph import render_graph

    if fmt not in ("mermaid", "dot", "text"):
        raise UsageError(f"unknown --format {fmt!r}; choose mermaid, dot or text")
    run.terminal.data(render_graph(compile_file(file, CompileOptions(allow_outside_assets=allow_outside_assets)), fmt))


@handle_errors
def board(
    run: RunContext,
    file: FileArg,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="The HTML file or folder. (default: build/board/index.html)")
    ] = None,
) -> None:
    """Write the storyboard as a static HTML page: one card per shot, with thumbnails, tags and clips.

    Example: [bold]storyboard board examples/greenhouse/storyboard.yaml[/]
    """
    from storyboard.views.board import board_command

    path = board_command(
        file,
        out,
        cache_dir=run.cache_dir(None),
        prices_file=run.settings.prices,
        default_backend=run.settings.backend,
    )
    run.terminal.success(f"board written to {path}")


@handle_errors
def init(
    run: RunContext,
    directory: Annotated[Path, typer.Argument(help="A new or empty folder.")],
    title: Annotated[str | None, typer.Option("--title", help="The film's title.")] = None,
) -> None:
    """Create a storyboard project (storyboard, library, placeholder images) that builds offline at once.

    Example: [bold]storyboard init my-film && storyboard build my-film/storyboard.yaml[/]
    """
    from storyboard.cli.scaffold import init_project

    files = init_project(directory, title)
    term = run.terminal
    term.success(f"created {len(files)} files in {directory}")
    term.info(f"next: storyboard build {directory / 'storyboard.yaml'}")


def fakefal(ctx: typer.Context) -> None:
    """Run the fake fal server on 127.0.0.1 for offline tests of your own pipeline (see docs/backends.md).

    Example: [bold]storyboard fakefal --port 8765 --processing-seconds 2[/]
    """
    from storyboard.backends.fakefal.__main__ import main as fake_main

    raise typer.Exit(fake_main(list(ctx.args)) or 0)
