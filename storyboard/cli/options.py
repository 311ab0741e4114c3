"""What every command shares: the Typer argument and option types, and the error handler.

User errors print their message without a traceback; exit codes: 0 success, 2 invalid input or
usage, 1 anything else (a failed shot, a crash).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from storyboard.cli.terminal import Terminal
from storyboard.errors import InputError, StoryboardError, redact

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


BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        "-b",
        help="preview (offline animatic, the default) or fal, or module:Class. (env: STORYBOARD_BACKEND)",
        show_default=False,
    ),
]

ExcludeOpt = Annotated[
    list[str] | None, typer.Option("--exclude", help="Shots to leave out, same grammar as --select.")
]
CacheOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        help="Where clips are cached. (env: STORYBOARD_CACHE) (default: .storyboard/cache beside the storyboard)",
    ),
]
SelectOpt = Annotated[
    list[str] | None,
    typer.Option("--select", "-s", help="Shots to build: `orbit`, `orbit+`, `+orbit`, `character:mira` (repeatable)."),
]
PricesOpt = Annotated[
    Path | None,
    typer.Option(
        "--prices", help="YAML/JSON of model → USD per second, overriding built-in prices. (env: STORYBOARD_PRICES)"
    ),
]
