"""The command line: the app, the terminal, progress and the command modules (see ``app``)."""

from storyboard.cli.app import app, main

__all__ = ["app", "main"]
