"""The build tally behind the terminal display and the live board: takes done, money, phases, time left."""

from __future__ import annotations

from pathlib import Path

import pytest

from sbtest import write_storyboard
from storyboard.build.executor import Event
from storyboard.build.takes import take_unit
from storyboard.cli.progress import Display
from storyboard.cli.terminal import Terminal
from storyboard.compiler.compile import compile_file
from storyboard.plan import Plan
from storyboard.views.tally import Tally

STORYBOARD = """\
version: 1
title: Tally
images:
  red: assets/red.png
shots:
  - id: one
    start: red
    duration: 4
    prompt: A red room.
  - id: two
    start: red
    duration: 6
    prompt: A red door.
"""


@pytest.fixture
def plan(project: Path) -> Plan:
    plan = compile_file(write_storyboard(project, STORYBOARD))
    extra = take_unit(plan.shot("two"), 2)
    from dataclasses import replace

    return replace(plan, shots=(*plan.shots, extra))


def test_money_counts_generated_takes_and_phases(plan: Plan) -> None:
    ids = ["one", "two", "two.take2"]
    tally = Tally(plan, ids, {"one": 0.34, "two": 0.5, "two.take2": 0.5}, jobs=2)
    snap = tally.snapshot()
    assert (snap.done, snap.total, snap.spent, snap.estimate, snap.remaining) == (0, 3, 0.0, pytest.approx(1.34), None)
    tally.record(Event("one", "running"))
    tally.record(Event("one", "generated"))
    tally.record(Event("two", "cached"))
    snap = tally.snapshot()
    assert (snap.done, snap.generated, snap.cached) == (2, 1, 1)
    assert snap.spent == pytest.approx(0.34)
    assert snap.remaining is not None and snap.remaining >= 0  # the pace is known after one take
    tally.record(Event("two.take2", "failed", "boom"))
    tally.set_phase("stitch")
    snap = tally.snapshot()
    assert (snap.done, snap.failed, snap.phase, snap.remaining) == (3, 1, "stitch", 0.0)
    tally.record(Event("not-a-unit", "generated"))  # events of other units are ignored
    assert tally.snapshot().total == 3


def test_lines_without_a_terminal_name_takes_money_and_the_stitch(
    plan: Plan, capsys: pytest.CaptureFixture[str]
) -> None:
    term = Terminal()
    with Display(term, plan, ["one", "two.take2"], {"one": 0.34, "two.take2": 0.5}) as display:
        display(Event("one", "running"))
        display(Event("one", "generated", "3.0 s"))
        display(Event("two.take2", "cached"))
        display(Event("", "stitching"))
        display(Event("", "stitched", "film unchanged"))
    err = capsys.readouterr().err.splitlines()
    assert err[1].startswith("[1/2]") and err[1].endswith("one: generated (spent $0.34 of $0.84) — 3.0 s")
    assert err[2].endswith("two.take2: cached")
    assert err[3].endswith("film: stitching") and err[4].endswith("film: stitched — film unchanged")
