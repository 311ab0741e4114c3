"""A build's progress as numbers: takes done, time elapsed and left, money spent against the estimate.

Fed with the executor's events (from any thread) by the terminal display and by the live board,
so both say the same thing. The estimate of time left scales the seconds of video still to
generate by the pace of the takes generated so far, shared over the generation slots.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from storyboard.build.executor import Event
from storyboard.plan import Plan

FINAL = frozenset({"cached", "generated", "failed", "skipped"})


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The tally at one moment."""

    done: int
    total: int
    generated: int
    cached: int
    failed: int
    elapsed: float  # seconds since the build started
    remaining: float | None  # seconds left (None until the pace is known)
    spent: float  # USD for the takes generated so far
    estimate: float  # USD for every take this build generates
    phase: str  # "shots", "stitch", "mix" or "done"

    def to_json(self) -> dict[str, object]:
        """For the live board's event stream."""
        return {
            "done": self.done,
            "total": self.total,
            "generated": self.generated,
            "cached": self.cached,
            "failed": self.failed,
            "elapsed": round(self.elapsed, 1),
            "remaining": None if self.remaining is None else round(self.remaining, 1),
            "spent": round(self.spent, 2),
            "estimate": round(self.estimate, 2),
            "phase": self.phase,
        }


class Tally:
    """Counts one build's units (takes) as their events arrive."""

    def __init__(self, plan: Plan, unit_ids: list[str], prices: dict[str, float], jobs: int = 2):
        """``prices`` maps unit id → USD for generating it (0 or absent when free or cached)."""
        self.by_id = plan.by_id()
        self.ids = list(unit_ids)
        self.prices = prices
        self.jobs = max(1, jobs)
        self.state = dict.fromkeys(self.ids, "pending")
        self.started: dict[str, float] = {}
        self.took: dict[str, float] = {}
        self.t0 = time.monotonic()
        self.phase = "shots"
        self._lock = threading.Lock()

    def record(self, event: Event) -> None:
        """Take one executor event into account."""
        with self._lock:
            sid = event.shot_id
            if sid not in self.state:
                return
            if event.state in ("running", "progress") and sid not in self.started:
                self.started[sid] = time.monotonic()
            if event.state == "progress":
                if self.state[sid] in ("pending", "waiting"):
                    self.state[sid] = "running"
                return
            self.state[sid] = event.state
            if event.state == "generated" and sid in self.started:
                self.took[sid] = time.monotonic() - self.started[sid]

    def set_phase(self, phase: str) -> None:
        """``stitch`` once the shots are done, ``mix`` while the sound is mixed, ``done`` at the end."""
        with self._lock:
            self.phase = phase

    def running_for(self, sid: str) -> float | None:
        """Seconds since the unit started generating (None if it has not, or has finished)."""
        with self._lock:
            if sid in self.started and self.state.get(sid) not in FINAL:
                return time.monotonic() - self.started[sid]
            return None

    def snapshot(self) -> Snapshot:
        """The numbers now."""
        with self._lock:
            states = list(self.state.items())
            now = time.monotonic()
            done = sum(1 for _, s in states if s in FINAL)
            generated = [sid for sid, s in states if s == "generated"]
            spent = sum(self.prices.get(sid, 0.0) for sid in generated)
            estimate = sum(self.prices.values())
            remaining: float | None = None
            video_done = sum(self.by_id[sid].duration for sid in self.took if sid in self.by_id)
            if video_done and self.phase == "shots":
                pace = (
                    sum(t for sid, t in self.took.items() if sid in self.by_id) / video_done
                )  # seconds of work per second of video
                left = 0.0
                for sid, s in states:
                    if s in FINAL or sid not in self.by_id:  # sounds run first and are quick next to video
                        continue
                    work = self.by_id[sid].duration * pace
                    if sid in self.started:
                        work = max(0.0, work - (now - self.started[sid]))
                    left += work
                remaining = left / self.jobs
            elif self.phase != "shots" or done == len(states):
                remaining = 0.0
            return Snapshot(
                done=done,
                total=len(states),
                generated=len(generated),
                cached=sum(1 for _, s in states if s == "cached"),
                failed=sum(1 for _, s in states if s in ("failed", "skipped")),
                elapsed=now - self.t0,
                remaining=remaining,
                spent=spent,
                estimate=estimate,
                phase=self.phase,
            )


def unit_prices(plan: Plan, unit_ids: list[str], estimate_shots: list[tuple[str, float]]) -> dict[str, float]:
    """Unit id → USD from an estimate's (id, usd) pairs, for the units in this build."""
    wanted = set(unit_ids)
    return {sid: usd for sid, usd in estimate_shots if sid in wanted and usd}
