"""YAML → plain data, remembering where every value was written.

The only module that reads storyboard and library files. Loading is safe (no object tags),
rejects duplicate keys (PyYAML would silently keep the last), bounds file size, nesting and
alias expansion (no "billion laughs"), and keeps the node tree so that any later error can be
pointed at a line and column without paying for positions on the happy path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from storyboard.compiler.yaml_words import explain
from storyboard.errors import InputError, Problem

try:  # libyaml's C parser is 5-10x faster; fall back to pure Python where it is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_FILE_BYTES = 20 * 1024 * 1024  # a 10,000-shot storyboard is ~3 MB
MAX_NODES = 2_000_000  # values materialised, aliases included
MAX_DEPTH = 64

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_PLAIN_TAGS = {
    _INT,
    _FLOAT,
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_scalar_constructor = yaml.constructor.SafeConstructor()

PathT = tuple[str | int, ...]


SHOWN_CHARS = 80  # a value quoted in a message is cut to this many characters


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters with "…" (a 5 MB value stays out)."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit]) + f"… ({len(value):,} characters)"
    if isinstance(value, (list, tuple, dict)) and len(value) > limit:
        return f"a {type(value).__name__} of {len(value):,} items"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def format_path(path: PathT) -> str:
    """``("shots", 2, "prompt")`` → ``shots[2].prompt``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(slots=True)
class Document:
    """A loaded YAML file: its data and the node tree to locate values in it."""

    path: Path
    data: Any
    root: yaml.Node | None
    display: str  # the file name as errors show it

    def locate(self, path: PathT, *, key: bool = False) -> tuple[int | None, int | None]:
        """1-based (line, column) of the value at ``path`` (of its key with ``key=True``).

        Walks as far as the path exists and returns the deepest position found.
        """
        node = self.root
        if node is None:
            return None, None
        mark = node.start_mark
        for i, part in enumerate(path):
            last = i == len(path) - 1
            if isinstance(node, yaml.MappingNode):
                found = None
                for k, v in _merged_pairs(node):
                    if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                        found = (k, v)
                if found is None:
                    break
                mark = found[0].start_mark if (last and key) else found[1].start_mark
                node = found[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
                mark = node.start_mark
            else:
                break
        return mark.line + 1, mark.column + 1

    def item_lines(self, path: PathT) -> list[tuple[int, int]]:
        """1-based (line, column) of every item of the list at ``path`` (one walk for all of them)."""
        node = self.root
        for part in path:
            if not isinstance(node, yaml.MappingNode):
                return []
            node = next((v for k, v in _merged_pairs(node) if isinstance(k, yaml.ScalarNode) and k.value == part), None)
        if not isinstance(node, yaml.SequenceNode):
            return []
        return [(item.start_mark.line + 1, item.start_mark.column + 1) for item in node.value]

    def problem(self, path: PathT, message: str, hint: str | None = None, *, key: bool = False) -> Problem:
        """A Problem located at ``path`` in this document."""
        line, col = self.locate(path, key=key)
        return Problem(message, file=self.display, line=line, column=col, path=format_path(path), hint=hint)


def _merged_pairs(node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
    pairs: list[tuple[yaml.Node, yaml.Node]] = []
    for k, v in node.value:
        if k.tag == _MERGE:
            sources = v.value if isinstance(v, yaml.SequenceNode) else [v]
            for src in sources:
                if isinstance(src, yaml.MappingNode):
                    pairs.extend(_merged_pairs(src))
        else:
            pairs.append((k, v))
    return pairs


class _Builder:
    """Turns a composed node tree into dicts, lists and scalars, collecting problems."""

    def __init__(self, display: str):
        self.display = display
        self.problems: list[Problem] = []
        self.nodes = 0

    def _problem(self, node: yaml.Node, message: str, hint: str | None = None, path: PathT = ()) -> None:
        m = node.start_mark
        self.problems.append(
            Problem(message, file=self.display, line=m.line + 1, column=m.column + 1, path=format_path(path), hint=hint)
        )

    def build(self, node: yaml.Node, depth: int = 0, path: PathT = ()) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBig(node, f"the document expands to more than {MAX_NODES:,} values (an alias bomb?)", path)
        if depth > MAX_DEPTH:
            raise _TooBig(node, f"nesting deeper than {MAX_DEPTH} levels", path)
        tag = node.tag
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if isinstance(node, yaml.SequenceNode):
            if tag != _SEQ:
                self._problem(node, f"unsupported YAML tag {tag!r}", "storyboards use plain YAML values only", path)
            return [self.build(item, depth + 1, (*path, i)) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            if tag != _MAP:
                self._problem(node, f"unsupported YAML tag {tag!r}", "storyboards use plain YAML values only", path)
            out: dict[str, Any] = {}
            seen: dict[str, yaml.Node] = {}
            merged: dict[str, Any] = {}
            for k, v in node.value:
                if k.tag == _MERGE:
                    for src in v.value if isinstance(v, yaml.SequenceNode) else [v]:
                        value = self.build(src, depth + 1, path)
                        if isinstance(value, dict):
                            for mk, mv in value.items():
                                merged.setdefault(mk, mv)
                        else:
                            self._problem(src, "a merge key (<<) needs a mapping or a list of mappings", path=path)
                    continue
                if not isinstance(k, yaml.ScalarNode):
                    self._problem(k, "a mapping key must be a plain name, not a list or mapping", path=path)
                    continue
                if k.tag != _STR and k.tag not in _PLAIN_TAGS:
                    self._problem(k, f"unsupported YAML tag {k.tag!r}", "storyboards use plain YAML values only", path)
                    continue
                # a key is the text written: YAML 1.1 would turn `on:` into True and `.inf:` into inf
                key = k.value
                if key in seen:
                    first = seen[key].start_mark
                    self._problem(
                        k,
                        f"duplicate key {shown(key)} (first written on line {first.line + 1})",
                        "YAML keeps only one of them: remove or rename one",
                        (*path, key),
                    )
                    continue
                seen[key] = k
                out[key] = self.build(v, depth + 1, (*path, key))
            for mk, mv in merged.items():
                out.setdefault(mk, mv)
            return out
        self._problem(node, "unsupported YAML node", path=path)  # pragma: no cover
        return None

    def _scalar(self, node: yaml.ScalarNode, path: PathT = ()) -> Any:
        """A scalar's value; a problem (and None) for an object tag or a value YAML cannot construct.

        A plain ``16:9`` is YAML 1.1's base-60 integer 969; it is kept as the text written, as
        YAML 1.2 (and the editors that check ``schemas/``) read it.
        """
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag not in _PLAIN_TAGS:
            self._problem(node, f"unsupported YAML tag {tag!r}", "storyboards use plain YAML values only", path)
            return None
        if tag in (_INT, _FLOAT) and ":" in node.value:
            return node.value
        try:
            return _scalar_constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError, OverflowError):
            kind = tag.rsplit(":", 1)[-1]
            self._problem(
                node,
                f"{shown(node.value)} is not a valid {kind}",
                "remove the tag, or quote the value to write text",
                path,
            )
            return None


class _TooBig(Exception):
    def __init__(self, node: yaml.Node, message: str, path: PathT = ()):
        self.node, self.message, self.path = node, message, path


def read_text(path: Path, display: str) -> str:
    """The file's text, or an InputError if it is missing, too large, empty or not UTF-8."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError(Problem("file not found", file=display)) from None
    except OSError as exc:
        raise InputError(Problem(f"cannot read the file: {exc.strerror}", file=display)) from None
    except ValueError:  # os.stat refuses a NUL in a path
        raise InputError(Problem("the path contains a NUL character (\\0)", file=display)) from None
    if not path.is_file():
        raise InputError(Problem("not a file", file=display))
    too_big = Problem(
        f"file is {size / 1e6:.1f} MB, over the {MAX_FILE_BYTES // 1_000_000} MB limit",
        file=display,
        line=1,
        hint="a storyboard is text: is this the right file?",
    )
    if size > MAX_FILE_BYTES:
        raise InputError(too_big)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)  # bounded even if the file grew since stat()
    except OSError as exc:
        raise InputError(Problem(f"cannot read the file: {exc.strerror}", file=display)) from None
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(too_big)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            Problem(f"not UTF-8 text (byte 0x{raw[exc.start]:02x})", file=display, line=line, hint="save it as UTF-8")
        ) from None
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise InputError(Problem("the file is empty", file=display, line=1, hint="start with `version: 1`"))
    return text


def _tab_before(text: str, line: int, column: int) -> bool:
    """True when the 0-based ``line`` has a tab at or before ``column`` (a tab the parser tripped on)."""
    lines = text.splitlines()
    return 0 <= line < len(lines) and "\t" in lines[line][: column + 1]


_DEEP_FLOW = re.compile(r"[\[{]{65}")


def _escape_hint(character: object) -> str:
    """How to write a control character YAML refuses raw."""
    if isinstance(character, int):
        return f'remove it, or write it as an escape inside double quotes ("\\u{character:04x}")'
    return "remove it"


def _line_column(text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of the character at ``index`` of ``text``."""
    index = max(0, min(index, len(text)))
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def load_document(path: Path, display: str | None = None) -> Document:
    """Load one YAML file safely; raise InputError naming file, line and column on any problem."""
    display = display or str(path)
    text = read_text(path, display)
    deep = _DEEP_FLOW.search(text)
    if deep:  # protect the C parser's recursion from pathological nesting
        line, column = _line_column(text, deep.start())
        raise InputError(Problem(f"nesting deeper than {MAX_DEPTH} levels", file=display, line=line, column=column))
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or "invalid YAML"
        hint = None
        if "\t" in what or "tab" in what or (mark is not None and _tab_before(text, mark.line, mark.column)):
            hint = "YAML indents with spaces, not tabs"
        elif (words := explain(text, exc)) is not None:  # an indentation mistake, said in words
            raise InputError(
                Problem(words.message, file=display, line=words.line, column=words.column, hint=words.hint)
            ) from None
        elif exc.context:
            hint = exc.context
        raise InputError(
            Problem(
                f"invalid YAML: {what}",
                file=display,
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
                hint=hint,
            )
        ) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow: no mark, only a position
        found = text.find(chr(exc.character)) if isinstance(exc.character, int) else -1
        line, column = _line_column(text, found if found >= 0 else exc.position)
        raise InputError(
            Problem(
                f"invalid YAML: unacceptable character #x{exc.character:04x}: {exc.reason}"
                if isinstance(exc.character, int)
                else f"invalid YAML: {exc.reason}",
                file=display,
                line=line,
                column=column,
                hint=_escape_hint(exc.character),
            )
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(Problem(f"invalid YAML: {str(exc).splitlines()[0]}", file=display, line=1)) from None
    except RecursionError:
        raise InputError(Problem(f"nesting deeper than {MAX_DEPTH} levels", file=display, line=1)) from None
    builder = _Builder(display)
    try:
        data = builder.build(root) if root is not None else None
    except _TooBig as exc:
        m = exc.node.start_mark
        raise InputError(
            Problem(exc.message, file=display, line=m.line + 1, column=m.column + 1, path=format_path(exc.path))
        ) from None
    if builder.problems:
        raise InputError(builder.problems)
    if not isinstance(data, dict):
        raise InputError(
            Problem("the top level must be a mapping (`version: 1`, `title: …`, …)", file=display, line=1, column=1)
        )
    return Document(path=path, data=data, root=root, display=display)
