"""Small parts of the fal backend: fal-client's logs redacted,
fal's error words made readable, the start-frame check against fal's image limits, and fal's
element rule (1 to 3 reference views) guarded on the request."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from storyboard.errors import BackendError, CredentialsError, redact
from storyboard.plan import ImageLimits


class _RedactingHandler(logging.StreamHandler):
    """Shows fal-client's own warnings (upload fallbacks, backup domains) with any key scrubbed.

    fal-client logs through :mod:`logging` with no handler of its own, so Python's last-resort
    handler would print the exception text raw on stderr — and a service or proxy that echoes
    the key in an error would put it on screen. Every record now passes through :func:`redact`.
    """

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # the stderr of now, not of when the handler was made
        super().emit(record)


def redact_fal_client_logs() -> None:
    logger = logging.getLogger("fal_client")
    if not any(isinstance(h, _RedactingHandler) for h in logger.handlers):
        handler = _RedactingHandler()
        handler.setFormatter(logging.Formatter("warning: fal-client: %(message)s"))
        handler.setLevel(logging.WARNING)
        logger.addHandler(handler)
        logger.propagate = False  # not to the last-resort handler, which would print it unredacted


def detail_words(detail: Any) -> str:
    """fal's 422 ``detail`` (a pydantic-style list or a string) as one readable line."""
    if isinstance(detail, list):
        parts = []
        for d in detail:
            if isinstance(d, dict):
                loc = ".".join(str(x) for x in d.get("loc", []) if x != "body")
                parts.append(f"{loc}: {d.get('msg', '')}" if loc else str(d.get("msg", d)))
            else:
                parts.append(str(d))
        return "; ".join(parts)
    return str(detail)


def check_start_frame(path: Path, what: str, limits: ImageLimits) -> None:
    """Refuse a frame the build extracted (a last or first frame) that the shot's model would refuse
    as an image input, before uploading it; ``limits`` are the model's, carried on the Plan."""
    from storyboard.media.verify import image_size

    problem = limits.size_problem(path.stat().st_size)
    if problem is None:
        fmt, width, height = image_size(path)
        problem = limits.image_problem(fmt, width, height)
    if problem:
        raise BackendError(f"{what} cannot be a start or end frame on fal: it {problem}; nothing was uploaded")


def with_reference_views(request: dict[str, Any]) -> dict[str, Any]:
    """The request with every element carrying 1 to 3 reference views, as fal's schema requires.

    An element declared without ``references`` sends its frontal image as its one reference
    view (fal: "1-3 images supported. At least one image is required."; an empty list is a 422
    or, worse, a paid "phantom"). The compiler does this too; this guard keeps any plan that
    reaches the backend from leaving the machine in a shape fal refuses.
    """
    elements = request.get("elements")
    if not isinstance(elements, list):
        return request
    fixed = [
        {**e, "reference_image_urls": [e["frontal_image_url"]]}
        if isinstance(e, dict) and not e.get("reference_image_urls") and e.get("frontal_image_url")
        else e
        for e in elements
    ]
    return {**request, "elements": fixed}


def check_key_form() -> None:
    """CredentialsError when a credential carries whitespace or control characters (never shown).

    A CRLF ``.env`` file or a CI secret saved with a newline gives ``FAL_KEY=…\\r``: httpx then
    refuses the header and its error quotes the key. Refused, not stripped: fal-client reads the
    environment itself, and a key quietly mended hides a broken secret store.
    """
    for var in ("FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET"):
        value = os.environ.get(var)
        if not value or value.isprintable() and value == value.strip() and " " not in value:
            continue
        if value.endswith("\r\n") or value.endswith("\r"):
            what = "ends with a carriage return (a Windows-style .env file?)"
        elif value.endswith("\n"):
            what = "ends with a line break"
        elif value != value.strip():
            what = "has spaces or tabs around it"
        else:
            what = "contains a space or a control character"
        raise CredentialsError(
            f"{var} {what}; nothing was sent to fal. Set it to the key alone, e.g. "
            f'export {var}="$(printf %s "${var}" | tr -d \'[:space:]\')"'
        )
