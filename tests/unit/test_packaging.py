"""The package tells the truth: every module and data file is in the wheel, every import is declared.

Read from ``pyproject.toml`` and the source tree with the same rules setuptools applies, so a
folder without ``__init__.py`` (which ``find_packages`` skips) or a template outside the
package-data globs fails here, offline, instead of in a user's ``pip install``.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
SOURCE = REPO / "storyboard"


def _packages() -> set[str]:
    """What setuptools' ``find_packages`` finds: folders with an ``__init__.py`` under one that has one."""
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    found = set()
    for init in SOURCE.rglob("__init__.py"):
        parts = init.parent.relative_to(REPO).parts
        chain = all((REPO.joinpath(*parts[:i]) / "__init__.py").exists() for i in range(1, len(parts) + 1))
        name = ".".join(parts)
        if chain and any(fnmatch.fnmatch(name, pattern) for pattern in include):
            found.add(name)
    return found


def test_every_folder_of_modules_is_a_package() -> None:
    packages = _packages()
    folders = {".".join(p.parent.relative_to(REPO).parts) for p in SOURCE.rglob("*.py") if "__pycache__" not in p.parts}
    assert folders - packages == set(), "folders of modules the wheel would leave out (add an __init__.py)"


def test_every_data_file_is_packaged_and_every_glob_matches() -> None:
    package_data: dict[str, list[str]] = PYPROJECT["tool"]["setuptools"]["package-data"]
    data_files = [
        p for p in SOURCE.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    ]
    unmatched = []
    for path in data_files:
        owners = [pkg for pkg in package_data if path.is_relative_to(REPO.joinpath(*pkg.split(".")))]
        rel = {pkg: path.relative_to(REPO.joinpath(*pkg.split("."))).as_posix() for pkg in owners}
        if not any(fnmatch.fnmatch(rel[pkg], glob) for pkg in owners for glob in package_data[pkg]):
            unmatched.append(path.relative_to(REPO).as_posix())
    assert unmatched == [], "data files the wheel would leave out"
    for pkg, globs in package_data.items():
        for glob in globs:
            assert list(REPO.joinpath(*pkg.split(".")).glob(glob)), f"package-data {pkg}: {glob!r} matches nothing"


class _Imports(ast.NodeVisitor):
    """Top-level names of the modules imported at run time (``if TYPE_CHECKING:`` blocks are for mypy only)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.names.update(alias.name.split(".")[0] for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:
            self.names.add(node.module.split(".")[0])


def _imported_top_levels() -> set[str]:
    visitor = _Imports()
    for path in SOURCE.rglob("*.py"):
        visitor.visit(ast.parse(path.read_text("utf-8")))
    return {n for n in visitor.names if n not in sys.stdlib_module_names and n != "storyboard"}


def _requirement_name(req: str) -> str:
    return re.split(r"[\s<>=!~\[;]", req, maxsplit=1)[0].lower().replace("_", "-")


def test_every_third_party_import_is_declared() -> None:
    project = PYPROJECT["project"]
    declared = {_requirement_name(r) for r in project["dependencies"]}
    extras = {name: {_requirement_name(r) for r in reqs} for name, reqs in project["optional-dependencies"].items()}
    # modules that only run under a tool which brings its own package (the pytest plugin runs inside pytest)
    # or that are documented as needing an extra (the fake fal server: storyboard-compiler[fakefal]; the
    # live board: storyboard-compiler[serve])
    optional = {"pytest": "test", "trustme": "fakefal", "uvicorn": "serve", "starlette": "serve"}
    dists = importlib.metadata.packages_distributions()
    missing = []
    for module in sorted(_imported_top_levels()):
        names = {d.lower().replace("_", "-") for d in dists.get(module, [module])}
        if names & declared:
            continue
        if module in optional and names & extras[optional[module]]:
            continue
        missing.append(module)
    assert missing == [], "imported by storyboard/ but not declared in pyproject.toml"


def test_every_declared_dependency_is_imported() -> None:
    imported = set()
    dists = importlib.metadata.packages_distributions()
    for module in _imported_top_levels():
        imported.update(d.lower().replace("_", "-") for d in dists.get(module, [module]))
    unused = {_requirement_name(r) for r in PYPROJECT["project"]["dependencies"]} - imported
    assert unused == set(), "declared dependencies the package never imports (move them to an extra)"
