"""The ``storyboard`` command line: thin commands over one terminal object.

Exit codes: 0 success, 2 invalid input or usage, 1 anything else (a failed shot, a crash).
User errors print their message without a traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from .errors import InputError, StoryboardError, redact, relpath
from .terminal import Terminal

app = typer.Typer(
    name="storyboard",
    help="Turn a film written as YAML into a finished film.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode="rich",
)

F = TypeVar("F", bound=Callable[..., Any])

FileArg = Annotated[Path, typer.Argument(help="The storyboard YAML file.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
OutsideOpt = Annotated[
    bool,
    typer.Option("--allow-outside-assets", help="Let assets live outside the folder of the file that declares them."),
]


def handle_errors(func: F) -> F:
    """Turn storyboard errors into a message and an exit code; never a traceback for user errors."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        term = Terminal()
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except InputError as exc:
            for problem in exc.problems:
                term.error(problem.format())
            if len(exc.problems) > 1:
                term.info(f"{len(exc.problems)} problems found.")
            raise typer.Exit(exc.exit_code) from None
        except StoryboardError as exc:
            term.error(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            term.warning("interrupted; finished work is kept")
            raise typer.Exit(130) from None
        except Exception as exc:  # a bug: say so, with enough to report it
            import traceback

            term.error(f"internal error: {exc.__class__.__name__}: {redact(str(exc))}")
            if "--verbose" in sys.argv or "-v" in sys.argv:
                term.info(redact(traceback.format_exc()))
            else:
                term.info("run again with --verbose for the traceback, and please report it")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


@app.command()
@handle_errors
def validate(
    file: FileArg,
    json_out: JsonOpt = False,
    allow_outside_assets: OutsideOpt = False,
) -> None:
    """Check a storyboard and every library it imports; report all problems.

    Example: [bold]storyboard validate examples/greenhouse/storyboard.yaml[/]
    """
    from .compile import CompileOptions, compile_with_context

    term = Terminal()
    try:
        plan, ctx = compile_with_context(file, CompileOptions(allow_outside_assets=allow_outside_assets))
    except InputError as exc:
        if json_out:
            term.json({"valid": False, "problems": [_problem_json(p) for p in exc.problems]})
            raise typer.Exit(2) from None
        raise
    if json_out:
        term.json({"valid": True, "problems": [], "shots": len(plan.shots), "files": ctx.resolved.files})
        return
    counts = {k: sum(1 for a in ctx.resolved.scope.assets.values() if a.kind == k) for k in ("character", "object", "style", "image")}
    parts = [_plural(len(plan.shots), "shot")] + [_plural(n, k) for k, n in counts.items()]
    libs = len(ctx.resolved.files) - 1
    if libs:
        parts.append(_plural(libs, "library", "libraries"))
    term.success(f"{ctx.doc.display}: valid — " + ", ".join(parts))


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _problem_json(p: Any) -> dict[str, Any]:
    return {"file": p.file, "line": p.line, "column": p.column, "path": p.path, "message": p.message, "hint": p.hint}


@app.command("compile")
@handle_errors
def compile_cmd(
    file: FileArg,
    json_out: JsonOpt = False,
    allow_outside_assets: OutsideOpt = False,
) -> None:
    """Compile a storyboard into the plan: one Kling O1 request per shot, with cache keys.

    Example: [bold]storyboard compile examples/greenhouse/storyboard.yaml --json[/]
    """
    from .compile import CompileOptions, compile_file

    plan = compile_file(file, CompileOptions(allow_outside_assets=allow_outside_assets))
    term = Terminal()
    if json_out:
        import json

        term.data(json.dumps(plan.to_json(), indent=2, ensure_ascii=False))
        return
    from .report import plan_text

    term.data(plan_text(plan))


BackendOpt = Annotated[
    str | None,
    typer.Option("--backend", "-b", help="preview (offline animatic, the default) or fal, or module:Class. (env: STORYBOARD_BACKEND)",
                 show_default=False),
]
SelectOpt = Annotated[
    list[str] | None,
    typer.Option("--select", "-s", help="Shots to build: `orbit`, `orbit+`, `+orbit`, `character:mira` (repeatable)."),
]
ExcludeOpt = Annotated[list[str] | None, typer.Option("--exclude", help="Shots to leave out, same grammar as --select.")]
CacheOpt = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="Where clips are cached. (env: STORYBOARD_CACHE) (default: .storyboard/cache beside the storyboard)"),
]
PricesOpt = Annotated[
    Path | None,
    typer.Option("--prices", help="YAML/JSON of model → USD per second, overriding built-in prices. (env: STORYBOARD_PRICES)"),
]


@app.command()
@handle_errors
def build(
    file: FileArg,
    backend: BackendOpt = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, max=64, help="Shots generated at once. (default: 2)")] = None,
    select: SelectOpt = None,
    exclude: ExcludeOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Regenerate the selected shots even when cached.")] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Build folder. (default: build/ beside the storyboard)")] = None,
    cache_dir: CacheOpt = None,
    max_cost: Annotated[float | None, typer.Option("--max-cost", help="Refuse to start if the estimate (USD) is higher.")] = None,
    prices: PricesOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Print more detail.")] = False,
    allow_outside_assets: OutsideOpt = False,
) -> None:
    """Build the film: generate every shot (cached ones are reused) and stitch them.

    Example: [bold]storyboard build examples/greenhouse/storyboard.yaml[/]
    """
    from .backends import backend_name
    from .build import BuildOptions, open_cache, run_build
    from .compile import CompileOptions, compile_file
    from .cost import estimate
    from .errors import CostLimitError
    from .execute import shots_to_build
    from .models import load_prices
    from .progress import Display
    from .selectors import select as select_shots

    term = Terminal(quiet=quiet, verbose=verbose)
    name = backend_name(backend)
    plan = compile_file(file, CompileOptions(allow_outside_assets=allow_outside_assets))
    only = None
    if select or exclude:
        only = frozenset(select_shots(plan, select or [], exclude or []))
        if not only:
            term.warning("the selection matches no shot; nothing to build")
            raise typer.Exit(0)
    options = BuildOptions(backend=name, jobs=jobs or 2, force=force, only=only, out_dir=out, cache_dir=cache_dir)
    cache = open_cache(plan, cache_dir, name)
    building = shots_to_build(plan, only, cache)
    if max_cost is not None:
        # with --force nothing counts as already paid
        est = estimate(plan, None if force else cache, load_prices(prices),
                       {s.id for s in building} if only else None)
        if name == "preview":
            term.detail("preview builds cost nothing; --max-cost only guards paid backends")
        elif est.total > max_cost:
            raise CostLimitError(f"the estimate is ${est.total:.2f}, over --max-cost ${max_cost:.2f}; "
                                 "run `storyboard cost` for the breakdown")
    with Display(term, plan, [s.id for s in building]) as display:
        outcome = run_build(plan, options, display)
    for warning in outcome.warnings:
        term.warning(warning)
    failed = [r for r in outcome.results if r.status == "failed"]
    for r in failed:
        term.error(f"shot {r.id!r} failed: {r.error}")
    skipped = [r for r in outcome.results if r.status == "skipped"]
    if skipped:
        term.warning(f"skipped because an earlier shot failed: {', '.join(r.id for r in skipped)}")
    summary = (f"{outcome.count('generated')} generated, {outcome.count('cached')} cached, "
               f"{len(failed)} failed, {len(skipped)} skipped in {outcome.seconds:.1f} s")
    if outcome.film is not None:
        summary += f" — film: {relpath(outcome.film)}"
    elif outcome.film_note:
        summary += f" — {outcome.film_note}"
    if failed or skipped:
        term.error(summary)
        raise typer.Exit(1)
    term.success(summary)


@app.command()
@handle_errors
def cost(
    file: FileArg,
    backend: Annotated[str | None, typer.Option("--backend", "-b", help="Whose cache counts as already paid. (default: fal)")] = None,
    select: SelectOpt = None,
    exclude: ExcludeOpt = None,
    cache_dir: CacheOpt = None,
    prices: PricesOpt = None,
    json_out: JsonOpt = False,
    allow_outside_assets: OutsideOpt = False,
) -> None:
    """Estimate what a build would cost: price × seconds of the shots not already cached.

    Example: [bold]storyboard cost examples/greenhouse/storyboard.yaml[/]
    """
    from .backends import backend_name
    from .build import open_cache
    from .compile import CompileOptions, compile_file
    from .cost import estimate
    from .execute import shots_to_build
    from .models import load_prices
    from .selectors import select as select_shots

    name = backend_name(backend or "fal")
    plan = compile_file(file, CompileOptions(allow_outside_assets=allow_outside_assets))
    cache = open_cache(plan, cache_dir, name)
    only = None
    if select or exclude:
        only = {s.id for s in shots_to_build(plan, set(select_shots(plan, select or [], exclude or [])), cache)}
    est = estimate(plan, cache, load_prices(prices), only)
    term = Terminal()
    if json_out:
        term.json(est.to_json())
        return
    from rich.table import Table

    table = Table(title=f"{plan.title}: cost on {name}", title_justify="left")
    for col in ("shot", "model", "seconds", "$/s", "cached", "USD"):
        table.add_column(col, justify="right" if col in ("seconds", "$/s", "USD") else "left")
    for s in est.shots:
        table.add_row(s.id, s.model.rsplit("/", 2)[-2] + "/" + s.model.rsplit("/", 1)[-1], str(s.seconds),
                      "?" if s.price_per_second is None else f"{s.price_per_second:.3f}",
                      "yes" if s.cached else "", f"{s.usd:.2f}")
    term.print(table)
    term.data(f"total: ${est.total:.2f} for {sum(s.seconds for s in est.shots if not s.cached)} s not yet generated")
    if est.unpriced:
        term.warning(f"no price known for: {', '.join(est.unpriced)}; add one with --prices")


def main() -> None:
    """Entry point of the ``storyboard`` console script."""
    app()


from . import cli_project  # noqa: E402,F401  (registers ls, status, graph, board, init, fakefal)


if __name__ == "__main__":  # pragma: no cover
    main()
