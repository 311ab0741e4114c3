"""``storyboard build``: compile, run the plan through a backend and the cache, stitch the film.

Outputs in the build folder (default ``build/`` beside the storyboard)::

    shots/<id>.mp4        each shot's clip
    <film.output>         the stitched film (only when every shot has a clip, from this build or the cache)
    manifest.json         the plan as built
    run_results.json      what happened to each shot
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storyboard import __version__
from storyboard.backends import cache_namespace, make_backend
from storyboard.backends.base import Backend, as_backend
from storyboard.build import outputs
from storyboard.build.audio import SoundResult, SoundRunner
from storyboard.build.cache import Cache, hold_lock, place_file, release_lock, remove_tree
from storyboard.build.executor import Event, EventSink, ExecuteOptions, Executor, ShotResult
from storyboard.build.fit import measured_fit_warnings
from storyboard.build.interrupt import deferred_interrupt
from storyboard.build.outputs import ShotStatus
from storyboard.build.setup import check_folder, check_outputs, refuse_file_on_path, sweep_build_folder
from storyboard.build.takes import plan_takes
from storyboard.errors import SetupError, UsageError, redact, relpath
from storyboard.graph import build_graph
from storyboard.plan import CARD_ENDPOINT, Plan
from storyboard.util import atomic_write_json, make_readable, sha256_file


def default_build_dir(plan: Plan) -> Path:
    """``build/`` beside the storyboard."""
    return plan.root / "build"


def default_cache_dir(plan: Plan) -> Path:
    """``.storyboard/cache`` beside the storyboard (the CLI passes ``--cache-dir`` or ``STORYBOARD_CACHE`` instead)."""
    return plan.root / ".storyboard" / "cache"


def open_cache(plan: Plan, cache_dir: Path | None, backend: str) -> Cache:
    """The backend's part of the cache for this storyboard (``--cache-dir`` or the default).

    SetupError when the path names a file: every command would otherwise see an empty cache.
    """
    cache = Cache((cache_dir or default_cache_dir(plan)).absolute(), cache_namespace(backend))
    refuse_file_on_path(cache.base, "the cache", "--cache-dir")
    return cache


@dataclass
class BuildOptions:
    """Everything ``storyboard build`` can be told."""

    backend: str = "preview"
    jobs: int = 2
    force: bool = False  # add a new take of each selected shot (never replaces one)
    force_sounds: bool = False  # generate the selected shots' sounds again (``--force``; not ``reroll``)
    only: frozenset[str] | None = None  # selected shot ids (None: all)
    takes: int | None = None  # at least this many takes of each selected shot (``--takes``)
    out_dir: Path | None = None
    cache_dir: Path | None = None
    backend_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class BuildOutcome:
    """What a build produced."""

    results: list[ShotResult]
    film: Path | None
    build_dir: Path
    seconds: float
    film_note: str = ""
    warnings: list[str] = field(default_factory=list)
    sounds: list[ShotResult] = field(default_factory=list)  # lines, effects and music cues built
    film_refused: bool = False  # a clip it needs is damaged: the build is not a success
    images: list[ShotResult] = field(default_factory=list)  # generated assets' images built

    def count(self, status: ShotStatus) -> int:
        """How many shots ended with ``status``."""
        return sum(1 for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        """True when no shot or sound failed or was skipped and the film was not refused."""
        return not self.film_refused and all(r.status.built for r in [*self.results, *self.sounds, *self.images])


def run_build(plan: Plan, options: BuildOptions, on_event: EventSink, backend: Backend | None = None) -> BuildOutcome:
    """Build the plan: lock the cache, run the shots, stitch, write manifest and run results."""
    t0 = time.monotonic()
    build_dir = (options.out_dir or default_build_dir(plan)).absolute()
    cache = open_cache(plan, options.cache_dir, options.backend)
    if options.only is not None:
        unknown = sorted(options.only - set(plan.by_id()))
        if unknown:
            raise UsageError(f"unknown shot(s) selected: {', '.join(unknown)}")
    # set-up problems (a file named like the folder, a read-only folder, a full disk) before anything
    # is spent; the build folder only once the cache is ours (a refused build leaves no folder behind)
    refuse_file_on_path(build_dir, "the build folder", "--out")
    check_folder(cache.base, "the cache", "--cache-dir")
    backend = (
        as_backend(backend, options.backend) if backend else make_backend(options.backend, **options.backend_options)
    )
    cache.lock()
    build_lock = None
    try:
        check_folder(build_dir, "the build folder", "--out")
        # every take is a unit of its own; --force adds a take instead of replacing one (build/takes.py)
        takes = plan_takes(plan, cache, only=options.only, force=options.force, takes=options.takes)
        shots = build_dir / "shots"
        check_outputs(
            [
                build_dir / plan.film.output,
                *(shots / f"{s.id}{ext}" for s in takes.plan.shots for ext in (".mp4", ".json")),
            ]
        )
        # the build folder too: builds with other backends or caches must not interleave their outputs
        build_lock = hold_lock(
            build_dir / ".lock",
            f"the build folder {build_dir}",
            "wait for it to finish, or build into another folder with --out",
        )
        guard_paid_film(plan, build_dir, options.backend)
        cache.sweep_temps()
        sweep_build_folder(build_dir)
        (build_dir / "shots").mkdir(parents=True, exist_ok=True)
        write_manifest(plan, build_dir, options.backend)
        executor = Executor(
            takes.plan,
            backend,
            cache,
            build_dir / "shots",
            ExecuteOptions(jobs=options.jobs, force=takes.force, only=takes.only),
            on_event,
        )
        sounds = SoundRunner(plan, backend, cache, build_dir / "audio", options.jobs,
                             force=frozenset(a.id for a in plan.audio) if options.force_sounds else frozenset(),
                             only=options.only, on_event=on_event, cancel=executor.cancel)  # fmt: skip
        sounds.check_backend()
        from storyboard.build.images import ImageRunner, generated_files, images_to_build

        images = ImageRunner(plan, backend, cache, build_dir / "images", options.jobs, on_event=on_event,
                             cancel=executor.cancel)  # fmt: skip
        image_todo = images_to_build(plan, options.only, cache)
        images.check_backend(image_todo)
        made_here = [s for s in executor.selected() if s.card is None]  # cards are drawn here, not by the backend
        backend.prepare(takes.plan, made_here, cache.state_dir)
        try:
            with deferred_interrupt(executor.cancel) as interrupt:  # Ctrl-C raised only where no lock is held
                images.interrupt = sounds.interrupt = executor.interrupt = interrupt
                images.run(image_todo)  # generated assets first: the shots that use them need their files
                executor.generated = generated_files(plan, cache)
                sounds.run()  # first: speech is cheap next to video, and its real length is known before the shots
                fit_warnings = measured_fit_warnings(plan, cache)  # the real speech against each shot's length
                executor.run()
                interrupt.check()  # pressed as the last shot finished
        finally:  # interrupted or not, what finished is recorded
            results = [executor.results[s.id] for s in takes.plan.shots if s.id in executor.results]
            sound_results = [sound_result(sounds.results[a.id]) for a in plan.audio if a.id in sounds.results]
            image_results = [image_result(images.results[i.id]) for i in plan.images if i.id in images.results]
            write_run_results(build_dir, options.backend, None, results, sound_results, image_results)
        if executor.setup_failure is not None:  # a full disk, a folder made read-only: one sentence, exit 2
            raise SetupError(f"{executor.setup_failure} (the build stopped; run_results.json lists what finished)")
        on_event(Event("", outputs.Activity.STITCHING))  # "": the film, not a shot (no shot id is empty)
        damaged = damaged_clips(plan, cache, executor.results)
        if damaged:  # outside the selection: not rebuilt behind the user's back, and not stitched
            film, note, fresh = None, refused_film_note(damaged), False
        else:
            film, note, fresh = stitch_film(plan, build_dir, cache, executor.results, options.backend)
        placed, native = None, None
        if film is not None:  # lines, effects, music, or a clip's own sound (a model's native audio)
            from storyboard.build.sound import finish_sound

            if plan.audio or any(s.audio for s in plan.shots):  # the mix is a phase of its own when there is sound
                on_event(Event("", outputs.Activity.MIXING))
            sound = finish_sound(plan, build_dir, cache, film, fresh=fresh)
            note = f"{note}; {sound.note}" if sound.note else note
            placed, native = sound.placed, sound.native
        done = outputs.Activity.STITCHED if film is not None else outputs.Activity.NOT_STITCHED
        on_event(Event("", done, note))
        write_run_results(build_dir, options.backend, film, results, sound_results, image_results)
        if film is not None:
            from storyboard.media.timeline import write_timeline

            tracks = audio_tracks(placed or [], build_dir, native) if placed or native else None
            write_timeline(plan, build_dir, film, audio_tracks=tracks)
        warnings = fit_warnings + list(cache.warnings) + list(getattr(backend, "warnings", []))
        return BuildOutcome(
            results,
            film,
            build_dir,
            time.monotonic() - t0,
            note,
            warnings,
            sounds=sound_results,
            film_refused=bool(damaged),
            images=image_results,
        )
    finally:
        backend.close()
        remove_tree(cache.base / "scratch")
        release_lock(build_lock)
        cache.unlock()


def image_result(r: Any) -> ShotResult:
    """A generated image's result in the shape of a shot's (for run_results.json and the summary)."""
    return ShotResult(r.id, r.key, r.status, r.seconds, r.error, r.path)


def sound_result(r: SoundResult) -> ShotResult:
    """A sound's result in the shape of a shot's (for run_results.json and the summary)."""
    return ShotResult(r.id, r.key, ShotStatus(r.status), r.seconds, r.error, r.path)


def audio_tracks(
    placed: list, build_dir: Path, native: list | None = None
) -> list[tuple[str, list[tuple[float, float, str, str]]]]:
    """The timeline's audio tracks: (track name, [(start s, length s, file relative to the build, id)])."""
    tracks: dict[str, list[tuple[float, float, str, str]]] = {"Dialogue": [], "Effects": [], "Music": [], "Native": []}
    names = {"line": "Dialogue", "sfx": "Effects", "music": "Music"}
    for p in placed:
        rel = f"audio/{p.audio.id}.wav" if p.audio.generated else os.path.relpath(p.audio.file.path, build_dir)
        tracks[names[p.audio.kind]].append((p.start, p.length, rel, p.audio.id))
    for n in native or []:  # each clip's own sound, under its clip
        tracks["Native"].append((n.start, n.length, f"audio/{n.shot}.native.wav", f"{n.shot}.native"))
    return [(name, items) for name, items in tracks.items() if items]


def last_backend(build_dir: Path) -> str | None:
    """The backend of the last build in ``build_dir`` (from its ``run_results.json``), or None."""
    try:
        data = json.loads((build_dir / "run_results.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    backend = data.get("backend") if isinstance(data, dict) else None
    return backend if isinstance(backend, str) and backend else None


def guard_paid_film(plan: Plan, build_dir: Path, backend: str) -> None:
    """A preview build never replaces another backend's film, clips and timeline in ``build_dir``.

    The paid clips stay safe in the cache either way; this keeps ``build/`` from silently
    showing an animatic where the user last left the paid film (docs/cli.md, "One film per
    build folder").
    """
    prior = last_backend(build_dir)
    if backend != "preview" or prior in (None, "preview"):
        return
    film = build_dir / plan.film.output
    shown = relpath(film) if film.exists() else relpath(build_dir)
    raise UsageError(
        f"{relpath(build_dir)} holds the film built with --backend {prior} ({shown}, its clips in "
        f"{relpath(build_dir / 'shots')}); a preview build would replace it with the animatic. Build the preview "
        f"into its own folder with --out {relpath(build_dir / 'preview')}, or rebuild the paid film with "
        f"--backend {prior} (its clips are cached: nothing is paid again), or delete {relpath(build_dir)} first"
    )


def film_key(plan: Plan, clip_digests: list[str], backend: str) -> str:
    """A hash of what the film is made of: the clips' bytes, the transitions, the output name, the backend, the frame."""
    parts = [(d, s.transition.type, s.transition.duration) for d, s in zip(clip_digests, plan.shots)]
    material: list[object] = [plan.film.output, backend, parts, plan.film.aspect_ratio]
    if any(s.endpoint == CARD_ENDPOINT for s in plan.shots):  # the frame follows the generated clips, not a card
        material.append("shaped-by-generated")
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()


def damaged_clips(plan: Plan, cache: Cache, results: dict[str, ShotResult]) -> list[str]:
    """The shots whose cached clip is recorded but no longer hashes right (each dropped from the cache).

    This run's shots were verified (or made) by the executor; the others — a selective build's
    unselected shots — are hashed here, before the stitch could put a damaged clip into the film.
    """
    damaged = []
    for s in plan.shots:
        if s.id in results and not results[s.id].status.built:
            continue
        had_record = cache.record_path(s.key).exists()
        if cache.lookup(s.key) is None and had_record:  # hashed once per build (the cache remembers)
            damaged.append(s.id)
    return damaged


def refused_film_note(damaged: list[str]) -> str:
    """What the user reads when the film is not stitched because clips outside the selection are damaged."""
    again = " ".join(f"--select {sid}" for sid in damaged[:5])
    return (
        f"film not stitched: the cached clip of {', '.join(damaged[:5])} is damaged (dropped from the cache), "
        f"and a film is never made from a damaged clip; build it again with {again}, or build without --select"
    )


def stitch_film(
    plan: Plan, build_dir: Path, cache: Cache, results: dict[str, ShotResult], backend: str
) -> tuple[Path | None, str, bool]:
    """Stitch every shot's clip into the film, unless a clip is missing or the film is current.

    A shot counts as built when this run built it or the cache holds a clip that still hashes
    to its record (a selective build of the last missing shots completes the film). Call
    :func:`damaged_clips` first: a damaged clip counts here as not built. Returns the film, a
    note, and whether the film was stitched now (False: the film on disk is current).
    """
    failed = {sid for sid, r in results.items() if not r.status.built}
    records = {s.id: None if s.id in failed else cache.lookup(s.key) for s in plan.shots}
    missing = [sid for sid, rec in records.items() if rec is None]
    if missing:
        return None, f"film not stitched: {len(missing)} shot(s) not built ({', '.join(missing[:5])})", False
    by_id = plan.by_id()
    for s in plan.shots:  # shots built by earlier runs are published too: the timeline points at them
        record = records[s.id]
        assert record is not None
        place_file(cache.clip_path(s.key), build_dir / "shots" / f"{s.id}.mp4", record.sha256)
        if s.id not in results:  # with its record, so `status` compares with the take that is in the film now
            upstream = {u: by_id[u].key for u in s.depends_on}
            atomic_write_json(build_dir / "shots" / f"{s.id}.json", {"key": s.key, "inputs": s.inputs(upstream)})
    out = build_dir / plan.film.output
    stamp = build_dir / ".film.json"
    key = film_key(plan, [rec.sha256 for rec in records.values() if rec is not None], backend)
    from storyboard.build.sound import burned_picture_kept, picture_burned

    # a film with subtitles burned in is current when the clean picture under them is kept
    if out.exists() and stamp.exists() and (not picture_burned(build_dir) or burned_picture_kept(plan, cache, key)):
        try:
            prior = json.loads(stamp.read_text("utf-8"))
            if (
                prior.get("key") == key
                and prior.get("size") == out.stat().st_size
                and prior.get("sha256") == sha256_file(out)
            ):  # a film written over in place is made again
                return out, "film unchanged", False
        except (OSError, ValueError):
            pass
    from storyboard.media.stitch import stitch

    clips = [cache.clip_path(s.key) for s in plan.shots]
    transitions = [s.transition for s in plan.shots]
    work = cache.base / "stitch"
    work.mkdir(parents=True, exist_ok=True)
    shapers = [s.endpoint != CARD_ENDPOINT for s in plan.shots]  # the film takes the generated clips' shape
    report = stitch(clips, transitions, out, workdir=work, aspect=plan.film.aspect, shapers=shapers)
    make_readable(out)
    atomic_write_json(
        stamp, {"key": key, "size": out.stat().st_size, "sha256": sha256_file(out), "method": report.method}
    )
    return out, f"stitched by {report.method} in {report.seconds:.1f} s", True


def write_manifest(plan: Plan, build_dir: Path, backend: str) -> Path:
    """``manifest.json``: the plan as built, with the graph's nodes and edges (schemas/manifest.schema.json)."""
    data = plan.to_json()
    g = build_graph(plan)
    shots = [
        outputs.ManifestShot(
            **entry,
            model=shot.model,
            clip=f"shots/{shot.id}.mp4",
            transition=outputs.Transition(type=shot.transition.type, duration=shot.transition.duration),
            mentions={m.name: list(m.tags) for m in shot.mentions},
            notes=shot.notes or None,
        )
        for entry, shot in zip(data["shots"], plan.shots)
    ]
    manifest = outputs.Manifest(
        version=outputs.MANIFEST_VERSION,
        storyboard_version=__version__,
        title=data["title"],
        backend=backend,
        source=os.path.relpath(plan.source, build_dir),
        shots=shots,
        film=outputs.Film(output=plan.film.output),
        graph=outputs.Graph(nodes=sorted(g.nodes), edges=sorted(g.edges)),
    )
    path = build_dir / "manifest.json"
    atomic_write_json(path, outputs.dump(manifest, omit_none=True))
    return path


def write_run_results(
    build_dir: Path,
    backend: str,
    film: Path | None,
    results: list[ShotResult],
    sounds: list[ShotResult] | None = None,
    images: list[ShotResult] | None = None,
) -> Path:
    """``run_results.json``: one entry per shot (and per sound) with its status, time and error
    (schemas/run_results.schema.json)."""

    def run(r: ShotResult) -> outputs.ShotRun:
        return outputs.ShotRun(
            id=r.id, key=r.key, status=r.status, seconds=round(r.seconds, 3), error=redact(r.error) if r.error else None
        )

    data = outputs.RunResults(
        version=outputs.RESULTS_VERSION,
        backend=backend,
        film=os.path.relpath(film, build_dir) if film else None,
        shots=[run(r) for r in results],
        sounds=[run(r) for r in sounds] if sounds else None,
        images=[run(r) for r in images] if images else None,
    )
    path = build_dir / "run_results.json"
    written = outputs.dump(data)
    if written.get("sounds") is None:  # a silent film's results are as before
        written.pop("sounds", None)
    if written.get("images") is None:  # so are those of a film without generated assets
        written.pop("images", None)
    atomic_write_json(path, written)
    return path
