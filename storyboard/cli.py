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

from .errors import InputError, StoryboardError, redact
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
    libs = len(ctx.resolved.files) - 1
    term.success(
        f"{ctx.doc.display}: valid — {len(plan.shots)} shots, {counts['character']} characters, "
        f"{counts['object']} objects, {counts['style']} styles, {counts['image']} images"
        + (f", {libs} {'library' if libs == 1 else 'libraries'}" if libs else "")
    )


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


def main() -> None:
    """Entry point of the ``storyboard`` console script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
