"""The bytes a shot is generated from are the bytes its cache key was computed from.

The compiler hashes every file asset into the shot's key; a backend reads the file later, at
render or upload time. An asset edited in between (a painter saving over ``mira.png`` while a
long build runs) would otherwise be uploaded or rendered under the old key: the upload cache
would map the old hash to the new picture, and the clip made from it would be cached as if made
from the old one. So each file asset is read once, hashed while it is copied into the build's
scratch folder, and the backend is given that private read-only copy; when the hash differs from
the compiled one, the shot fails with a message and nothing is sent.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from storyboard.errors import AssetChangedError
from storyboard.plan import AssetRef

CHUNK = 1 << 20


def snapshot_input(ref: AssetRef, folder: Path, shot_id: str) -> Path:
    """A read-only copy of the file asset ``ref`` in ``folder`` whose bytes hash to ``ref.sha256``.

    AssetChangedError when the file changed (or vanished) since the plan was compiled.
    """
    name = Path(ref.value).name  # the same file name: uploads keep their name and content type
    digest = ref.sha256
    dest = folder / (digest or "unhashed") / name
    if digest is not None and dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    h = hashlib.sha256()
    try:
        try:
            with open(ref.path, "rb") as src, open(tmp, "wb") as out:
                for chunk in iter(lambda: src.read(CHUNK), b""):
                    h.update(chunk)
                    out.write(chunk)
        except FileNotFoundError:
            raise AssetChangedError(
                f"{ref.display} was removed while the build was running; nothing was generated for shot "
                f"{shot_id!r} — put it back (or change the storyboard) and build again"
            ) from None
        if digest is not None and h.hexdigest() != digest:
            raise AssetChangedError(
                f"{ref.display} changed while the build was running: its bytes are no longer the ones shot "
                f"{shot_id!r} was compiled from, so nothing was generated for it (its cache key would lie) "
                "— build again to use the new version"
            )
        os.chmod(tmp, 0o444)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest
