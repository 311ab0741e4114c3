"""The plan's other generations: sounds (:class:`AudioPlan`, with its :class:`VoicePlan`) and the
images of generated assets (:class:`ImagePlan`), each a node of the build graph with its own key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from storyboard.plan.refs import AssetRef, SourceLocation

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
