"""The fal service's rules, without any I/O: faults on demand, input validation, the queue.

* :class:`Fault` and :class:`FaultBook` decide which call fails and how (explicit faults first,
  then the random "chaos" draw).
* :func:`validate_input` answers like the Kling O1 reference-to-video endpoint's pydantic model:
  a list of ``{"loc", "msg", "type"}`` items, empty when the input is acceptable.
* :class:`Queue` is the time-based state machine IN_QUEUE → IN_PROGRESS → COMPLETED with a
  concurrency limit; it is evaluated lazily from the wall clock, so no thread drives it.
"""

from __future__ import annotations

import math
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from storyboard.backends.fakefal.schema import ENDPOINTS, validate_input

__all__ = ["ENDPOINTS", "Fault", "FaultBook", "Job", "JobError", "Queue", "validate_input"]

# Phases of a call. "job" is not an HTTP call: it is what happens to an accepted request.
HTTP_PHASES = ("token", "upload", "submit", "status", "result", "cancel", "download", "direct")
PHASES = (*HTTP_PHASES, "job")
_ANY_HTTP = frozenset(HTTP_PHASES)
# kind -> (phases it may target, default phase)
FAULT_KINDS: dict[str, tuple[frozenset[str], str]] = {
    "429": (_ANY_HTTP, "any"),
    "500": (_ANY_HTTP, "any"),
    "502": (_ANY_HTTP, "any"),
    "drop": (_ANY_HTTP, "any"),
    "drop_after": (_ANY_HTTP, "any"),
    "422": (frozenset({"submit", "direct"}), "submit"),
    "truncated": (frozenset({"download"}), "download"),
    "corrupt": (frozenset({"download"}), "download"),  # every byte sent, a stretch in the middle zeroed
    "stuck": (frozenset({"job"}), "job"),
    "completed_error": (frozenset({"job"}), "job"),
    "phantom": (frozenset({"job"}), "job"),  # COMPLETED at once, nothing rendered, 422 on the result GET
}
DEFAULT_CHAOS_KINDS = ("429", "500", "502", "drop", "stuck", "completed_error", "truncated")
DEFAULT_CHAOS_PHASES = ("upload", "submit", "status", "result", "download", "job")


@dataclass
class Fault:
    """One failure to inject: ``kind`` at ``phase``, ``times`` times (None: forever).

    ``match`` limits it to calls about a request whose prompt contains that substring (or, for
    uploads and downloads of uploaded files, whose file name does). ``status``, ``error_type``,
    ``detail`` and ``seconds`` refine ``completed_error``, ``422`` and ``stuck``.
    """

    kind: str
    phase: str = ""
    times: int | None = 1
    match: str | None = None
    status: int | None = None
    error_type: str | None = None
    detail: str | None = None
    seconds: float | None = None
    used: int = field(default=0, compare=False)
    source: str = field(default="explicit", compare=False)

    def __post_init__(self) -> None:
        self.kind = str(self.kind)
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        allowed, default = FAULT_KINDS[self.kind]
        self.phase = self.phase or default
        if self.phase != "any" and self.phase not in allowed:
            raise ValueError(
                f"fault {self.kind!r} cannot target phase {self.phase!r}; it applies to {', '.join(sorted(allowed))}"
            )
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1, or None for forever")

    def applies(self, phase: str, context: str | None) -> bool:
        """Whether this fault still fires for a call at ``phase`` about ``context``."""
        if self.times is not None and self.used >= self.times:
            return False
        if self.phase != phase and not (self.phase == "any" and phase in FAULT_KINDS[self.kind][0]):
            return False
        return self.match is None or (context is not None and self.match in context)

    def to_dict(self) -> dict[str, Any]:
        """The fault as JSON-ready data (what the control API returns)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        """A fault from JSON data (what the control API accepts); unknown keys are an error."""
        names = {f.name for f in fields(cls)} - {"used", "source"}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        return cls(**data)

    @classmethod
    def parse(cls, text: str) -> Fault:
        """A fault from the command-line form ``KIND:PHASE[:TIMES[:MATCH]]`` (TIMES ``*`` = forever)."""
        parts = text.split(":", 3)
        if len(parts) < 2:
            raise ValueError(f"fault {text!r}: expected KIND:PHASE[:TIMES[:MATCH]]")
        times: int | None = 1
        if len(parts) > 2 and parts[2]:
            times = None if parts[2] in ("*", "inf", "forever") else int(parts[2])
        return cls(kind=parts[0], phase=parts[1], times=times, match=parts[3] if len(parts) > 3 else None)


class FaultBook:
    """The faults in force plus the random draw; thread-safe."""

    def __init__(
        self,
        *,
        chaos_rate: float = 0.0,
        chaos_kinds: tuple[str, ...] = DEFAULT_CHAOS_KINDS,
        chaos_phases: tuple[str, ...] = DEFAULT_CHAOS_PHASES,
        seed: int | None = None,
    ) -> None:
        for kind in chaos_kinds:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown chaos fault kind {kind!r}")
        if not 0.0 <= chaos_rate <= 1.0:
            raise ValueError("chaos_rate must be between 0 and 1")
        self.chaos_rate = chaos_rate
        self.chaos_kinds = tuple(chaos_kinds)
        self.chaos_phases = tuple(chaos_phases)
        self._seed = seed
        self._rngs: dict[str, random.Random] = {}  # one stream per phase: polling cannot shift the others
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        """Put ``fault`` in force (after those already there) and return it."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every explicit fault (the chaos setting stays)."""
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        """The explicit faults, spent ones included."""
        with self._lock:
            return list(self._faults)

    def take(self, phase: str, context: str | None = None) -> Fault | None:
        """The fault to apply to one call at ``phase`` (consuming one use), or None."""
        with self._lock:
            for fault in self._faults:
                if fault.applies(phase, context):
                    fault.used += 1
                    return fault
            if not self.chaos_rate or phase not in self.chaos_phases:
                return None
            rng = self._rngs.setdefault(phase, random.Random(None if self._seed is None else f"{self._seed}:{phase}"))
            kinds = [k for k in self.chaos_kinds if phase in FAULT_KINDS[k][0]]
            if rng.random() < self.chaos_rate and kinds:
                return Fault(kind=rng.choice(kinds), phase=phase, used=1, source="chaos")
        return None


# ---------------------------------------------------------------------------------------------
# The queue.

QUEUED, RUNNING, DONE = "IN_QUEUE", "IN_PROGRESS", "COMPLETED"


@dataclass(frozen=True, slots=True)
class JobError:
    """Why a completed request failed: what status shows and what the result endpoint answers."""

    status: int
    error_type: str
    message: str


@dataclass
class Job:
    """One accepted request and its timeline (monotonic seconds)."""

    request_id: str
    endpoint: str
    body: dict[str, Any]
    submitted_at: float
    ready_at: float
    processing_seconds: float
    stuck_seconds: float | None = None  # set when stuck: None = forever
    stuck: bool = False
    phantom: bool = False  # status says COMPLETED (no error); only the result GET answers the 422
    error: JobError | None = None
    started_at: float | None = None
    finished_at: float | None = None
    output_id: str = field(default_factory=lambda: uuid.uuid4().hex[:20])

    @property
    def prompt(self) -> str:
        """The request's prompt, or the text of a speech request ('' if it had none)."""
        value = self.body.get("prompt", self.body.get("text"))
        return value if isinstance(value, str) else ""

    def done_at(self) -> float:
        """When processing ends if nothing intervenes (inf while queued or stuck forever)."""
        if self.started_at is None:
            return math.inf
        if self.stuck:
            return math.inf if self.stuck_seconds is None else self.started_at + self.stuck_seconds
        return self.started_at + self.processing_seconds

    @property
    def state(self) -> str:
        """IN_QUEUE, IN_PROGRESS or COMPLETED."""
        if self.finished_at is not None:
            return DONE
        return QUEUED if self.started_at is None else RUNNING


def iso(ts: float) -> str:
    """A wall-clock time as ISO-8601 with a timezone."""
    return datetime.fromtimestamp(ts, UTC).isoformat()


class Queue:
    """Requests, a concurrency limit and wall-clock timing; every method is thread-safe."""

    def __init__(
        self,
        *,
        concurrency: int = 2,
        processing_seconds: float = 0.3,
        queue_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.concurrency = concurrency
        self.processing_seconds = processing_seconds
        self.queue_seconds = queue_seconds
        self._clock = clock
        self._wall_offset = time.time() - clock()
        self._jobs: dict[str, Job] = {}
        self._pending: deque[Job] = deque()
        self._running: list[Job] = []
        self._sim_time = clock()
        self.lock = threading.RLock()

    def configure(self, **changes: Any) -> None:
        """Change concurrency / processing_seconds / queue_seconds from now on."""
        with self.lock:
            self._advance(self._clock())
            for key, value in changes.items():
                if key not in ("concurrency", "processing_seconds", "queue_seconds"):
                    raise ValueError(f"unknown queue setting {key!r}")
                setattr(self, key, type(getattr(self, key))(value))
            self._settle(self._sim_time)

    def submit(
        self, endpoint: str, body: dict[str, Any], fault: Fault | None = None, *, stuck_seconds: float | None = None
    ) -> Job:
        """Accept a request; ``fault`` (stuck / completed_error) shapes its fate."""
        with self.lock:
            now = self._clock()
            self._advance(now)
            job = Job(
                request_id=str(uuid.uuid4()),
                endpoint=endpoint,
                body=body,
                submitted_at=now,
                ready_at=now + self.queue_seconds,
                processing_seconds=self.processing_seconds,
            )
            if fault is not None and fault.kind == "stuck":
                job.stuck, job.stuck_seconds = True, fault.seconds if fault.seconds is not None else stuck_seconds
            elif fault is not None and fault.kind == "phantom":
                job.phantom, job.processing_seconds = True, 0.0
                job.error = JobError(
                    status=422,
                    error_type=fault.error_type or "value_error",
                    message=fault.detail or "elementReferList: size must be between 1 and 3",
                )
            elif fault is not None and fault.kind == "completed_error":
                job.error = JobError(
                    status=fault.status or 500,
                    error_type=fault.error_type or "runner_server_error",
                    message=fault.detail or "The runner encountered an internal server error.",
                )
            self._jobs[job.request_id] = job
            self._pending.append(job)
            self._settle(now)
            return job

    def get(self, request_id: str) -> Job | None:
        """The job with that id, brought up to date, or None."""
        with self.lock:
            self._advance(self._clock())
            return self._jobs.get(request_id)

    def position(self, job: Job) -> int:
        """How many queued requests are ahead of ``job`` (0-based)."""
        with self.lock:
            return self._pending.index(job) if job in self._pending else 0

    def cancel(self, request_id: str) -> str:
        """Cancel a request: CANCELLATION_REQUESTED, ALREADY_COMPLETED or NOT_FOUND."""
        with self.lock:
            now = self._clock()
            self._advance(now)
            job = self._jobs.get(request_id)
            if job is None:
                return "NOT_FOUND"
            if job.finished_at is not None:
                return "ALREADY_COMPLETED"
            if job in self._pending:
                self._pending.remove(job)
            if job in self._running:
                self._running.remove(job)
            job.finished_at = now
            job.error = JobError(499, "client_cancelled", "The request was cancelled by the client.")
            self._settle(now)
            return "CANCELLATION_REQUESTED"

    def wall(self, t: float) -> float:
        """A monotonic instant of this queue as wall-clock seconds."""
        return t + self._wall_offset

    def logs(self, job: Job) -> list[dict[str, Any]]:
        """The job's log lines so far (cumulative, like the service)."""
        with self.lock:
            now = self._clock()
            if job.started_at is None:
                return []
            duration, aspect = job.body.get("duration", "5"), job.body.get("aspect_ratio", "16:9")
            picture = "image_size" in job.body or "output_format" in job.body  # the image endpoints'
            what = "an image" if picture else f"a {duration} s {aspect} video"
            lines = [(job.started_at, f"Generating {what}")]
            span = job.processing_seconds if not job.stuck else math.inf
            end = job.finished_at if job.finished_at is not None else now
            for pct in (25, 50, 75):
                at = job.started_at + span * pct / 100
                if at <= end:
                    lines.append((at, f"Progress: {pct}%"))
            if job.finished_at is not None:
                lines.append((job.finished_at, "Failed" if job.error else "Image ready" if picture else "Video ready"))
            return [
                {"message": message, "level": "INFO", "source": "user", "timestamp": iso(self.wall(at))}
                for at, message in lines
            ]

    # -- the discrete-event core ------------------------------------------------------------

    def _settle(self, t: float) -> None:
        """At instant ``t``: finish what is done, then start what may start, until stable."""
        changed = True
        while changed:
            changed = False
            for job in [j for j in self._running if j.done_at() <= t]:
                job.finished_at = job.done_at()
                self._running.remove(job)
                changed = True
            while self._pending and len(self._running) < self.concurrency and self._pending[0].ready_at <= t:
                job = self._pending.popleft()
                job.started_at = t
                self._running.append(job)
                changed = True

    def _advance(self, now: float) -> None:
        """Replay every event between the last look and ``now`` in time order."""
        t = self._sim_time
        while True:
            self._settle(t)
            nxt = min((j.done_at() for j in self._running), default=math.inf)
            if self._pending and len(self._running) < self.concurrency:
                nxt = min(nxt, self._pending[0].ready_at)
            if nxt > now:
                break
            t = max(t, nxt)
        self._sim_time = max(self._sim_time, now)
