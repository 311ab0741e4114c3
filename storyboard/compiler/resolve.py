"""Imports, namespaces and ``extends``: from validated files to one table of visible assets.

A storyboard sees its own assets by name and each imported library's assets as ``ns.name``
(not what the libraries import in turn). Every declared asset of every file is resolved,
used or not, so that a missing file or a bad ``extends`` is reported at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from storyboard.compiler.assets import AssetStore, inside_folder
from storyboard.compiler.load import Document, load_document, shown
from storyboard.compiler.resolve_assets import AssetResolver
from storyboard.compiler.scope import (
    MAX_IMPORT_DEPTH,
    Asset,
    Resolved,
    Scope,
    is_model_tag,
    link_problem,
    unusable_path,
)
from storyboard.compiler.spec import ASSET_TABLES, Library, Storyboard
from storyboard.compiler.validate import validate_library
from storyboard.errors import InputError

if TYPE_CHECKING:
    from storyboard.compiler.generate import Generator


class Resolver(AssetResolver):
    """Loads imports and resolves assets, collecting every problem before raising."""

    def __init__(self, store: AssetStore, generator: Generator | None = None):
        self.store = store
        self.generator = generator  # plans generated assets (None: `generate:` is refused)
        self._prefix = {}  # a library's namespace chain as the storyboard names it ("cast.")
        self.problems = []
        self.warnings = []
        self._scopes: dict[Path, Scope] = {}
        # the chain of assets being resolved, in order (a dict: ordered, with fast lookups): (table, name)
        self._resolving = {}
        self._too_deep = set()  # assets in an `extends` chain already reported
        self._failed = set()  # reported once: what extends a broken asset says nothing more
        self.files: list[str] = []

    def resolve(self, doc: Document, model: Storyboard) -> Resolved:
        """Resolve the storyboard and everything it imports; InputError with all problems."""
        root = self._scope(doc, model, chain=(doc.path.resolve(),))
        visible: dict[str, Asset] = dict(root.assets)
        for ns, lib in root.imports.items():
            for name, asset in lib.assets.items():
                visible[f"{ns}.{name}"] = asset
        if self.problems:
            raise InputError(self.problems)
        return Resolved(root, visible, self.files)

    # -- files ---------------------------------------------------------------------------
    def _scope(self, doc: Document, model: Storyboard | Library, chain: tuple[Path, ...]) -> Scope:
        scope = Scope(doc, model)
        self._scopes[doc.path.resolve()] = scope
        self.files.append(doc.display)
        self._check_names(scope)
        for ns, rel in model.imports.items():
            lib = self._import(scope, ns, rel, chain)
            if lib is not None:
                scope.imports[ns] = lib
            else:
                scope.broken_imports.add(ns)
        for table in ASSET_TABLES:
            for name in getattr(model, table):
                self._asset(scope, name, table)
        return scope

    def _import(self, scope: Scope, ns: str, rel: str, chain: tuple[Path, ...]) -> Scope | None:
        doc = scope.doc
        if ns in scope.tables:
            self.problems.append(
                doc.problem(
                    ("imports", ns),
                    f"namespace {ns!r} is also the name of an asset in this file",
                    "rename the namespace or the asset",
                    key=True,
                )
            )
            return None
        if rel.startswith(("http://", "https://", "~")) or "://" in rel:
            self.problems.append(doc.problem(("imports", ns), f"{shown(rel)}: a library is a local file path"))
            return None
        unusable = unusable_path(rel)
        if unusable is not None:
            self.problems.append(doc.problem(("imports", ns), f"library {shown(rel)}: {unusable[0]}", unusable[1]))
            return None
        if len(chain) >= MAX_IMPORT_DEPTH:
            head = " → ".join(p.name for p in chain[:3])
            self.problems.append(
                doc.problem(
                    ("imports", ns),
                    f"imports nest more than {MAX_IMPORT_DEPTH} files deep (the chain starts {head} → …)",
                    "import the libraries you need from the storyboard itself",
                )
            )
            return None
        path = Path(os.path.normpath(doc.path.parent / rel))
        try:
            real = path.resolve()
            outside = (
                isinstance(scope.model, Library)
                and not self.store.allow_outside
                and not inside_folder(path, doc.path.parent)
            )
        except (RuntimeError, OSError) as exc:  # a symlink loop (RuntimeError before Python 3.13)
            self.problems.append(doc.problem(("imports", ns), f"library {shown(rel)}: {link_problem(exc)}"))
            return None
        if outside:
            # a library (perhaps another studio's) reads only its own folder, as for its assets
            self.problems.append(
                doc.problem(
                    ("imports", ns),
                    f"{shown(rel)} is outside the folder of the library that imports it",
                    "keep imported libraries beside the library (a shared library may not read other files), "
                    "or pass --allow-outside-assets",
                )
            )
            return None
        if real in chain:
            names = [p.name for p in chain[chain.index(real) :]] + [path.name]
            self.problems.append(doc.problem(("imports", ns), "import cycle: " + " → ".join(names)))
            return None
        if real in self._scopes:
            return self._scopes[real]
        self._prefix.setdefault(real, self._prefix.get(doc.path.resolve(), "") + ns + ".")
        display = os.path.relpath(path) if not os.path.isabs(rel) else str(path)
        try:
            lib_doc = load_document(path, display)
            lib_model = validate_library(lib_doc)
        except InputError as exc:
            first = exc.problems[0] if len(exc.problems) == 1 else None
            if first is not None and first.line is None:  # about the file as a whole: point at the import
                text = (
                    f"library {shown(rel)} not found"
                    if first.message == "file not found"
                    else f"library {shown(rel)}: {first.message}"
                )
                self.problems.append(doc.problem(("imports", ns), text, first.hint))
            else:
                self.problems.extend(exc.problems)
            return None
        return self._scope(lib_doc, lib_model, chain + (real,))

    def _check_names(self, scope: Scope) -> None:
        for table in ASSET_TABLES:
            for name in getattr(scope.model, table):
                if name in scope.tables:
                    first = scope.tables[name]
                    scope_problem = scope.doc.problem(
                        (table, name),
                        f"{name!r} is already declared under {first!r}",
                        "names are unique across characters, objects, styles and images",
                        key=True,
                    )
                    self.problems.append(scope_problem)
                    continue
                if is_model_tag(name):
                    self.problems.append(
                        scope.doc.problem(
                            (table, name),
                            f"{name!r} looks like one of the model's own tags",
                            "the compiler numbers @ElementN/@ImageN itself: choose another name",
                            key=True,
                        )
                    )
                scope.tables[name] = table
