"""Transitions are checked by `validate` with the stitch's own rules, so none fails after paying.

The property: whatever the compiler accepts, the stitch's planner (``resolve_joins`` and
``check_fits``, on the clips' nominal lengths — real Kling clips are a frame longer) accepts too;
and whatever the compiler refuses, the planner refuses or leaves under a frame to spare.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sbtest import write_storyboard
from storyboard.compiler.compile import compile_file
from storyboard.errors import InputError
from storyboard.media.stitch_plan import check_fits, resolve_joins
from storyboard.plan import Transition

FPS = Fraction(24)

transitions = st.one_of(
    st.just("cut"),
    st.builds(
        lambda kind, tenths: f"{{type: {kind}, duration: {tenths / 10:g}}}",
        st.sampled_from(["crossfade", "fade"]),
        st.integers(0, 50),
    ),
)
shots = st.lists(st.tuples(st.integers(3, 10), transitions), min_size=2, max_size=5)


def board(specs: list[tuple[int, str]]) -> str:
    lines = ["version: 1", "title: T", "shots:"]
    for i, (duration, transition) in enumerate(specs):
        lines += [
            f"  - id: s{i}",
            f"    prompt: shot {i}",
            f"    duration: {duration}",
            f"    transition: {transition}",
        ]
    return "\n".join(lines) + "\n"


def stitch_accepts(durations: list[int], trans: list[Transition]) -> bool:
    try:
        joins = resolve_joins(trans, [float(d) for d in durations], FPS)
        check_fits([int(d * FPS) for d in durations], joins)
    except ValueError:
        return False
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=shots)
def test_what_validate_accepts_the_stitch_accepts(project: Path, specs: list[tuple[int, str]]) -> None:
    path = write_storyboard(project, board(specs))
    try:
        plan = compile_file(path)
    except InputError as exc:
        assert all(p.path.endswith(".transition") for p in exc.problems), exc.problems
        return
    durations = [s.duration for s in plan.shots]
    assert stitch_accepts(durations, [s.transition for s in plan.shots])


def test_a_crossfade_over_half_a_shot_between_two_transitions_is_refused_at_validate(project: Path) -> None:
    """It passed `validate` before (the shares, 1 + 3 s, fit the 5 s shot) and failed at the stitch, after paying."""
    text = """\
    version: 1
    title: T
    shots:
      - {id: a, prompt: x}
      - {id: b, prompt: x, transition: {type: crossfade, duration: 1}}
      - {id: c, prompt: x, transition: {type: crossfade, duration: 3}}
    """
    with pytest.raises(InputError) as info:
        compile_file(write_storyboard(project, text))
    assert [p.format() for p in info.value.problems] == [
        "storyboard.yaml:6:36: shots[2].transition: the crossfade into 'c' lasts 3 s, but shot 'b' lasts 5 s "
        "and has a transition on its other side too, so at most half of it (2.5 s) — shorten the transition"
    ]
    assert not stitch_accepts([5, 5, 5], [Transition(), Transition("crossfade", 1), Transition("crossfade", 3)])
