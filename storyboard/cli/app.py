"""The ``storyboard`` command line: one Typer app, with the commands of each group registered on it.

The command modules define plain functions and never import this one, so there is no import
cycle; each command imports the layer it needs inside its body, so ``storyboard validate``
loads the compiler and not the build.
"""

from __future__ import annotations

from typing import Annotated

import typer

from storyboard.cli import commands, export, freeze, project, review

app = typer.Typer(
    name="storyboard",
    help="Turn a film written as YAML into a finished film.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        from storyboard import __version__

        typer.echo(f"storyboard {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Turn a film written as YAML into a finished film."""


app.command("validate")(commands.validate)
app.command("compile")(commands.compile_cmd)
app.command("build")(commands.build)
app.command("cost")(commands.cost)
app.command("models")(commands.models)
app.command("ls")(project.ls_cmd)
app.command("status")(project.status)
app.command("graph")(project.graph)
app.command("board")(project.board)
app.command("pick")(review.pick)
app.command("reroll")(review.reroll)
app.command("serve")(review.serve)
app.command("init")(project.init)
app.command("export")(export.export)
app.command("freeze")(freeze.freeze)
app.command(
    "fakefal", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False
)(project.fakefal)


def main() -> None:
    """Entry point of the ``storyboard`` console script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
