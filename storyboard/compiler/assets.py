"""Asset references: path rules, image checks and content hashes.

The only place where the compiler reads asset bytes, and only to check that each asset is a
real image within the models' limits and to hash it for cache keys. Every file is read once,
however many shots use it. A file's size is checked before it is opened, and no more than the
limit (10 MB) plus one byte is ever read, so a multi-gigabyte file named ``.png`` costs nothing.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from storyboard.compiler.models import ANY_MODEL_IMAGES
from storyboard.plan import AssetRef, ImageLimits
from storyboard.util import did_you_mean

HASH_CHUNK = 1 << 20  # files read without the image check are hashed in pieces of this size


class AssetProblem(Exception):
    """An asset string that cannot be used; carries a message and a hint."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What the image check found."""

    format: str
    width: int
    height: int
    size: int


@dataclass
class AssetStore:
    """Turns asset strings into :class:`AssetRef` objects, checking and hashing each file once per declaring folder."""

    root: Path  # the storyboard's folder: displays are relative to it
    allow_outside: bool = False
    check_images: bool = True
    limits: ImageLimits = ANY_MODEL_IMAGES
    # keyed by (file, folder of the declaring file): whether a path may be used depends on who declares it
    _refs: dict[tuple[Path, Path], AssetRef] = field(default_factory=dict)
    _errors: dict[tuple[Path, Path], AssetProblem] = field(default_factory=dict)
    infos: dict[str, ImageInfo] = field(default_factory=dict)  # by sha256

    def ref(self, raw: str, declared_in: Path) -> AssetRef:
        """The AssetRef for ``raw`` as written in the file ``declared_in``; AssetProblem if unusable."""
        if raw.startswith(("http://", "https://")):
            if len(raw) < 12 or " " in raw:
                raise AssetProblem(f"{raw!r} is not a valid URL")
            return AssetRef("url", raw, raw)
        if "://" in raw or raw.startswith(("file:", "data:")):
            raise AssetProblem(f"{raw!r}: only relative paths and http(s) URLs are accepted")
        if raw.startswith("~"):
            raise AssetProblem(f"{raw!r}: `~` is not expanded", "write the path relative to this file")
        base = declared_in.parent
        if os.path.isabs(raw) and not self.allow_outside:
            raise AssetProblem(
                f"{raw!r} is an absolute path",
                "write it relative to this file (or pass --allow-outside-assets)",
            )
        path = Path(os.path.normpath(base / raw))
        key = (path, base)
        cached = self._refs.get(key)
        if cached is not None:
            return cached
        if key in self._errors:
            raise self._errors[key]
        try:
            ref = self._make(path, raw, base)
        except AssetProblem as exc:
            self._errors[key] = exc
            raise
        self._refs[key] = ref
        return ref

    def _make(self, path: Path, raw: str, base: Path) -> AssetRef:
        # Containment first, existence second: a library must not learn (through "not found" or a
        # did-you-mean listing the folder) which files exist outside its folder.
        if not self.allow_outside and not inside_folder(path, base):
            raise AssetProblem(
                f"{raw!r} points outside the folder of the file that declares it",
                "keep assets beside the file (a shared library may not read other files), "
                "or pass --allow-outside-assets",
            )
        if not path.exists():
            hint = None
            if path.parent.is_dir():
                hint = did_you_mean(path.name, os.listdir(path.parent))
            raise AssetProblem(f"asset file {raw!r} not found", hint)
        if not path.is_file():
            raise AssetProblem(f"{raw!r} is not a file")
        if not self.check_images:
            return AssetRef("file", str(path), _display(path, self.root), _hash_file(path))
        data = read_bounded(path, raw, self.limits)
        digest = hashlib.sha256(data).hexdigest()
        if digest not in self.infos:
            self.infos[digest] = check_image(data, raw, self.limits)
        return AssetRef("file", str(path), _display(path, self.root), digest)


def inside_folder(path: Path, base: Path) -> bool:
    """True when ``path`` stays in ``base`` both as written (no ``..`` out) and after following symlinks."""
    written, folder = Path(os.path.abspath(path)), Path(os.path.abspath(base))
    return written.is_relative_to(folder) and path.resolve().is_relative_to(base.resolve())


def _display(path: Path, root: Path) -> str:
    try:
        return os.path.relpath(path, root).replace(os.sep, "/")
    except ValueError:  # pragma: no cover - another drive
        return str(path)


def read_bounded(path: Path, name: str, limits: ImageLimits) -> bytes:
    """The bytes of an image file, refused by its size before any is read; never more than the limit + 1."""
    too_big = limits.size_problem(path.stat().st_size)
    if too_big is not None:
        raise AssetProblem(f"{name!r} {too_big}")
    with path.open("rb") as f:
        data = f.read(limits.max_bytes + 1)  # the file may have grown since stat
    too_big = limits.size_problem(len(data))
    if too_big is not None:
        raise AssetProblem(f"{name!r} {too_big}")
    return data


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_image(data: bytes, name: str, limits: ImageLimits = ANY_MODEL_IMAGES) -> ImageInfo:
    """Check the bytes against ``limits`` (size, then the header, then a full decode); AssetProblem if they fail."""
    too_big = limits.size_problem(len(data))
    if too_big is not None:
        raise AssetProblem(f"{name!r} {too_big}")
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow warns from 89 Mpx; the header check below refuses far less (limits.max_pixels)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:  # reads the header only
                fmt = im.format or "?"
                width, height = im.size
                refused = limits.header_problem(fmt, width, height)
                if refused is not None:
                    raise AssetProblem(f"{name!r} {refused}")
                im.load()
    except AssetProblem:
        raise
    except Image.DecompressionBombError:  # Pillow's own refusal, from 179 Mpx, raised by open()
        raise AssetProblem(f"{name!r} has too many pixels to be a reference image") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise AssetProblem(
            f"{name!r} is not a readable image ({exc.__class__.__name__})", "use a PNG, JPEG or WebP"
        ) from None
    refused = limits.image_problem(fmt, width, height)
    if refused is not None:
        raise AssetProblem(f"{name!r} {refused}")
    return ImageInfo(fmt, width, height, len(data))


def frame_ref(shot_id: str) -> AssetRef:
    """The AssetRef of a shot's last frame."""
    return AssetRef("last_frame", shot_id, f"{shot_id}.last_frame")
