"""The errors storyboard raises, all rooted at :class:`StoryboardError`.

::

    StoryboardError                 anything storyboard reports to a human (exit 1)
    ├── UserError                   the user's input is wrong; exit code 2, never a traceback
    │   ├── InputError              one or more problems in a storyboard or library file,
    │   │                           each with file, line, column, field path and a hint
    │   ├── UsageError              a bad command-line argument or environment setting
    │   └── CostLimitError          the estimate is over ``--max-cost``
    ├── BackendError                a generation failed (exit 1 for the build)
    │   ├── CredentialsError        no FAL_KEY (a UserError too: exit 2)
    │   ├── RejectedRequestError    the service refused the request (fal's 422) — the user's to fix
    │   └── TransientBackendError   worth retrying: 5xx, a dropped connection, a bad download
    ├── MediaError                  ffmpeg or a probe failed on a clip or a frame
    └── BuildLockedError            another build holds the cache lock

Messages never contain secrets: :func:`redact` scrubs the fal key from any text
before it is shown or written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in an input file, located as precisely as the YAML allows."""

    message: str
    file: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    path: str = ""  # field path, e.g. "shots[2].prompt"
    hint: str | None = None

    def format(self) -> str:
        """The problem as one human line: ``file:line:col: path: message (hint)``."""
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        text = f"{where}{self.path + ': ' if self.path else ''}{self.message}"
        if self.hint:
            text += f" — {self.hint}"
        return redact(text)


class StoryboardError(Exception):
    """Base of every error storyboard reports to a human."""

    exit_code = 1


class UserError(StoryboardError):
    """The user's input or invocation is wrong (exit code 2)."""

    exit_code = 2


class InputError(UserError):
    """One or more problems found in storyboard or library files."""

    def __init__(self, problems: list[Problem] | Problem):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__(self.format())

    def format(self) -> str:
        """All problems, one per line, in file order."""
        lines = [p.format() for p in self.problems]
        if len(lines) > 1:
            lines.append(f"{len(lines)} problems found.")
        return "\n".join(lines)


class UsageError(UserError):
    """A bad command-line argument or environment setting."""


class CostLimitError(UserError):
    """The cost estimate exceeds the user's ``--max-cost``."""


class BackendError(StoryboardError):
    """A generation could not be completed."""


class CredentialsError(BackendError, UserError):
    """The backend needs credentials that are not in the environment."""

    exit_code = 2


class RejectedRequestError(BackendError):
    """The service refused a request as invalid (fal's 422); retrying will not help."""


class TransientBackendError(BackendError):
    """A failure worth retrying: a 5xx, a dropped connection, a truncated download."""


class MediaError(StoryboardError):
    """ffmpeg or a probe failed on a clip or frame."""


class BuildLockedError(StoryboardError):
    """Another build of the same cache is running."""


_SECRET_VARS = ("FAL_KEY", "FAL_KEY_SECRET", "FAL_KEY_ID")


def _secrets() -> list[str]:
    """The credentials in the environment, and each half of an ``id:secret`` key; longest first."""
    found: set[str] = set()
    for var in _SECRET_VARS:
        secret = os.environ.get(var)
        if secret and len(secret) >= 4:
            found.add(secret)
            if ":" in secret:  # fal's keys are KEY_ID:KEY_SECRET: the secret half alone must not leak either
                found.update(part for part in secret.split(":") if len(part) >= 8)
    return sorted(found, key=len, reverse=True)


def redact(text: str) -> str:
    """Replace any fal credential found in the environment (or either half of one) by ``***``."""
    for secret in _secrets():
        if secret in text:
            text = text.replace(secret, "***")
    return text


def relpath(path: Path | str) -> str:
    """A path as the user would like to read it: relative to the working directory, unless that
    climbs two folders or more (then the path as given)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith(os.path.join("..", "..", "")) else rel


__all__ = [
    "BackendError",
    "BuildLockedError",
    "CostLimitError",
    "CredentialsError",
    "InputError",
    "MediaError",
    "Problem",
    "RejectedRequestError",
    "StoryboardError",
    "TransientBackendError",
    "UsageError",
    "UserError",
    "redact",
    "relpath",
]
