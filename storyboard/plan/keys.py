"""How a request becomes its cache key: canonical JSON, the request body in an endpoint's shape,
the keys of shots, takes, sounds and images. Pure: the same inputs make the same key on any machine.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storyboard.plan.generations import AudioPlan
    from storyboard.plan.refs import AssetRef, ElementRef, PromptPart, RequestShape


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many objects that form no cycles.

    Compiling and serialising a 10,000-shot plan allocate hundreds of thousands of containers; the
    collector's repeated full passes over them took two thirds of a compile and 80-90 % of
    ``to_json`` (docs/performance.md). Reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def canonical_json(data: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, no whitespace, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def take_key(request_key: str, take: int) -> str:
    """The key of take ``take`` of a shot whose take 1 has ``request_key``.

    Take 1's key is the request key itself, so caches made before takes existed stay valid;
    take n > 1 hashes the request key with the take number (docs/caching.md).
    """
    if take == 1:
        return request_key
    return hashlib.sha256(canonical_json({"shot": request_key, "take": take})).hexdigest()


def build_request(
    shape: RequestShape,
    *,
    prompt: str,
    multi_prompt: tuple[PromptPart, ...],
    image_urls: tuple[AssetRef, ...],
    elements: tuple[ElementRef, ...],
    duration: int,
    aspect_ratio: str,
    start: AssetRef | None,
    end: AssetRef | None,
    audio: bool | None,
    video: AssetRef | None,
    url_of: Callable[[AssetRef], str],
) -> dict[str, Any]:
    """One request body in the endpoint's own shape: only the fields it takes, in a fixed order.

    For O1 reference-to-video this is exactly ``{prompt, image_urls, elements, duration,
    aspect_ratio}``, so the cache keys of plans made before the registry are unchanged.
    """
    body: dict[str, Any] = {}
    if multi_prompt:
        body["multi_prompt"] = [{"prompt": p.prompt, "duration": str(p.duration)} for p in multi_prompt]
    else:
        body["prompt"] = prompt
    if shape.video is not None and video is not None:
        body[shape.video] = url_of(video)
    if shape.start not in (None, "image_urls") and start is not None:
        body[str(shape.start)] = url_of(start)
    if shape.end is not None and end is not None:
        body[shape.end] = url_of(end)
    if shape.image_urls:
        body["image_urls"] = [url_of(a) for a in image_urls]
    if shape.elements:
        body["elements"] = [
            {"frontal_image_url": url_of(el.frontal), "reference_image_urls": [url_of(r) for r in el.references]}
            for el in elements
        ]
    if shape.duration:
        body["duration"] = str(duration)
    if shape.aspect_ratio:
        body["aspect_ratio"] = aspect_ratio
    if shape.audio is not None and audio is not None:
        body[shape.audio] = audio
    return body


def shot_key(endpoint: str, request: dict[str, Any], upstream_keys: dict[str, str]) -> str:
    """sha256 over the endpoint, the canonical request (assets by content, see :meth:`AssetRef.canonical`)
    and the upstream keys."""
    body = {"endpoint": endpoint, "request": _keyed_request(request), "upstream": sorted(upstream_keys.values())}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def _keyed_request(request: dict[str, Any]) -> dict[str, Any]:
    """The request as its key sees it: an element whose one reference view is its frontal image
    keys as an element with none.

    The compiler sends the frontal image as the one view of an element declared without
    references (fal refuses an empty list); before it did, the fal backend added that view to
    the same element at send time. Both are the same request on the wire, so they keep one key:
    clips cached by earlier versions stay cached and are never paid for again.
    """
    elements = request.get("elements")
    if not elements:
        return request
    keyed = [
        {**e, "reference_image_urls": []}
        if isinstance(e, dict) and e.get("reference_image_urls") == [e.get("frontal_image_url")]
        else e
        for e in elements
    ]
    return {**request, "elements": keyed}


def audio_key(audio: AudioPlan) -> str:
    """sha256 over what a sound is made of (see :meth:`AudioPlan.inputs`)."""
    return hashlib.sha256(canonical_json(audio.inputs())).hexdigest()


def image_key(endpoint: str, request: dict[str, Any]) -> str:
    """sha256 over a generated image's endpoint and request (its source by key)."""
    return hashlib.sha256(canonical_json({"endpoint": endpoint, "request": request, "kind": "image"})).hexdigest()
