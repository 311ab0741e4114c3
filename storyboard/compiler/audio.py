"""Sound in the compiler: lines, effects and music cues → :class:`~storyboard.plan.AudioPlan` nodes.

Pure like the rest of the compiler: speaker names are resolved against the declared voices and
the characters that carry one (did-you-mean when unknown), line texts are rendered by jinja with
the shot's variables, audio files are checked to be audio (by their bytes) and hashed, and each
generated sound gets a content-addressed key. Times are checked against the shots' nominal
lengths: a line that cannot fit even the longest shot the model allows is an error.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storyboard.compiler.assets import AssetProblem, AssetStore
from storyboard.compiler.audio_models import MUSIC_ENDPOINT, SFX_ENDPOINT, TTS_ENDPOINT, fastest_speech_seconds
from storyboard.compiler.fit import SpokenLine, fit_message, lines_end, speech_seconds
from storyboard.compiler.load import Document
from storyboard.compiler.render import PromptError, Renderer
from storyboard.compiler.scope import Resolved, Scope
from storyboard.compiler.spec import Shot, Storyboard
from storyboard.compiler.spec_audio import Voice
from storyboard.errors import Problem
from storyboard.plan import AssetRef, AudioPlan, SourceLocation, Transition, VoicePlan, audio_key
from storyboard.util import did_you_mean

MAX_EFFECT_SECONDS = 22.0  # fal-ai/elevenlabs/sound-effects/v2 duration_seconds 0.5..22
MIN_MUSIC_SECONDS = 3.0  # fal-ai/elevenlabs/music music_length_ms 3,000..600,000
MAX_MUSIC_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class ShotTiming:
    """What the sound compiler needs to know of a compiled shot."""

    shot: Shot
    index: int
    duration: int
    max_duration: int  # the longest duration the shot's model offers
    transition: Transition
    context: dict[str, Any]  # the jinja variables of its prompt
    durations: tuple[int, ...] = ()  # every duration the shot's model offers (for the fit warning's advice)


def nominal_starts(timings: Sequence[ShotTiming]) -> list[float]:
    """Where each shot starts in the film by the requested durations (a crossfade overlaps)."""
    starts, t = [], 0.0
    for i, s in enumerate(timings):
        if i and s.transition.type == "crossfade":
            t -= s.transition.duration
        starts.append(t)
        t += s.duration
    return starts


def audio_signature(data: bytes) -> str | None:
    """The audio container a file's first bytes announce (wav, mp3, flac, ogg, m4a, aiff), or None."""
    head = data[:16]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[4:8] == b"ftyp":
        return "m4a"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    return None


class AudioCompiler:
    """Collects problems into the compiler's list; :meth:`run` returns the audio nodes."""

    def __init__(
        self,
        doc: Document,
        model: Storyboard,
        resolved: Resolved,
        root: Path,
        problems: list[Problem],
        allow_outside: bool = False,
        warnings: list[Problem] | None = None,
    ):
        self.doc, self.sb, self.resolved = doc, model, resolved
        self.problems = problems
        self.warnings = warnings if warnings is not None else []
        self.files = AssetStore(root=root, allow_outside=allow_outside, check_images=False)
        self.renderer = Renderer()

    def run(self, timings: Sequence[ShotTiming], shot_ids: Collection[str] = ()) -> tuple[AudioPlan, ...]:
        """Every line and effect of every shot, then the film's music cues.

        ``timings`` holds the shots that compiled; ``shot_ids`` every shot id of the storyboard, so
        a cue placed against a shot refused for its own problem adds no second message.
        """
        self._check_character_voices()
        out: list[AudioPlan] = []
        for t in timings:
            out.extend(self._lines(t))
            out.extend(self._effects(t))
        complete = len(timings) >= len(shot_ids)
        out.extend(self._music(timings, set(shot_ids), complete))
        return tuple(out)

    # -- names ---------------------------------------------------------------------------
    def _check_character_voices(self) -> None:
        """A character's ``voice:`` naming a voice must name one its file declares (or imports)."""
        scopes = [((), self.resolved.scope), *((("imports", ns), s) for ns, s in self.resolved.scope.imports.items())]
        for _, scope in scopes:
            for name, element in scope.model.characters.items():
                if isinstance(element.voice, str) and self._voice_in(scope, element.voice) is None:
                    self.problems.append(
                        scope.doc.problem(
                            ("characters", name, "voice"),
                            f"unknown voice {element.voice!r} for character {name!r}",
                            did_you_mean(element.voice, self._voice_names(scope))
                            or "declare it under `voices:`, or give the character a voice inline",
                        )
                    )

    @staticmethod
    def _voice_names(scope: Scope) -> list[str]:
        names = list(scope.model.voices)
        for ns, sub in scope.imports.items():
            names += [f"{ns}.{v}" for v in sub.model.voices]
        return names

    @staticmethod
    def _voice_in(scope: Scope, name: str) -> Voice | None:
        if "." in name:
            ns, _, rest = name.partition(".")
            sub = scope.imports.get(ns)
            return sub.model.voices.get(rest) if sub is not None else None
        return scope.model.voices.get(name)

    def _character_voice(self, scope: Scope, name: str, depth: int = 0) -> tuple[str, Voice] | None:
        """The voice of character ``name`` seen from ``scope`` (following ``extends``), or None."""
        if depth > 16:
            return None
        if "." in name:
            ns, _, rest = name.partition(".")
            sub = scope.imports.get(ns)
            return self._character_voice(sub, rest, depth + 1) if sub is not None else None
        element = scope.model.characters.get(name)
        if element is None:
            return None
        if isinstance(element.voice, Voice):
            return name, element.voice
        if isinstance(element.voice, str):
            voice = self._voice_in(scope, element.voice)
            return (element.voice, voice) if voice is not None else None
        return self._character_voice(scope, element.extends, depth + 1) if element.extends else None

    def _speaker(self, speaker: str, where: tuple[str | int, ...], *, quiet: bool = False) -> VoicePlan | None:
        scope = self.resolved.scope
        voice = self._voice_in(scope, speaker)
        if voice is not None:
            return _voice_plan(speaker, voice)
        asset = self.resolved.visible.get(speaker)
        if asset is not None and asset.kind == "character":
            found = self._character_voice(scope, speaker)
            if found is not None:
                return _voice_plan(found[0], found[1])
            if quiet:
                return None
            self.problems.append(
                self.doc.problem(
                    where,
                    f"character {speaker!r} has no voice",
                    "give it `voice:` (a voice name or a voice) or let a voice speak the line instead",
                )
            )
            return None
        if quiet:
            return None
        speakers = self._voice_names(scope) + [n for n, a in self.resolved.visible.items() if a.kind == "character"]
        self.problems.append(
            self.doc.problem(
                where,
                f"unknown speaker {speaker!r}",
                did_you_mean(speaker, speakers)
                or "a line is spoken by a voice under `voices:` or a character with a voice",
            )
        )
        return None

    # -- lines and effects ---------------------------------------------------------------
    def _location(self, path: tuple[str | int, ...]) -> SourceLocation:
        line, col = self.doc.locate(path)
        return SourceLocation(self.doc.display, line, col)

    def _render(self, text: str, t: ShotTiming, where: tuple[str | int, ...]) -> str | None:
        try:
            return " ".join(self.renderer.render(text, t.context).split())
        except PromptError as exc:
            for message, hint in exc.messages:
                self.problems.append(self.doc.problem(where, f"shot {t.shot.id!r}: {message}", hint))
            return None

    def _lines(self, t: ShotTiming) -> list[AudioPlan]:
        out = []
        for n, line in enumerate(t.shot.lines):
            where = ("shots", t.index, "lines", n)
            voice = self._speaker(line.speaker, where + ("speaker",))
            text = self._render(line.text, t, where + ("text",))
            if text is None or voice is None:
                continue
            if not text:
                self.problems.append(self.doc.problem(where + ("text",), f"shot {t.shot.id!r}: the line renders empty"))
                continue
            if line.offset >= t.duration:
                self.problems.append(
                    self.doc.problem(
                        where + ("offset",),
                        f"shot {t.shot.id!r}: the line starts at {line.offset:g} s, but the shot lasts {t.duration} s",
                        "an offset is counted from the start of the shot",
                    )
                )
                continue
            least = fastest_speech_seconds(text)
            if line.offset + least > t.max_duration:
                self.problems.append(
                    self.doc.problem(
                        where + ("text",),
                        f"shot {t.shot.id!r}: this line takes at least {least:.1f} s to say"
                        + (f" from {line.offset:g} s" if line.offset else "")
                        + f", longer than any shot the model allows ({t.max_duration} s)",
                        "split it over two shots, or shorten it",
                    )
                )
                continue
            plan = AudioPlan(
                id=f"{t.shot.id}.line{n + 1}", kind="line", endpoint=TTS_ENDPOINT, text=text, key="",
                shot=t.shot.id, speaker=line.speaker, voice=voice, offset=line.offset, level=line.level,
                location=self._location(where),
            )  # fmt: skip
            out.append(_keyed(plan))
        self._check_fit(t, out)
        return out

    def estimate(self, shot: Shot, context: dict[str, Any]) -> float:
        """Seconds into ``shot`` at which its lines end, by the estimate (for ``duration: auto``).

        Quiet: a line that cannot be estimated yet (an unknown speaker, a template error) counts
        as nothing here, and is reported with its file:line when the lines are compiled.
        """
        spoken = []
        for line in shot.lines:
            voice = self._speaker(line.speaker, (), quiet=True)
            try:
                text = " ".join(self.renderer.render(line.text, context).split())
            except PromptError:
                continue
            if voice is not None and text:
                spoken.append(SpokenLine(line.offset, speech_seconds(text, voice.rate)))
        return lines_end(spoken)

    def _check_fit(self, t: ShotTiming, lines: list[AudioPlan]) -> None:
        """A warning when the shot's lines, by the estimate, end after the shot does."""
        spoken = [SpokenLine(a.offset, speech_seconds(a.text, a.voice.rate if a.voice else 165)) for a in lines]
        needed = lines_end(spoken)
        if not spoken or needed <= t.duration:
            return
        message, hint = fit_message(
            t.shot.id, len(spoken), needed, t.duration, t.durations or (t.max_duration,),
            offsets=any(line.offset for line in spoken),
        )  # fmt: skip
        field = "duration" if "duration" in t.shot.model_fields_set else "lines"
        self.warnings.append(self.doc.problem(("shots", t.index, field), message, hint))

    def _file(self, raw: str, where: tuple[str | int, ...]) -> AssetRef | None:
        if raw.startswith(("http://", "https://")):
            self.problems.append(
                self.doc.problem(where, f"{raw!r}: audio is mixed locally", "download the file and give its path")
            )
            return None
        try:
            ref = self.files.ref(raw, self.doc.path)
        except AssetProblem as exc:
            self.problems.append(self.doc.problem(where, exc.message, exc.hint))
            return None
        with open(ref.path, "rb") as f:
            head = f.read(16)
        if audio_signature(head) is None:
            self.problems.append(
                self.doc.problem(
                    where,
                    f"{raw!r} is not an audio file",
                    "give a WAV, MP3, FLAC, Ogg, M4A/AAC or AIFF file",
                )
            )
            return None
        return ref

    def _effects(self, t: ShotTiming) -> list[AudioPlan]:
        out = []
        for n, fx in enumerate(t.shot.sfx):
            where = ("shots", t.index, "sfx", n)
            if fx.offset >= t.duration:
                self.problems.append(
                    self.doc.problem(
                        where + ("offset",),
                        f"shot {t.shot.id!r}: the effect starts at {fx.offset:g} s, but the shot lasts {t.duration} s",
                    )
                )
                continue
            common: dict[str, Any] = dict(
                id=f"{t.shot.id}.sfx{n + 1}", kind="sfx", key="", shot=t.shot.id, offset=fx.offset, level=fx.level,
                location=self._location(where),
            )  # fmt: skip
            if fx.file is not None:
                ref = self._file(fx.file, where + ("file",))
                if ref is not None:
                    out.append(_keyed(AudioPlan(endpoint="", text="", file=ref, **common)))
                continue
            text = self._render(fx.prompt or "", t, where + ("prompt",))
            if not text:
                continue
            seconds = fx.duration or max(0.5, min(MAX_EFFECT_SECONDS, t.duration - fx.offset))
            out.append(_keyed(AudioPlan(endpoint=SFX_ENDPOINT, text=text, seconds=round(seconds, 2), **common)))
        return out

    # -- music ---------------------------------------------------------------------------
    def _music(self, timings: Sequence[ShotTiming], shot_ids: set[str], complete: bool) -> list[AudioPlan]:
        starts = nominal_starts(timings)
        if not timings:
            return []
        length = starts[-1] + timings[-1].duration
        index = {t.shot.id: i for i, t in enumerate(timings)}
        out = []
        for n, cue in enumerate(self.sb.film.music):
            where = ("film", "music", n)

            def at(
                value: str | float | None, end: bool, field: str, where: tuple[str | int, ...] = where
            ) -> float | None:
                if value is None:
                    return length
                if isinstance(value, str):
                    i = index.get(value)
                    if i is None and value in shot_ids:
                        return None  # the shot was refused for its own problem, reported where it is
                    if i is None:
                        self.problems.append(
                            self.doc.problem(
                                where + (field,), f"unknown shot {value!r}", did_you_mean(value, list(index))
                            )
                        )
                        return None
                    return starts[i] + (timings[i].duration if end else 0.0)
                return min(float(value), length)

            start, stop = at(cue.start, False, "start"), at(cue.end, True, "end")
            if start is None or stop is None or not complete:
                continue  # without every shot the film's times are not known
            if stop - start < 0.5:
                self.problems.append(
                    self.doc.problem(
                        where,
                        f"music cue {n + 1} lasts {max(0.0, stop - start):g} s in a film of {length:g} s",
                        "its end must come after its start",
                    )
                )
                continue
            common: dict[str, Any] = dict(
                id=f"music{n + 1}", kind="music", key="", start=cue.start, end=cue.end, level=cue.level,
                fade_in=cue.fade_in, fade_out=cue.fade_out, duck=cue.duck, instrumental=cue.instrumental,
                location=self._location(where),
            )  # fmt: skip
            if cue.file is not None:
                ref = self._file(cue.file, where + ("file",))
                if ref is not None:
                    out.append(_keyed(AudioPlan(endpoint="", text="", file=ref, **common)))
                continue
            seconds = min(MAX_MUSIC_SECONDS, max(MIN_MUSIC_SECONDS, math.ceil(stop - start)))
            out.append(
                _keyed(AudioPlan(endpoint=MUSIC_ENDPOINT, text=cue.prompt or "", seconds=float(seconds), **common))
            )
        return out


def _voice_plan(name: str, voice: Voice) -> VoicePlan:
    return VoicePlan(name, voice.fal, voice.preview, voice.stability, voice.rate)


def _keyed(plan: AudioPlan) -> AudioPlan:
    from dataclasses import replace

    return replace(plan, key=audio_key(plan))
