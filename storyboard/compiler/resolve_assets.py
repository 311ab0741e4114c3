"""Resolving one asset: its file or URL, ``extends``, a style's images, an element's views, ``generate:``.

A mixin of :class:`~storyboard.compiler.resolve.Resolver`, which reads the files and their imports:
every declared asset of every file is built here once (a chain of ``extends`` followed to its end
and reported once when it is broken, too deep or circular), and a name written in one file is
looked up as that file sees it (its own assets, and ``ns.name`` for each import).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from storyboard.compiler.assets import AssetProblem, AssetStore
from storyboard.compiler.load import shown
from storyboard.compiler.models import ANY_MODEL_VIEWS
from storyboard.compiler.scope import (
    KIND_OF_TABLE,
    MAX_EXTENDS_DEPTH,
    Asset,
    AssetKind,
    Scope,
    link_problem,
    unusable_path,
)
from storyboard.compiler.spec import Element, Generate, GeneratedImage, Storyboard, Style
from storyboard.errors import Problem
from storyboard.plan import AssetRef
from storyboard.util import did_you_mean

if TYPE_CHECKING:
    from storyboard.compiler.generate import Generator


class AssetResolver:
    """Builds each asset once and looks names up; the state is the resolver's (see its ``__init__``)."""

    store: AssetStore
    generator: Generator | None
    problems: list[Problem]
    warnings: list[Problem]
    _prefix: dict[Path, str]
    _resolving: dict[tuple[int, str], tuple[str, str]]
    _too_deep: set[tuple[int, str]]
    _failed: set[tuple[int, str]]

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
            self.problems.append(scope.doc.problem(path, f"asset {shown(raw)}: {link_problem(exc)}"))
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
        kind = KIND_OF_TABLE[table]
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
