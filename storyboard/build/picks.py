"""``storyboard pick``: write ``pick: N`` into the storyboard file, touching nothing else.

ruamel.yaml's round-trip parser finds the shot and the line and column of its ``pick`` (or of its
``id`` when there is none yet); the edit replaces that one number, or adds one ``pick: N`` line
after ``takes:`` or ``id:`` with the same indentation (inside a flow mapping, ``pick: N, `` before
``id``). Every other byte, comment and blank line of the file stays as it was. Before writing,
the new text is parsed again and must equal the old data with only that pick changed; and the
file on disk must still be the one that was read (its sha256), so an edit saved meanwhile in an
editor is never overwritten.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storyboard.errors import UsageError
from storyboard.util import atomic_write_bytes, did_you_mean

_INT = re.compile(r"[0-9]+")
_LINE = re.compile(r"[^\n]*\n|[^\n]+$")


class StaleFileError(UsageError):
    """The storyboard changed on disk between reading and writing it (exit 2; nothing written)."""


@dataclass(frozen=True, slots=True)
class PickEdit:
    """The result of writing a pick."""

    path: Path
    shot_id: str
    take: int
    previous: int | None  # the pick written before (None: there was none)
    line: int  # 1-based line of the pick in the new file
    sha256: str  # of the file as written


def file_digest(path: Path) -> str:
    """The sha256 of the file's bytes (what :func:`write_pick` compares before writing)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _yaml() -> Any:
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.allow_duplicate_keys = False
    return y


def _safe_load(text: str) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(io.StringIO(text))


def _find_shot(data: Any, shot_id: str, display: str) -> tuple[int, Any]:
    shots = data.get("shots") if hasattr(data, "get") else None
    if not isinstance(shots, list):
        raise UsageError(f"{display} has no list of shots")
    ids = []
    for i, shot in enumerate(shots):
        if hasattr(shot, "get"):
            ids.append(str(shot.get("id")))
            if shot.get("id") == shot_id:
                return i, shot
    hint = did_you_mean(shot_id, ids)
    raise UsageError(f"unknown shot {shot_id!r} in {display}" + (f" — {hint}" if hint else ""))


def _offset(lines: list[str], line: int, col: int) -> int:
    return sum(len(x) for x in lines[:line]) + col


def edit_pick(text: str, shot_id: str, take: int, display: str = "the storyboard") -> tuple[str, int | None, int]:
    """``text`` with ``pick: take`` set on the shot ``shot_id``; also the previous pick and the 1-based line."""
    data = _yaml().load(text)
    index, shot = _find_shot(data, shot_id, display)
    lines = _LINE.findall(text)  # line breaks as YAML counts them (not str.splitlines' form feeds)
    previous: int | None = None
    if "pick" in shot and "pick" in getattr(shot, "_ok", shot):  # written in this mapping, not merged into it
        previous = shot["pick"] if isinstance(shot["pick"], int) else None
        line, col = shot.lc.value("pick")
        start = _offset(lines, line, col)
        m = _INT.match(text, start)
        if m is None:
            raise UsageError(f"{display}:{line + 1}: the pick of shot {shot_id!r} is not a number; fix it by hand")
        new = text[:start] + str(take) + text[m.end() :]
        at = line
    elif shot.fa.flow_style():
        line, col = shot.lc.key("id")
        start = _offset(lines, line, col)
        new = text[:start] + f"pick: {take}, " + text[start:]
        at = line
    else:
        anchor = "takes" if "takes" in shot else "id"
        line, col = shot.lc.key(anchor)
        vline, _ = shot.lc.value(anchor)
        if vline != line:
            raise UsageError(f"{display}:{line + 1}: cannot place `pick:` after a multi-line {anchor}; add it by hand")
        eol = lines[line][len(lines[line].rstrip("\r\n")) :] or "\n"
        if not lines[line].endswith(("\n", "\r")):
            lines[line] += eol
        lines.insert(line + 1, " " * col + f"pick: {take}" + eol)
        new = "".join(lines)
        at = line + 1
    expected = _safe_load(text)
    expected["shots"][index]["pick"] = take
    if _safe_load(new) != expected:  # pragma: no cover - a guard: the edit must change only the pick
        raise UsageError(f"{display}: could not write the pick of {shot_id!r} safely; add `pick: {take}` by hand")
    return new, previous, at + 1


def write_pick(path: Path, shot_id: str, take: int, *, expect_sha256: str | None = None) -> PickEdit:
    """Write ``pick: take`` on shot ``shot_id`` of the storyboard at ``path``, atomically.

    ``expect_sha256`` is the digest of the file as the caller compiled it: if the file differs now
    (saved in an editor meanwhile), StaleFileError and nothing is written. The file is also read
    again just before the rename, so a save during the edit is refused too.
    """
    from storyboard.errors import relpath

    display = relpath(path)
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if expect_sha256 is not None and digest != expect_sha256:
        raise StaleFileError(
            f"{display} changed on disk since it was read; nothing was written — check your edit and pick again"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{display} is not UTF-8 text") from None
    new, previous, line = edit_pick(text, shot_id, take, display)
    data = new.encode("utf-8")
    if file_digest(path) != digest:
        raise StaleFileError(f"{display} changed on disk while the pick was written; nothing was written — pick again")
    mode = os.stat(path).st_mode & 0o7777
    atomic_write_bytes(path, data)
    os.chmod(path, mode)
    return PickEdit(path, shot_id, take, previous, line, hashlib.sha256(data).hexdigest())
