"""libyaml's parser errors in plain words, for the mistakes people make most: indentation.

libyaml says "did not find expected key — while parsing a block mapping"; a film-maker needs
"line 15 is indented 6 spaces, but the keys of the mapping it belongs to (from line 13) are
indented 4". The loader asks :func:`explain` first and falls back on libyaml's own words.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

INDENT_HINT = "keys of one mapping start in the same column, and a value on its own line is indented under its key"


@dataclass(frozen=True, slots=True)
class Explained:
    """A parser error said in words: where it is, what is wrong, what would fix it."""

    line: int  # 1-based
    column: int  # 1-based
    message: str
    hint: str


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _spaces(n: int) -> str:
    return f"{n} space{'' if n == 1 else 's'}"


def _previous(lines: list[str], index: int) -> int | None:
    """The index of the nearest line above ``index`` that holds more than a comment or blanks."""
    for i in range(index - 1, -1, -1):
        stripped = lines[i].strip()
        if stripped and not stripped.startswith("#"):
            return i
    return None


def explain(text: str, exc: yaml.MarkedYAMLError) -> Explained | None:
    """Plain words for an indentation mistake, or None when the error is of another kind."""
    mark, context = exc.problem_mark, exc.context_mark
    if mark is None:
        return None
    lines = text.split("\n")
    if not 0 <= mark.line < len(lines):
        return None
    here = lines[mark.line]
    spaces = _indent(here)
    where = mark.line + 1
    problem = exc.problem or ""
    if (
        problem == "did not find expected key"
        and context is not None
        and exc.context == "while parsing a block mapping"
    ):
        expected = context.column
        if here.lstrip(" ").startswith("- ") and spaces == expected:
            return Explained(
                where,
                spaces + 1,
                f"invalid YAML: line {where} starts a list item (`- `) where the mapping from line "
                f"{context.line + 1} expects a key",
                "a list is the value of a key: write the key (e.g. `shots:`) and indent the items under it",
            )
        if here.lstrip(" ").startswith("- "):
            item = next((i for i in range(mark.line - 1, -1, -1) if lines[i].lstrip(" ").startswith("- ")), None)
            if item is not None and _indent(lines[item]) != spaces:
                return Explained(
                    where,
                    spaces + 1,
                    f"invalid YAML: line {where} is a list item (`- `) indented {_spaces(spaces)}, but the item "
                    f"above it (line {item + 1}) is indented {_spaces(_indent(lines[item]))}",
                    "start every item of one list in the same column",
                )
        above = _previous(lines, mark.line)
        also = ""
        if above is not None and above != context.line and _indent(lines[above]) not in (spaces, expected):
            also = f", and line {above + 1} above it {_spaces(_indent(lines[above]))}"
        return Explained(
            where,
            spaces + 1,
            f"invalid YAML: line {where} is indented {_spaces(spaces)}, but the keys of the mapping it "
            f"belongs to (from line {context.line + 1}) are indented {_spaces(expected)}{also}",
            INDENT_HINT,
        )
    if (
        problem == "did not find expected '-' indicator"
        and context is not None
        and exc.context == "while parsing a block collection"
    ):
        return Explained(
            where,
            spaces + 1,
            f"invalid YAML: line {where} is indented {_spaces(spaces)}, but the list it belongs to "
            f"(from line {context.line + 1}) has its items (`- `) at {_spaces(context.column)}",
            "indent a list item's keys past its `- ` (two more spaces than the `-`), all in one column",
        )
    if problem.startswith("mapping values are not allowed"):
        above = _previous(lines, mark.line)
        if above is not None and spaces > _indent(lines[above]) and ":" not in here[: mark.column].rstrip(": "):
            return Explained(
                where,
                spaces + 1,
                f"invalid YAML: line {where} is indented deeper than line {above + 1} above it, so YAML "
                f"reads it as more of that line's value, and its `:` cannot start a key there",
                f"indent it as much as line {above + 1} if it is another key of the same mapping, "
                f"or quote the value of line {above + 1}",
            )
        return Explained(
            where,
            mark.column + 1,
            f"invalid YAML: line {where} has a `: ` inside a plain value, which YAML reads as the start of a key",
            'put the value in quotes: `prompt: "The camera: slow"`',
        )
    return None
