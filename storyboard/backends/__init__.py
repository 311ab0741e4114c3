"""Generation backends, registered by name; each module is imported only when chosen.

``preview`` renders an offline animatic (the default, no key); ``fal`` calls fal.ai through
the real ``fal-client``. Both implement :class:`storyboard.backends.base.Backend`. A backend of
your own is named ``package.module:ClassName`` (that name, made safe for a path, namespaces the cache).
"""

from __future__ import annotations

import importlib

from storyboard.backends.base import Backend, as_backend, is_paid
from storyboard.errors import UsageError

BACKENDS: dict[str, tuple[str, str]] = {
    "preview": ("storyboard.backends.preview", "PreviewBackend"),
    "fal": ("storyboard.backends.fal", "FalBackend"),
}
DEFAULT_BACKEND = "preview"


def backend_name(explicit: str | None, from_environment: str | None = None) -> str:
    """The backend to use: the flag, else the ``STORYBOARD_BACKEND`` value the CLI read, else ``preview``."""
    name = explicit or from_environment or DEFAULT_BACKEND
    if name not in BACKENDS and ":" not in name:
        source = "--backend" if explicit else "STORYBOARD_BACKEND"
        raise UsageError(f"unknown backend {name!r} (from {source}); choose one of: {', '.join(BACKENDS)}")
    return name


def backend_class(name: str) -> type:
    """The class of the named backend (a registered name or ``module:Class``), imported now."""
    module, cls = BACKENDS[name] if name in BACKENDS else name.split(":", 1)
    try:
        found = getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError, ValueError) as exc:
        raise UsageError(f"cannot load backend {name!r}: {exc}") from None
    if not isinstance(found, type):
        raise UsageError(f"cannot load backend {name!r}: {cls} is not a class")
    return found


def backend_is_paid(name: str) -> bool:
    """Whether the named backend's generations cost money (without making one)."""
    return is_paid(backend_class(name))


def make_backend(name: str, **options: object) -> Backend:
    """An instance of the named backend (a registered name or ``module:Class``)."""
    made = backend_class(name)(**options)
    try:
        return as_backend(made, name)
    except TypeError as exc:  # no generate(job): not a backend
        raise UsageError(f"cannot load backend {name!r}: {exc}") from None


def cache_namespace(name: str) -> str:
    """The cache folder a backend's clips live in: its name, made safe for a path."""
    return name if name in BACKENDS else "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
