"""The errors storyboard raises, all rooted at :class:`StoryboardError`.

::

    StoryboardError                 anything storyboard reports to a human (exit 1)
    ├── UserError                   the user's input is wrong; exit code 2, never a traceback
    │   ├── InputError              one or more problems in a storyboard or library file,
    │   │                           each with file, line, column, field path and a hint
    │   ├── UsageError              a bad command-line argument or environment setting
    │   │   └── SetupError          a folder storyboard must write to is a file, read-only or full
    │   ├── AssetChangedError       an asset was edited while a build ran (the shot fails, nothing sent)
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

import errno
import functools
import os
import re
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


class SetupError(UsageError):
    """A folder the build must write to cannot be used: it names a file, is read-only, or its disk is full."""


class AssetChangedError(UserError):
    """An asset's bytes changed between compiling the plan and using them: the key would lie."""


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


def _spellings(secret: str) -> set[str]:
    """Every way ``secret`` can appear in a message: as is, stripped of surrounding whitespace,
    repr- or JSON-escaped (``\\r``), URL-encoded (either case of hex), base64 (HTTP Basic)."""
    import base64
    import json
    from urllib.parse import quote, quote_plus

    out: set[str] = set()
    for s in {secret, secret.strip()}:
        if len(s) < 4:
            continue
        encoded = {quote(s, safe=""), quote(s), quote_plus(s)}
        out |= {s, repr(s)[1:-1], s.encode("unicode_escape").decode("ascii"), json.dumps(s)[1:-1]}
        out |= encoded | {re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), e) for e in encoded}
        out.add(base64.b64encode(s.encode("utf-8", "surrogatepass")).decode("ascii"))
    return {f for f in out if len(f) >= 4}


def _secrets() -> list[str]:
    """Every spelling of the credentials in the environment and of each half of an ``id:secret``
    key (see :func:`_spellings`); longest first, so a whole key is replaced before its halves."""
    return _secrets_of(tuple(os.environ.get(var) for var in _SECRET_VARS))


@functools.lru_cache(maxsize=8)
def _secrets_of(values: tuple[str | None, ...]) -> list[str]:
    found: set[str] = set()
    _key, key_secret, key_id = values
    if key_id and key_secret:  # fal-client sends the pair as one "id:secret" key
        values = (*values, f"{key_id.strip()}:{key_secret.strip()}")
    for secret in values:
        if secret and len(secret.strip()) >= 4:
            found |= _spellings(secret)
            if ":" in secret:  # fal's keys are KEY_ID:KEY_SECRET: neither half alone may leak either
                for part in secret.strip().split(":"):
                    if len(part.strip()) >= 8:
                        found |= _spellings(part)
    return sorted(found, key=len, reverse=True)


def redact(text: str) -> str:
    """Replace any fal credential found in the environment, or either half of one, in any of its
    spellings (escaped, URL-encoded, base64), by ``***``."""
    for secret in _secrets():
        if secret in text:
            text = text.replace(secret, "***")
    return text


_FOLDER_FIX = "make it writable, or build elsewhere with --out (the build folder) or --cache-dir (the cache)"
_OS_PROBLEMS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("the disk holding {where} is full", "free some space and build again; finished shots are kept"),
    errno.EDQUOT: ("the disk quota for {where} is used up", "free some space and build again; finished shots are kept"),
    errno.EACCES: ("storyboard may not use {where} (permission denied)", _FOLDER_FIX),
    errno.EPERM: ("storyboard may not use {where} (operation not permitted)", _FOLDER_FIX),
    errno.EROFS: ("{where} is on a read-only filesystem", _FOLDER_FIX),
    errno.ENOTDIR: (
        "{where} goes through a file where a folder should be",
        "remove or rename that file, or give another folder with --out or --cache-dir",
    ),
    errno.EEXIST: (
        "{where} is a file where storyboard needs a folder",
        "remove or rename it, or give another folder with --out or --cache-dir",
    ),
    errno.EISDIR: ("{where} is a folder where storyboard needs to write a file", "remove or rename that folder"),
    errno.ENAMETOOLONG: ("{where} is too long a name for the filesystem", "choose a shorter name or folder"),
}
SETUP_ERRNOS = frozenset(_OS_PROBLEMS)


def describe_os_error(exc: OSError) -> str:
    """An operating-system error as one sentence naming the file or folder and the fix.

    ``[Errno 28] No space left on device: 'build/x'`` becomes "the disk holding build/x is full:
    free some space and build again; finished shots are kept".
    """
    where = "a file it writes"
    if isinstance(exc.filename, (str, Path)) and exc.filename:
        name = Path(exc.filename)
        # a temp file's name means nothing to the user: name its folder
        where = relpath(name.parent if name.name.startswith(".") and ".tmp" in name.name else name)
    problem = _OS_PROBLEMS.get(exc.errno or 0)
    if problem is None:
        return redact(f"{exc.strerror or exc.__class__.__name__} ({where})" if exc.strerror else str(exc))
    what, fix = problem
    return redact(f"{what.format(where=where)}: {fix}")


def disk_full(text: str) -> bool:
    """True when an error text (ffmpeg's stderr, a library's message) says the disk is full."""
    return "No space left on device" in text or "Disk quota exceeded" in text


def relpath(path: Path | str) -> str:
    """A path as the user would like to read it: relative to the working directory, unless that
    climbs two folders or more (then the path as given)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith(os.path.join("..", "..", "")) else rel


__all__ = [
    "AssetChangedError",
    "BackendError",
    "BuildLockedError",
    "CostLimitError",
    "CredentialsError",
    "InputError",
    "MediaError",
    "Problem",
    "RejectedRequestError",
    "SETUP_ERRNOS",
    "SetupError",
    "StoryboardError",
    "TransientBackendError",
    "UsageError",
    "UserError",
    "describe_os_error",
    "disk_full",
    "redact",
    "relpath",
]
