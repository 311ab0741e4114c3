"""The built cut for editors: the build's OTIO timeline written through OpenTimelineIO's adapters.

The source is always the timeline the build wrote beside the film (``build/<film>.otio``), so an
export is exactly what was built. What each format gets:

* ``fcpxml`` (Final Cut Pro, DaVinci Resolve; ``otio-fcpx-xml-adapter``): the picture on the
  primary storyline, every audio track as a lane under it. The adapter writes no transitions:
  a crossfade becomes a cut (a warning names each one).
* ``fcp7`` (Premiere Pro, Resolve; ``otio-fcp-adapter``): picture, transitions (Cross Dissolve)
  and every audio track.
* ``edl`` (CMX 3600; ``otio-cmx3600-adapter``): one picture track, cuts and dissolves, with each
  clip's file in a ``* FROM CLIP:`` comment. An EDL has no audio tracks here: they are dropped, and
  a warning says how many sounds.
* ``aaf`` (Avid Media Composer, Pro Tools; ``otio-aaf-adapter`` with ``pyaaf2``): picture,
  dissolves and every audio track, with linked (not embedded) media.
* ``otio``: the timeline itself.

Media references become absolute ``file://`` URLs: an exported file is opened somewhere else
(an editor's project folder), and none of these editors resolves a relative path against the
file it imports. The build's own ``.otio`` keeps its relative paths (it moves with the build).
Fades (a dip to black, kept in the timeline as ``FadeIn``/``FadeOut`` effects) have no form in
these adapters: they are written as cuts, and a warning says so.
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storyboard.errors import MediaError

# format → (OTIO adapter, file suffix, what it is for)
FORMATS: dict[str, tuple[str, str, str]] = {
    "fcpxml": ("fcpx_xml", ".fcpxml", "Final Cut Pro X / DaVinci Resolve"),
    "fcp7": ("fcp_xml", ".xml", "Final Cut Pro 7 XML: Premiere Pro, DaVinci Resolve"),
    "edl": ("cmx_3600", ".edl", "CMX 3600 EDL: picture only, one track"),
    "aaf": ("AAF", ".aaf", "AAF: Avid Media Composer, Pro Tools"),
    "otio": ("otio_json", ".otio", "OpenTimelineIO"),
}
FADE_EFFECTS = ("FadeIn", "FadeOut")
# Avid's picture dissolve, as Media Composer writes it in AAF (the writer needs the operation spelled out)
_AAF_DISSOLVE = {
    "Name": "VideoDissolve_2",
    "Description": "Video Dissolve",
    "Identification": "89d9b67e-5584-302d-9abd-8bd330c46841",
    "DataDefinition": {"Name": "Picture"},
    "IsTimeWarp": False,
    "Bypass": 1,
    "NumberInputs": 2,
    "OperationCategory": "OperationCategory_Effect",
}


@dataclass
class ExportReport:
    """What an export wrote and what the format could not carry."""

    path: Path
    format: str
    clips: int = 0  # picture clips written
    sounds: int = 0  # audio clips written
    audio_tracks: int = 0
    warnings: list[str] = field(default_factory=list)


def adapter_missing(fmt: str) -> str | None:
    """Why ``fmt`` cannot be written on this machine (its adapter plugin is not installed), or None."""
    import opentimelineio as otio

    adapter = FORMATS[fmt][0]
    if adapter in otio.adapters.available_adapter_names():
        return None
    package = {"fcpx_xml": "otio-fcpx-xml-adapter", "fcp_xml": "otio-fcp-adapter", "cmx_3600": "otio-cmx3600-adapter",
               "AAF": "otio-aaf-adapter"}.get(adapter, "opentimelineio")  # fmt: skip
    return f"the {fmt} writer ({package}) is not installed: pip install 'storyboard-compiler[export]'"


def media_path(url: str, base: Path) -> Path:
    """The file a timeline's media URL names (a ``file://`` URL, or a path relative to ``base``)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    path = Path(urllib.parse.unquote(url))
    return path if path.is_absolute() else base / path


def _seconds_of_media(path: Path) -> float:
    """A picture or sound file's length in seconds (its container's, by PyAV)."""
    import av

    try:
        with av.open(str(path)) as container:
            if container.duration is not None:
                return float(container.duration / av.time_base)
            stream = container.streams[0]
            return float((stream.duration or 0) * (stream.time_base or 0))
    except (av.error.FFmpegError, OSError, IndexError) as exc:
        raise MediaError(f"{path.name}: cannot read its length: {exc}") from None


def missing_media(timeline_file: Path) -> list[str]:
    """``clip: path`` for every file the timeline names that is not there."""
    import opentimelineio as otio

    timeline = otio.adapters.read_from_file(str(timeline_file), adapter_name="otio_json")
    out = []
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if isinstance(ref, otio.schema.ExternalReference):
            path = media_path(ref.target_url, timeline_file.parent)
            if not path.is_file():
                out.append(f"{clip.name}: {path}")
    return out


def built_keys(timeline_file: Path) -> dict[str, str]:
    """Shot id → cache key of each picture clip in the built timeline."""
    import opentimelineio as otio

    timeline = otio.adapters.read_from_file(str(timeline_file), adapter_name="otio_json")
    out = {}
    for clip in timeline.video_tracks()[0]:
        meta = clip.metadata.get("storyboard") if isinstance(clip, otio.schema.Clip) else None
        if meta and "id" in meta:
            out[str(meta["id"])] = str(meta.get("key", ""))
    return out


def load_cut(timeline_file: Path) -> Any:
    """The build's timeline with absolute ``file://`` media URLs and every media range known.

    Raises MediaError naming a referenced file that does not exist (the build folder was changed).
    """
    import opentimelineio as otio

    rt, tr = otio.opentime.RationalTime, otio.opentime.TimeRange
    timeline = otio.adapters.read_from_file(str(timeline_file), adapter_name="otio_json")
    base = timeline_file.parent
    rate = float(timeline.duration().rate) or 24.0
    missing = []
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if not isinstance(ref, otio.schema.ExternalReference):
            continue
        path = media_path(ref.target_url, base).resolve()
        if not path.is_file():
            missing.append(f"{clip.name}: {path}")
            continue
        ref.target_url = path.as_uri()
        if ref.available_range is None:  # the editors want the media's own length (sounds are written without it)
            frames = max(round(_seconds_of_media(path) * rate), round(clip.source_range.end_time_exclusive().value))
            ref.available_range = tr(rt(0, rate), rt(frames, rate))
    if missing:
        raise MediaError(f"the timeline names media that is not there: {'; '.join(missing[:5])}")
    return timeline


def with_stems(timeline: Any, stems: Mapping[str, Path]) -> Any:
    """The timeline with its audio tracks replaced by the mix's stems, one film-long clip each."""
    import opentimelineio as otio

    rt, tr = otio.opentime.RationalTime, otio.opentime.TimeRange
    rate = float(timeline.duration().rate) or 24.0
    total = round(timeline.video_tracks()[0].duration().value)
    for track in list(timeline.audio_tracks()):
        timeline.tracks.remove(track)
    for name, path in stems.items():
        if not path.is_file():
            continue
        frames = round(_seconds_of_media(path) * rate)
        track = otio.schema.Track(name=name.capitalize(), kind=otio.schema.TrackKind.Audio)
        clip = otio.schema.Clip(
            name=path.name,
            media_reference=otio.schema.ExternalReference(
                target_url=path.resolve().as_uri(), available_range=tr(rt(0, rate), rt(frames, rate))
            ),
            source_range=tr(rt(0, rate), rt(min(frames, total), rate)),
        )
        track.append(clip)
        timeline.tracks.append(track)
    return timeline


def _transitions(track: Any) -> list[Any]:
    import opentimelineio as otio

    return [c for c in track if isinstance(c, otio.schema.Transition)]


def _fades(track: Any) -> list[str]:
    import opentimelineio as otio

    return [
        f"{c.name} ({e.effect_name})"
        for c in track
        if isinstance(c, otio.schema.Clip)
        for e in c.effects
        if e.effect_name in FADE_EFFECTS
    ]


def prepare(timeline: Any, fmt: str) -> list[str]:
    """Shape ``timeline`` for ``fmt`` in place; the warnings about what the format cannot carry."""
    import opentimelineio as otio

    warnings: list[str] = []
    video = timeline.video_tracks()
    picture = video[0]
    fades = _fades(picture)
    if fmt != "otio" and fades:
        warnings.append(
            f"{fmt}: fades are written as cuts (no fade in the adapter): {', '.join(fades)} — add a dip to black in the editor"
        )
    if fmt == "fcpxml":
        for t in _transitions(picture):
            warnings.append(f"fcpxml: '{t.name}' is written as a cut (the FCPXML adapter writes no transitions)")
    if fmt == "edl":
        dropped = timeline.audio_tracks()
        sounds = sum(1 for t in dropped for c in t if isinstance(c, otio.schema.Clip))
        for track in [*video[1:], *dropped]:
            timeline.tracks.remove(track)
        if sounds:
            warnings.append(
                f"edl: an EDL is one picture track: {len(dropped)} audio track(s) with {sounds} sound(s) are not "
                "in it — export fcp7, fcpxml or aaf for the sound"
            )
    if fmt == "aaf":
        for t in _transitions(picture):
            t.metadata["AAF"] = {
                "CutPoint": int(t.in_offset.value),
                "PointList": [{"Time": 0, "Value": 0}, {"Time": 1, "Value": 1}],
                "OperationGroup": {"Operation": dict(_AAF_DISSOLVE)},
            }
    return warnings


def export_cut(timeline_file: Path, fmt: str, dest: Path, stems: Mapping[str, Path] | None = None) -> ExportReport:
    """Write the built cut in ``timeline_file`` as ``fmt`` to ``dest`` (audio as clips, or as ``stems``)."""
    import opentimelineio as otio

    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    why = adapter_missing(fmt)
    if why:
        raise MediaError(why)
    timeline = load_cut(timeline_file)
    if stems:
        with_stems(timeline, stems)
    report = ExportReport(dest, fmt, warnings=prepare(timeline, fmt))
    report.clips = sum(1 for c in timeline.video_tracks()[0] if isinstance(c, otio.schema.Clip))
    report.audio_tracks = len(timeline.audio_tracks())
    report.sounds = sum(1 for t in timeline.audio_tracks() for c in t if isinstance(c, otio.schema.Clip))
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp{dest.suffix}")
    kwargs: dict[str, Any] = {"use_empty_mob_ids": True} if fmt == "aaf" else {}
    try:
        otio.adapters.write_to_file(timeline, str(tmp), adapter_name=FORMATS[fmt][0], **kwargs)
        tmp.replace(dest)
    except MediaError:
        raise
    except Exception as exc:  # an adapter's own refusal, in its words
        raise MediaError(f"the {fmt} adapter could not write this cut: {type(exc).__name__}: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return report
