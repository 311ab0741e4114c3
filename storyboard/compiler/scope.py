"""What resolving produces, and the rules every file's names follow: assets, scopes, the visible table.

:class:`Asset` is a resolved character, object, style or image; a :class:`Scope` is one file's
names (its own assets and its imports); :class:`Resolved` is what the storyboard may write after
``@`` or in a name field. Made by :mod:`storyboard.compiler.resolve`; read by the shot compiler,
the @-mapper, the cards and the sound.
"""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass, field
from typing import Literal

from storyboard.compiler.load import Document
from storyboard.compiler.spec import Library, Storyboard
from storyboard.plan import AssetRef

AssetKind = Literal["character", "object", "style", "image"]
MAX_IMPORT_DEPTH = 32  # files in one chain of imports, the storyboard included
MAX_EXTENDS_DEPTH = 64  # assets in one chain of `extends`
MAX_PATH_CHARS = 4096  # longer than any path a file system takes (PATH_MAX)

KIND_OF_TABLE: dict[str, AssetKind] = {
    "characters": "character",
    "objects": "object",
    "styles": "style",
    "images": "image",
}


@dataclass(frozen=True, slots=True)
class Asset:
    """A resolved asset: for an element its frontal image then references; for a style its images."""

    kind: AssetKind
    name: str  # its name in the declaring file
    file: str  # the declaring file as errors show it
    refs: tuple[AssetRef, ...]
    description: str | None = None

    @property
    def is_element(self) -> bool:
        """Characters and objects become request elements."""
        return self.kind in ("character", "object")


@dataclass
class Scope:
    """One file's names: its own assets and its imports."""

    doc: Document
    model: Storyboard | Library
    imports: dict[str, Scope] = field(default_factory=dict)
    assets: dict[str, Asset] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)  # name → table it is declared in
    broken_imports: set[str] = field(default_factory=set)  # namespaces whose import is already reported


@dataclass
class Resolved:
    """The root storyboard's view: every name it may write after ``@`` or in a name field."""

    scope: Scope
    visible: dict[str, Asset]
    files: list[str]  # every file read, storyboard first


def unusable_path(raw: str) -> tuple[str, str] | None:
    """(problem, hint) for a path no file system can open (a NUL, thousands of characters), else None."""
    if "\0" in raw:
        return "the path contains a NUL character (\\0)", "remove the escape from the path"
    if len(raw) > MAX_PATH_CHARS:
        return f"the path is {len(raw):,} characters long", f"a path has at most {MAX_PATH_CHARS:,} characters"
    return None


def link_problem(exc: BaseException) -> str:
    """Words for a path that cannot be followed: a symlink loop or an OS error."""
    if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
        return "a symlink loop (a link that leads back to itself)"
    return f"cannot be read: {getattr(exc, 'strerror', None) or exc}"


def is_model_tag(name: str) -> bool:
    """True for names the model reserves (``Element1``, ``Image2``)."""
    return _MODEL_TAG.fullmatch(name) is not None


_MODEL_TAG = re.compile(r"(?:Element|Image)[0-9]+")
