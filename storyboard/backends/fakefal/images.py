"""The fake's image endpoints: FLUX.1 [dev] text-to-image and FLUX.1 Kontext [pro] image-to-image on fal.

Each input is checked against fal's published schema for the endpoint (fal.ai's API reference
and ``llms.txt`` of ``fal-ai/flux/dev`` and ``fal-ai/flux-pro/kontext``), written here and never
read from storyboard's compiler; stricter where fal is silent (an unknown field is refused). A
result is a real PNG or JPEG: of the ``image_size`` asked (FLUX.1 [dev]), or of the input
image's shape (Kontext keeps it when no ``aspect_ratio`` is sent), served from the fake CDN.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from storyboard.backends.fakefal.schema import UrlCheck, _check_url, _err
from storyboard.backends.fakefal.video import StoredFile

if TYPE_CHECKING:
    from storyboard.backends.fakefal.protocol import Job
    from storyboard.backends.fakefal.video import MediaStore

FLUX_DEV = "fal-ai/flux/dev"
KONTEXT = "fal-ai/flux-pro/kontext"
ENDPOINTS = (FLUX_DEV, KONTEXT)

SIZE_ENUM: dict[str, tuple[int, int]] = {  # fal's ImageSize enum for FLUX
    "square_hd": (1024, 1024),
    "square": (512, 512),
    "portrait_4_3": (768, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_16_9": (1024, 576),
}
MAX_SIDE = 14142  # fal's ImageSize: width and height at most 14142
KONTEXT_RATIOS = ("21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21")
_COMMON: dict[str, tuple[type | tuple[type, ...], tuple[float, float] | None]] = {
    "prompt": (str, None),
    "seed": (int, None),
    "guidance_scale": ((int, float), (1, 20)),
    "sync_mode": (bool, None),
    "num_images": (int, (1, 4)),
    "output_format": (str, None),
}
_FIELDS: dict[str, dict[str, tuple[type | tuple[type, ...], tuple[float, float] | None]]] = {
    FLUX_DEV: {**_COMMON, "image_size": ((str, dict), None), "num_inference_steps": (int, (1, 50)),
               "enable_safety_checker": (bool, None), "acceleration": (str, None)},
    KONTEXT: {**_COMMON, "image_url": (str, None), "safety_tolerance": (str, None), "aspect_ratio": (str, None),
              "enhance_prompt": (bool, None)},
}  # fmt: skip
_REQUIRED = {FLUX_DEV: ("prompt",), KONTEXT: ("prompt", "image_url")}
_ENUMS = {
    "output_format": ("jpeg", "png"),
    "safety_tolerance": ("1", "2", "3", "4", "5", "6"),
    "aspect_ratio": KONTEXT_RATIOS,
    "acceleration": ("none", "regular", "high"),
}

DataAt = Callable[[str], bytes | None]


def validate(
    endpoint: str, body: Any, known: UrlCheck | None = None, data: DataAt | None = None
) -> list[dict[str, Any]]:
    """The 422 ``detail`` items fal would answer for ``body`` at an image endpoint (empty: acceptable)."""
    if not isinstance(body, dict):
        return [_err(["body"], "Input should be a valid dictionary", "dict_type", body)]
    fields = _FIELDS[endpoint]
    errors = [_err(["body", k], "Extra inputs are not permitted", "extra_forbidden", v) for k, v in body.items()
              if k not in fields]  # fmt: skip
    for name in _REQUIRED[endpoint]:
        if body.get(name) is None:
            errors.append(_err(["body", name], "field required", "missing"))
    for name, (kind, bounds) in fields.items():
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
            errors.append(_err(["body", name], f"Input should be a valid {getattr(kind, '__name__', 'value')}",
                               "type_error", value))  # fmt: skip
            continue
        if bounds is not None and isinstance(value, int | float) and not bounds[0] <= value <= bounds[1]:
            errors.append(_err(["body", name], f"Input should be between {bounds[0]} and {bounds[1]}",
                               "value_error", value))  # fmt: skip
        if name in _ENUMS and value not in _ENUMS[name]:
            options = ", ".join(repr(o) for o in _ENUMS[name])
            errors.append(_err(["body", name], f"Input should be {options}", "enum", value))
    prompt = body.get("prompt")
    if isinstance(prompt, str) and not prompt.strip():
        errors.append(_err(["body", "prompt"], "String should have at least 1 character", "string_too_short"))
    size = body.get("image_size")
    if isinstance(size, str) and size not in SIZE_ENUM:
        errors.append(_err(["body", "image_size"], "Input should be " + ", ".join(map(repr, SIZE_ENUM)), "enum", size))
    elif isinstance(size, dict):
        extra = set(size) - {"width", "height"}
        for k in sorted(extra):
            errors.append(_err(["body", "image_size", k], "Extra inputs are not permitted", "extra_forbidden"))
        for k in ("width", "height"):
            v = size.get(k, 512)
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_SIDE:
                errors.append(_err(["body", "image_size", k], f"Input should be an integer between 1 and {MAX_SIDE}",
                                   "value_error", v))  # fmt: skip
    url = body.get("image_url")
    if endpoint == KONTEXT and url is not None:
        before = len(errors)
        _check_url(["body", "image_url"], url, errors, known)
        if len(errors) == before and data is not None and isinstance(url, str):
            if _image_shape(data(url)) is None and data(url) is not None:
                errors.append(_err(["body", "image_url"], "Could not read the image (jpg, jpeg, png, webp, gif, avif)",
                                   "image_load_error", url))  # fmt: skip
    return errors


def _image_shape(raw: bytes | None) -> tuple[int, int] | None:
    if raw is None:
        return None
    from PIL import Image

    try:
        with Image.open(io.BytesIO(raw)) as im:
            im.load()
            return im.size
    except Exception:
        return None


def shape_of(endpoint: str, body: dict[str, Any], data: DataAt | None) -> tuple[int, int]:
    """(width, height) of the result of a valid request."""
    if endpoint == FLUX_DEV:
        size = body.get("image_size", "landscape_4_3")
        if isinstance(size, str):
            return SIZE_ENUM[size]
        return int(size.get("width", 512)), int(size.get("height", 512))
    shape = _image_shape(data(body["image_url"])) if data is not None else None
    ratio = body.get("aspect_ratio")
    if ratio is not None:
        w, h = (int(x) for x in str(ratio).split(":"))
        return _about_a_megapixel(w / h)
    return _about_a_megapixel(shape[0] / shape[1]) if shape else (1024, 1024)


def _about_a_megapixel(aspect: float) -> tuple[int, int]:
    """Kontext's outputs are about one megapixel in the shape asked, sides in multiples of 16."""
    height = (1024 * 1024 / aspect) ** 0.5
    return int(round(height * aspect / 16) * 16), int(round(height / 16) * 16)


_lock = threading.Lock()
_made: dict[tuple[str, int, int, str], bytes] = {}


def image_bytes(endpoint: str, size: tuple[int, int], fmt: str, prompt: str) -> bytes:
    """A real image of ``size``: a gradient seeded by the prompt, as PNG or JPEG."""
    from PIL import Image

    seed = hashlib.sha256(f"{endpoint}\n{prompt}".encode()).digest()
    key = (seed.hex(), size[0], size[1], fmt)
    with _lock:
        if key in _made:
            return _made[key]
    small = Image.linear_gradient("L").resize((64, 64)).convert("RGB")
    tint = Image.new("RGB", (64, 64), (seed[0], seed[1], seed[2]))
    img = Image.blend(small, tint, 0.6).resize(size)
    out = io.BytesIO()
    img.save(out, format="PNG" if fmt == "png" else "JPEG")
    data = out.getvalue()
    with _lock:
        _made[key] = data
    return data


def file_name(body: dict[str, Any]) -> tuple[str, str]:
    """(file name, content type) of a result."""
    return ("output.png", "image/png") if body.get("output_format") == "png" else ("output.jpg", "image/jpeg")


def register(media: MediaStore, job: Job) -> None:
    """Make ``job``'s result image now and keep it on the fake CDN under the job's output id."""
    size = shape_of(job.endpoint, job.body, media.data_at)
    name, content_type = file_name(job.body)
    data = image_bytes(job.endpoint, size, "png" if name.endswith(".png") else "jpeg", str(job.body.get("prompt")))
    with media._lock:
        media._files[job.output_id] = StoredFile(name, content_type, data=data)


def result(job: Job, base: str, media: MediaStore) -> dict[str, Any]:
    """The output JSON of ``job`` (completed without error), its file served under ``base``."""
    name, content_type = file_name(job.body)
    width, height = shape_of(job.endpoint, job.body, media.data_at)
    stored = media.find(f"/files/{job.output_id}/{name}")
    size = len(stored.data or b"") if stored is not None else 0
    seed = job.body.get("seed")
    return {
        "images": [
            {
                "url": f"{base}/files/{job.output_id}/{name}",
                "width": width,
                "height": height,
                "content_type": content_type,
                "file_name": name,
                "file_size": size,
            }  # fmt: skip
        ],
        "seed": seed if isinstance(seed, int) else 42,
        "has_nsfw_concepts": [False],
        "prompt": job.body.get("prompt", ""),
        "timings": {"inference": 1.0},
    }
