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
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

ENDPOINTS = (
    "fal-ai/kling-video/o1/standard/reference-to-video",
    "fal-ai/kling-video/o1/reference-to-video",
)
DURATIONS = tuple(str(n) for n in range(3, 11))
ASPECT_RATIOS = ("16:9", "9:16", "1:1")
MAX_REFERENCES = 7

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
    "stuck": (frozenset({"job"}), "job"),
    "completed_error": (frozenset({"job"}), "job"),
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
# Validation, in the shape of FastAPI/pydantic errors.

_TAG = re.compile(r"@(Element|Image)(\d+)")


def _err(loc: list[Any], msg: str, type_: str, value: Any = None) -> dict[str, Any]:
    item: dict[str, Any] = {"loc": loc, "msg": msg, "type": type_}
    if type_ != "missing":
        item["input"] = value
    return item


UrlCheck = Callable[[str], "tuple[str, str] | None"]


def _check_url(loc: list[Any], value: Any, errors: list[dict[str, Any]], known: UrlCheck | None) -> None:
    if not isinstance(value, str):
        errors.append(_err(loc, "Input should be a valid string", "string_type", value))
    elif not re.match(r"^https?://[^/\s]+", value):
        errors.append(_err(loc, "URL scheme should be 'http' or 'https'", "url_scheme", value))
    elif known is not None and (problem := known(value)) is not None:
        errors.append(_err(loc, problem[0], problem[1], value))


def _url_list(loc: list[Any], value: Any, errors: list[dict[str, Any]], known: UrlCheck | None) -> int:
    if value is None:
        return 0
    if not isinstance(value, list):
        errors.append(_err(loc, "Input should be a valid list", "list_type", value))
        return 0
    for i, url in enumerate(value):
        _check_url([*loc, i], url, errors, known)
    return len(value)


def _enum(body: dict[str, Any], key: str, allowed: tuple[str, ...], errors: list[dict[str, Any]]) -> None:
    if key in body and body[key] not in allowed:
        expected = ", ".join(f"'{a}'" for a in allowed[:-1]) + f" or '{allowed[-1]}'"
        errors.append(_err(["body", key], f"Input should be {expected}", "enum", body[key]))


def validate_input(body: Any, *, known: UrlCheck | None = None) -> list[dict[str, Any]]:
    """The 422 ``detail`` items the Kling O1 reference-to-video endpoint would answer for ``body``.

    ``known(url)`` may return ``(message, error type)`` for a URL the fake itself serves (a file
    never uploaded, an image too small), or None when the URL is fine or not the fake's.
    """
    if not isinstance(body, dict):
        return [_err(["body"], "Input should be a valid dictionary", "dict_type", body)]
    errors: list[dict[str, Any]] = []
    prompt = body.get("prompt")
    if prompt is None:
        errors.append(_err(["body", "prompt"], "field required", "missing"))
    elif not isinstance(prompt, str):
        errors.append(_err(["body", "prompt"], "Input should be a valid string", "string_type", prompt))
    elif not prompt.strip():
        errors.append(_err(["body", "prompt"], "String should have at least 1 character", "string_too_short", prompt))
    _enum(body, "duration", DURATIONS, errors)
    _enum(body, "aspect_ratio", ASPECT_RATIOS, errors)
    n_images = _url_list(["body", "image_urls"], body.get("image_urls"), errors, known)
    elements = body.get("elements")
    n_elements = 0
    if elements is not None and not isinstance(elements, list):
        errors.append(_err(["body", "elements"], "Input should be a valid list", "list_type", elements))
    elif elements:
        n_elements = len(elements)
        for i, element in enumerate(elements):
            loc = ["body", "elements", i]
            if not isinstance(element, dict):
                errors.append(_err(loc, "Input should be a valid dictionary", "dict_type", element))
                continue
            if element.get("frontal_image_url") is None:
                errors.append(_err([*loc, "frontal_image_url"], "field required", "missing"))
            else:
                _check_url([*loc, "frontal_image_url"], element["frontal_image_url"], errors, known)
            _url_list([*loc, "reference_image_urls"], element.get("reference_image_urls"), errors, known)
    if n_elements + n_images > MAX_REFERENCES:
        errors.append(
            _err(
                ["body"],
                f"Value error, at most {MAX_REFERENCES} elements and images in total are allowed, got "
                f"{n_elements} element(s) and {n_images} image(s)",
                "value_error",
            )
        )
    if isinstance(prompt, str):
        for what, number in _TAG.findall(prompt):
            n, available = int(number), (n_elements if what == "Element" else n_images)
            if not 1 <= n <= available:
                errors.append(
                    _err(
                        ["body", "prompt"],
                        f"Value error, @{what}{n} is out of range: {available} "
                        f"{'element(s)' if what == 'Element' else 'image(s)'} given",
                        "value_error",
                        prompt,
                    )
                )
    return errors


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
            lines = [(job.started_at, f"Generating a {duration} s {aspect} video")]
            span = job.processing_seconds if not job.stuck else math.inf
            end = job.finished_at if job.finished_at is not None else now
            for pct in (25, 50, 75):
                at = job.started_at + span * pct / 100
                if at <= end:
                    lines.append((at, f"Progress: {pct}%"))
            if job.finished_at is not None:
                lines.append((job.finished_at, "Failed" if job.error else "Video ready"))
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
