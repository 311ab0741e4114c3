"""Imports, namespaces and ``extends``: from validated files to one table of visible assets.

A storyboard sees its own assets by name and each imported library's assets as ``ns.name``
(not what the libraries import in turn). Every declared asset of every file is resolved,
used or not, so that a missing file or a bad ``extends`` is reported at once.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from storyboard.compiler.assets import AssetProblem, AssetStore, inside_folder
from storyboard.compiler.load import Document, load_document, shown
from storyboard.compiler.models import ANY_MODEL_VIEWS
from storyboard.compiler.spec import ASSET_TABLES, Element, Generate, GeneratedImage, Library, Storyboard, Style
from storyboard.compiler.validate import validate_library
from storyboard.errors import InputError, Problem
from storyboard.plan import AssetRef
from storyboard.util import did_you_mean

if TYPE_CHECKING:
    from storyboard.compiler.generate import Generator

AssetKind = Literal["character", "object", "style", "image"]
MAX_IMPORT_DEPTH = 32  # files in one chain of imports, the storyboard included
MAX_EXTENDS_DEPTH = 64  # assets in one chain of `extends`
MAX_PATH_CHARS = 4096  # longer than any path a file system takes (PATH_MAX)

_KIND_OF_TABLE: dict[str, AssetKind] = {
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


class Resolver:
    """Loads imports and resolves assets, collecting every problem before raising."""

    def __init__(self, store: AssetStore, generator: Generator | None = None):
        self.store = store
        self.generator = generator  # plans generated assets (None: `generate:` is refused)
        self._prefix: dict[Path, str] = {}  # a library's namespace chain as the storyboard names it ("cast.")
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self._scopes: dict[Path, Scope] = {}
        # the chain of assets being resolved, in order (a dict: ordered, with fast lookups): (table, name)
        self._resolving: dict[tuple[int, str], tuple[str, str]] = {}
        self._too_deep: set[tuple[int, str]] = set()  # assets in an `extends` chain already reported
        self._failed: set[tuple[int, str]] = set()  # reported once: what extends a broken asset says nothing more
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
            self.problems.append(doc.problem(("imports", ns), f"library {shown(rel)}: {_link_problem(exc)}"))
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

    # -- assets --------------------------------------------------------------------------
    def _ref(self, scope: Scope, path: tuple[str | int, ...], raw: str) -> AssetRef | None:
        unusable = unusable_path(raw)
        if unusable is not None:
            self.problems.append(scope.doc.problem(path, f"asset {shown(raw)}: {unusable[0]}", unusable[1]))
            return None
        try:
            ref = self.store.ref(raw, scope.doc.path)
        except AssetProblem as exc:
            self.problems.append(scope.doc.problem(path, exc.message, exc.hint))
            return None
        except (RuntimeError, OSError) as exc:  # a symlink loop, or a file that cannot be read
            self.problems.append(scope.doc.problem(path, f"asset {shown(raw)}: {_link_problem(exc)}"))
            return None
        if ref.kind == "url":  # never fetched (the compiler reads no network): say what that means
            self.warnings.append(
                scope.doc.problem(
                    path,
                    f"{shown(raw)} is a URL: its image is not checked against the model's limits "
                    "(10 MB, 300 px a side, aspect 0.40-2.50, PNG/JPEG/WebP), and fal refuses one it cannot take",
                    "download it beside the storyboard and name the file, so that it is checked before you pay",
                )
            )
        return ref

    def _asset(self, scope: Scope, name: str, table: str) -> Asset | None:
        if name in scope.assets:
            return scope.assets[name]
        marker = (id(scope), name)
        if marker in self._resolving or marker in self._too_deep:
            return None  # reported by the extends check, or as too deep
        if marker in self._failed:
            return None  # its problem is already reported, where it is declared
        if len(self._resolving) >= MAX_EXTENDS_DEPTH:
            head = next(iter(self._resolving.values()))[1]
            self.problems.append(
                scope.doc.problem(
                    (table, name),
                    f"`extends` chains more than {MAX_EXTENDS_DEPTH} assets deep (the chain starts at {head!r})",
                    "extend the asset that has the images directly",
                    key=True,
                )
            )
            self._too_deep.update(self._resolving)
            self._mark_too_deep(scope, name, table)
            return None
        self._resolving[marker] = (table, name)
        try:
            asset = self._build(scope, name, table)
        finally:
            del self._resolving[marker]
        if asset is not None:
            scope.assets[name] = asset
        else:
            self._failed.add(marker)
        return asset

    def _mark_too_deep(self, scope: Scope, name: str, table: str) -> None:
        """Mark the rest of a too-deep `extends` chain (lookups only), so it is reported once."""
        found: tuple[Scope, str, str] | None = (scope, name, table)
        while found is not None:
            owner, other, other_table = found
            marker = (id(owner), other)
            target = getattr(getattr(owner.model, other_table)[other], "extends", None)
            if marker in self._too_deep or not target:
                return
            self._too_deep.add(marker)
            found = self.lookup(owner, target)

    def _build(self, scope: Scope, name: str, table: str) -> Asset | None:
        kind = _KIND_OF_TABLE[table]
        spec = getattr(scope.model, table)[name]
        where = (table, name)
        if kind == "image":
            if isinstance(spec, GeneratedImage):
                refs = self._generated(scope, where, name, "image", spec.generate)
                return Asset("image", name, scope.doc.display, refs, spec.description) if refs else None
            ref = self._ref(scope, where, spec)
            return Asset("image", name, scope.doc.display, (ref,)) if ref else None
        parent = None
        if spec.extends:
            parent = self._extends(scope, name, table, spec.extends)
            if parent is None:
                return None
        if kind == "style":
            return self._style(scope, name, spec, parent)
        return self._element(scope, name, kind, spec, parent)

    def _extends(self, scope: Scope, name: str, table: str, target: str) -> Asset | None:
        where = (table, name, "extends")
        want = ("style",) if table == "styles" else ("character", "object")
        found = self.lookup(scope, target)
        if found is None and "." in target and target.split(".", 1)[0] in scope.broken_imports:
            return None  # the import itself is reported: one root problem, one message
        if found is None:
            self.problems.append(
                scope.doc.problem(
                    where, f"{name!r} extends unknown {target!r}", did_you_mean(target, self._names(scope))
                )
            )
            return None
        owner, other_name, other_table = found
        if other_name and (id(owner), other_name) in self._resolving:
            # reported once, at the asset the cycle was entered from (the first of it in the file)
            chain = list(self._resolving)
            start = chain.index((id(owner), other_name))
            names = [self._resolving[m][1] for m in chain[start:]] + [other_name]
            first_table, first_name = self._resolving[chain[start]]
            self.problems.append(
                owner.doc.problem(
                    (first_table, first_name, "extends"),
                    "`extends` cycle: " + " → ".join(names),
                    "an asset cannot extend itself, even indirectly",
                )
            )
            return None
        parent = self._asset(owner, other_name, other_table)
        if parent is not None and parent.kind not in want:
            self.problems.append(
                scope.doc.problem(
                    where,
                    f"{name!r} ({table[:-1]}) cannot extend {target!r}, which is {'an' if parent.kind == 'image' else 'a'} {parent.kind}",
                )
            )
            return None
        return parent

    def _generated(
        self, scope: Scope, where: tuple[str | int, ...], name: str, kind: AssetKind, spec: Generate
    ) -> tuple[AssetRef, ...] | None:
        """The refs of an asset made from words (planned by the generator)."""
        if self.generator is None:
            self.problems.append(scope.doc.problem((*where, "generate"), "generated assets are not available here"))
            return None
        qualified = self._prefix.get(scope.doc.path.resolve(), "") + name
        context = dict(scope.model.vars) if isinstance(scope.model, Storyboard) else {}
        return self.generator.plan(scope.doc, where, qualified, kind, spec, context)

    def _both(self, scope: Scope, where: tuple[str | int, ...], kind: str, name: str, files: str) -> None:
        self.problems.append(
            scope.doc.problem(
                (*where, "generate"),
                f"{kind} {name!r} has both `{files}` and `generate`",
                f"keep `{files}:` to use your files, or `generate:` to make the images from words — not both",
            )
        )

    def _style(self, scope: Scope, name: str, spec: Style, parent: Asset | None) -> Asset | None:
        if spec.generate is not None:
            if spec.images is not None:
                self._both(scope, ("styles", name), "style", name, "images")
                return None
            refs = self._generated(scope, ("styles", name), name, "style", spec.generate)
            desc = spec.description if spec.description is not None else (parent.description if parent else None)
            return Asset("style", name, scope.doc.display, refs, desc) if refs else None
        if spec.images is None:
            if parent is None:
                self.problems.append(
                    scope.doc.problem(("styles", name), f"style {name!r} has no images", "add `images: [path, …]`")
                )
                return None
            refs = parent.refs
        else:
            if not spec.images:
                self.problems.append(scope.doc.problem(("styles", name, "images"), "a style needs at least one image"))
                return None
            got = [self._ref(scope, ("styles", name, "images", i), raw) for i, raw in enumerate(spec.images)]
            if any(r is None for r in got):
                return None
            refs = tuple(r for r in got if r is not None)
        desc = spec.description if spec.description is not None else (parent.description if parent else None)
        return Asset("style", name, scope.doc.display, refs, desc)

    def _element(self, scope: Scope, name: str, kind: AssetKind, spec: Element, parent: Asset | None) -> Asset | None:
        table = kind + "s"
        if spec.generate is not None:
            if spec.image is not None or spec.references is not None:
                self._both(scope, (table, name), kind, name, "image" if spec.image is not None else "references")
                return None
            generated = self._generated(scope, (table, name), name, kind, spec.generate)
            desc = spec.description if spec.description is not None else (parent.description if parent else None)
            return Asset(kind, name, scope.doc.display, generated, desc) if generated else None
        if spec.image is not None:
            frontal = self._ref(scope, (table, name, "image"), spec.image)
        elif parent is not None:
            frontal = parent.refs[0]
        else:
            self.problems.append(
                scope.doc.problem(
                    (table, name),
                    f"{kind} {name!r} has no `image`",
                    "add the frontal image: `image: path/to/front.png`",
                )
            )
            return None
        if spec.references is not None:
            if len(spec.references) > ANY_MODEL_VIEWS:
                self.problems.append(
                    scope.doc.problem(
                        (table, name, "references"),
                        f"{kind} {name!r} has {len(spec.references)} reference views; "
                        f"an element takes 1 to {ANY_MODEL_VIEWS}",
                        f"keep the {ANY_MODEL_VIEWS} that show it best "
                        "(with none, its `image` is sent as its one reference view)",
                    )
                )
                return None
            got = [self._ref(scope, (table, name, "references", i), r) for i, r in enumerate(spec.references)]
            refs = None if any(r is None for r in got) else tuple(r for r in got if r is not None)
        else:
            refs = parent.refs[1:] if parent is not None else ()
        if frontal is None or refs is None:
            return None
        desc = spec.description if spec.description is not None else (parent.description if parent else None)
        return Asset(kind, name, scope.doc.display, (frontal, *refs), desc)

    # -- lookups -------------------------------------------------------------------------
    def lookup(self, scope: Scope, qname: str) -> tuple[Scope, str, str] | None:
        """(declaring scope, name, table) for ``name`` or ``ns.name`` as seen from ``scope``."""
        if "." in qname:
            ns, name = qname.split(".", 1)
            lib = scope.imports.get(ns)
            if lib is None or name not in lib.tables:
                return None
            return lib, name, lib.tables[name]
        if qname in scope.tables:
            return scope, qname, scope.tables[qname]
        return None

    def _names(self, scope: Scope) -> list[str]:
        names = list(scope.tables)
        for ns, lib in scope.imports.items():
            names.extend(f"{ns}.{n}" for n in lib.tables)
        return names


def unusable_path(raw: str) -> tuple[str, str] | None:
    """(problem, hint) for a path no file system can open (a NUL, thousands of characters), else None."""
    if "\0" in raw:
        return "the path contains a NUL character (\\0)", "remove the escape from the path"
    if len(raw) > MAX_PATH_CHARS:
        return f"the path is {len(raw):,} characters long", f"a path has at most {MAX_PATH_CHARS:,} characters"
    return None


def _link_problem(exc: BaseException) -> str:
    """Words for a path that cannot be followed: a symlink loop or an OS error."""
    if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
        return "a symlink loop (a link that leads back to itself)"
    return f"cannot be read: {getattr(exc, 'strerror', None) or exc}"


def is_model_tag(name: str) -> bool:
    """True for names the model reserves (``Element1``, ``Image2``)."""
    return _MODEL_TAG.fullmatch(name) is not None


_MODEL_TAG = re.compile(r"(?:Element|Image)[0-9]+")
