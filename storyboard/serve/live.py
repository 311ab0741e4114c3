"""The live board's state: what the storyboard compiles to now, and what is being built.

A poll of the watched files (the storyboard, its libraries, its assets, the review file and the
last build's results) every ``POLL`` seconds notices a save; the storyboard is compiled again in a
worker thread and every open page is told (an event on the stream) to fetch the new board. An
error keeps the last good board on the page with the problems above it, in the words of the CLI.
When the board compiles, the takes it wants that the preview cache lacks are rendered by a preview
build in the background; a paid backend is only ever built on an explicit request with its cost.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storyboard.backends import backend_is_paid
from storyboard.build.cache import Cache
from storyboard.build.executor import Event
from storyboard.build.outputs import ShotStatus
from storyboard.build.picks import file_digest
from storyboard.build.review import read_review, review_path
from storyboard.compiler.compile import CompileContext, CompileOptions, compile_with_context
from storyboard.errors import BuildLockedError, InputError, StoryboardError, relpath
from storyboard.plan import Plan, canonical_json
from storyboard.views.cost import Estimate

POLL = 0.2  # seconds between looks at the watched files
RETRY = 2.0  # seconds before a preview build that found the cache locked tries again


@dataclass
class ServeOptions:
    """Everything ``storyboard serve`` can be told."""

    file: Path
    host: str = "127.0.0.1"
    port: int = 8400
    allow_remote: bool = False
    token: str | None = None
    backend: str | None = None
    cache_dir: Path | None = None
    build_dir: Path | None = None
    prices: Path | None = None
    previews: bool = True
    allow_outside_assets: bool = False
    token_from_environment: str | None = None  # STORYBOARD_SERVE_TOKEN, as the CLI read it
    backend_options: Callable[[str], dict[str, object]] | None = None  # a backend's settings, as the CLI reads them


@dataclass
class Compiled:
    """One compile of the storyboard: the plan, or the problems that stopped it."""

    version: int
    digest: str | None  # sha256 of the storyboard file as compiled (picks are checked against it)
    plan: Plan | None
    ctx: CompileContext | None
    problems: list[str] = field(default_factory=list)  # as the CLI prints them, "error: file:line:col: …"
    at: float = field(default_factory=time.time)


def plan_signature(plan: Plan) -> str:
    """A hash of everything a build makes the film from: the shots' keys (picked takes), the sounds, the film."""
    import hashlib

    return hashlib.sha256(canonical_json([plan.to_json(), repr(plan.film)])).hexdigest()


def _fingerprint(paths: list[Path]) -> tuple[Any, ...]:
    out: list[tuple[Any, ...]] = []
    for p in paths:
        try:
            st = os.stat(p)
            out.append((str(p), st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            out.append((str(p), None))
    return tuple(out)


class Live:
    """The state shared by every page: compiles, watches, builds, and broadcasts events."""

    def __init__(self, options: ServeOptions):
        from storyboard.backends import backend_name

        self.options = options
        self.file = options.file.absolute()
        self.backend = backend_name(options.backend)
        self.review_file = review_path(self.file)
        self.version = 0
        self.current: Compiled | None = None
        self.good: Compiled | None = None  # the last compile without problems
        self.watched: list[Path] = [self.file]
        self._fingerprint: tuple[Any, ...] = ()
        self.subscribers: set[asyncio.Queue[str]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.closing = threading.Event()
        self._build_lock = threading.Lock()
        self._build_thread: threading.Thread | None = None
        self._queue: dict[str, float | None] = {}  # backend → the USD its page confirmed (paid backends)
        self.build_state: dict[str, Any] = {"state": "idle"}
        self.shot_states: dict[str, dict[str, str]] = {}
        self._built: dict[str, str] = {}  # backend → signature of the plan its last good build made the film from

    # -- paths -----------------------------------------------------------------------------
    @property
    def build_dir(self) -> Path:
        """The build folder (``--out`` or ``build/`` beside the storyboard)."""
        return (self.options.build_dir or self.file.parent / "build").absolute()

    def cache(self, backend: str | None = None) -> Cache:
        """The cache of ``backend`` (default: the served one)."""
        from storyboard.backends import cache_namespace

        root = self.options.cache_dir or self.file.parent / ".storyboard" / "cache"  # the CLI resolved the variable
        return Cache(root.absolute(), cache_namespace(backend or self.backend))

    # -- compiling -------------------------------------------------------------------------
    def compile(self) -> Compiled:
        """Compile the storyboard now (in the calling thread) and make it current."""
        digest = file_digest(self.file) if self.file.is_file() else None
        plan = ctx = None
        problems: list[str] = []
        try:
            plan, ctx = compile_with_context(
                self.file, CompileOptions(allow_outside_assets=self.options.allow_outside_assets)
            )
        except InputError as exc:
            problems = [f"error: {p.format()}" for p in exc.problems]
        except StoryboardError as exc:
            problems = [f"error: {exc}"]
        except OSError as exc:
            problems = [f"error: {relpath(self.file)}: {exc.strerror or exc}"]
        self.version += 1
        compiled = Compiled(self.version, digest, plan, ctx, problems)
        self.current = compiled
        if plan is not None and ctx is not None:
            self.good = compiled
            files = [Path(f).absolute() for f in ctx.resolved.files]
            files += [a.path for a in plan.files().values()]
            self.watched = list(dict.fromkeys([self.file, *files]))
        watch = [*self.watched, self.review_file, self.build_dir / "run_results.json"]
        self._fingerprint = _fingerprint(watch)
        return compiled

    def changed(self) -> bool:
        """True when a watched file changed since the last compile."""
        return _fingerprint([*self.watched, self.review_file, self.build_dir / "run_results.json"]) != self._fingerprint

    def reviews(self) -> dict[str, Any]:
        """The review file's entries (an unreadable file counts as empty, and is reported on the page)."""
        try:
            return read_review(self.review_file)
        except StoryboardError:
            return {}

    # -- events ----------------------------------------------------------------------------
    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Send an event to every open page (safe from any thread)."""
        message = f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
        loop = self.loop
        if loop is None or loop.is_closed():
            return

        def put() -> None:
            for q in list(self.subscribers):
                if q.qsize() < 1000:
                    q.put_nowait(message)

        loop.call_soon_threadsafe(put)

    async def watch(self) -> None:
        """Poll the watched files; on a change compile again and tell the pages."""
        while not self.closing.is_set():
            await asyncio.sleep(POLL)
            if self.changed():
                compiled = await asyncio.to_thread(self.compile)
                self.publish("board", {"version": compiled.version, "ok": not compiled.problems})
                if not compiled.problems:
                    self.want_previews()

    # -- builds ----------------------------------------------------------------------------
    def want_previews(self) -> None:
        """After a save: render the missing preview takes in the background, and restitch the film.

        On a paid backend only what costs nothing runs by itself (a pick of a cached take restitches
        the film); anything to generate waits for the page's explicit build with its cost.
        """
        if self.options.previews:
            self.start_build(self.backend)

    def start_build(self, backend: str, confirmed_usd: float | None = None) -> bool:
        """Queue a build on ``backend`` (one thread runs them in turn); True if a new thread started.

        ``confirmed_usd`` is what the page confirmed for a paid build: the build refuses to start if
        generating would cost more (the plan or the cache changed since), and is never repeated by itself.
        """
        with self._build_lock:
            if confirmed_usd is None and backend in self._queue:  # a save does not undo the page's confirmation
                confirmed_usd = self._queue[backend]
            self._queue[backend] = confirmed_usd
            if self._build_thread is not None:
                return False
            self._build_thread = threading.Thread(target=self._build_loop, name="storyboard-serve-build", daemon=True)
            self._build_thread.start()
            return True

    def _build_loop(self) -> None:
        while not self.closing.is_set():
            with self._build_lock:
                if not self._queue:
                    self._build_thread = None
                    return
                backend = next(iter(self._queue))
                confirmed = self._queue.pop(backend)
            if not self._build_once(backend, confirmed):  # the cache was locked by another build: try again
                with self._build_lock:
                    self._queue.setdefault(backend, confirmed)
                if self.closing.wait(RETRY):
                    break
        with self._build_lock:
            self._build_thread = None

    def pending(self, backend: str, plan: Plan) -> tuple[list[str], bool]:
        """What a build of ``plan`` on ``backend`` would do: the takes, sounds and images it must generate, and
        whether it must run at all (something to generate, or the film not made from this plan yet)."""
        from storyboard.build.audio import SoundStore, sounds_to_build
        from storyboard.build.selection import shots_to_build
        from storyboard.build.takes import plan_takes

        cache = self.cache(backend)
        units = plan_takes(plan, cache)
        todo = [
            u.id for u in shots_to_build(units.plan, units.only, cache) if cache.lookup(u.key, verify=False) is None
        ]
        store = SoundStore(cache)
        todo += [a.id for a in sounds_to_build(plan, None) if store.lookup(a.key, verify=False) is None]
        if plan.images:  # generated assets are paid generations too
            from storyboard.build.images import ImageStore, images_to_build

            pictures = ImageStore(cache)
            todo += [i.id for i in images_to_build(plan, None, cache) if pictures.lookup(i.key, verify=False) is None]
        return todo, bool(todo) or self._built.get(backend) != plan_signature(plan)

    def _build_once(self, backend: str, confirmed_usd: float | None = None) -> bool:
        """One build of the current good plan; False when the cache was locked by another build.

        On a paid backend, nothing is generated unless ``confirmed_usd`` covers the estimate now.
        """
        from storyboard.build.run import BuildOptions, run_build
        from storyboard.build.takes import plan_takes
        from storyboard.views.tally import Tally

        good = self.good
        if good is None or good.plan is None:
            return True
        plan = good.plan
        todo, needed = self.pending(backend, plan)
        if not needed:  # every take and sound cached and the film made from this very plan: nothing to do
            return True
        units = plan_takes(plan, self.cache(backend))
        ids = [i.id for i in plan.images] + [u.id for u in units.plan.shots] + [a.id for a in plan.audio if a.generated]
        usd = self.estimate(backend, plan) if backend_is_paid(backend) else None
        if usd is not None and todo and (confirmed_usd is None or usd.total > confirmed_usd + 0.005):
            self.build_state = {
                "state": "confirm",
                "backend": backend,
                "estimate": round(usd.total, 2),
                "message": f"{len(todo)} take(s) and sound(s) to generate on {backend} for ${usd.total:.2f}: "
                "press Build to confirm",
            }
            self.publish("build", self.build_state)
            return True
        prices: dict[str, float] = {}
        if usd is not None:
            prices = (
                {s.id: s.usd for s in usd.shots} | {a.id: a.usd for a in usd.audio} | {i.id: i.usd for i in usd.images}
            )
        tally = Tally(units.plan, ids, prices)

        def sink(event: Event) -> None:
            tally.record(event)
            if event.shot_id:  # "" is the film (its stitch and mix), shown by the build's state
                self.shot_states[event.shot_id] = {"state": event.state, "message": event.message}
            else:
                tally.set_phase({"stitching": "stitch", "mixing": "mix"}.get(event.state, "done"))
            queue = event.queue_position
            self.publish("shot", {"id": event.shot_id, "state": event.state, "message": event.message, "queue": queue})
            self.publish("progress", {"backend": backend, **tally.snapshot().to_json()})

        self.build_state = {"state": "running", "backend": backend, "version": good.version}
        self.publish("build", self.build_state)
        try:
            opts = BuildOptions(
                backend=backend,
                out_dir=self.options.build_dir,
                cache_dir=self.options.cache_dir,
                backend_options=self.options.backend_options(backend) if self.options.backend_options else {},
            )
            outcome = run_build(plan, opts, sink)
        except BuildLockedError as exc:
            self.build_state = {"state": "waiting", "backend": backend, "message": str(exc)}
            self.publish("build", self.build_state)
            return False
        except StoryboardError as exc:
            self.build_state = {"state": "failed", "backend": backend, "message": str(exc)}
            self.publish("build", self.build_state)
            return True
        except Exception as exc:  # a bug must not take the server down; say so on the page
            self.build_state = {"state": "failed", "backend": backend, "message": f"internal error: {exc!r}"}
            self.publish("build", self.build_state)
            return True
        tally.set_phase("done")
        if outcome.ok and outcome.film is not None:
            self._built[backend] = plan_signature(plan)
        self.build_state = {
            "state": "done" if outcome.ok else "failed",
            "backend": backend,
            "message": f"{outcome.count(ShotStatus.GENERATED)} generated, {outcome.count(ShotStatus.CACHED)} cached"
            + (f" — {outcome.film_note}" if outcome.film_note else ""),
            **tally.snapshot().to_json(),
        }
        self.publish("build", self.build_state)
        return True

    def estimate(self, backend: str, plan: Plan) -> Estimate:
        """What building ``plan`` on ``backend`` would spend now (every take and sound not cached)."""
        from storyboard.build.selection import shots_to_build
        from storyboard.build.takes import plan_takes
        from storyboard.views.cost import estimate_build

        cache = self.cache(backend)
        units = plan_takes(plan, cache)
        return estimate_build(units, cache, self._prices(), backend, shots_to_build(units.plan, units.only, cache))

    def _prices(self) -> dict[str, float]:
        from storyboard.compiler.models import load_prices

        return load_prices(self.options.prices)

    def stop(self) -> None:
        """Stop watching and let a running build finish its current shots."""
        self.closing.set()
