"""The Plan: the one data structure between compiling and executing.

A :class:`Plan` is pure data: every shot's compiled request (with asset references still
symbolic), its dependencies and its cache key. ``storyboard compile`` prints it; ``storyboard
build`` executes it; nothing in it refers to the network, the cache or the clock.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

PLAN_VERSION = 1

AssetKind = Literal["file", "url", "last_frame", "first_frame", "clip", "generated"]
FRAME_KINDS = ("last_frame", "first_frame")  # made from another shot's clip at build time


@dataclass(frozen=True, slots=True)
class RequestShape:
    """Which fields a model's endpoint takes, as the compiler found it in the registry.

    Pure data, so a backend builds the request of any registered model without the compiler.
    """

    start: str | None = "image_urls"  # image_urls (as @Image1) | start_image_url | image_url | None
    start_required: bool = False
    end: str | None = None  # end_image_url | None
    frames_tagged: bool = False  # the prompt names the start frame @Image1 and the end frame @Image2
    image_urls: bool = True
    elements: bool = True
    duration: bool = True
    aspect_ratio: bool = True
    multi_prompt: bool = False
    audio: str | None = None  # generate_audio | None
    audio_default: bool = False
    video: str | None = None  # video_url (an edit's source clip) | None
    image_size: bool = False  # text-to-image: {width, height}
    video_sides: tuple[int, int] | None = None  # an edit's source clip: least and most pixels on each side


@dataclass(frozen=True, slots=True)
class PromptPart:
    """One prompt of a multi-prompt clip and the seconds it lasts."""

    prompt: str
    duration: int


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """What a model's endpoint accepts as an image input (frontal, reference, style or start image).

    Pure data with pure checks, so the compiler (asset files) and the build (extracted last
    frames) apply the same rules; the values come from the model registry.
    """

    min_side: int = 300  # pixels, on each side
    max_bytes: int = 10_000_000  # fal writes "10MB"; decimal megabytes are the stricter reading
    min_aspect: float = 0.40  # width / height
    max_aspect: float = 2.50
    formats: tuple[str, ...] = ("JPEG", "PNG", "WEBP")  # Pillow's format names
    max_pixels: int = 40_000_000  # not fal's: a guard against decompression bombs

    def size_problem(self, size: int) -> str | None:
        """Why a file of ``size`` bytes is refused, or None (checked before the file is read)."""
        if size > self.max_bytes:
            return f"is {size / 1e6:.1f} MB; the model takes images up to {self.max_bytes / 1e6:g} MB"
        return None

    def header_problem(self, fmt: str, width: int, height: int) -> str | None:
        """The checks that need only the image's header (format and pixel count), before decoding it."""
        if fmt not in self.formats:
            return f"is a {fmt} image; the model takes {_names(self.formats)}"
        if width * height > self.max_pixels:
            return f"is {width}×{height} pixels, too large to be a reference image"
        return None

    def image_problem(self, fmt: str, width: int, height: int) -> str | None:
        """Why an image of this format and size is refused, or None; the text follows the image's name."""
        header = self.header_problem(fmt, width, height)
        if header is not None:
            return header
        if min(width, height) < self.min_side:
            return f"is {width}×{height} pixels; the model needs at least {self.min_side} on each side"
        aspect = width / height
        if not self.min_aspect <= aspect <= self.max_aspect:
            shown = f"{aspect:.2f}"
            if self.min_aspect <= float(shown) <= self.max_aspect:  # 0.3995 would read "0.40"
                shown = f"{aspect:.4f}"
            return f"has aspect ratio {shown}; the model takes {self.min_aspect:.2f} to {self.max_aspect:.2f}"
        return None

    @classmethod
    def strictest(cls, limits: tuple[ImageLimits, ...]) -> ImageLimits:
        """The limits an image must meet to be accepted by every model in ``limits``."""
        return cls(
            min_side=max(x.min_side for x in limits),
            max_bytes=min(x.max_bytes for x in limits),
            min_aspect=max(x.min_aspect for x in limits),
            max_aspect=min(x.max_aspect for x in limits),
            formats=tuple(f for f in limits[0].formats if all(f in x.formats for x in limits)),
            max_pixels=min(x.max_pixels for x in limits),
        )


def _names(formats: tuple[str, ...]) -> str:
    """``PNG, JPEG or WebP``: Pillow's names as people write them, in a fixed order."""
    shown = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
    order = [f for f in ("PNG", "JPEG", "WEBP") if f in formats] + [f for f in formats if f not in shown]
    words = [shown.get(f, f) for f in order]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


@dataclass(frozen=True, slots=True)
class AssetRef:
    """One image input of a request: a local file, a URL, or the last frame of another shot."""

    kind: AssetKind
    value: str  # absolute path (file), URL (url), shot id (last_frame, first_frame, clip), image id (generated)
    display: str  # relative path from the storyboard's folder, the URL, "<shot>.last_frame", "<shot>.clip"
    sha256: str | None = None  # hex digest of a file's bytes
    key: str | None = None  # a generated image's key (see :class:`ImagePlan`)

    @property
    def path(self) -> Path:
        """The local file (only for kind == 'file')."""
        return Path(self.value)

    def canonical(self, upstream_keys: dict[str, str]) -> str:
        """The reference as it enters a cache key: content hash, URL, or the upstream shot's key."""
        if self.kind == "file":
            return f"sha256:{self.sha256}"
        if self.kind == "generated":
            return f"generated:{self.key}"
        if self.kind in ("last_frame", "first_frame", "clip"):
            return f"{self.kind}:{upstream_keys[self.value]}"
        return self.value


@dataclass(frozen=True, slots=True)
class ElementRef:
    """A character or object as one entry of the request's ``elements``."""

    name: str  # qualified name as written after @, e.g. "mira" or "cast.ferryman"
    frontal: AssetRef
    references: tuple[AssetRef, ...] = ()
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Mention:
    """One name the author wrote after ``@`` and the tag(s) it became."""

    name: str
    kind: Literal["character", "object", "image", "style", "last_frame"]
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Transition:
    """How the film passes into a shot from the one before it."""

    type: Literal["cut", "crossfade", "fade"] = "cut"
    duration: float = 0.0  # seconds; 0 for a cut


CARD_ENDPOINT = "storyboard/card"  # a card is made locally: this names it in keys, listings and the board
CARD_FPS = 24
CARD_TIMESCALE = 12288  # the preview's MP4 time scale: cards and preview clips join by stream copy
CARD_SIZES: dict[str, tuple[int, int]] = {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (960, 960)}
CARD_VERSION = 1  # bumped when the card renderer draws the same card differently


@dataclass(frozen=True, slots=True)
class CardPlan:
    """A title or credit card: text over a colour or a picture, rendered locally, never sent anywhere."""

    text: str  # rendered by jinja; "\n" breaks a line
    font: AssetRef | None  # a font file, or None for the bundled default (Aileron Regular, from Pillow)
    font_sha256: str  # the font's bytes as they enter the key (the default font's too)
    size: int  # pixels
    color: str  # "#rrggbb"
    background: str  # "#rrggbb" (the colour behind an image is unused but kept)
    image: AssetRef | None  # a picture behind the text
    position: str  # "center" | "top" | "bottom"
    fade_in: float
    fade_out: float
    width: int
    height: int
    fps: int = CARD_FPS

    def request(self, duration: int, url_of: Callable[[AssetRef], str]) -> dict[str, Any]:
        """What the card is made of, in the shape of a request (``url_of`` shows or keys its files)."""
        return {
            "card": CARD_VERSION,
            "text": self.text,
            "font": url_of(self.font) if self.font is not None else f"default:sha256:{self.font_sha256}",
            "size": self.size,
            "color": self.color.lower(),
            "background": url_of(self.image) if self.image is not None else self.background.lower(),
            "position": self.position,
            "fade_in": self.fade_in,
            "fade_out": self.fade_out,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "duration": duration,
        }


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where something was written."""

    file: str
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True, slots=True)
class ShotPlan:
    """One shot compiled into one request for the model's endpoint."""

    id: str
    index: int  # position in the storyboard
    model: str  # the model's registry name (== endpoint for the built-in models)
    endpoint: str
    prompt: str  # final prompt, with @ElementN / @ImageN tags
    image_urls: tuple[AssetRef, ...]
    elements: tuple[ElementRef, ...]
    duration: int  # seconds
    aspect_ratio: str
    depends_on: tuple[str, ...]  # ids of shots whose last frame this shot uses
    key: str  # the cache key (see :func:`shot_key`)
    start: AssetRef | None = None
    style: str | None = None
    transition: Transition = field(default_factory=Transition)
    mentions: tuple[Mention, ...] = ()
    source_prompt: str = ""  # the prompt as rendered by jinja, before tag rewriting
    notes: str | None = None  # the author's notes (not sent to the model)
    location: SourceLocation | None = None
    image_limits: ImageLimits = field(default_factory=ImageLimits)  # the model's, for frames made at build time
    takes: int = 1  # how many takes the storyboard asks for (``takes:``)
    take: int = 1  # the take that goes into the film; ``key`` is that take's key
    picked: bool = False  # True when the storyboard says ``pick:`` (else the first take is used)
    base_key: str = ""  # take 1's key (the request's key); "" when equal to ``key``

    shape: RequestShape = field(default_factory=RequestShape)  # the fields the model's endpoint takes
    end: AssetRef | None = None  # the end frame (end_image_url)
    audio: bool | None = None  # generate_audio as sent; None when the model has no such field
    multi_prompt: tuple[PromptPart, ...] = ()  # several prompts in one clip (sent instead of prompt)
    video: AssetRef | None = None  # an edit's source clip (video_url)
    price_per_second: float | None = None  # the model's price, with the audio surcharge when audio is on
    price_source: str = ""
    model_label: str = ""  # how messages and the board name the model
    card: CardPlan | None = None  # a title or credit card, made locally (no prompt, no model)

    @property
    def request_key(self) -> str:
        """The key of take 1: the hash of the request and upstream keys (see :func:`shot_key`)."""
        return self.base_key or self.key

    def take_key(self, take: int) -> str:
        """The cache key of take ``take`` of this shot (take 1's is the request key)."""
        return take_key(self.request_key, take)

    def wanted_takes(self) -> tuple[int, ...]:
        """The takes a build makes sure exist: 1..takes, and the picked take."""
        return tuple(sorted({*range(1, self.takes + 1), self.take}))

    def assets(self) -> tuple[AssetRef, ...]:
        """Every input of the request, in request order (source clip, frames, images, then elements)."""
        if self.card is not None:
            return tuple(a for a in (self.card.image, self.card.font) if a is not None)
        out: list[AssetRef] = []
        if self.video is not None:
            out.append(self.video)
        if self.start is not None and self.shape.start not in (None, "image_urls"):
            out.append(self.start)
        if self.end is not None:
            out.append(self.end)
        out.extend(self.image_urls)
        for el in self.elements:
            out.append(el.frontal)
            out.extend(el.references)
        return tuple(out)

    def request(self, url_of: Callable[[AssetRef], str]) -> dict[str, Any]:
        """The request body for the endpoint, with each asset turned into a URL by ``url_of``."""
        if self.card is not None:
            return self.card.request(self.duration, url_of)
        return build_request(
            self.shape,
            prompt=self.prompt,
            multi_prompt=self.multi_prompt,
            image_urls=self.image_urls,
            elements=self.elements,
            duration=self.duration,
            aspect_ratio=self.aspect_ratio,
            start=self.start,
            end=self.end,
            audio=self.audio,
            video=self.video,
            url_of=url_of,
        )

    def inputs(self, upstream_keys: dict[str, str]) -> dict[str, Any]:
        """What the clip is made of, for explaining staleness: prompt, settings, asset hashes, upstream keys."""
        assets: dict[str, str] = {}
        for a in self.assets():
            if a.kind == "file":
                assets[a.display] = a.sha256 or ""
            elif a.kind == "generated":
                assets[a.display] = f"generated:{a.key}"
            elif a.kind == "url":
                assets[a.display] = a.value
        return {
            "prompt": self.prompt,
            "model": self.model,
            "duration": self.duration,
            "aspect_ratio": self.aspect_ratio,
            **({"audio": self.audio} if self.audio is not None else {}),
            **({"card": self.card.request(self.duration, lambda a: a.display)} if self.card is not None else {}),
            "assets": assets,
            "upstream": {u: upstream_keys.get(u, "") for u in self.depends_on},
            "take": self.take,
        }

    def display_request(self) -> dict[str, Any]:
        """The request as ``storyboard compile --json`` shows it (paths relative to the storyboard)."""
        return self.request(lambda a: a.display)


@dataclass(frozen=True, slots=True)
class FilmPlan:
    """The stitched film."""

    output: str  # file name inside the build directory
    transition: Transition = field(default_factory=Transition)  # the default between shots
    loudness: float = -14.0  # integrated loudness target of the mix, LUFS
    true_peak: float = -1.0  # true-peak ceiling, dBTP
    subtitles: bool = True  # SRT and WebVTT beside the film, a subtitle track in it
    burn_subtitles: bool = False  # the lines drawn into the picture too (re-encodes it)
    aspect_ratio: str = "16:9"  # the film's frame; a clip in another ratio is fitted inside it and padded

    @property
    def aspect(self) -> tuple[int, int]:
        """The film's aspect ratio as (width, height): ``(16, 9)``."""
        w, h = self.aspect_ratio.split(":")
        return int(w), int(h)


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled storyboard: shots in storyboard order, ready to execute."""

    title: str
    source: Path  # the storyboard file
    root: Path  # its folder; relative displays are relative to it
    shots: tuple[ShotPlan, ...]
    film: FilmPlan
    version: int = PLAN_VERSION
    audio: tuple[AudioPlan, ...] = ()  # lines, effects and music cues, in storyboard order
    images: tuple[ImagePlan, ...] = ()  # generated assets' images, each after the image it is made from

    def shot(self, shot_id: str) -> ShotPlan:
        """The shot with this id (KeyError if none)."""
        for s in self.shots:
            if s.id == shot_id:
                return s
        raise KeyError(shot_id)

    def by_id(self) -> dict[str, ShotPlan]:
        """Shots keyed by id."""
        return {s.id: s for s in self.shots}

    def files(self) -> dict[str, AssetRef]:
        """Every distinct local file the plan uses, keyed by content hash (one upload each)."""
        out: dict[str, AssetRef] = {}
        for s in self.shots:
            for a in s.assets():
                if a.kind == "file" and a.sha256 not in out:
                    out[a.sha256 or a.value] = a
        return out

    def to_json(self) -> dict[str, Any]:
        """The plan as ``storyboard compile --json`` prints it (see docs/cli.md)."""
        with gc_paused():  # plain dicts and lists: see gc_paused
            return self._to_json()

    def _to_json(self) -> dict[str, Any]:
        shots = []
        for s in self.shots:
            entry: dict[str, Any] = {
                "id": s.id,
                "endpoint": s.endpoint,
                "key": s.key,
                "depends_on": list(s.depends_on),
                "request": s.display_request(),
            }
            if s.takes > 1 or s.picked:  # only shots with takes carry them, so plain plans stay as they were
                entry["take"] = s.take
                entry["takes"] = [{"take": n, "key": s.take_key(n)} for n in s.wanted_takes()]
            shots.append(entry)
        data: dict[str, Any] = {"version": self.version, "title": self.title, "shots": shots}
        if self.audio:  # a silent film's plan is unchanged
            data["audio"] = [a.to_json() for a in self.audio]
        if self.images:  # so is a plan without generated assets
            data["images"] = [i.to_json() for i in self.images]
        return data

    def image(self, image_id: str) -> ImagePlan:
        """The generated image with this id (KeyError if none)."""
        for i in self.images:
            if i.id == image_id:
                return i
        raise KeyError(image_id)

    def with_picks(self, picks: dict[str, int]) -> Plan:
        """The same plan with other takes picked: keys recomputed so that continuity follows each pick.

        A shot's picked take decides its key, and every shot that uses its clip (its last or first
        frame, an edit of it) hashes that key, so its own key and its input change with the pick;
        nothing else changes (sounds are keyed by what they are made of, not by a clip).
        """
        from dataclasses import replace

        from storyboard.graph import topological_shots

        by_id = self.by_id()
        deps = {s.id: s.depends_on for s in self.shots if s.depends_on}
        keys: dict[str, str] = {}
        new: dict[str, ShotPlan] = {}
        for sid in topological_shots(deps, [s.id for s in self.shots]) or [s.id for s in self.shots]:
            s = by_id[sid]
            if s.card is not None:  # a card has one take, and its key is its card's (see the compiler)
                keys[sid], new[sid] = s.key, s
                continue
            ups = {u: keys[u] for u in s.depends_on}
            base = shot_key(s.endpoint, s.request(lambda a, ups=ups: a.canonical(ups)), ups)  # type: ignore[misc]
            take = picks.get(sid, s.take)
            keys[sid] = take_key(base, take)
            new[sid] = replace(
                s, key=keys[sid], base_key="" if take == 1 else base, take=take, picked=s.picked or sid in picks
            )
        return replace(self, shots=tuple(new[s.id] for s in self.shots))


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


# -- sound -------------------------------------------------------------------------------------

AudioKind = Literal["line", "sfx", "music"]


@dataclass(frozen=True, slots=True)
class VoicePlan:
    """A resolved voice: what fal speaks with and what the offline preview speaks with."""

    name: str  # the voice's name as declared (or "<character>" for a voice a character carries)
    fal: str  # the ElevenLabs voice
    preview: str  # the eSpeak NG voice
    stability: float = 0.5
    rate: int = 165  # the preview's words per minute


@dataclass(frozen=True, slots=True)
class AudioPlan:
    """One line, effect or music cue: a node of the build graph with its own cache key.

    Generated when ``file`` is None (through ``endpoint``); an author's file is only mixed. The
    key covers what the sound is made of (kind, endpoint, text, voice, length, settings), not
    where it is placed or how loud it plays: moving a line or changing its level remixes, it
    does not regenerate.
    """

    id: str  # "<shot>.line1", "<shot>.sfx1", "music1"
    kind: AudioKind
    endpoint: str  # the audio endpoint ("" for a file)
    text: str  # the words spoken, or the prompt ("" for a file)
    key: str
    shot: str | None = None  # the shot a line or effect belongs to
    speaker: str | None = None  # the name written in the line
    voice: VoicePlan | None = None
    file: AssetRef | None = None
    seconds: float | None = None  # length to generate (effects and music)
    offset: float = 0.0  # seconds from the start of the shot (lines, effects)
    level: float = 0.0  # dB in the mix
    start: str | float = 0.0  # music: a shot id or seconds into the film
    end: str | float | None = None  # music: a shot id (its end), seconds, or None for the film's end
    fade_in: float = 0.0
    fade_out: float = 0.0
    duck: float = 0.0  # music: dB it dips under speech
    instrumental: bool = True
    location: SourceLocation | None = None

    @property
    def generated(self) -> bool:
        """True when a backend makes this sound (not an author's file)."""
        return self.file is None

    def request(self) -> dict[str, Any]:
        """The request body for the audio endpoint (see docs/sound.md)."""
        if self.kind == "line":
            assert self.voice is not None
            return {"text": self.text, "voice": self.voice.fal, "stability": self.voice.stability, "timestamps": True}
        if self.kind == "sfx":
            return {"text": self.text, "duration_seconds": self.seconds}
        return {
            "prompt": self.text,
            "music_length_ms": int(round((self.seconds or 0) * 1000)),
            "force_instrumental": self.instrumental,
        }

    def inputs(self) -> dict[str, Any]:
        """What the sound is made of, for explaining staleness and for its key."""
        data: dict[str, Any] = {"kind": self.kind, "endpoint": self.endpoint}
        if self.file is not None:
            data["file"] = f"sha256:{self.file.sha256}"
            return data
        data["request"] = self.request()
        if self.voice is not None:
            data["preview_voice"] = {"voice": self.voice.preview, "rate": self.voice.rate}
        return data

    def to_json(self) -> dict[str, Any]:
        """The entry of ``storyboard compile --json``'s ``audio`` list."""
        data: dict[str, Any] = {"id": self.id, "kind": self.kind, "key": self.key}
        if self.shot is not None:
            data["shot"] = self.shot
        if self.file is not None:
            data["file"] = self.file.display
        else:
            data["endpoint"] = self.endpoint
            data["request"] = self.request()
        if self.speaker is not None:
            data["speaker"] = self.speaker
        placement: dict[str, Any] = {"level": self.level}
        if self.kind == "music":
            placement.update(
                start=self.start, end=self.end, fade_in=self.fade_in, fade_out=self.fade_out, duck=self.duck
            )
        else:
            placement["offset"] = self.offset
        data["mix"] = placement
        return data


def audio_key(audio: AudioPlan) -> str:
    """sha256 over what a sound is made of (see :meth:`AudioPlan.inputs`)."""
    return hashlib.sha256(canonical_json(audio.inputs())).hexdigest()


# -- generated assets ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImagePlan:
    """One image of a generated asset: a text-to-image (or image-to-image) request, a node of the graph.

    The frontal image (view 0) is made from the prompt alone; each reference view is made from
    the frontal (``source``) by an image-to-image endpoint, so the views show the same character.
    The key covers the endpoint and the request with the source by its key, so changing the
    prompt, model, seed or size makes the image — and everything made from it — again.
    """

    id: str  # "mira.front", "mira.view2", "cast.ferryman.front", "hall.front", "ink.image2"
    asset: str  # the asset's name as the storyboard sees it ("mira", "cast.ferryman")
    kind: Literal["character", "object", "style", "image"]
    view: int  # 0: the frontal image (or a style's first image); 1..: the views (or further style images)
    label: str  # what the preview writes on it: "mira — front", "mira — view 2"
    model: str
    endpoint: str
    prompt: str
    width: int  # pixels asked for (a view asks for its source's shape; the endpoint decides the size)
    height: int
    seed: int
    key: str
    arguments: tuple[tuple[str, Any], ...] = ()  # the rest of the request, in order (image_size, seed, …)
    source: str | None = None  # the id of the image this one is made from
    source_field: str | None = None  # where the source goes in the request (image_url)
    source_key: str | None = None
    exact_size: bool = True  # the endpoint makes exactly width × height (text-to-image)
    price_usd: float | None = None
    price_source: str = ""
    model_label: str = ""
    location: SourceLocation | None = None

    def request(self, source_url: str | None = None) -> dict[str, Any]:
        """The request body, with the source image as ``source_url`` (an upload URL, or its id for display)."""
        body: dict[str, Any] = {"prompt": self.prompt}
        if self.source_field is not None:
            body[self.source_field] = source_url if source_url is not None else self.source
        for name, value in self.arguments:
            body[name] = value
        return body

    def inputs(self) -> dict[str, Any]:
        """What the image is made of, for its key and for explaining staleness."""
        return {
            "endpoint": self.endpoint,
            "request": self.request(f"generated:{self.source_key}" if self.source_key else None),
        }

    def to_json(self) -> dict[str, Any]:
        """The entry of ``storyboard compile --json``'s ``images`` list."""
        data: dict[str, Any] = {
            "id": self.id,
            "asset": self.asset,
            "view": self.view,
            "endpoint": self.endpoint,
            "key": self.key,
            "request": self.request(),
        }
        if self.source is not None:
            data["depends_on"] = [self.source]
        return data


def image_key(endpoint: str, request: dict[str, Any]) -> str:
    """sha256 over a generated image's endpoint and request (its source by key)."""
    return hashlib.sha256(canonical_json({"endpoint": endpoint, "request": request, "kind": "image"})).hexdigest()
