"""Freezing a generated asset in the YAML: ``generate:`` → ``image:``/``references:`` (or ``images:``, or a path).

A text edit at the positions the loader's node tree gives: only the ``generate`` entry (for a
named image, the asset's value) is replaced, so every comment, blank line, quote and indent
elsewhere in the file stays as the user wrote it. The edited text is loaded again and compared
with the expected data before anyone writes it. Pure: text in, text out.

Decision: this edit uses PyYAML's composer, not ruamel.yaml (which ``storyboard pick`` uses). A
splice needs where a node ends as well as where it starts, and the composer gives both marks for
every node; ruamel's round-trip data records only where keys and values start, and dumping its
data again would re-indent and re-quote what the author wrote. PyYAML is also the loader the
storyboard is read with, so the check after the edit reads it as the build will.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from storyboard.errors import UsageError


@dataclass(frozen=True, slots=True)
class Frozen:
    """What a frozen asset is declared with instead of ``generate:``."""

    table: str  # characters | objects | styles | images
    name: str
    files: tuple[str, ...]  # paths relative to the storyboard: frontal then views, or a style's images


def _scalar(text: str) -> str:
    """A path as YAML text: plain when YAML reads it back as that string, else JSON-quoted."""
    plain = yaml.safe_load(text) == text and not text.strip() != text and ": " not in text and "#" not in text
    return text if plain and text and text[0] not in "[]{},&*!|>'\"%@`" else json.dumps(text)


def _tight_end(node: yaml.Node) -> int:
    """Where a node's own text ends (a block collection's end mark lies past trailing blank lines and comments)."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _tight_end(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _tight_end(node.value[-1])
    return int(node.end_mark.index)


def _pair(node: yaml.Node, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return k, v
    return None


def freeze_text(text: str, frozen: Frozen, display: str = "the storyboard") -> str:
    """``text`` with the asset's ``generate:`` replaced by its files; UsageError when it cannot be done safely."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)  # the pure loader: marks index characters
    table = _pair(root, frozen.table) if root is not None else None
    asset = _pair(table[1], frozen.name) if table is not None else None
    if asset is None:
        raise UsageError(f"{display} declares no {frozen.table[:-1]} {frozen.name!r}")
    key_node, value = asset
    gen = _pair(value, "generate")
    if gen is None:
        raise UsageError(f"{frozen.name!r} in {display} has no `generate:` (is it frozen already?)")
    files = [_scalar(f) for f in frozen.files]
    if frozen.table == "images":
        if len(value.value) > 1 + (_pair(value, "description") is not None):
            raise UsageError(f"{display}: the image {frozen.name!r} has fields besides `generate`; freeze it by hand")
        start, end, new = int(key_node.end_mark.index), _tight_end(value), ": " + files[0]
    else:
        k, v = gen
        flow = bool(getattr(value, "flow_style", False))
        sep = ", " if flow else "\n" + " " * int(k.start_mark.column)
        if frozen.table == "styles":
            new = "images: [" + ", ".join(files) + "]"
        else:
            new = f"image: {files[0]}" + (sep + "references: [" + ", ".join(files[1:]) + "]" if files[1:] else "")
        start, end = int(k.start_mark.index), _tight_end(v)
        if not flow:  # a comment after the block's last line is about generate's fields: it goes with them
            stop = text.find("\n", end)
            rest = text[end : len(text) if stop < 0 else stop]
            if not rest.strip() or rest.lstrip().startswith("#"):
                end += len(rest.rstrip("\r"))
    edited = text[:start] + new + text[end:]
    expected: Any = yaml.safe_load(text)
    entry = expected[frozen.table][frozen.name]
    if frozen.table == "images":
        expected[frozen.table][frozen.name] = frozen.files[0]
    else:
        del entry["generate"]
        if frozen.table == "styles":
            entry["images"] = list(frozen.files)
        else:
            entry["image"] = frozen.files[0]
            if frozen.files[1:]:
                entry["references"] = list(frozen.files[1:])
    try:
        ok = yaml.safe_load(edited) == expected
    except yaml.YAMLError:
        ok = False
    if not ok:
        raise UsageError(
            f"{display}: could not rewrite {frozen.name!r} safely; replace its `generate:` by hand with "
            + (f"`{frozen.files[0]}`" if frozen.table == "images" else "the files written")
        )
    return edited
