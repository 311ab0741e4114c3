"""Fit before paying: the speech estimate, `duration: auto`, and validate's fit warnings (file:line,
the shot, the numbers, exit 0), from the pure compiler and through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sbtest import write_storyboard
from storyboard.compiler.compile import compile_with_context
from storyboard.compiler.fit import SpokenLine, lines_end, shortest_fitting, speech_seconds
from support.cli import run_cli

LONG = "I have waited for this moment for a very long time, and now that it is here, I do not know what to say."
MORE = LONG + " Let us sit down here, and talk about it for a little while."  # over 10 s, but sayable in 10
FIT = f"""\
version: 1
title: Fit
voices:
  narrator: {{fal: George, preview: en}}
  quick: {{preview: en, rate: 330}}
shots:
  - id: kiss
    prompt: Two people kiss.
    lines:
      - {{speaker: narrator, text: "{LONG}"}}
  - id: auto
    duration: auto
    prompt: A long speech.
    lines:
      - {{speaker: narrator, text: "{LONG}"}}
  - id: quiet
    duration: auto
    prompt: Nobody speaks.
"""


def test_the_estimate_is_characters_at_the_voices_pace() -> None:
    assert speech_seconds("x" * 150) == pytest.approx(10.0)  # 15 a second at the default 165 words a minute
    assert speech_seconds("x" * 150, rate=330) == pytest.approx(5.0)  # twice the pace, half the time
    assert lines_end([SpokenLine(0.5, 3.0), SpokenLine(2.0, 2.0)]) == pytest.approx(4.0)
    assert lines_end([]) == 0.0


@given(st.lists(st.integers(3, 15), min_size=1, unique=True), st.floats(0, 20))
def test_shortest_fitting_is_the_least_duration_that_holds(durations: list[int], needed: float) -> None:
    got = shortest_fitting(durations, needed)
    holding = [d for d in durations if d >= needed]
    assert got == (min(holding) if holding else None)


def test_validate_warns_when_the_lines_outrun_the_shot(project: Path) -> None:
    plan, ctx = compile_with_context(write_storyboard(project, FIT))
    assert [(w.line, w.path, w.message, w.hint) for w in ctx.warnings] == [
        (
            10,
            "shots[0].lines",
            "shot 'kiss': 1 line needs about 6.9 s of speech, the shot is 5 s",
            "make it 7 s or `duration: auto`",
        ),  # fmt: skip
    ]
    by_id = plan.by_id()
    assert by_id["auto"].duration == 7  # the shortest O1 duration holding ~6.9 s
    assert by_id["quiet"].duration == 3  # no lines: the shortest the model allows


def test_auto_follows_the_voice_and_the_model(project: Path) -> None:
    fast = FIT.replace('text: "' + LONG + '"}}\n  - id: quiet', 'text: "' + LONG + '"}}\n  - id: quiet', 1)
    fast = fast.replace("  - id: auto\n    duration: auto\n    prompt: A long speech.\n    lines:\n      - {speaker: narrator",
                        "  - id: auto\n    duration: auto\n    prompt: A long speech.\n    lines:\n      - {speaker: quick")  # fmt: skip
    plan, _ = compile_with_context(write_storyboard(project, fast))
    assert plan.shot("auto").duration == 4  # ~3.5 s at twice the pace
    o3 = FIT.replace(
        f'    prompt: A long speech.\n    lines:\n      - {{speaker: narrator, text: "{LONG}"}}',
        f'    prompt: A long speech.\n    model: o3\n    lines:\n      - {{speaker: narrator, text: "{MORE}"}}',
    )
    plan, ctx = compile_with_context(write_storyboard(project, o3, "o3.yaml"))
    assert plan.shot("auto").duration == 11  # ~10.9 s: O3 allows up to 15
    assert [w.path for w in ctx.warnings] == ["shots[1].model", "shots[0].lines"]  # O3 named; kiss too long


def test_auto_too_long_for_any_duration_takes_the_longest_and_warns(project: Path) -> None:
    text = FIT.replace(f'text: "{LONG}"}}\n  - id: quiet', f'text: "{MORE}"}}\n  - id: quiet')
    plan, ctx = compile_with_context(write_storyboard(project, text))
    assert plan.shot("auto").duration == 10
    [_, warning] = ctx.warnings
    assert (warning.line, warning.path) == (12, "shots[1].duration")
    assert warning.message == "shot 'auto': 1 line needs about 10.9 s of speech, the shot is 10 s"
    assert warning.hint == "the longest shot the model allows is 10 s: split the lines over two shots or shorten them"


def test_validate_prints_the_warning_and_exits_0(project: Path) -> None:
    sb = write_storyboard(project, FIT)
    done = run_cli("validate", str(sb), cwd=project)
    assert done.returncode == 0, done.stderr
    assert (
        "warning: storyboard.yaml:10:7: shots[0].lines: shot 'kiss': 1 line needs about 6.9 s of speech, the shot "
        "is 5 s — make it 7 s or `duration: auto`" in done.stderr
    )
    as_json = json.loads(run_cli("validate", str(sb), "--json", cwd=project).stdout)
    assert as_json["valid"] and [w["path"] for w in as_json["warnings"]] == ["shots[0].lines"]


def test_auto_on_an_edit_is_an_error(project: Path) -> None:
    text = FIT + "  - id: again\n    edit: kiss\n    duration: auto\n    prompt: Make it rain.\n"
    done = run_cli("validate", str(write_storyboard(project, text)), cwd=project)
    assert done.returncode == 2
    assert "storyboard.yaml:21:15: shots[3].duration: an edit lasts as long as the clip it edits" in done.stderr
