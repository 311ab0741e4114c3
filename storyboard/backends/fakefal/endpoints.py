"""The rest of the Kling family on the fake: each endpoint's published input schema, and its output's shape.

Written from fal's API reference pages (see each entry), never from the compiler's registry:
the fake must catch the registry being wrong. Like :mod:`.protocol` for O1 reference-to-video,
:func:`validate_input` answers with fal's pydantic-style 422 ``detail`` items and the fake is
stricter where fal is silent (unknown fields refused, tags must name an input that exists).
:func:`output_shape` says what clip the endpoint returns: O1/O3 image-to-video follow the start
image's shape, an edit returns a clip as long and as large as its source.

Registration: :data:`SCHEMAS` maps endpoint id → :class:`Schema`; the fake's submit handler
serves every id here besides the O1 reference-to-video pair.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

UrlCheck = Callable[[str], "tuple[str, str] | None"]
Bytes = Callable[[str], "bytes | None"]  # the stored bytes behind one of the fake's own URLs

_TAG = re.compile(r"@(Element|Image|Video)(\d+)")
O1_DURATIONS = tuple(str(n) for n in range(3, 11))
O3_DURATIONS = tuple(str(n) for n in range(3, 16))
ASPECTS = ("16:9", "9:16", "1:1")
PROMPT_MAX = 2500
ELEMENT_VIEWS = (1, 3)


@dataclass(frozen=True, slots=True)
class Schema:
    """One endpoint's input, as fal publishes it."""

    source: str  # the page the fields were read from
    start: str | None = None  # the start image's field
    start_required: bool = False
    end: str | None = None
    image_urls: bool = False
    elements: bool = False
    durations: tuple[str, ...] | None = None
    aspect_ratio: bool = False
    multi_prompt: bool = False
    audio: bool = False  # generate_audio
    audio_default: bool = False  # what generate_audio is when not sent
    video: bool = False  # video_url (+ keep_audio)
    max_refs: int = 7  # elements + image_urls
    frames_are_images: bool = False  # @Image1/@Image2 name the start and end frames
    extra: frozenset[str] = frozenset()  # accepted, not checked further

    def fields(self) -> frozenset[str]:
        """Every field the endpoint accepts."""
        names = {"prompt", *self.extra}
        for name, on in (
            ("image_urls", self.image_urls),
            ("elements", self.elements),
            ("duration", self.durations is not None),
            ("aspect_ratio", self.aspect_ratio),
            ("multi_prompt", self.multi_prompt),
            ("shot_type", self.multi_prompt),
            ("generate_audio", self.audio),
            ("video_url", self.video),
            ("keep_audio", self.video),
        ):
            if on:
                names.add(name)
        names.update(f for f in (self.start, self.end) if f)
        return frozenset(names)


_O3_REF = Schema(
    "fal.ai API reference, Kling O3 reference-to-video: prompt or multi_prompt (not both), start_image_url, "
    "end_image_url, image_urls, elements, generate_audio, duration 3-15, shot_type, aspect_ratio",
    start="start_image_url",
    end="end_image_url",
    image_urls=True,
    elements=True,
    durations=O3_DURATIONS,
    aspect_ratio=True,
    multi_prompt=True,
    audio=True,
)
_O1_I2V = Schema(
    "fal.ai API reference, Kling O1 image-to-video: prompt (@Image1 start, @Image2 end), start_image_url "
    "(required), end_image_url, duration 3-10",
    start="start_image_url",
    start_required=True,
    end="end_image_url",
    durations=O1_DURATIONS,
    frames_are_images=True,
)
_O1_EDIT = Schema(
    "fal.ai API reference, Kling O1 video-to-video edit: prompt, video_url (mp4/mov, 3-10.05 s, 720-2160 px, "
    "24-60 fps), keep_audio, image_urls + elements at most 4",
    image_urls=True,
    elements=True,
    video=True,
    max_refs=4,
)

SCHEMAS: dict[str, Schema] = {
    "fal-ai/kling-video/o1/standard/image-to-video": _O1_I2V,
    "fal-ai/kling-video/o1/image-to-video": _O1_I2V,
    "fal-ai/kling-video/o3/standard/reference-to-video": _O3_REF,
    "fal-ai/kling-video/o3/pro/reference-to-video": _O3_REF,
    "fal-ai/kling-video/o3/4k/reference-to-video": _O3_REF,
    "fal-ai/kling-video/o3/standard/image-to-video": Schema(
        "fal.ai API reference, Kling O3 image-to-video: prompt or multi_prompt, image_url (required), "
        "end_image_url, duration 3-15, generate_audio, shot_type",
        start="image_url",
        start_required=True,
        end="end_image_url",
        durations=O3_DURATIONS,
        multi_prompt=True,
        audio=True,
    ),
    "fal-ai/kling-video/v3/pro/image-to-video": Schema(
        "fal.ai API reference, Kling v3 pro image-to-video: prompt or multi_prompt, start_image_url (required), "
        "end_image_url, elements, generate_audio (default true), duration 3-15, negative_prompt, cfg_scale",
        start="start_image_url",
        start_required=True,
        end="end_image_url",
        elements=True,
        durations=O3_DURATIONS,
        multi_prompt=True,
        audio=True,
        audio_default=True,
        extra=frozenset({"negative_prompt", "cfg_scale", "voice_ids"}),
    ),
    "fal-ai/kling-video/o1/standard/video-to-video/edit": _O1_EDIT,
    "fal-ai/kling-video/o1/video-to-video/edit": _O1_EDIT,
}


def _err(loc: list[Any], msg: str, type_: str, value: Any = None) -> dict[str, Any]:
    item: dict[str, Any] = {"loc": loc, "msg": msg, "type": type_}
    if type_ != "missing":
        item["input"] = value
    return item


def _url(loc: list[Any], value: Any, errors: list[dict[str, Any]], known: UrlCheck | None) -> bool:
    if not isinstance(value, str):
        errors.append(_err(loc, "Input should be a valid string", "string_type", value))
        return False
    if not re.match(r"^https://[^/\s]+", value):
        errors.append(_err(loc, "URL scheme should be 'https'", "url_scheme", value))
        return False
    if known is not None and (problem := known(value)) is not None:
        errors.append(_err(loc, problem[0], problem[1], value))
        return False
    return True


def _prompt(loc: list[Any], value: Any, errors: list[dict[str, Any]]) -> None:
    if not isinstance(value, str):
        errors.append(_err(loc, "Input should be a valid string", "string_type", value))
    elif not value.strip():
        errors.append(_err(loc, "String should have at least 1 character", "string_too_short", value))
    elif len(value) > PROMPT_MAX:
        errors.append(_err(loc, f"String should have at most {PROMPT_MAX} characters", "string_too_long", value))


def _enum(loc: list[Any], value: Any, allowed: tuple[str, ...], errors: list[dict[str, Any]]) -> None:
    if value not in allowed:
        expected = ", ".join(f"'{a}'" for a in allowed[:-1]) + f" or '{allowed[-1]}'"
        errors.append(_err(loc, f"Input should be {expected}", "enum", value))


def _elements(value: Any, errors: list[dict[str, Any]], known: UrlCheck | None) -> int:
    if not isinstance(value, list):
        errors.append(_err(["body", "elements"], "Input should be a valid list", "list_type", value))
        return 0
    for i, el in enumerate(value):
        loc = ["body", "elements", i]
        if not isinstance(el, dict):
            errors.append(_err(loc, "Input should be a valid dictionary", "dict_type", el))
            continue
        for name in sorted(set(el) - {"frontal_image_url", "reference_image_urls"}):
            errors.append(_err([*loc, name], "Extra inputs are not permitted", "extra_forbidden", el[name]))
        if "frontal_image_url" not in el:
            errors.append(_err([*loc, "frontal_image_url"], "field required", "missing"))
        else:
            _url([*loc, "frontal_image_url"], el["frontal_image_url"], errors, known)
        refs = el.get("reference_image_urls")
        if not isinstance(refs, list) or not ELEMENT_VIEWS[0] <= len(refs) <= ELEMENT_VIEWS[1]:
            errors.append(
                _err(
                    [*loc, "reference_image_urls"],
                    "1-3 images supported. At least one image is required.",
                    "value_error",
                    refs,
                )
            )
        else:
            for j, r in enumerate(refs):
                _url([*loc, "reference_image_urls", j], r, errors, known)
    return len(value)


def validate_input(
    endpoint: str, body: Any, *, known: UrlCheck | None = None, data: Bytes | None = None
) -> list[dict[str, Any]]:
    """The 422 ``detail`` items ``endpoint`` would answer for ``body`` (empty: accepted)."""
    schema = SCHEMAS[endpoint]
    if not isinstance(body, dict):
        return [_err(["body"], "Input should be a valid dictionary", "dict_type", body)]
    errors: list[dict[str, Any]] = []
    for name in sorted(set(body) - schema.fields(), key=str):
        errors.append(_err(["body", name], "Extra inputs are not permitted", "extra_forbidden", body[name]))
    prompts: list[str] = []
    if "multi_prompt" in body and body["multi_prompt"] is not None:
        if "prompt" in body:
            errors.append(_err(["body"], "Value error, give either prompt or multi_prompt, not both", "value_error"))
        parts = body["multi_prompt"]
        if not isinstance(parts, list) or not parts:
            errors.append(_err(["body", "multi_prompt"], "Input should be a non-empty list", "list_type", parts))
        else:
            total = 0
            for i, part in enumerate(parts):
                loc = ["body", "multi_prompt", i]
                if not isinstance(part, dict) or set(part) != {"prompt", "duration"}:
                    errors.append(_err(loc, "each part is {prompt, duration}", "value_error", part))
                    continue
                _prompt([*loc, "prompt"], part["prompt"], errors)
                _enum([*loc, "duration"], part["duration"], schema.durations or O3_DURATIONS, errors)
                prompts.append(str(part["prompt"]))
                total += int(part["duration"]) if str(part["duration"]).isdigit() else 0
            if "duration" in body and str(total) != body["duration"]:
                errors.append(
                    _err(
                        ["body", "duration"],
                        f"Value error, the parts last {total} s, not {body['duration']}",
                        "value_error",
                    )
                )
    elif "prompt" not in body:
        errors.append(_err(["body", "prompt"], "field required", "missing"))
    else:
        _prompt(["body", "prompt"], body["prompt"], errors)
        prompts.append(str(body["prompt"]))
    if schema.durations is not None and "duration" in body:
        _enum(["body", "duration"], body["duration"], schema.durations, errors)
    if schema.aspect_ratio and "aspect_ratio" in body:
        _enum(["body", "aspect_ratio"], body["aspect_ratio"], ASPECTS, errors)
    if schema.audio and "generate_audio" in body and not isinstance(body["generate_audio"], bool):
        errors.append(
            _err(["body", "generate_audio"], "Input should be a valid boolean", "bool_type", body["generate_audio"])
        )
    frames = 0
    for name, required in ((schema.start, schema.start_required), (schema.end, False)):
        if name is None:
            continue
        if name not in body:
            if required:
                errors.append(_err(["body", name], "field required", "missing"))
            continue
        frames += 1
        _url(["body", name], body[name], errors, known)
    if schema.end and schema.end in body and schema.start and schema.start not in body:
        errors.append(_err(["body", schema.end], "Value error, an end frame needs a start frame", "value_error"))
    images = 0
    if "image_urls" in body:
        value = body["image_urls"]
        if not isinstance(value, list):
            errors.append(_err(["body", "image_urls"], "Input should be a valid list", "list_type", value))
        else:
            images = len(value)
            for i, u in enumerate(value):
                _url(["body", "image_urls", i], u, errors, known)
    elements = _elements(body["elements"], errors, known) if "elements" in body else 0
    if schema.video:
        if "video_url" not in body:
            errors.append(_err(["body", "video_url"], "field required", "missing"))
        # a video is checked by the video rules, not the image rules behind ``known``
        elif _url(["body", "video_url"], body["video_url"], errors, None) and data is not None:
            problem = video_problem(data(body["video_url"]))
            if problem is not None:
                errors.append(_err(["body", "video_url"], problem, "invalid_video", body["video_url"]))
    if images + elements > schema.max_refs:
        errors.append(
            _err(
                ["body"],
                f"Value error, at most {schema.max_refs} elements and images in total are allowed, got "
                f"{elements} element(s) and {images} image(s)",
                "value_error",
            )
        )
    available = {"Element": elements, "Image": frames if schema.frames_are_images else images, "Video": 0}
    for text in prompts:
        for what, number in _TAG.findall(text):
            if not 1 <= int(number) <= available[what]:
                errors.append(
                    _err(
                        ["body", "prompt"],
                        f"Value error, @{what}{number} is out of range: {available[what]} given",
                        "value_error",
                        text,
                    )
                )
    return errors


def video_problem(data: bytes | None) -> str | None:
    """fal's documented rules for an edit's source clip, or None when it passes."""
    info = video_info(data)
    if info is None:
        return "The video could not be loaded"
    seconds, width, height, fps = info
    if not 3.0 <= seconds <= 10.05:
        return f"Video duration {seconds:.2f}s is outside 3.0-10.05s"
    if not (720 <= width <= 2160 and 720 <= height <= 2160):
        return f"Video resolution {width}x{height} is outside 720-2160px"
    if not 24 <= fps <= 60:
        return f"Video frame rate {fps:g} is outside 24-60 fps"
    return None


def video_info(data: bytes | None) -> tuple[float, int, int, float] | None:
    """(seconds, width, height, fps) of an MP4 held in memory, or None."""
    if not data:
        return None
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            stream = container.streams.video[0]
            frames = stream.frames
            if not frames:
                frames = len([packet for packet in container.demux(stream) if packet.size])
            rate = float(stream.average_rate or 24)
            return frames / rate, stream.codec_context.width, stream.codec_context.height, rate
    except Exception:
        return None


def image_size(data: bytes | None) -> tuple[int, int] | None:
    """(width, height) of a stored image, or None."""
    if not data:
        return None
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:
        return None


def output_has_audio(endpoint: str, body: dict[str, Any]) -> bool:
    """Whether ``endpoint``'s clip for ``body`` has a sound track (``generate_audio``, or the endpoint's default)."""
    schema = SCHEMAS.get(endpoint)
    if schema is None or not schema.audio:
        return False
    return bool(body.get("generate_audio", schema.audio_default))


def output_shape(
    endpoint: str, body: dict[str, Any], data: Bytes, sizes: dict[str, tuple[int, int]]
) -> tuple[int, tuple[int, int]]:
    """(seconds, (width, height)) of the clip ``endpoint`` returns for ``body``."""
    schema = SCHEMAS[endpoint]
    if schema.video:
        info = video_info(data(str(body.get("video_url"))))
        seconds = round(info[0]) if info else 5
        size = (info[1], info[2]) if info else sizes["16:9"]
        return seconds, size
    seconds = int(body.get("duration", "5"))
    if schema.aspect_ratio:
        return seconds, sizes[body.get("aspect_ratio", "16:9")]
    start = image_size(data(str(body.get(schema.start or "", ""))))
    if start is None:
        return seconds, sizes["16:9"]
    ratio = start[0] / start[1]
    nearest = min(sizes, key=lambda a: abs(sizes[a][0] / sizes[a][1] - ratio))
    return seconds, sizes[nearest]
