"""What every command shares: the Typer argument and option types, and the error handler.

User errors print their message without a traceback; exit codes: 0 success, 2 invalid input or
usage, 1 anything else (a failed shot, a crash).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from storyboard.cli.context import RunContext
from storyboard.errors import SETUP_ERRNOS, InputError, StoryboardError, describe_os_error, redact

if TYPE_CHECKING:
    from storyboard.cli.terminal import Terminal

FileArg = Annotated[Path, typer.Argument(help="The storyboard YAML file.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
OutsideOpt = Annotated[
    bool,
    typer.Option("--allow-outside-assets", help="Let assets live outside the folder of the file that declares them."),
]


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """A command that receives the run's :class:`RunContext` first, as Typer sees it (without that
    parameter), turning storyboard errors into a message and an exit code: never a traceback for
    user errors. The context takes ``--quiet``/``--verbose`` from the command's own options."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        run = RunContext.create(quiet=bool(kwargs.get("quiet")), verbose=bool(kwargs.get("verbose")))
        term = run.terminal
        try:
            return func(run, *args, **kwargs)
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
        except OSError as exc:
            if exc.errno not in SETUP_ERRNOS:
                _internal_error(term, exc, run.verbose)
            term.error(describe_os_error(exc))  # a full disk, a read-only folder: a sentence, not a crash
            raise typer.Exit(2) from None
        except Exception as exc:  # a bug: say so, with enough to report it
            _internal_error(term, exc, run.verbose)

    signature = inspect.signature(func, eval_str=True)  # Typer reads the Annotated options from it
    wrapper.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])  # type: ignore[attr-defined]
    return wrapper


def _internal_error(term: Terminal, exc: BaseException, verbose: bool) -> NoReturn:
    """Report a bug with enough to report it (the traceback with --verbose); exit 1."""
    import traceback

    term.error(f"internal error: {exc.__class__.__name__}: {redact(str(exc))}")
    if verbose:
        term.info(redact(traceback.format_exc()))
    else:
        term.info("run again with --verbose for the traceback, and please report it")
    raise typer.Exit(1) from None


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
MaxCostOpt = Annotated[
    float | None, typer.Option("--max-cost", help="Refuse to start if the estimate (USD) is higher.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")]
TakesOpt = Annotated[
    int | None,
    typer.Option(
        "--takes", min=1, max=10, help="At least this many takes of each selected shot (each take is paid for)."
    ),
]
