"""The one terminal object: messages at levels on stderr, data on stdout.

Colour follows rich's rules (a pipe gets none); ``NO_COLOR``, read once by the run's context, turns it off. Every message is
passed through :func:`~storyboard.errors.redact` so a key can never reach the screen.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

from storyboard.errors import redact


class Terminal:
    """Prints at levels (info, success, warning, error, waiting) and writes data to stdout."""

    def __init__(self, *, quiet: bool = False, verbose: bool = False, no_color: bool = False):
        self.quiet = quiet
        self.verbose = verbose
        self.err = Console(stderr=True, highlight=False, soft_wrap=True, no_color=no_color)
        self.out = Console(highlight=False, soft_wrap=True, no_color=no_color)

    @property
    def interactive(self) -> bool:
        """True when stderr is a terminal that can show a live display."""
        return self.err.is_terminal and not self.quiet

    def _say(self, style: str, prefix: str, text: str, *, force: bool = False) -> None:
        if self.quiet and not force:
            return
        self.err.print(f"[{style}]{prefix}[/]{escape(redact(text))}" if style else escape(redact(text)))

    def info(self, text: str) -> None:
        """A plain line."""
        self._say("", "", text)

    def detail(self, text: str) -> None:
        """A line shown only with --verbose."""
        if self.verbose:
            self._say("dim", "", text)

    def success(self, text: str) -> None:
        """A line saying something finished well."""
        self._say("green", "✓ ", text)

    def waiting(self, text: str) -> None:
        """A line saying something is under way."""
        self._say("cyan", "… ", text)

    def warning(self, text: str) -> None:
        """A warning, shown even when quiet."""
        self._say("yellow", "warning: ", text, force=True)

    def error(self, text: str) -> None:
        """An error, shown even when quiet."""
        self._say("bold red", "error: ", text, force=True)

    def data(self, text: str) -> None:
        """Machine-readable or primary output on stdout."""
        sys.stdout.write(redact(text))
        if not text.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()

    def json(self, obj: Any) -> None:
        """One JSON document on stdout."""
        self.data(json.dumps(obj, indent=2, ensure_ascii=False))

    def print(self, renderable: Any) -> None:
        """A rich renderable (table, panel) on stdout."""
        self.out.print(renderable)
