"""fal's published input schema for Kling O1 reference-to-video, as the fake enforces it.

Written from fal's own schema and documentation (``/work/shared/spec/fal-kling-o1.md``), never
from the compiler's limits: the fake must catch the compiler being wrong. Where fal is silent
the fake is stricter (unknown fields are refused, tags must name an input that exists, image
URLs must be files the fake itself holds). :func:`validate_input` answers like fal's pydantic
model: a list of ``{"loc", "msg", "type"}`` items, empty when the input is acceptable.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

ENDPOINTS = (
    "fal-ai/kling-video/o1/standard/reference-to-video",
    "fal-ai/kling-video/o1/reference-to-video",
)
FIELDS = frozenset({"prompt", "image_urls", "elements", "duration", "aspect_ratio"})
ELEMENT_FIELDS = frozenset({"frontal_image_url", "reference_image_urls"})
DURATIONS = tuple(str(n) for n in range(3, 11))  # a string enum, "3" … "10"
ASPECT_RATIOS = ("16:9", "9:16", "1:1")
MAX_REFERENCES = 7  # elements + reference images + start image
MAX_PROMPT = 2500  # characters, Kling's documented limit
ELEMENT_REFERENCES = (1, 3)  # "1-3 images supported. At least one image is required."
MAX_IMAGE_BYTES = 10_000_000  # fal writes "10 MB": the decimal reading is the stricter one
MIN_IMAGE_SIDE = 300
IMAGE_ASPECT = (0.40, 2.50)
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP")

_TAG = re.compile(r"@(Element|Image)(\d+)")

UrlCheck = Callable[[str], "tuple[str, str] | None"]


def _err(loc: list[Any], msg: str, type_: str, value: Any = None) -> dict[str, Any]:
    item: dict[str, Any] = {"loc": loc, "msg": msg, "type": type_}
    if type_ != "missing":
        item["input"] = value
    return item


def _extra(loc: list[Any], body: dict[str, Any], allowed: frozenset[str], errors: list[dict[str, Any]]) -> None:
    for name in sorted(set(body) - allowed, key=str):
        errors.append(_err([*loc, name], "Extra inputs are not permitted", "extra_forbidden", body[name]))


def _check_url(loc: list[Any], value: Any, errors: list[dict[str, Any]], known: UrlCheck | None) -> None:
    if not isinstance(value, str):
        errors.append(_err(loc, "Input should be a valid string", "string_type", value))
    elif not re.match(r"^https://[^/\s]+", value):
        errors.append(_err(loc, "URL scheme should be 'https'", "url_scheme", value))
    elif known is not None and (problem := known(value)) is not None:
        errors.append(_err(loc, problem[0], problem[1], value))


def _url_list(
    loc: list[Any],
    value: Any,
    errors: list[dict[str, Any]],
    known: UrlCheck | None,
    bounds: tuple[int, int] | None = None,
) -> int:
    if value is None:
        if bounds is not None:
            errors.append(_err(loc, "field required", "missing"))
        return 0
    if not isinstance(value, list):
        errors.append(_err(loc, "Input should be a valid list", "list_type", value))
        return 0
    if bounds is not None and len(value) < bounds[0]:
        msg = f"List should have at least {bounds[0]} item after validation, not {len(value)}"
        errors.append(_err(loc, msg, "too_short", value))
    if bounds is not None and len(value) > bounds[1]:
        msg = f"List should have at most {bounds[1]} items after validation, not {len(value)}"
        errors.append(_err(loc, msg, "too_long", value))
    for i, url in enumerate(value):
        _check_url([*loc, i], url, errors, known)
    return len(value)


def _enum(body: dict[str, Any], key: str, allowed: tuple[str, ...], errors: list[dict[str, Any]]) -> None:
    if key in body and body[key] not in allowed:
        expected = ", ".join(f"'{a}'" for a in allowed[:-1]) + f" or '{allowed[-1]}'"
        errors.append(_err(["body", key], f"Input should be {expected}", "enum", body[key]))


def _check_prompt(prompt: Any, errors: list[dict[str, Any]]) -> None:
    loc = ["body", "prompt"]
    if prompt is None:
        errors.append(_err(loc, "field required", "missing"))
    elif not isinstance(prompt, str):
        errors.append(_err(loc, "Input should be a valid string", "string_type", prompt))
    elif not prompt.strip():
        errors.append(_err(loc, "String should have at least 1 character", "string_too_short", prompt))
    elif len(prompt) > MAX_PROMPT:
        errors.append(_err(loc, f"String should have at most {MAX_PROMPT} characters", "string_too_long", prompt))


def _check_elements(elements: Any, errors: list[dict[str, Any]], known: UrlCheck | None) -> int:
    if elements is None:
        return 0
    if not isinstance(elements, list):
        errors.append(_err(["body", "elements"], "Input should be a valid list", "list_type", elements))
        return 0
    for i, element in enumerate(elements):
        loc = ["body", "elements", i]
        if not isinstance(element, dict):
            errors.append(_err(loc, "Input should be a valid dictionary", "dict_type", element))
            continue
        _extra(loc, element, ELEMENT_FIELDS, errors)
        if element.get("frontal_image_url") is None:
            errors.append(_err([*loc, "frontal_image_url"], "field required", "missing"))
        else:
            _check_url([*loc, "frontal_image_url"], element["frontal_image_url"], errors, known)
        refs = element.get("reference_image_urls")
        _url_list([*loc, "reference_image_urls"], refs, errors, known, ELEMENT_REFERENCES)
    return len(elements)


def validate_input(body: Any, *, known: UrlCheck | None = None) -> list[dict[str, Any]]:
    """The 422 ``detail`` items the Kling O1 reference-to-video endpoint would answer for ``body``.

    ``known(url)`` may return ``(message, error type)`` for a URL the service cannot use (a file
    never uploaded, an image that breaks the image rules), or None when the URL is fine.
    """
    if not isinstance(body, dict):
        return [_err(["body"], "Input should be a valid dictionary", "dict_type", body)]
    errors: list[dict[str, Any]] = []
    _extra(["body"], body, FIELDS, errors)
    prompt = body.get("prompt")
    _check_prompt(prompt, errors)
    _enum(body, "duration", DURATIONS, errors)
    _enum(body, "aspect_ratio", ASPECT_RATIOS, errors)
    n_images = _url_list(["body", "image_urls"], body.get("image_urls"), errors, known)
    n_elements = _check_elements(body.get("elements"), errors, known)
    if n_elements + n_images > MAX_REFERENCES:
        errors.append(
            _err(
                ["body"],
                f"Value error, at most {MAX_REFERENCES} elements and images in total are allowed, got "
                f"{n_elements} element(s) and {n_images} image(s)",
                "value_error",
            )
        )
    if isinstance(prompt, str):
        for what, number in _TAG.findall(prompt):
            n, available = int(number), (n_elements if what == "Element" else n_images)
            if not 1 <= n <= available:
                errors.append(
                    _err(
                        ["body", "prompt"],
                        f"Value error, @{what}{n} is out of range: {available} "
                        f"{'element(s)' if what == 'Element' else 'image(s)'} given",
                        "value_error",
                        prompt,
                    )
                )
    return errors


def image_problem(data: bytes) -> tuple[str, str] | None:
    """fal's documented image rules, as (message, error type), or None if the image passes."""
    from PIL import Image

    if len(data) > MAX_IMAGE_BYTES:
        return "Image is larger than 10 MB", "image_too_large"
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt, (width, height) = image.format, image.size
    except Exception:
        return "The image could not be loaded", "image_load_error"
    if fmt not in IMAGE_FORMATS:
        return f"Unsupported image format {fmt}; use JPEG, PNG or WebP", "image_load_error"
    if min(width, height) < MIN_IMAGE_SIDE:
        return f"Image is too small ({width}x{height}); at least 300 px on each side", "image_too_small"
    low, high = IMAGE_ASPECT
    if not low <= width / height <= high:
        return f"Image aspect ratio {width / height:.2f} is outside 0.40–2.50", "invalid_aspect_ratio"
    return None
