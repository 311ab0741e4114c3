"""Build progress: a live table on a terminal, one line per event elsewhere, nothing with --quiet."""

from __future__ import annotations

import threading
import time
from types import TracebackType

from rich.live import Live
from rich.table import Table
from rich.text import Text

from storyboard.build.executor import Event
from storyboard.build.outputs import Activity, ShotStatus
from storyboard.cli.terminal import Terminal
from storyboard.errors import redact
from storyboard.plan import Plan

PENDING = "pending"  # the display's own state: not started, not waiting on another shot
_STYLE: dict[str, str] = {
    PENDING: "dim",
    Activity.WAITING: "dim",
    Activity.RUNNING: "cyan",
    Activity.PROGRESS: "cyan",
    ShotStatus.CACHED: "blue",
    ShotStatus.GENERATED: "green",
    ShotStatus.FAILED: "bold red",
    ShotStatus.SKIPPED: "yellow",
}
_FINAL: frozenset[str] = frozenset(ShotStatus)


class Display:
    """Receives executor events (from any thread) and shows them."""

    def __init__(self, term: Terminal, plan: Plan, shot_ids: list[str]):
        self.term = term
        self.ids = shot_ids
        self.total = len(shot_ids)
        self.state: dict[str, str] = {sid: PENDING for sid in shot_ids}
        self.message = {sid: "" for sid in shot_ids}
        self.started = {sid: 0.0 for sid in shot_ids}
        self.t0 = time.monotonic()
        self.lock = threading.Lock()
        self.live: Live | None = None
        self.durations = {s.id: s.duration for s in plan.shots}

    def __enter__(self) -> Display:
        if self.term.interactive:
            self.live = Live(self._table(), console=self.term.err, refresh_per_second=8, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if self.live is not None:
            self.live.update(self._table())
            self.live.__exit__(et, ev, tb)
            self.live = None

    def __call__(self, event: Event) -> None:
        with self.lock:
            sid = event.shot_id
            if event.state == Activity.PROGRESS:
                self.message[sid] = event.message
                if self.state.get(sid) in (PENDING, Activity.WAITING):
                    self.state[sid] = Activity.RUNNING
            else:
                self.state[sid] = event.state
                self.message[sid] = event.message
                if event.state == Activity.RUNNING:
                    self.started[sid] = time.monotonic()
            if self.live is not None:
                self.live.update(self._table())
            elif not self.term.quiet and (event.state != Activity.WAITING):
                self._line(event)

    def _done(self) -> int:
        return sum(1 for s in self.state.values() if s in _FINAL)

    def _line(self, event: Event) -> None:
        elapsed = time.monotonic() - self.t0
        head = f"[{self._done()}/{self.total}] {elapsed:6.1f}s {event.shot_id}: {event.state}"
        self.term.info(head + (f" — {event.message}" if event.message else ""))

    def _table(self) -> Table:
        elapsed = time.monotonic() - self.t0
        table = Table(
            title=f"{self._done()}/{self.total} shots · {elapsed:.0f} s",
            title_justify="left",
            expand=False,
            show_edge=False,
            pad_edge=False,
        )
        table.add_column("shot")
        table.add_column("state")
        table.add_column("s", justify="right")
        table.add_column("")
        for sid in self.ids:
            state = self.state[sid]
            running = state in (Activity.RUNNING, Activity.PROGRESS) and self.started[sid]
            secs = f"{time.monotonic() - self.started[sid]:.0f}" if running else ""
            table.add_row(
                sid, Text(state, style=_STYLE.get(state, "")), secs, Text(redact(self.message[sid])[:80], style="dim")
            )
        return table
