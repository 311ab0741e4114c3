"""The cut as an OpenTimelineIO timeline (``build/<film>.otio``) that editors can open.

One video track, one clip per shot pointing at ``shots/<id>.mp4`` (relative to the .otio
file). A crossfade of d seconds is an OTIO ``SMPTE_Dissolve`` centred on the cut (d/2 on
each side, the neighbouring clips trimmed by d/2 so the track lasts as long as the film); a
fade (dip to black, no overlap) is a ``FadeOut``/``FadeIn`` effect pair on the two clips.
Shot ids, keys, prompts and models are clip metadata under ``storyboard``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storyboard.media.probe import probe
from storyboard.plan import Plan
from storyboard.util import atomic_write_bytes

FPS = 24


def timeline_path(plan: Plan, build_dir: Path) -> Path:
    """``build/<film stem>.otio``."""
    return build_dir / (Path(plan.film.output).stem + ".otio")


AudioTracks = list[tuple[str, list[tuple[float, float, str, str]]]]


def write_timeline(
    plan: Plan, build_dir: Path, film: Path | None = None, audio_tracks: AudioTracks | None = None
) -> Path:
    """Write the OTIO timeline of the built film (with its audio tracks, if any) and return its path."""
    import opentimelineio as otio

    rt = otio.opentime.RationalTime
    tr = otio.opentime.TimeRange
    shots = plan.shots
    rate = float(probe(build_dir / "shots" / f"{shots[0].id}.mp4").fps or FPS)
    frames = {s.id: _frames(build_dir / "shots" / f"{s.id}.mp4", rate) for s in shots}
    half = [0] * (len(shots) + 1)  # crossfade frames taken on each side of cut i (between i-1 and i)
    for i, s in enumerate(shots[1:], 1):
        if s.transition.type == "crossfade":
            half[i] = round(s.transition.duration * rate / 2)

    timeline = otio.schema.Timeline(name=plan.title)
    timeline.metadata["storyboard"] = {"film": plan.film.output, "source": plan.source.name}
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for i, s in enumerate(shots):
        n = frames[s.id]
        head, tail = half[i], half[i + 1] if i + 1 < len(shots) else 0
        if i and half[i]:
            track.append(
                otio.schema.Transition(
                    name=f"crossfade into {s.id}",
                    transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                    in_offset=rt(half[i], rate),
                    out_offset=rt(half[i], rate),
                )
            )
        clip = otio.schema.Clip(
            name=s.id,
            media_reference=otio.schema.ExternalReference(
                target_url=f"shots/{s.id}.mp4", available_range=tr(rt(0, rate), rt(n, rate))
            ),
            source_range=tr(rt(head, rate), rt(n - head - tail, rate)),
        )
        clip.metadata["storyboard"] = {
            "id": s.id,
            "key": s.key,
            "prompt": s.prompt,
            "model": s.model,
            "duration": s.duration,
            "aspect_ratio": s.aspect_ratio,
            "transition": {"type": s.transition.type, "duration": s.transition.duration},
        }
        if i and s.transition.type == "fade":
            clip.effects.append(
                otio.schema.Effect(
                    name="fade in", effect_name="FadeIn", metadata={"duration": s.transition.duration / 2}
                )
            )
        if i + 1 < len(shots) and shots[i + 1].transition.type == "fade":
            clip.effects.append(
                otio.schema.Effect(
                    name="fade out", effect_name="FadeOut", metadata={"duration": shots[i + 1].transition.duration / 2}
                )
            )
        track.append(clip)
    for name, items in audio_tracks or []:
        timeline.tracks.extend(_audio_tracks(name, items, rate))
    path = timeline_path(plan, build_dir)
    atomic_write_bytes(path, otio.adapters.write_to_string(timeline, "otio_json").encode("utf-8"))
    return path


def _frames(clip: Path, rate: float) -> int:
    info = probe(clip)
    return info.frames or round(info.duration * rate)


def _audio_tracks(name: str, items: list[tuple[float, float, str, str]], rate: float) -> list[Any]:
    """OTIO audio tracks for one stem: each sound a clip at its place in the film with gaps between;
    sounds that overlap go on further tracks (``Dialogue 2``), since a track plays one clip at a time."""
    import opentimelineio as otio

    rt = otio.opentime.RationalTime
    tr = otio.opentime.TimeRange
    lanes: list[tuple[object, int]] = []  # (track, frame where it is free)
    for start, length, target, sound_id in sorted(items):
        begin, frames = round(start * rate), max(1, round(length * rate))
        lane = next((n for n, (_, free) in enumerate(lanes) if free <= begin), None)
        if lane is None:
            suffix = f" {len(lanes) + 1}" if lanes else ""
            lanes.append((otio.schema.Track(name=name + suffix, kind=otio.schema.TrackKind.Audio), 0))
            lane = len(lanes) - 1
        track, free = lanes[lane]
        if begin > free:
            track.append(otio.schema.Gap(source_range=tr(rt(0, rate), rt(begin - free, rate))))  # type: ignore[attr-defined]
        clip = otio.schema.Clip(
            name=sound_id,
            media_reference=otio.schema.ExternalReference(target_url=target),
            source_range=tr(rt(0, rate), rt(frames, rate)),
        )
        clip.metadata["storyboard"] = {"id": sound_id, "start": round(start, 3)}
        track.append(clip)  # type: ignore[attr-defined]
        lanes[lane] = (track, begin + frames)
    return [t for t, _ in lanes]
