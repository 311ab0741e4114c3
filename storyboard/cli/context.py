"""One context per CLI run: the terminal, the verbosity, and the settings read from the environment once.

Every environment variable storyboard itself reads is read here, when the command starts, and
passed down as plain values; no layer below the CLI reads ``os.environ`` (two exceptions,
on purpose: fal-client reads ``FAL_KEY`` when it makes its client, and
:func:`storyboard.errors.redact` reads the key's value at the moment it scrubs a message, so the
secret is never held in this object, a log or a manifest).

==========================  ====================================================
``STORYBOARD_BACKEND``      the backend when ``--backend`` is not given
``STORYBOARD_CACHE``        the cache folder when ``--cache-dir`` is not given
``STORYBOARD_PRICES``       the price overrides when ``--prices`` is not given
``STORYBOARD_FAL_POLL``     seconds between status polls (fal, default 1)
``STORYBOARD_FAL_TIMEOUT``  seconds to wait for one generation (fal, default 1800)
``STORYBOARD_FAL_RETRIES``  retries of a transient failure (fal, default 5)
``STORYBOARD_FAL_BACKOFF``  first retry delay in seconds, doubled each time (fal, default 0.5)
``FAL_KEY`` (presence)      whether fal credentials are set (or ``FAL_KEY_ID`` + ``FAL_KEY_SECRET``)
``NO_COLOR``                no colour in messages
``FORCE_COLOR``             rich's colours even when stderr is not a terminal
==========================  ====================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from storyboard.errors import UsageError

if TYPE_CHECKING:  # the terminal imports rich: made on first use, so `validate` stays light
    from storyboard.cli.terminal import Terminal

# (variable, BackendOptions field, default, integer?) — the fal backend's tunables
FAL_SETTINGS: tuple[tuple[str, str, float, bool], ...] = (
    ("STORYBOARD_FAL_POLL", "poll_seconds", 1.0, False),
    ("STORYBOARD_FAL_TIMEOUT", "wait_seconds", 1800.0, False),
    ("STORYBOARD_FAL_RETRIES", "retries", 5.0, True),
    ("STORYBOARD_FAL_BACKOFF", "backoff", 0.5, False),
)


@dataclass(frozen=True, slots=True)
class Settings:
    """What the environment says, read once per run (values, never a secret)."""

    backend: str | None = None
    cache_dir: Path | None = None
    prices: Path | None = None
    fal: Mapping[str, str] = field(default_factory=dict)  # the STORYBOARD_FAL_* variables that are set
    fal_credentials: bool = False
    no_color: bool = False
    force_color: bool = False
    serve_token: str | None = None  # STORYBOARD_SERVE_TOKEN: the token of `storyboard serve --allow-remote`

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings in ``environ`` (default: this process's environment)."""
        env = os.environ if environ is None else environ

        def path(var: str) -> Path | None:
            return Path(env[var]) if env.get(var) else None

        return cls(
            backend=env.get("STORYBOARD_BACKEND") or None,
            cache_dir=path("STORYBOARD_CACHE"),
            prices=path("STORYBOARD_PRICES"),
            fal={var: env[var] for var, *_ in FAL_SETTINGS if env.get(var)},
            fal_credentials=bool(env.get("FAL_KEY") or (env.get("FAL_KEY_ID") and env.get("FAL_KEY_SECRET"))),
            no_color=env.get("NO_COLOR", "") != "",
            force_color=env.get("FORCE_COLOR", "") != "" or env.get("TTY_COMPATIBLE") == "1",
            serve_token=env.get("STORYBOARD_SERVE_TOKEN") or None,
        )

    def fal_options(self) -> dict[str, object]:
        """The fal backend's constructor options; UsageError naming a variable that is not a number ≥ 0."""
        out: dict[str, object] = {"credentials": self.fal_credentials}
        for var, option, default, integer in FAL_SETTINGS:
            raw = self.fal.get(var)
            value = default if raw is None else _number(var, raw)
            out[option] = int(value) if integer else value
        return out


def _number(var: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0 or value != value:
        raise UsageError(f"{var}={raw!r} is not a number of seconds/retries (a number ≥ 0 is expected)")
    return value


@dataclass
class RunContext:
    """One CLI run: its settings, verbosity and terminal (made on first use)."""

    settings: Settings
    quiet: bool = False
    verbose: bool = False
    _terminal: Terminal | None = None

    @classmethod
    def create(cls, *, quiet: bool = False, verbose: bool = False) -> RunContext:
        """The context of this run, reading the environment now."""
        return cls(Settings.from_environment(), quiet=quiet, verbose=verbose)

    @property
    def terminal(self) -> Terminal:
        """The one terminal of this run."""
        if self._terminal is None:
            from storyboard.cli.terminal import Terminal

            self._terminal = Terminal(
                quiet=self.quiet,
                verbose=self.verbose,
                no_color=self.settings.no_color,
                force_color=self.settings.force_color,
            )
        return self._terminal

    def backend_name(self, explicit: str | None) -> str:
        """``--backend``, else ``STORYBOARD_BACKEND``, else ``preview``; UsageError for an unknown name."""
        from storyboard.backends import backend_name

        return backend_name(explicit, self.settings.backend)

    def cache_dir(self, explicit: Path | None) -> Path | None:
        """``--cache-dir``, else ``STORYBOARD_CACHE``, else None (the build's default beside the storyboard)."""
        return explicit or self.settings.cache_dir

    def prices(self, explicit: Path | None) -> dict[str, float]:
        """The user's price overrides from ``--prices``, else ``STORYBOARD_PRICES``, else none."""
        from storyboard.compiler.models import load_prices

        return load_prices(explicit or self.settings.prices)

    def backend_options(self, name: str) -> dict[str, object]:
        """What the named backend's constructor is given: the fal settings for the fal backend (or a
        subclass of it), nothing for others."""
        from storyboard.backends import backend_class
        from storyboard.backends.fal import FalBackend

        return self.settings.fal_options() if issubclass(backend_class(name), FalBackend) else {}
