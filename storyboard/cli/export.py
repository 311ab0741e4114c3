"""``storyboard export``: the built film's cut for an editor (FCPXML, FCP7 XML, EDL, AAF, OTIO).

Registered on the app by :mod:`storyboard.cli.app`; the work is :mod:`storyboard.media.export`.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from storyboard.cli.context import RunContext
from storyboard.cli.options import FileArg, OutsideOpt, handle_errors
from storyboard.errors import UsageError, relpath


class ExportFormat(StrEnum):
    """The formats ``storyboard export`` writes."""

    fcpxml = "fcpxml"
    fcp7 = "fcp7"
    edl = "edl"
    aaf = "aaf"
    otio = "otio"


class AudioMode(StrEnum):
    """How the sound goes into the exported cut."""

    clips = "clips"
    stems = "stems"


@handle_errors
def export(
    run: RunContext,
    file: FileArg,
    fmt: Annotated[
        ExportFormat,
        typer.Option("--format", "-f", help="fcpxml (Final Cut, Resolve), fcp7 (Premiere, Resolve), edl, aaf, otio."),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", help="The file to write. (default: build/export/<film>.<format's suffix>)"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Build folder. (default: build/ beside the storyboard)")
    ] = None,
    audio: Annotated[
        AudioMode,
        typer.Option(
            "--audio",
            help="clips: every line, effect and cue where the mix places it, at its own level; "
            "stems: the mix's stems (dialogue, effects, music, and the clips' own sound), as balanced in the film.",
        ),
    ] = AudioMode.clips,
    allow_outside_assets: OutsideOpt = False,
) -> None:
    """Write the built film's cut (picture, transitions, sound) for an editor.

    Example: [bold]storyboard export examples/greenhouse/storyboard.yaml --format fcp7[/]
    """
    from storyboard.build.run import default_build_dir
    from storyboard.compiler.compile import CompileOptions, compile_file
    from storyboard.media.export import FORMATS, adapter_missing, built_keys, export_cut, missing_media
    from storyboard.media.timeline import timeline_path

    plan = compile_file(file, CompileOptions(allow_outside_assets=allow_outside_assets))
    build_dir = (out or default_build_dir(plan)).absolute()
    film = build_dir / plan.film.output
    timeline = timeline_path(plan, build_dir)
    build_cmd = f"storyboard build {relpath(file)}" + (f" --out {relpath(out)}" if out else "")
    if not film.is_file() or not timeline.is_file():
        absent = relpath(film if not film.is_file() else timeline)
        raise UsageError(f"the film has not been built: {absent} does not exist — run `{build_cmd}` first")
    name = fmt.value
    why = adapter_missing(name)
    if why:
        raise UsageError(why)
    missing = missing_media(timeline)
    if missing:
        raise UsageError(
            f"the built timeline names files that are gone ({'; '.join(missing[:3])}) — run `{build_cmd}` again"
        )
    term = run.terminal
    keys = built_keys(timeline)
    if keys != {s.id: s.key for s in plan.shots}:
        term.warning(
            f"the storyboard changed since the film was built: this exports the cut that was built — "
            f"run `{build_cmd}` first for the current one"
        )
    dest = (output or build_dir / "export" / (film.stem + FORMATS[name][1])).absolute()
    if dest == timeline.absolute() or dest == film.absolute():
        raise UsageError(f"--output {relpath(dest)} is the build's own file: give another path")
    stems: dict[str, Path] | None = None
    if audio is AudioMode.stems:
        from storyboard.build.sound import stem_paths

        stems = {str(k): v for k, v in stem_paths(film).items() if v.is_file()}
        if not stems:
            raise UsageError(f"the film has no stems beside it (it has no sound) — use --audio clips, or `{build_cmd}`")
    report = export_cut(timeline, name, dest, stems)
    for warning in report.warnings:
        term.warning(warning)
    sound = f", {report.sounds} sound(s) on {report.audio_tracks} audio track(s)" if report.audio_tracks else ""
    term.success(f"{FORMATS[name][2]}: {relpath(dest)} ({report.clips} shot(s){sound})")
