"""The compiler and build commands: ``validate``, ``compile``, ``build``, ``cost``.

Thin: each parses its options, calls one function of the layer below and prints the result.
Registered on the app by :mod:`storyboard.cli.app`.
"""

from __future__ import annotations

import math
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
    MaxCostOpt,
    OutsideOpt,
    PricesOpt,
    QuietOpt,
    SelectOpt,
    TakesOpt,
    handle_errors,
)
from storyboard.errors import InputError, UsageError, relpath


@handle_errors
def validate(
    run: RunContext,
    file: FileArg,
    json_out: JsonOpt = False,
    allow_outside_assets: OutsideOpt = False,
) -> None:
    """Check a storyboard and every library it imports; report all problems.

    Example: [bold]storyboard validate examples/greenhouse/storyboard.yaml[/]
    """
    from storyboard.compiler.compile import CompileOptions, compile_with_context

    term = run.terminal
    try:
        plan, ctx = compile_with_context(file, CompileOptions(allow_outside_assets=allow_outside_assets))
    except InputError as exc:
        if json_out:
            term.json({"valid": False, "problems": [_problem_json(p) for p in exc.problems]})
            raise typer.Exit(2) from None
        raise
    if json_out:
        term.json(
            {
                "valid": True,
                "problems": [],
                "warnings": [_problem_json(w) for w in ctx.warnings],
                "shots": len(plan.shots),
                "files": ctx.resolved.files,
            }
        )
        return
    for warning in ctx.warnings:
        term.warning(warning.format())
    counts = {
        k: sum(1 for a in ctx.resolved.scope.assets.values() if a.kind == k)
        for k in ("character", "object", "style", "image")
    }
    parts = [_plural(len(plan.shots), "shot")] + [_plural(n, k) for k, n in counts.items()]
    libs = len(ctx.resolved.files) - 1
    if libs:
        parts.append(_plural(libs, "library", "libraries"))
    if ctx.warnings:
        parts.append(_plural(len(ctx.warnings), "warning"))
    term.success(f"{ctx.doc.display}: valid — " + ", ".join(parts))


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _problem_json(p: Any) -> dict[str, Any]:
    return {"file": p.file, "line": p.line, "column": p.column, "path": p.path, "message": p.message, "hint": p.hint}


@handle_errors
def compile_cmd(
    run: RunContext,
    file: FileArg,
    json_out: JsonOpt = False,
    allow_outside_assets: OutsideOpt = False,
) -> None:
    """Compile a storyboard into the plan: one Kling O1 request per shot, with cache keys.

    Example: [bold]storyboard compile examples/greenhouse/storyboard.yaml --json[/]
    """
    from storyboard.compiler.compile import CompileOptions, compile_with_context

    plan, ctx = compile_with_context(file, CompileOptions(allow_outside_assets=allow_outside_assets))
    term = run.terminal
    for w in ctx.warnings:  # on stderr: stdout keeps only the plan
        term.warning(w.format())
    if json_out:
        import json

        term.data(json.dumps(plan.to_json(), indent=2, ensure_ascii=False))
        return
    from storyboard.views.report import plan_text

    term.data(plan_text(plan))


@handle_errors
def build(
    run: RunContext,
    file: FileArg,
    backend: BackendOpt = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, max=64, help="Shots generated at once. (default: 2)")
    ] = None,
    select: SelectOpt = None,
    exclude: ExcludeOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Add a new take of each selected shot (earlier takes are kept).")
    ] = False,
    takes: TakesOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Build folder. (default: build/ beside the storyboard)")
    ] = None,
    cache_dir: CacheOpt = None,
    max_cost: MaxCostOpt = None,
    prices: PricesOpt = None,
    quiet: QuietOpt = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Print more detail.")] = False,
    allow_outside_assets: OutsideOpt = False,
) -> None:
    """Build the film: generate every shot (cached ones are reused) and stitch them.

    Example: [bold]storyboard build examples/greenhouse/storyboard.yaml[/]
    """
    build_film(
        run,
        file,
        backend=backend,
        jobs=jobs,
        select=select,
        exclude=exclude,
        force=force,
        takes=takes,
        out=out,
        cache_dir=cache_dir,
        max_cost=max_cost,
        prices=prices,
        allow_outside_assets=allow_outside_assets,
    )


def build_film(
    run: RunContext,
    file: Path,
    *,
    backend: str | None = None,
    jobs: int | None = None,
    select: list[str] | None = None,
    exclude: list[str] | None = None,
    force: bool = False,
    takes: int | None = None,
    out: Path | None = None,
    cache_dir: Path | None = None,
    max_cost: float | None = None,
    prices: Path | None = None,
    allow_outside_assets: bool = False,
    reroll: bool = False,
) -> None:
    """``storyboard build`` (and, with ``reroll``, ``storyboard reroll``: new takes of the pictures only,
    the shots' sounds kept as they are)."""
    from storyboard.backends import backend_is_paid
    from storyboard.build.outputs import ShotStatus
    from storyboard.build.run import BuildOptions, open_cache, run_build
    from storyboard.build.selection import selection, shots_to_build
    from storyboard.build.takes import plan_takes
    from storyboard.cli.progress import Display
    from storyboard.compiler.compile import CompileOptions, compile_with_context
    from storyboard.errors import CostLimitError
    from storyboard.views.cost import estimate_build

    term = run.terminal  # --quiet and --verbose are the run's
    name = run.backend_name(backend)
    cache_dir = run.cache_dir(cache_dir)
    if max_cost is not None and not (math.isfinite(max_cost) and max_cost >= 0):
        raise UsageError(f"--max-cost {max_cost} is not a limit: give a number of US dollars ≥ 0, e.g. --max-cost 5")
    plan, ctx = compile_with_context(file, CompileOptions(allow_outside_assets=allow_outside_assets))
    for w in ctx.warnings:  # before anything is spent
        term.warning(w.format())
    cache = open_cache(plan, cache_dir, name)
    chosen = selection(plan, select, exclude, cache)
    if chosen.explicit and chosen.empty:
        term.warning("the selection matches no shot; nothing to build")
        raise typer.Exit(0)
    options = BuildOptions(
        backend=name,
        jobs=jobs or 2,
        force=force,
        force_sounds=force and not reroll,
        only=chosen.only,
        out_dir=out,
        cache_dir=cache_dir,
        backend_options=run.backend_options(name),
        takes=takes,
    )
    units = plan_takes(plan, cache, only=chosen.only, force=force, takes=takes)
    building = shots_to_build(units.plan, units.only, cache)
    # every take this build makes counts (and on a paid backend the display shows it being spent)
    est = None
    if backend_is_paid(name):
        est = estimate_build(units, cache, run.prices(prices), name, building, fresh_sounds=options.force_sounds)
    if max_cost is not None:
        if est is None:
            term.detail(f"{name} builds cost nothing; --max-cost only guards paid backends")
        elif est.unpriced:
            raise CostLimitError(
                f"no price is known for {', '.join(est.unpriced[:5])}, so --max-cost ${max_cost:.2f} cannot be "
                "checked; give the model's price with --prices"
            )
        elif est.total > max_cost:
            raise CostLimitError(
                f"the estimate is ${est.total:.2f}, over --max-cost ${max_cost:.2f}; "
                "run `storyboard cost` for the breakdown"
            )
    from storyboard.build.audio import sounds_to_build
    from storyboard.build.images import images_to_build

    unit_usd: dict[str, float] = {}
    if est is not None:
        unit_usd = (
            {s.id: s.usd for s in est.shots} | {a.id: a.usd for a in est.audio} | {i.id: i.usd for i in est.images}
        )
    sounds = [a.id for a in sounds_to_build(plan, chosen.only)]
    pictures = [i.id for i in images_to_build(plan, chosen.only, cache)]
    with Display(term, units.plan, pictures + [s.id for s in building] + sounds, unit_usd, jobs or 2) as display:
        outcome = run_build(plan, options, display)
    for warning in outcome.warnings:
        term.warning(warning)
    failed = [r for r in outcome.results if r.status == ShotStatus.FAILED]
    for r in failed:
        term.error(f"shot {r.id!r} failed: {r.error}")
    failed_sounds = [r for r in outcome.sounds if r.status == ShotStatus.FAILED]
    for r in failed_sounds:
        term.error(f"sound {r.id!r} failed: {r.error}")
    failed_images = [r for r in outcome.images if not r.status.built]
    for r in failed_images:
        term.error(f"generated image {r.id!r} {'failed' if r.status == ShotStatus.FAILED else 'skipped'}: {r.error}")
    skipped = [r for r in outcome.results if r.status == ShotStatus.SKIPPED]
    if skipped:
        term.warning(f"skipped because an earlier shot failed: {', '.join(r.id for r in skipped)}")
    summary = (
        f"{outcome.count(ShotStatus.GENERATED)} generated, {outcome.count(ShotStatus.CACHED)} cached, "
        f"{len(failed)} failed, {len(skipped)} skipped in {outcome.seconds:.1f} s"
    )
    if outcome.images:
        made_images = {st: sum(1 for r in outcome.images if r.status == st) for st in ShotStatus}
        summary += (
            f"; images: {made_images[ShotStatus.GENERATED]} generated, {made_images[ShotStatus.CACHED]} cached, "
            f"{len(failed_images)} failed"
        )
    if outcome.sounds:
        made = {st: sum(1 for r in outcome.sounds if r.status == st) for st in ("generated", "cached")}
        summary += f"; sound: {made['generated']} generated, {made['cached']} cached, {len(failed_sounds)} failed"
    if outcome.film is not None:
        summary += f" — {name} film: {relpath(outcome.film)}"
        if plan.audio and "; " in outcome.film_note:
            summary += f" ({outcome.film_note.split('; ', 1)[1]})"
    elif outcome.film_note:
        summary += f" — {outcome.film_note}"
    if failed or skipped or failed_sounds or failed_images or outcome.film_refused:
        term.error(summary)
        raise typer.Exit(1)
    term.success(summary)


@handle_errors
def cost(
    run: RunContext,
    file: FileArg,
    backend: Annotated[
        str | None, typer.Option("--backend", "-b", help="Whose cache counts as already paid. (default: fal)")
    ] = None,
    select: SelectOpt = None,
    exclude: ExcludeOpt = None,
    cache_dir: CacheOpt = None,
    prices: PricesOpt = None,
    takes: TakesOpt = None,
    json_out: JsonOpt = False,
    allow_outside_assets: OutsideOpt = False,
) -> None:
    """Estimate what a build would cost: price × seconds of the shots not already cached.

    Example: [bold]storyboard cost examples/greenhouse/storyboard.yaml[/]
    """
    from storyboard.build.run import open_cache
    from storyboard.build.selection import selection, shots_to_build
    from storyboard.build.takes import plan_takes
    from storyboard.compiler.compile import CompileOptions, compile_file
    from storyboard.views.cost import estimate_build

    name = run.backend_name(backend or "fal")
    plan = compile_file(file, CompileOptions(allow_outside_assets=allow_outside_assets))
    cache = open_cache(plan, run.cache_dir(cache_dir), name)
    chosen = selection(plan, select, exclude, cache)
    units = plan_takes(plan, cache, only=chosen.only, takes=takes)
    est = estimate_build(units, cache, run.prices(prices), name, shots_to_build(units.plan, units.only, cache))
    term = run.terminal
    for warning in cache.warnings:  # a damaged clip is counted as to be paid again: say why
        term.warning(warning)
    if json_out:
        term.json(est.to_json())
        return
    from rich.table import Table

    table = Table(title=f"{plan.title}: cost on {name}", title_justify="left")
    for col in ("shot", "model", "seconds", "$/s", "cached", "USD"):
        table.add_column(col, justify="right" if col in ("seconds", "$/s", "USD") else "left")
    for s in est.shots:
        table.add_row(
            s.id,
            s.model.rsplit("/", 2)[-2] + "/" + s.model.rsplit("/", 1)[-1],
            str(s.seconds),
            "?" if s.price_per_second is None else f"{s.price_per_second:.3f}",
            "yes" if s.cached else "fetch again" if s.refetch else "",
            f"{s.usd:.2f}",
        )
    term.print(table)
    if est.audio:
        sound_table = Table(title="sound", title_justify="left")
        for col in ("sound", "kind", "amount", "cached", "USD"):
            sound_table.add_column(col, justify="right" if col in ("amount", "USD") else "left")
        for a in est.audio:
            amount = f"{a.amount:g} {'chars' if a.unit == 'characters' else 's'}"
            sound_table.add_row(a.id, a.kind, amount, "yes" if a.cached else "", f"{a.usd:.2f}")
        term.print(sound_table)
    if est.images:
        image_table = Table(title="generated images", title_justify="left")
        for col in ("image", "model", "size", "cached", "USD"):
            image_table.add_column(col, justify="right" if col == "USD" else "left")
        for i in est.images:
            image_table.add_row(i.id, i.model, f"{i.width}×{i.height}", "yes" if i.cached else "", f"{i.usd:.2f}")
        term.print(image_table)
    from storyboard.plan import CARD_ENDPOINT

    pending = [s for s in est.shots if not (s.cached or s.refetch)]
    video = sum(s.seconds for s in pending if s.model != CARD_ENDPOINT)
    cards = sum(s.seconds for s in pending if s.model == CARD_ENDPOINT)
    drawn = f" (and {cards} s of title cards, drawn here for free)" if cards else ""
    term.data(f"total: ${est.total:.2f} for {video} s of video not yet generated{drawn}")
    if est.unpriced:
        term.warning(f"no price known for: {', '.join(est.unpriced)}; add one with --prices")


@handle_errors
def models(
    run: RunContext,
    file: Annotated[
        Path | None,
        typer.Argument(help="A storyboard: list its models (with its `models:` file applied).", show_default=False),
    ] = None,
    models_file: Annotated[
        Path | None, typer.Option("--models", help="A models file to apply to the built-in registry.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """List the models shots can use: endpoints, aliases, the fields each takes, limits and prices.

    Example: [bold]storyboard models[/] or [bold]storyboard models examples/greenhouse/storyboard.yaml --json[/]
    """
    from storyboard.compiler.models import packaged_registry, registry_for
    from storyboard.views.models import models_json, models_table

    registry = packaged_registry()
    if file is not None:
        from storyboard.compiler.compile import compile_with_context

        registry = compile_with_context(file)[1].registry
    if models_file is not None:
        registry = registry.with_file(models_file, relpath(models_file)) if file else registry_for(models_file)
    term = run.terminal
    if json_out:
        term.json(models_json(registry))
        return
    term.print(models_table(registry))
