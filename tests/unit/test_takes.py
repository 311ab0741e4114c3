"""Takes and picks in the pure layers: take keys, continuity following the pick, the YAML pick editor."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sbtest import write_storyboard
from storyboard.build.picks import StaleFileError, edit_pick, file_digest, write_pick
from storyboard.compiler.compile import compile_file
from storyboard.errors import InputError, UsageError
from storyboard.plan import take_key

STORYBOARD = """\
# a storyboard with comments, odd spacing and a flow mapping
version: 1
title: Takes

images:
  red: assets/red.png      # the start
  blue: assets/blue.png

shots:
  - id: one   # the opening
    start: red
    takes: 3
    prompt: >
      A red room, @blue on the wall.

  # the second shot continues from the first
  - id: two
    start: one.last_frame
    prompt: The camera pulls back.
  -   id:    three
      prompt: "A blue sky over @red."
  - {id: four, prompt: "Blue again, @blue."}
"""


@pytest.fixture
def sb(project: Path) -> Path:
    return write_storyboard(project, STORYBOARD)


def test_take_one_keeps_the_request_key_and_later_takes_differ() -> None:
    key = "ab" * 32
    assert take_key(key, 1) == key
    keys = {take_key(key, n) for n in range(1, 6)}
    assert len(keys) == 5
    assert take_key(key, 2) == take_key(key, 2)


def test_takes_and_picks_compile_into_the_plan(sb: Path) -> None:
    plan = compile_file(sb)
    one = plan.shot("one")
    assert (one.takes, one.take, one.picked) == (3, 1, False)
    assert one.wanted_takes() == (1, 2, 3)
    assert one.key == one.request_key == one.take_key(1)
    data = plan.to_json()["shots"]
    assert data[0]["takes"] == [{"take": n, "key": one.take_key(n)} for n in (1, 2, 3)]
    assert "takes" not in data[1]  # a plain shot's entry is as it was before takes existed


def test_a_pick_changes_that_shot_and_what_continues_from_it_and_nothing_else(sb: Path) -> None:
    before = compile_file(sb).by_id()
    sb.write_text(STORYBOARD.replace("    takes: 3\n", "    takes: 3\n    pick: 2\n"), "utf-8")
    after = compile_file(sb).by_id()
    assert after["one"].key == before["one"].take_key(2) != before["one"].key
    assert after["one"].request_key == before["one"].key
    assert after["two"].key != before["two"].key  # continuity follows the pick
    assert after["two"].inputs({"one": after["one"].key})["upstream"] == {"one": after["one"].key}
    assert after["three"].key == before["three"].key
    assert after["four"].key == before["four"].key


def test_with_picks_recomputes_the_same_keys_as_the_compiler(sb: Path) -> None:
    plan = compile_file(sb)
    assert [s.key for s in plan.with_picks({}).shots] == [s.key for s in plan.shots]
    repicked = plan.with_picks({"one": 2})
    sb.write_text(STORYBOARD.replace("    takes: 3\n", "    takes: 3\n    pick: 2\n"), "utf-8")
    assert [s.key for s in repicked.shots] == [s.key for s in compile_file(sb).shots]


@pytest.mark.parametrize("field", ["takes: 0", "takes: 11", "pick: 0", "takes: two"])
def test_bad_takes_and_picks_are_input_errors_with_their_line(project: Path, field: str) -> None:
    sb = write_storyboard(project, STORYBOARD.replace("    takes: 3", f"    {field}"))
    with pytest.raises(InputError) as exc:
        compile_file(sb)
    assert exc.value.problems[0].line == 12
    assert field.split(":")[0] in exc.value.problems[0].format()


def _changed_lines(old: str, new: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(old.splitlines(True), new.splitlines(True), n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_pick_adds_one_line_after_takes_and_keeps_every_other_byte() -> None:
    new, previous, line = edit_pick(STORYBOARD, "one", 2)
    assert previous is None and line == 13
    assert _changed_lines(STORYBOARD, new) == ["+    pick: 2\n"]
    assert new.replace("    pick: 2\n", "", 1) == STORYBOARD


def test_pick_replaces_only_the_number_of_an_existing_pick() -> None:
    text = STORYBOARD.replace("    prompt: The camera", "    pick: 1   # for now\n    prompt: The camera")
    new, previous, _ = edit_pick(text, "two", 3)
    assert previous == 1
    assert _changed_lines(text, new) == ["-    pick: 1   # for now\n", "+    pick: 3   # for now\n"]


def test_pick_after_id_with_odd_indentation_and_in_a_flow_mapping() -> None:
    new, _, _ = edit_pick(STORYBOARD, "three", 2)
    assert _changed_lines(STORYBOARD, new) == ["+      pick: 2\n"]
    new, _, _ = edit_pick(STORYBOARD, "four", 2)
    assert _changed_lines(STORYBOARD, new) == [
        '-  - {id: four, prompt: "Blue again, @blue."}\n',
        '+  - {pick: 2, id: four, prompt: "Blue again, @blue."}\n',
    ]


def test_pick_keeps_windows_line_endings() -> None:
    text = STORYBOARD.replace("\n", "\r\n")
    new, _, _ = edit_pick(text, "one", 2)
    assert new.replace("    pick: 2\r\n", "", 1) == text


def test_pick_of_an_unknown_shot_says_which_exist() -> None:
    with pytest.raises(UsageError, match="unknown shot 'tow'.*did you mean 'two'"):
        edit_pick(STORYBOARD, "tow", 2)


def test_write_pick_refuses_a_file_changed_since_it_was_read(sb: Path) -> None:
    digest = file_digest(sb)
    edited = sb.read_text("utf-8").replace("The camera pulls back.", "The camera pulls back slowly.")
    sb.write_text(edited, "utf-8")  # the user saves in an editor after storyboard read the file
    with pytest.raises(StaleFileError, match="changed on disk"):
        write_pick(sb, "one", 2, expect_sha256=digest)
    assert sb.read_text("utf-8") == edited  # the user's edit is untouched
    done = write_pick(sb, "one", 2, expect_sha256=file_digest(sb))
    assert done.previous is None and compile_file(sb).shot("one").take == 2
    assert done.sha256 == file_digest(sb)


_comment = st.text(alphabet="abc xyz#:-", max_size=12).map(lambda s: f"  # {s}" if s.strip() else "")


@settings(max_examples=60, deadline=None)
@given(indent=st.integers(1, 6), comment=_comment, blank=st.booleans(), take=st.integers(1, 99))
def test_pick_changes_exactly_one_line_whatever_the_layout(indent: int, comment: str, blank: bool, take: int) -> None:
    pad = " " * indent
    text = (
        f"version: 1{comment}\ntitle: t\nshots:\n"
        f"{pad}- id: a{comment}\n{pad}  prompt: x\n" + ("\n" if blank else "") + f"{pad}- id: b\n{pad}  prompt: y\n"
    )
    new, _, _ = edit_pick(text, "b", take)
    assert _changed_lines(text, new) == [f"+{pad}  pick: {take}\n"]


# -- takes with the other models and with sound -------------------------------------------------

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "greenhouse"


def _copy_example(project: Path, name: str, edit: tuple[str, str] | None = None) -> Path:
    import shutil

    shutil.copytree(EXAMPLES / "assets", project / "assets", dirs_exist_ok=True)
    text = (EXAMPLES / name).read_text("utf-8")
    if edit:
        assert edit[0] in text
        text = text.replace(*edit)
    path = project / name
    path.write_text(text, "utf-8")
    return path


def test_a_pick_flows_into_the_edits_of_that_shot_and_their_edits(project: Path) -> None:
    before = compile_file(_copy_example(project, "edits.yaml")).by_id()
    sb = _copy_example(project, "edits.yaml", ("    duration: 5\n", "    duration: 5\n    takes: 2\n    pick: 2\n"))
    plan = compile_file(sb)
    after = plan.by_id()
    assert after["day"].key == before["day"].take_key(2)
    assert after["night"].key != before["night"].key  # edit: day now edits take 2's clip
    assert after["night"].video is not None and after["night"].video.canonical({"day": after["day"].key}).endswith(
        after["day"].key
    )
    assert after["storybook_night"].key != before["storybook_night"].key  # and down the chain
    assert [s.key for s in compile_file(_copy_example(project, "edits.yaml")).with_picks({"day": 2}).shots] == [
        s.key for s in plan.shots
    ]


def test_a_pick_flows_into_a_shot_that_ends_on_its_first_frame(project: Path) -> None:
    base = compile_file(_copy_example(project, "end_frames.yaml"))
    repicked = base.with_picks({"dawn_to_stone": 3})
    assert repicked.shot("dawn_to_stone").key == base.shot("dawn_to_stone").take_key(3)
    assert repicked.shot("long_walk").key != base.shot("long_walk").key
    assert repicked.shot("long_walk").end is not None and repicked.shot("long_walk").end.kind == "first_frame"


def test_cost_counts_every_take_at_its_own_models_price(project: Path) -> None:
    from storyboard.build.cache import Cache
    from storyboard.build.selection import shots_to_build
    from storyboard.build.takes import plan_takes
    from storyboard.views.cost import estimate_build

    sb = _copy_example(project, "end_frames.yaml", ("    duration: 12\n", "    duration: 12\n    takes: 3\n"))
    plan = compile_file(sb)
    cache = Cache(project / "cache", "fal")
    units = plan_takes(plan, cache)
    est = estimate_build(units, cache, {}, "preview", shots_to_build(units.plan, units.only, cache))
    walk = plan.shot("long_walk")
    rows = {s.id: s for s in est.shots}
    assert set(rows) == {"dawn_to_stone", "long_walk", "long_walk.take2", "long_walk.take3"}
    assert walk.price_per_second is not None
    for sid in ("long_walk", "long_walk.take2", "long_walk.take3"):
        assert rows[sid].usd == pytest.approx(12 * walk.price_per_second)
    assert est.total == pytest.approx(round(rows["dawn_to_stone"].usd + 3 * 12 * walk.price_per_second, 4), abs=1e-4)


def test_cost_of_takes_keeps_the_music_of_a_whole_film_and_force_counts_sounds_again(project: Path) -> None:
    from storyboard.build.cache import Cache
    from storyboard.build.selection import shots_to_build
    from storyboard.build.takes import plan_takes
    from storyboard.views.cost import estimate, estimate_build

    plan = compile_file(_copy_example(project, "storyboard.yaml"))
    assert any(a.kind == "music" for a in plan.audio)
    cache = Cache(project / "cache", "fal")
    units = plan_takes(plan, cache, takes=2)
    est = estimate_build(units, cache, {}, "preview", shots_to_build(units.plan, units.only, cache))
    assert {a.id for a in est.audio} == {a.id for a in estimate(plan, cache, {}).audio}  # music included
    cards = sum(1 for s in plan.shots if s.card is not None)  # a card has one take
    assert len(est.shots) == 2 * (len(plan.shots) - cards) + cards
    # a cached sound is free, unless --force generates it again
    from storyboard.build.audio import SoundStore

    line = next(a for a in plan.audio if a.kind == "line")
    store = SoundStore(cache)
    store.path(line.key).parent.mkdir(parents=True, exist_ok=True)
    store.path(line.key).write_bytes(b"RIFF")
    record = {"key": line.key, "sha256": "x", "size": 4, "duration": 1.0, "span": [0, 1]}
    store.record_path(line.key).write_text(json.dumps(record), "utf-8")
    kept = estimate_build(units, cache, {}, "preview", shots_to_build(units.plan, units.only, cache))
    again = estimate_build(
        units, cache, {}, "preview", shots_to_build(units.plan, units.only, cache), fresh_sounds=True
    )
    assert next(a for a in kept.audio if a.id == line.id).cached
    assert not next(a for a in again.audio if a.id == line.id).cached


CARD_AND_SHOT = """\
version: 1
title: Cards
defaults:
  takes: 2
shots:
  - id: title
    duration: 3
    card:
      text: The Greenhouse
  - id: one
    prompt: A ball rolls.
"""


def test_a_card_has_one_take_and_takes_or_pick_on_it_are_errors_at_their_line(project: Path) -> None:
    from storyboard.build.cache import Cache
    from storyboard.build.takes import plan_takes

    plan = compile_file(write_storyboard(project, CARD_AND_SHOT))
    assert plan.shot("title").takes == 1 and plan.shot("one").takes == 2  # defaults.takes is for generated shots
    units = plan_takes(plan, Cache(project / "cache", "preview"), takes=3, force=True)
    assert [u.id for u in units.plan.shots] == ["title", "one", "one.take2", "one.take3"]
    for field, line in (("takes: 2", 7), ("pick: 2", 7)):
        bad = CARD_AND_SHOT.replace("    duration: 3\n", f"    {field}\n", 1)
        with pytest.raises(InputError) as err:
            compile_file(write_storyboard(project, bad, "bad.yaml"))
        name = field.split(":")[0]
        assert [(p.line, p.message) for p in err.value.problems] == [
            (line, f"shot 'title' is a card, made locally: it has no `{name}`")
        ]


def test_with_picks_keeps_a_cards_key(project: Path) -> None:
    plan = compile_file(write_storyboard(project, CARD_AND_SHOT))
    assert [s.key for s in plan.with_picks({"one": 2}).shots][0] == plan.shot("title").key
