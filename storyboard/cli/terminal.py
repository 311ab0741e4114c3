"""The one terminal object: messages at levels on stderr, data on stdout.

On a terminal, messages are drawn by rich, in colour (``NO_COLOR``, read once by the run's
context, turns colour off). Anywhere else (a pipe, a file, CI) they are plain lines and rich is
not even imported, so a command that prints a line or two starts quickly; control characters
are dropped either way, as rich drops them. Every message is passed through
:func:`~storyboard.errors.redact` so a key can never reach the screen.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from storyboard.errors import redact

if TYPE_CHECKING:
    from rich.console import Console

# what rich strips from text (bell, backspace, vertical tab, form feed, carriage return)
_CONTROL = dict.fromkeys((7, 8, 11, 12, 13))


class Terminal:
    """Prints at levels (info, success, warning, error, waiting) and writes data to stdout."""

    def __init__(
        self, *, quiet: bool = False, verbose: bool = False, no_color: bool = False, force_color: bool = False
    ):
        self.quiet = quiet
        self.verbose = verbose
        self.no_color = no_color
        self.force_color = force_color  # FORCE_COLOR: rich's colours even when not a terminal
        self._err: Console | None = None
        self._out: Console | None = None

    def _console(self, stderr: bool) -> Console:
        from rich.console import Console

        return Console(stderr=stderr, highlight=False, soft_wrap=True, no_color=self.no_color)

    @property
    def err(self) -> Console:
        """rich's console on stderr (made on first use)."""
        if self._err is None:
            self._err = self._console(True)
        return self._err

    @property
    def out(self) -> Console:
        """rich's console on stdout (made on first use)."""
        if self._out is None:
            self._out = self._console(False)
        return self._out

    def _rich(self, stream: TextIO) -> bool:
        """Whether messages on ``stream`` are drawn by rich (a terminal, or FORCE_COLOR)."""
        if self.force_color:
            return True
        try:
            return stream.isatty()
        except (AttributeError, ValueError):
            return False

    @property
    def interactive(self) -> bool:
        """True when stderr is a terminal that can show a live display."""
        return not self.quiet and self._rich(sys.stderr) and self.err.is_terminal

    def _say(self, style: str, prefix: str, text: str, *, force: bool = False) -> None:
        if self.quiet and not force:
            return
        clean = redact(text)
        if not self._rich(sys.stderr):
            sys.stderr.write(f"{prefix}{clean}".translate(_CONTROL) + "\n")
            sys.stderr.flush()
            return
        from rich.markup import escape

        self.err.print(f"[{style}]{prefix}[/]{escape(clean)}" if style else escape(clean))

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
