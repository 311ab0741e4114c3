"""Pydantic models of the sound part of format version 1: voices, lines, effects, music, loudness.

Kept apart from :mod:`storyboard.compiler.spec` (which imports them) so that the sound fields
grow in one place. Shapes and types only, like the rest of the format: speaker names, shot
names and files are checked when compiling (:mod:`storyboard.compiler.audio`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

_QUALNAME = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$"
_IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"

SpeakerName = Annotated[str, StringConstraints(pattern=_QUALNAME)]
ShotName = Annotated[str, StringConstraints(pattern=_IDENT)]
AudioPath = Annotated[
    str, StringConstraints(min_length=1), Field(description="an audio file, relative to the declaring file")
]
Seconds = Annotated[float, Field(ge=0, le=3600)]
Decibels = Annotated[float, Field(ge=-60, le=12, description="gain in dB applied in the mix")]
FadeSeconds = Annotated[float, Field(ge=0, le=30)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Voice(_Model):
    """A voice, declared once and used by name (or carried by a character)."""

    description: str | None = None
    fal: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        default="Rachel",
        description="the ElevenLabs voice fal speaks with: a preset name (Aria, George, …) or a voice id",
    )
    preview: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_+\-]{1,40}$")] = Field(
        default="en-us", description="the eSpeak NG voice of the offline preview (en-us, en-gb, en-us+f3, fr, …)"
    )
    stability: Annotated[float, Field(ge=0, le=1)] = Field(default=0.5, description="ElevenLabs voice stability, 0..1")
    rate: Annotated[int, Field(ge=80, le=450)] = Field(
        default=165, description="the preview's speaking rate in words per minute (fal's voices keep their own pace)"
    )


VoiceField = SpeakerName | Voice


class Line(_Model):
    """A line of dialogue or narration in a shot."""

    speaker: SpeakerName = Field(description="a character that has a voice, or a voice name")
    text: Annotated[str, StringConstraints(min_length=1)] = Field(description="what is said (jinja, like prompts)")
    offset: Seconds = Field(default=0.0, description="seconds from the start of the shot")
    level: Decibels = 0.0


class Effect(_Model):
    """A sound effect in a shot: generated from a prompt, or an audio file."""

    prompt: Annotated[str, StringConstraints(min_length=1)] | None = None
    file: AudioPath | None = None
    offset: Seconds = Field(default=0.0, description="seconds from the start of the shot")
    duration: Annotated[float, Field(ge=0.5, le=22)] | None = Field(
        default=None, description="seconds to generate (a prompt only; default: the rest of the shot, at most 22)"
    )
    level: Decibels = -6.0

    @model_validator(mode="after")
    def _one_source(self) -> Effect:
        if (self.prompt is None) == (self.file is None):
            raise ValueError("an effect has either a prompt or a file (exactly one)")
        if self.file is not None and self.duration is not None:
            raise ValueError("duration is for generated effects; a file plays for its own length")
        return self


class MusicCue(_Model):
    """A piece of music in the film: a file, or a prompt to generate it, placed against shots or times."""

    prompt: Annotated[str, StringConstraints(min_length=1)] | None = None
    file: AudioPath | None = None
    start: ShotName | Seconds = Field(default=0.0, description="a shot id (its start) or seconds into the film")
    end: ShotName | Seconds | None = Field(
        default=None, description="a shot id (its end) or seconds; default: the film's end"
    )
    level: Decibels = -10.0
    fade_in: FadeSeconds = 1.0
    fade_out: FadeSeconds = 2.0
    instrumental: bool = Field(default=True, description="generated music without vocals")
    duck: Annotated[float, Field(ge=0, le=40)] = Field(
        default=12.0, description="how many dB the music dips under speech (0: no ducking)"
    )

    @model_validator(mode="after")
    def _one_source(self) -> MusicCue:
        if (self.prompt is None) == (self.file is None):
            raise ValueError("a music cue has either a prompt or a file (exactly one)")
        return self


class Loudness(_Model):
    """The film's loudness: EBU R128 integrated loudness and a true-peak ceiling."""

    target: Annotated[float, Field(ge=-40, le=-5)] = Field(default=-14.0, description="integrated loudness, LUFS")
    true_peak: Annotated[float, Field(ge=-9, le=0)] = Field(default=-1.0, description="true-peak ceiling, dBTP")


class Subtitles(_Model):
    """Subtitles written as a mapping: the soft track and files, and the lines burned in on request."""

    burn_in: bool = Field(
        default=False, description="also draw the lines into the picture (re-encodes the film's picture)"
    )
