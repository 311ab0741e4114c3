"""After stitching: the film's sound — stems, mix, loudness, subtitles — muxed onto the stitched picture.

Outputs beside the film (``<stem>`` is the film's name without ``.mp4``)::

    <stem>.dialogue.wav  <stem>.effects.wav  <stem>.music.wav   the stems, 48 kHz stereo
    <stem>.native.wav                                           the clips' own sound, when a clip has it
    audio/<shot>.native.wav                                     each clip's own sound (for the timeline)
    <stem>.srt  <stem>.vtt                                      subtitles from the lines
    .sound.json                                                 what the sound was made of

The picture is never re-encoded: the mix is muxed onto the stitched video by stream copy. A
film whose sound is already current is left alone; a film whose sounds are not all built keeps
its picture and loses any older sound (a film never plays a mix of an earlier storyboard).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from storyboard.build.audio import SoundRecord, SoundStore
from storyboard.build.cache import Cache, place_file
from storyboard.media.ffmpeg import run_ffmpeg
from storyboard.media.mix import (
    STEMS,
    Layout,
    MixReport,
    Sound,
    Stem,
    decode_to_wav,
    layout,
    mix_film,
    stems_of,
    wav_duration,
)
from storyboard.media.probe import probe
from storyboard.media.subtitles import Cue, write_subtitles
from storyboard.plan import AudioPlan, Plan
from storyboard.util import atomic_write_json, make_readable, sha256_file

SOUND_VERSION = 1
_STEM_OF: dict[str, Stem] = {"line": "dialogue", "sfx": "effects", "music": "music"}


@dataclass
class Placed:
    """A sound of the plan where the film plays it (for the mix, the subtitles and the timeline)."""

    audio: AudioPlan
    path: Path
    start: float  # seconds into the film
    length: float  # seconds it plays
    record: SoundRecord | None = None  # generated sounds


@dataclass(frozen=True, slots=True)
class Native:
    """A clip's own sound (a model's native audio) where the film plays it."""

    shot: str
    index: int
    path: Path  # audio/<shot>.native.wav in the build folder
    start: float  # seconds into the film
    length: float  # the clip's length


@dataclass
class SoundOutcome:
    """What the sound step did."""

    note: str
    placed: list[Placed] = field(default_factory=list)
    native: list[Native] = field(default_factory=list)
    report: MixReport | None = None
    subtitles: tuple[Path, ...] = ()


def stem_paths(film: Path) -> dict[Stem, Path]:
    """The stem files beside ``film``."""
    base = film.with_suffix("")
    return {s: base.with_name(f"{base.name}.{s}.wav") for s in STEMS}


def _author_wav(cache: Cache, audio: AudioPlan) -> Path:
    """An author's audio file decoded once into the cache (by content), as the mix's WAV."""
    assert audio.file is not None
    dest = cache.base / "audio" / "files" / f"{audio.file.sha256}.wav"
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp.wav")
        try:
            decode_to_wav(audio.file.path, tmp)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
    return dest


def film_layout(plan: Plan, cache: Cache) -> Layout:
    """Where each shot's clip sits in the film, from the clips' real frame counts."""
    infos = [probe(cache.clip_path(s.key)) for s in plan.shots]
    fps = Fraction(infos[0].fps) if infos[0].fps else Fraction(24)
    return layout([i.frames for i in infos], [s.transition for s in plan.shots], fps)


def may_have_native_audio(plan: Plan) -> bool:
    """Whether any shot asked its model for native audio (``generate_audio`` sent true)."""
    return any(s.audio for s in plan.shots)


def native_audio(plan: Plan, cache: Cache, lay: Layout, build_dir: Path) -> list[Native]:
    """Every clip that has its own sound, decoded once into the cache (by the clip's key) and copied
    to ``build/audio/<shot>.native.wav``; placed at its clip in the film. Judged from the clip
    itself, not the request: a clip without an audio stream has no native sound."""
    out = []
    for i, s in enumerate(plan.shots):
        if not s.audio:
            continue
        clip = cache.clip_path(s.key)
        if not probe(clip).has_audio:
            continue
        cached = cache.base / "audio" / "native" / f"{s.key}.wav"
        if not cached.exists():
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp.wav")
            try:
                decode_to_wav(clip, tmp)
                os.replace(tmp, cached)
            finally:
                tmp.unlink(missing_ok=True)
        dest = build_dir / "audio" / f"{s.id}.native.wav"
        place_file(cached, dest, sha256_file(cached))
        out.append(Native(s.id, i, dest, lay.starts[i], lay.lengths[i]))
    return out


def place(plan: Plan, cache: Cache, lay: Layout) -> tuple[list[Placed], list[str]]:
    """Every sound of the plan at its place in the film; the ids of generated sounds not in the cache."""
    store = SoundStore(cache)
    index = {s.id: i for i, s in enumerate(plan.shots)}
    placed, missing = [], []
    for a in plan.audio:
        record = None
        if a.generated:
            record = store.lookup(a.key, verify=False)
            if record is None:
                missing.append(a.id)
                continue
            path, own = store.path(a.key), record.duration
        else:
            path = _author_wav(cache, a)
            own = wav_duration(path)
        if a.kind == "music":
            start = lay.starts[index[a.start]] if isinstance(a.start, str) else min(float(a.start), lay.total)
            if a.end is None:
                end = lay.total
            elif isinstance(a.end, str):
                end = lay.starts[index[a.end]] + lay.lengths[index[a.end]]
            else:
                end = min(float(a.end), lay.total)
            length = max(0.0, end - start)
        else:
            i = index[a.shot or ""]
            start = lay.starts[i] + a.offset
            length = min(own, lay.lengths[i] - a.offset) if a.kind == "sfx" else own
        placed.append(Placed(a, path, start, length, record))
    return placed, missing


def speech_intervals(placed: list[Placed], total: float) -> list[tuple[float, float]]:
    """Where the film speaks: each line's measured sound span, in film seconds."""
    out = []
    for p in placed:
        if p.audio.kind == "line" and p.record is not None and p.record.span[1] > p.record.span[0]:
            out.append((min(total, p.start + p.record.span[0]), min(total, p.start + p.record.span[1])))
    return out


def cues(placed: list[Placed], total: float) -> list[Cue]:
    """One subtitle per line, timed to its speech, with per-word starts when known."""
    out = []
    for p in placed:
        if p.audio.kind != "line" or p.record is None:
            continue
        a, b = p.start + p.record.span[0], p.start + p.record.span[1]
        if a >= total:
            continue
        words = tuple((w, round(p.start + s, 3)) for w, s, _ in p.record.words)
        out.append(Cue(round(a, 3), round(min(b, total), 3), p.audio.text, words))
    return out


def sound_key(plan: Plan, build_dir: Path, placed: list[Placed], native: list[Native] | None = None) -> str:
    """A hash of what the film's sound is made of: the picture's stamp, every sound's bytes and placement, the mix settings."""
    picture = _picture_key(build_dir)
    parts = [
        (p.audio.to_json(), p.record.sha256 if p.record else (p.audio.file.sha256 if p.audio.file else None))
        for p in placed
    ]
    settings: list[object] = [plan.film.loudness, plan.film.true_peak, plan.film.subtitles, SOUND_VERSION]
    if plan.film.burn_subtitles:  # a film made before burn-in existed keeps its key
        settings.append("burn-in")
    material: list[object] = [picture, parts, settings]
    if native:  # a film without native sound keeps the key it had before native sound existed
        material.append([(n.shot, plan.shots[n.index].key) for n in native])
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _strip_sound(film: Path) -> None:
    """Keep only the picture of ``film`` (an older mix must not play over a newer storyboard)."""
    info = probe(film)
    if not info.has_audio:
        return
    tmp = film.with_name(f".{film.name}.{os.getpid()}.tmp.mp4")
    try:
        run_ffmpeg(["-v", "error", "-i", str(film), "-map", "0:v:0", "-c:v", "copy", "-movflags", "+faststart",
                    "-f", "mp4", "-y", str(tmp)], what="removing an outdated mix")  # fmt: skip
        os.replace(tmp, film)
    finally:
        tmp.unlink(missing_ok=True)


def _restamp_picture(build_dir: Path, film: Path) -> None:
    """The stitch's stamp records the film's size and hash; after muxing, the film is still current for it.

    Both are the muxed film's, so an unchanged rebuild neither stitches nor mixes again, while a
    film written over in place (another hash) is still made again.
    """
    stamp = build_dir / ".film.json"
    try:
        data = json.loads(stamp.read_text("utf-8"))
    except (OSError, ValueError):
        return
    data["size"], data["sha256"] = film.stat().st_size, sha256_file(film)
    atomic_write_json(stamp, data)


def picture_burned(build_dir: Path) -> bool:
    """True when the film's picture has subtitles burned in (``.sound.json``): it is no longer the
    stitch's picture, and is never mixed (and burned) a second time."""
    try:
        return bool(json.loads((build_dir / ".sound.json").read_text("utf-8")).get("burned"))
    except (OSError, ValueError, AttributeError):
        return False


def clean_picture(cache: Cache, film_key: str) -> Path:
    """Where the stitched picture of the film with key ``film_key`` is kept while its subtitles are burned in."""
    return cache.base / "pictures" / f"picture-{film_key}.mp4"  # not under stitch/: swept at every build


def _picture_key(build_dir: Path) -> str | None:
    try:
        key = json.loads((build_dir / ".film.json").read_text("utf-8")).get("key")
    except (OSError, ValueError, AttributeError):
        return None
    return key if isinstance(key, str) else None


def burned_picture_kept(plan: Plan, cache: Cache, film_key: str) -> bool:
    """True when this plan burns its lines in and the clean picture under the burned film is kept:
    the stitch need not run again, since a remix starts from that picture."""
    burns = plan.film.burn_subtitles and any(a.kind == "line" for a in plan.audio)
    return bool(burns) and clean_picture(cache, film_key).is_file()


def _keep_clean_picture(cache: Cache, film: Path, film_key: str) -> Path:
    """Copy the freshly stitched ``film`` to its kept place (older kept pictures go); return the place."""
    kept = clean_picture(cache, film_key)
    if kept.parent.is_dir():
        for old in kept.parent.glob("picture-*.mp4"):
            if old != kept:
                old.unlink(missing_ok=True)
    place_file(film, kept)
    return kept


def finish_sound(plan: Plan, build_dir: Path, cache: Cache, film: Path, *, fresh: bool = True) -> SoundOutcome:
    """Give the stitched ``film`` its sound and subtitles, unless they are current.

    ``fresh``: the film was stitched by this run. When it was not and its picture has subtitles
    burned in, a remix starts from the clean picture kept beside the cache
    (:func:`burned_picture_kept`), never from the burned one.
    """
    if not plan.audio and not may_have_native_audio(plan):
        return SoundOutcome("")
    lay = film_layout(plan, cache)
    native = native_audio(plan, cache, lay, build_dir) if may_have_native_audio(plan) else []
    if not plan.audio and not native:
        return SoundOutcome("")
    picture_key = _picture_key(build_dir)
    source = film  # the picture the sound is mixed onto
    if not fresh and picture_key is not None and picture_burned(build_dir):
        source = clean_picture(cache, picture_key)
    placed, missing = place(plan, cache, lay)
    if missing:
        if source != film:  # the burned-in subtitles are outdated: the clean picture goes back
            place_file(source, film)
        _strip_sound(film)
        _restamp_picture(build_dir, film)
        (build_dir / ".sound.json").unlink(missing_ok=True)
        return SoundOutcome(
            f"sound not mixed: {len(missing)} sound(s) not built ({', '.join(missing[:5])})", placed, native
        )
    key = sound_key(plan, build_dir, placed, native)
    stamp = build_dir / ".sound.json"
    base = film.with_suffix("")
    subtitle_cues = cues(placed, lay.total)
    subs: tuple[Path, ...] = ()
    if plan.film.subtitles and subtitle_cues:
        subs = (base.with_suffix(".srt"), base.with_suffix(".vtt"))
    try:
        prior = json.loads(stamp.read_text("utf-8"))
        if prior.get("key") == key and prior.get("size") == film.stat().st_size:
            return SoundOutcome("sound unchanged", placed, native, subtitles=subs)
    except (OSError, ValueError):
        pass
    if subs:
        write_subtitles(subtitle_cues, base)
    sounds = [
        Sound(p.audio.id, _STEM_OF[p.audio.kind], p.path,
              p.audio.offset if p.audio.kind == "sfx" else p.start, p.audio.level,
              shot=[s.id for s in plan.shots].index(p.audio.shot or "") if p.audio.kind == "sfx" else None,
              length=p.length if p.audio.kind == "music" else None, fade_in=p.audio.fade_in,
              fade_out=p.audio.fade_out, file_seconds=p.record.duration if p.record else wav_duration(p.path),
              duck=p.audio.duck)
        for p in placed
    ]  # fmt: skip
    sounds += [Sound(f"{n.shot}.native", "native", n.path, 0.0, shot=n.index) for n in native]
    stems = stem_paths(film)
    for stem in set(STEMS) - set(stems_of(sounds)):  # a stem this mix does not make must not linger from an older one
        stems[stem].unlink(missing_ok=True)
    tmp = film.with_name(f".{film.name}.{os.getpid()}.sound.tmp.mp4")
    burn = bool(plan.film.burn_subtitles and subs)
    if burn and source == film and picture_key is not None:
        source = _keep_clean_picture(cache, film, picture_key)  # so a later remix never burns twice
    try:
        report = mix_film(
            source, tmp, sounds, lay, speech_intervals(placed, lay.total), target=plan.film.loudness,
            true_peak=plan.film.true_peak, stems=stems, workdir=cache.base / "mix",
            subtitles=subs[0] if subs else None,
        )  # fmt: skip
        if burn:
            from storyboard.media.burn import burn_subtitles

            burned = film.with_name(f".{film.name}.{os.getpid()}.burn.tmp.mp4")
            try:
                burn_subtitles(tmp, subs[0], burned, workdir=cache.base / "burn")
                os.replace(burned, tmp)
            finally:
                burned.unlink(missing_ok=True)
        make_readable(tmp)
        os.replace(tmp, film)
    finally:
        tmp.unlink(missing_ok=True)
    _restamp_picture(build_dir, film)
    atomic_write_json(stamp, {
        "key": key, "size": film.stat().st_size, "sha256": sha256_file(film),
        "loudness": report.loudness, "true_peak": report.true_peak, "before_master": report.measured_before,
        "burned": burn,
    })  # fmt: skip
    burn_note = "; subtitles burned into the picture" if burn else ""
    return SoundOutcome(
        f"sound mixed at {report.loudness:.1f} LUFS, true peak {report.true_peak:.1f} dBTP{burn_note}",
        placed,
        native,
        report,
        subs,
    )
