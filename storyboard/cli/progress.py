"""Build progress: a live view on a terminal, one line per event elsewhere, nothing with --quiet.

On a terminal: an overall bar with the takes done, the time elapsed and an estimate of what is
left, the money spent against the estimate (paid backends), the stitch and the mix as phases of their own,
and a table with one row per take: which shot and take, its state, how long it has run, and the
backend's last word. Elsewhere (CI, a pipe) one line per event, ``[done/total] elapsed id: state``.
"""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from storyboard.build.executor import Event
from storyboard.build.outputs import Activity
from storyboard.build.takes import split_unit
from storyboard.cli.terminal import Terminal
from storyboard.errors import redact
from storyboard.plan import Plan
from storyboard.views.tally import Tally

_STYLE = {
    "pending": "dim",
    "waiting": "dim",
    "running": "cyan",
    "progress": "cyan",
    "cached": "blue",
    "generated": "green",
    "failed": "bold red",
    "skipped": "yellow",
}
_PHASE: dict[str, str] = {Activity.STITCHING: "stitch", Activity.MIXING: "mix"}  # the film's events → phase
_FILM = ""  # the shot id of build-level events (the stitch): no shot id is empty


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "estimating"
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}" if s >= 60 else f"{s} s"


class Display:
    """Receives executor events (from any thread) and shows them."""

    def __init__(
        self, term: Terminal, plan: Plan, shot_ids: list[str], prices: dict[str, float] | None = None, jobs: int = 2
    ):
        self.term = term
        self.ids = shot_ids
        self.tally = Tally(plan, shot_ids, prices or {}, jobs)
        self.paid = bool(prices)
        self.message = dict.fromkeys(shot_ids, "")
        self.film_state = ""
        self.lock = threading.Lock()
        self.live: Live | None = None

    def __enter__(self) -> Display:
        if self.term.interactive:
            self.live = Live(self._view(), console=self.term.err, refresh_per_second=4, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.tally.set_phase("done")
        if self.live is not None:
            self.live.update(self._view())
            self.live.__exit__(et, ev, tb)
            self.live = None

    def __call__(self, event: Event) -> None:
        with self.lock:
            if event.shot_id == _FILM:
                self.film_state = event.message or event.state
                self.tally.set_phase(_PHASE.get(event.state, "done"))
            else:
                self.tally.record(event)
                if event.shot_id in self.message:
                    self.message[event.shot_id] = event.message
            if self.live is not None:
                self.live.update(self._view())
            elif not self.term.quiet and event.state != "waiting":
                self._line(event)

    def _line(self, event: Event) -> None:
        snap = self.tally.snapshot()
        who = "film" if event.shot_id == _FILM else event.shot_id
        head = f"[{snap.done}/{snap.total}] {snap.elapsed:6.1f}s {who}: {event.state}"
        if self.paid and event.state == "generated":
            head += f" (spent ${snap.spent:.2f} of ${snap.estimate:.2f})"
        self.term.info(head + (f" — {event.message}" if event.message else ""))

    def _summary(self) -> Text:
        snap = self.tally.snapshot()
        parts = [f"{snap.done}/{snap.total} takes", f"{_clock(snap.elapsed)} elapsed"]
        if snap.phase == "shots" and snap.done < snap.total:
            parts.append(f"~{_clock(snap.remaining)} left" if snap.remaining is not None else "time left: estimating")
        if self.paid:
            parts.append(f"${snap.spent:.2f} spent of ${snap.estimate:.2f} estimated")
        if snap.phase == "stitch":
            parts.append("stitching the film")
        elif snap.phase == "mix":
            parts.append("mixing the sound")
        elif self.film_state:
            parts.append(f"film: {self.film_state}")
        return Text(" · ".join(parts), style="bold")

    def _view(self) -> RenderableType:
        snap = self.tally.snapshot()
        bar = ProgressBar(total=max(1, snap.total), completed=snap.done, width=40)
        table = Table(expand=False, show_edge=False, pad_edge=False, header_style="bold")
        table.add_column("shot")
        table.add_column("take", justify="right")
        table.add_column("state")
        table.add_column("running for", justify="right")
        table.add_column("backend says")
        for sid in self.ids:
            state = self.tally.state.get(sid, "pending")
            shot, _ = split_unit(sid)
            take = self.tally.by_id[sid].take if sid in self.tally.by_id else None
            took = self.tally.running_for(sid)
            table.add_row(
                shot,
                str(take) if take else "",
                Text(state, style=_STYLE.get(state, "")),
                _clock(took) if took is not None else "",
                Text(redact(self.message.get(sid, ""))[:80], style="dim"),
            )
        phase = Text("film: " + (self.film_state or "waiting for the shots"), style="dim")
        return Group(self._summary(), bar, table, phase)
