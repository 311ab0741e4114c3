"""``storyboard freeze NAME``: a generated asset's images written to files, its declaration pointed at them.

The images come from the cache of one backend (refused, with what to run, when they are not
generated yet). The YAML edit keeps every comment and format (:mod:`storyboard.compiler.freeze`).
A frozen asset's shots key on the files' bytes instead of the generation's key, so each shot
whose clip that backend's cache holds under the old key is filed under its new key too: the
clip was made from exactly those bytes, and freezing costs no generation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from storyboard.build.cache import Cache, copy_bytes, place_file
from storyboard.build.images import ImageRecord, ImageStore
from storyboard.errors import InputError, UsageError, relpath
from storyboard.plan import ImagePlan, Plan
from storyboard.util import atomic_write_bytes

TABLES = {"character": "characters", "object": "objects", "style": "styles", "image": "images"}


@dataclass
class FreezeOutcome:
    """What freezing wrote."""

    name: str
    files: list[Path]
    storyboard: Path
    refiled: list[str] = field(default_factory=list)  # shots whose cached clip now answers their new key
    unchanged_keys: list[str] = field(default_factory=list)  # shots whose key did not change (none use it)


def file_stem(image: ImagePlan) -> str:
    """``front``, ``view1``, ``image1`` (a style's), ``image`` (a named image's)."""
    return image.id.rsplit(".", 1)[-1]


def freeze(plan: Plan, name: str, cache: Cache, to_dir: Path | None = None, backend: str = "preview") -> FreezeOutcome:
    """Write ``name``'s generated images from ``cache`` into ``to_dir`` (default ``assets/<name>/``) and
    rewrite its declaration to point at them; UsageError (nothing written) when it cannot."""
    from storyboard.compiler.compile import compile_file
    from storyboard.compiler.freeze import Frozen, freeze_text
    from storyboard.compiler.load import read_text

    images = [i for i in plan.images if i.asset == name]
    if not images:
        generated = sorted({i.asset for i in plan.images})
        hint = f"generated assets: {', '.join(generated)}" if generated else "this storyboard has no generated assets"
        raise UsageError(f"{name!r} is not a generated asset of {relpath(plan.source)} ({hint})")
    if "." in name:
        raise UsageError(
            f"{name!r} is declared in an imported library: freeze it where it is declared (a library has no "
            "build of its own yet), or declare the asset in the storyboard"
        )
    store = ImageStore(cache)
    records: list[tuple[ImagePlan, ImageRecord]] = []
    missing = []
    for image in images:
        record = store.lookup(image.key)
        if record is None:
            missing.append(image.id)
        else:
            records.append((image, record))
    if missing:
        raise UsageError(
            f"{name!r} is not generated yet with --backend {backend} ({', '.join(missing)} not in its cache): run "
            f"`storyboard build {relpath(plan.source)} --backend {backend}` first, then freeze it"
        )
    folder = (to_dir if to_dir is not None else plan.root / "assets" / name).absolute()
    if not folder.resolve().is_relative_to(plan.root.resolve()):
        raise UsageError(
            f"{relpath(folder)} is outside the storyboard's folder {relpath(plan.root)}: the frozen files must "
            "stay beside the storyboard (the folder rule of assets)"
        )
    targets = [folder / f"{file_stem(i)}{r.extension}" for i, r in records]
    for (_, record), target in zip(records, targets, strict=True):
        if target.exists() and (not target.is_file() or _digest(target) != record.sha256):
            raise UsageError(f"{relpath(target)} exists with other bytes; move it away or freeze --to another folder")
    text = read_text(plan.source, relpath(plan.source))
    table = TABLES[images[0].kind]
    rel = [target.relative_to(plan.root.absolute()).as_posix() for target in targets]
    edited = freeze_text(text, Frozen(table, name, tuple(rel)), relpath(plan.source))
    folder.mkdir(parents=True, exist_ok=True)
    for (_, record), target in zip(records, targets, strict=True):
        place_file(store.path(record), target, record.sha256)
    if read_text(plan.source, relpath(plan.source)) != text:
        raise UsageError(f"{relpath(plan.source)} changed while freezing; nothing was rewritten — run freeze again")
    atomic_write_bytes(plan.source, edited.encode("utf-8"))
    try:
        after = compile_file(plan.source)
    except InputError:  # never leave a storyboard that does not compile: put the user's text back
        atomic_write_bytes(plan.source, text.encode("utf-8"))
        raise
    outcome = FreezeOutcome(name, targets, plan.source)
    new = after.by_id()
    cache.lock()
    try:
        for shot in plan.shots:
            moved = new.get(shot.id)
            if moved is None or moved.key == shot.key:
                outcome.unchanged_keys.append(shot.id)
                continue
            clip = cache.lookup(shot.key)
            if clip is not None and cache.lookup(moved.key) is None:
                tmp = cache.temp_path(moved.key)
                copy_bytes(cache.clip_path(shot.key), tmp)
                cache.store(moved.key, tmp, shot_id=shot.id, duration=clip.duration)
                outcome.refiled.append(shot.id)
    finally:
        cache.unlock()
    return outcome


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
