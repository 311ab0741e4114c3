"""The shots and the film: :class:`ShotPlan` (one request for a model's endpoint), :class:`CardPlan`
(a title card made locally), :class:`FilmPlan` and the :class:`Plan` that holds them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storyboard.plan.generations import AudioPlan, ImagePlan
from storyboard.plan.keys import build_request, gc_paused, shot_key, take_key
from storyboard.plan.refs import (
    AssetRef,
    ElementRef,
    ImageLimits,
    Mention,
    PromptPart,
    RequestShape,
    SourceLocation,
    Transition,
)

PLAN_VERSION = 1


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
