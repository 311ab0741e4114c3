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

AssetKind = Literal["file", "url", "last_frame"]


@dataclass(frozen=True, slots=True)
class AssetRef:
    """One image input of a request: a local file, a URL, or the last frame of another shot."""

    kind: AssetKind
    value: str  # absolute path (file), URL (url), or shot id (last_frame)
    display: str  # relative path from the storyboard's folder, the URL, or "<shot>.last_frame"
    sha256: str | None = None  # hex digest of a file's bytes

    @property
    def path(self) -> Path:
        """The local file (only for kind == 'file')."""
        return Path(self.value)

    def canonical(self, upstream_keys: dict[str, str]) -> str:
        """The reference as it enters a cache key: content hash, URL, or the upstream shot's key."""
        if self.kind == "file":
            return f"sha256:{self.sha256}"
        if self.kind == "last_frame":
            return f"last_frame:{upstream_keys[self.value]}"
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

    def assets(self) -> tuple[AssetRef, ...]:
        """Every image input of the request, in request order (images first, then elements)."""
        out: list[AssetRef] = list(self.image_urls)
        for el in self.elements:
            out.append(el.frontal)
            out.extend(el.references)
        return tuple(out)

    def request(self, url_of: Callable[[AssetRef], str]) -> dict[str, Any]:
        """The request body for the endpoint, with each asset turned into a URL by ``url_of``."""
        return {
            "prompt": self.prompt,
            "image_urls": [url_of(a) for a in self.image_urls],
            "elements": [
                {
                    "frontal_image_url": url_of(el.frontal),
                    "reference_image_urls": [url_of(r) for r in el.references],
                }
                for el in self.elements
            ],
            "duration": str(self.duration),
            "aspect_ratio": self.aspect_ratio,
        }

    def inputs(self, upstream_keys: dict[str, str]) -> dict[str, Any]:
        """What the clip is made of, for explaining staleness: prompt, settings, asset hashes, upstream keys."""
        assets: dict[str, str] = {}
        for a in self.assets():
            if a.kind == "file":
                assets[a.display] = a.sha256 or ""
            elif a.kind == "url":
                assets[a.display] = a.value
        return {
            "prompt": self.prompt,
            "model": self.model,
            "duration": self.duration,
            "aspect_ratio": self.aspect_ratio,
            "assets": assets,
            "upstream": {u: upstream_keys.get(u, "") for u in self.depends_on},
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
        data: dict[str, Any] = {
            "version": self.version,
            "title": self.title,
            "shots": [
                {
                    "id": s.id,
                    "endpoint": s.endpoint,
                    "key": s.key,
                    "depends_on": list(s.depends_on),
                    "request": s.display_request(),
                }
                for s in self.shots
            ],
        }
        if self.audio:  # a silent film's plan is unchanged
            data["audio"] = [a.to_json() for a in self.audio]
        return data


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


def shot_key(
    endpoint: str,
    prompt: str,
    image_urls: tuple[AssetRef, ...],
    elements: tuple[ElementRef, ...],
    duration: int,
    aspect_ratio: str,
    upstream_keys: dict[str, str],
) -> str:
    """sha256 over the endpoint, the canonical request (assets by content) and upstream keys."""

    def canon(a: AssetRef) -> str:
        return a.canonical(upstream_keys)

    body = {
        "endpoint": endpoint,
        "request": {
            "prompt": prompt,
            "image_urls": [canon(a) for a in image_urls],
            "elements": [
                {"frontal_image_url": canon(e.frontal), "reference_image_urls": [canon(r) for r in e.references]}
                for e in elements
            ],
            "duration": str(duration),
            "aspect_ratio": aspect_ratio,
        },
        "upstream": sorted(upstream_keys.values()),
    }
    return hashlib.sha256(canonical_json(body)).hexdigest()


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
