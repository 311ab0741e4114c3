"""The fake's schemas of the Kling family (storyboard/backends/fakefal/endpoints.py), request by request.

Pure: each endpoint's validate_input on bodies fal would refuse, written from fal's published
schemas, so a compiler bug that sent one would be caught by the fake.
"""

from __future__ import annotations

from typing import Any

import pytest

from storyboard.backends.fakefal.endpoints import SCHEMAS, output_shape, validate_input

URL = "https://v3.fal.media/files/x/a.png"
O1_I2V = "fal-ai/kling-video/o1/standard/image-to-video"
O3 = "fal-ai/kling-video/o3/standard/reference-to-video"
O3_I2V = "fal-ai/kling-video/o3/standard/image-to-video"
EDIT = "fal-ai/kling-video/o1/standard/video-to-video/edit"


def types(endpoint: str, body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(".".join(str(p) for p in e["loc"]), e["type"]) for e in validate_input(endpoint, body)]


def test_o1_image_to_video_needs_a_start_and_takes_no_aspect_ratio() -> None:
    assert types(O1_I2V, {"prompt": "x", "start_image_url": URL, "end_image_url": URL, "duration": "8"}) == []
    assert types(O1_I2V, {"prompt": "x"}) == [("body.start_image_url", "missing")]
    assert ("body.aspect_ratio", "extra_forbidden") in types(
        O1_I2V, {"prompt": "x", "start_image_url": URL, "aspect_ratio": "16:9"}
    )
    assert ("body.duration", "enum") in types(O1_I2V, {"prompt": "x", "start_image_url": URL, "duration": "11"})
    # @Image2 names the end frame: without one it is out of range
    assert ("body.prompt", "value_error") in types(O1_I2V, {"prompt": "to @Image2", "start_image_url": URL})


def test_o3_reference_takes_fifteen_seconds_audio_and_several_prompts() -> None:
    parts = [{"prompt": "a", "duration": "7"}, {"prompt": "b", "duration": "8"}]
    assert types(O3, {"multi_prompt": parts, "duration": "15", "generate_audio": True, "start_image_url": URL}) == []
    assert ("body", "value_error") in types(O3, {"prompt": "x", "multi_prompt": parts})
    assert ("body.duration", "value_error") in types(O3, {"multi_prompt": parts, "duration": "10"})
    assert ("body.generate_audio", "bool_type") in types(O3, {"prompt": "x", "generate_audio": "yes"})
    assert ("body.duration", "enum") in types(O3, {"prompt": "x", "duration": "16"})


def test_o3_image_to_video_names_its_start_image_url() -> None:
    assert types(O3_I2V, {"prompt": "x", "image_url": URL}) == []
    assert types(O3_I2V, {"prompt": "x", "start_image_url": URL}) == [
        ("body.start_image_url", "extra_forbidden"),
        ("body.image_url", "missing"),
    ]


def test_edit_takes_a_video_and_at_most_four_references() -> None:
    element = {"frontal_image_url": URL, "reference_image_urls": [URL]}
    assert types(EDIT, {"prompt": "x", "video_url": URL, "elements": [element] * 2, "image_urls": [URL] * 2}) == []
    assert ("body", "value_error") in types(
        EDIT, {"prompt": "x", "video_url": URL, "elements": [element] * 3, "image_urls": [URL] * 2}
    )
    assert ("body.video_url", "missing") in types(EDIT, {"prompt": "x"})
    assert ("body.duration", "extra_forbidden") in types(EDIT, {"prompt": "x", "video_url": URL, "duration": "5"})


@pytest.mark.parametrize("endpoint", sorted(SCHEMAS))
def test_every_endpoint_refuses_unknown_fields_and_http_urls(endpoint: str) -> None:
    body: dict[str, Any] = {"prompt": "x", "seed": 1}
    schema = SCHEMAS[endpoint]
    if schema.start:
        body[schema.start] = "http://example.com/a.png"
    if schema.video:
        body["video_url"] = URL
    found = types(endpoint, body)
    assert ("body.seed", "extra_forbidden") in found
    if schema.start:
        assert (f"body.{schema.start}", "url_scheme") in found


def test_image_to_video_clips_follow_the_start_image() -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (400, 800)).save(buf, format="PNG")
    sizes = {"16:9": (640, 360), "9:16": (360, 640), "1:1": (480, 480)}
    shape = output_shape(O1_I2V, {"start_image_url": URL, "duration": "4"}, lambda u: buf.getvalue(), sizes)
    assert shape == (4, (360, 640))
