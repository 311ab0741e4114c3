"""The model registry (storyboard/compiler/models.yaml) and shots on every model of the Kling family.

Each kind of bad input the registry makes possible is checked word for word where a user reads
it: file, line, the field, what is wrong and what would fix it. The CLI tests run the real
``storyboard`` command (exit 2, no traceback).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sbtest import write_storyboard
from storyboard.compiler.compile import compile_file, compile_with_context
from storyboard.compiler.models import packaged_registry
from storyboard.errors import InputError, Problem
from support.cli import run_cli

HEAD = """\
version: 1
title: Models
characters:
  mira: {image: assets/mira/front.png}
images:
  dawn: assets/yellow.png
  dusk: assets/blue.png
styles:
  ink: {images: [assets/style/ink.png]}
shots:
  - id: first
    prompt: "@mira walks."
"""  # the second shot starts on line 13


def problems(path: Path) -> list[Problem]:
    """The problems compiling ``path`` reports (it must fail)."""
    with pytest.raises(InputError) as info:
        compile_file(path)
    return info.value.problems


def one(path: Path) -> tuple[int | None, str, str, str | None]:
    """The single problem as (line, field path, message, hint)."""
    [p] = problems(path)
    assert p.file == "storyboard.yaml"
    return p.line, p.path, p.message, p.hint


# -- the registry as data -----------------------------------------------------------------------


def test_every_alias_names_one_model() -> None:
    """Aliases are unique across the packaged registry, and every model has an endpoint id and a label."""
    reg = packaged_registry()
    names = [n for m in reg.models for n in (m.name, *m.aliases)]
    assert len(names) == len(set(names))
    assert all(m.label and "/" in m.endpoint for m in reg.models)
    for alias, endpoint in [
        ("o1-pro", "fal-ai/kling-video/o1/reference-to-video"),
        ("o1-i2v", "fal-ai/kling-video/o1/standard/image-to-video"),
        ("o3", "fal-ai/kling-video/o3/standard/reference-to-video"),
        ("o1-edit", "fal-ai/kling-video/o1/standard/video-to-video/edit"),
        ("v3", "fal-ai/kling-video/v3/pro/image-to-video"),
    ]:
        found = reg.find(alias)
        assert found is not None and found.endpoint == endpoint


def test_limits_from_the_published_schemas() -> None:
    """A few figures from fal's schemas, written out by hand (not read back from the data file)."""
    reg = packaged_registry()
    o1i2v, o3, o3i2v, edit = (reg.find(n) for n in ("o1-i2v", "o3", "o3-i2v", "o1-edit"))
    assert o1i2v and o3 and o3i2v and edit
    assert (o1i2v.durations[0], o1i2v.durations[-1], o1i2v.aspect_ratios) == (3, 10, ())
    assert (o3.durations[-1], o3.shape.start, o3.shape.end, o3.shape.audio) == (
        15,
        "start_image_url",
        "end_image_url",
        "generate_audio",
    )
    assert o3i2v.shape.start == "image_url" and o3i2v.price(True) == 0.112 and o3i2v.price(False) == 0.084
    assert edit.max_references == 4 and edit.source_seconds == (3.0, 10.05)


def test_models_command_lists_every_model_with_limits_and_prices(project: Path) -> None:
    """`storyboard models --json` lists the registry; the table names every alias."""
    result = run_cli("models", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    endpoints = [m["endpoint"] for m in data["models"]]
    assert endpoints == [m.endpoint for m in packaged_registry().models]
    o3 = next(m for m in data["models"] if "o3" in m["aliases"])
    assert o3["limits"]["durations"] == [3, 15]
    assert o3["price"] == {
        "per_second": 0.084,
        "audio_per_second": 0.112,
        "per_megapixel": None,
        "source": o3["price"]["source"],
    }
    assert "generate_audio" in o3["fields"] and "multi_prompt" in o3["fields"]
    table = run_cli("models", cwd=project, env={"COLUMNS": "250"})
    assert table.returncode == 0, table.stderr
    for m in packaged_registry().models:
        assert m.aliases[0] in table.stdout


# -- a storyboard's own models file -------------------------------------------------------------


def test_models_file_adds_and_overrides(project: Path) -> None:
    """`models:` names a file that changes a price and adds a model by extending a known one."""
    (project / "my-models.yaml").write_text(
        "version: 1\n"
        "models:\n"
        "  - endpoint: fal-ai/kling-video/o1/standard/reference-to-video\n"
        "    price: {per_second: 0.07, source: my invoice}\n"
        "  - endpoint: fal-ai/kling-video/o3/pro/image-to-video\n"
        "    extends: o3-i2v\n"
        "    label: Kling O3 image-to-video (pro)\n"
        "    aliases: [o3-i2v-pro]\n"
        "    price: {per_second: 0.2, audio_per_second: 0.25}\n",
        encoding="utf-8",
    )
    text = HEAD.replace("title: Models\n", "title: Models\nmodels: my-models.yaml\n") + (
        "  - id: second\n    model: o3-i2v-pro\n    start: dawn\n    audio: true\n    prompt: Sunrise.\n"
    )
    plan, ctx = compile_with_context(write_storyboard(project, text))
    first, second = plan.shots
    assert (first.price_per_second, first.price_source) == (0.07, "my invoice")
    assert second.endpoint == "fal-ai/kling-video/o3/pro/image-to-video"
    assert second.request(lambda a: a.display)["image_url"] == "assets/yellow.png"
    assert second.price_per_second == 0.25  # the audio price
    assert ctx.registry.find("o3-i2v-pro") is not None and ctx.registry.find("o3-i2v-pro").user  # type: ignore[union-attr]
    result = run_cli("models", "storyboard.yaml", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    assert any(m["aliases"] == ["o3-i2v-pro"] and m["user"] for m in json.loads(result.stdout)["models"])


def test_models_file_with_a_bad_field_points_at_it(project: Path) -> None:
    """A typo in the models file is reported at its own file:line, with did-you-mean."""
    (project / "my-models.yaml").write_text(
        "version: 1\nmodels:\n  - endpoint: fal-ai/x\n    extends: o1-pro\n    prise: {per_second: 1}\n",
        encoding="utf-8",
    )
    text = HEAD.replace("title: Models\n", "title: Models\nmodels: my-models.yaml\n")
    [p] = problems(write_storyboard(project, text))
    assert (p.file, p.line, p.path, p.message, p.hint) == (
        "my-models.yaml",
        5,
        "models[0].prise",
        "unknown field 'prise'",
        "did you mean 'price'?",
    )


def test_models_file_extending_an_unknown_model(project: Path) -> None:
    (project / "my-models.yaml").write_text(
        "version: 1\nmodels:\n  - endpoint: fal-ai/x\n    extends: o3-pr\n", encoding="utf-8"
    )
    text = HEAD.replace("title: Models\n", "title: Models\nmodels: my-models.yaml\n")
    [p] = problems(write_storyboard(project, text))
    assert (p.file, p.line, p.message, p.hint) == (
        "my-models.yaml",
        4,
        "unknown model 'o3-pr' to extend",
        "did you mean 'o3-pro'?",
    )


# -- bad input on a model that cannot take it ---------------------------------------------------


def test_end_frame_on_a_model_without_one(project: Path) -> None:
    path = write_storyboard(project, HEAD + "  - id: second\n    end: dusk\n    prompt: Night falls.\n")
    line, where, message, hint = one(path)
    assert (line, where, message) == (14, "shots[1].end", "Kling O1 reference-to-video (standard) takes no end frame")
    assert hint is not None and hint.startswith("remove `end:`, or choose a model with an end frame: o1-i2v")


def test_aspect_ratio_on_a_model_without_one(project: Path) -> None:
    path = write_storyboard(
        project, HEAD + '  - id: second\n    model: o1-i2v\n    start: dawn\n    aspect_ratio: "9:16"\n    prompt: x\n'
    )
    line, where, message, hint = one(path)
    assert (line, where) == (16, "shots[1].aspect_ratio")
    assert message == "Kling O1 image-to-video (standard) has no aspect ratio: the start image's is used"
    assert hint is not None and "remove `aspect_ratio:`" in hint


def test_audio_on_a_silent_model(project: Path) -> None:
    path = write_storyboard(project, HEAD + "  - id: second\n    audio: true\n    prompt: x\n")
    line, where, message, hint = one(path)
    assert (line, where, message) == (
        14,
        "shots[1].audio",
        "Kling O1 reference-to-video (standard) makes silent clips: it has no native audio",
    )
    assert hint is not None and "o3" in hint


def test_multi_prompt_on_a_model_without_it(project: Path) -> None:
    path = write_storyboard(
        project,
        HEAD
        + "  - id: second\n    multi_prompt:\n      - {prompt: a, duration: 3}\n      - {prompt: b, duration: 3}\n",
    )
    line, where, message, _hint = one(path)
    assert (line, where) == (15, "shots[1].multi_prompt")
    assert message == "Kling O1 reference-to-video (standard) takes one prompt per clip, not `multi_prompt`"


def test_element_on_a_model_without_elements(project: Path) -> None:
    path = write_storyboard(
        project, HEAD + '  - id: second\n    model: o1-i2v\n    start: dawn\n    prompt: "@mira runs."\n'
    )
    line, where, message, hint = one(path)
    assert (line, where) == (16, "shots[1].prompt")
    assert message == "shot 'second': Kling O1 image-to-video (standard) takes no elements, so @mira cannot be sent"
    assert hint is not None and hint.startswith("describe them in words")


def test_model_that_needs_a_start_frame(project: Path) -> None:
    path = write_storyboard(project, HEAD + "  - id: second\n    model: o1-i2v\n    prompt: x\n")
    line, where, message, hint = one(path)
    assert (line, where, message) == (
        13,
        "shots[1]",
        "Kling O1 image-to-video (standard) needs a start frame, and shot 'second' has none",
    )
    assert hint == "add `start: <image>` or `start: <shot>.last_frame`"


def test_duration_past_ten_on_o1_and_allowed_on_o3(project: Path) -> None:
    bad = write_storyboard(project, HEAD + "  - id: second\n    duration: 15\n    prompt: x\n")
    assert one(bad)[2] == "duration 15 is not offered by Kling O1 reference-to-video (standard)"
    good = write_storyboard(project, HEAD + "  - id: second\n    model: o3\n    duration: 15\n    prompt: x\n")
    assert compile_file(good).shot("second").duration == 15


def test_edit_of_an_unknown_shot(project: Path) -> None:
    path = write_storyboard(project, HEAD + "  - id: second\n    edit: frist\n    prompt: Make it night.\n")
    assert one(path) == (14, "shots[1].edit", "unknown shot 'frist' to edit", "did you mean 'first'?")


def test_edit_of_itself(project: Path) -> None:
    path = write_storyboard(project, HEAD + "  - id: second\n    edit: second\n    prompt: Make it night.\n")
    assert one(path) == (
        14,
        "shots[1].edit",
        "shot 'second' cannot be an edit of itself",
        "name the shot whose clip this one changes",
    )


def test_edit_with_a_duration_or_a_start(project: Path) -> None:
    path = write_storyboard(
        project, HEAD + "  - id: second\n    edit: first\n    duration: 4\n    start: dawn\n    prompt: x\n"
    )
    found = [(p.line, p.path, p.message) for p in problems(path)]
    assert found == [
        (15, "shots[1].duration", "an edit lasts as long as the clip it edits; shot 'second' cannot set a duration"),
        (
            16,
            "shots[1].start",
            "Kling O1 video-to-video edit (standard) takes no start frame: an edit starts where its source clip does",
        ),
    ]


def test_edit_on_a_generating_model(project: Path) -> None:
    path = write_storyboard(project, HEAD + "  - id: second\n    edit: first\n    model: o3\n    prompt: x\n")
    line, where, message, hint = one(path)
    assert (line, where, message) == (
        14,
        "shots[1].edit",
        "Kling O3 reference-to-video (standard) cannot edit a clip (shot 'second' has `edit:`)",
    )
    assert hint is not None and "o1-edit" in hint


def test_edit_of_a_clip_too_long_for_the_edit_model(project: Path) -> None:
    text = HEAD.replace('    prompt: "@mira walks."\n', '    model: o3\n    duration: 12\n    prompt: "@mira walks."\n')
    path = write_storyboard(project, text + "  - id: second\n    edit: first\n    prompt: x\n")
    line, where, message, _ = one(path)
    assert (line, where) == (16, "shots[1].edit")
    assert message == "Kling O1 video-to-video edit (standard) edits clips of 3 to 10.05 s; shot 'first' lasts 12 s"


def test_end_on_its_own_first_frame(project: Path) -> None:
    path = write_storyboard(
        project, HEAD + "  - id: second\n    model: o3\n    end: second.first_frame\n    prompt: x\n"
    )
    assert one(path)[1:3] == ("shots[1].end", "shot 'second' cannot end on its own first frame")


def test_cli_bad_model_input_exits_2_with_file_line(project: Path) -> None:
    """The real CLI: exit 2, file:line, the fix, no traceback."""
    write_storyboard(project, HEAD + "  - id: second\n    end: dusk\n    prompt: Night falls.\n")
    result = run_cli("validate", "storyboard.yaml", cwd=project)
    assert result.returncode == 2
    assert (
        "storyboard.yaml:14:10: shots[1].end: Kling O1 reference-to-video (standard) takes no end frame"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


# -- what changes when a shot changes model -----------------------------------------------------


def test_validate_says_what_a_shots_model_drops_and_adds(project: Path) -> None:
    write_storyboard(
        project, HEAD + "  - id: second\n    model: o1-i2v\n    start: dawn\n    end: dusk\n    prompt: x\n"
    )
    result = run_cli("validate", "storyboard.yaml", cwd=project, env={"COLUMNS": "400"})
    assert result.returncode == 0, result.stderr
    assert (
        "shot 'second' uses Kling O1 image-to-video (standard) instead of Kling O1 reference-to-video" in result.stderr
    )
    assert "has no aspect ratio: the start image's is used" in result.stderr
    assert "adds an end frame (`end:`)" in result.stderr
    data = json.loads(run_cli("validate", "storyboard.yaml", "--json", cwd=project).stdout)
    # the model's warning, and the frame's: the start image is 1:1, so the clip is, in a 16:9 film
    model_warning, frame_warning = data["warnings"]
    assert model_warning["line"] == 14 and model_warning["path"] == "shots[1].model"
    assert frame_warning["path"] == "shots[1]" and "is 1:1 but the film is 16:9" in frame_warning["message"]


def test_defaults_style_does_not_reach_a_model_without_images(project: Path) -> None:
    """A default style is dropped (not an error) for a model without reference images."""
    text = HEAD.replace("shots:\n", "defaults:\n  style: ink\nshots:\n")
    plan = compile_file(
        write_storyboard(project, text + "  - id: second\n    model: o1-i2v\n    start: dawn\n    prompt: x\n")
    )
    assert plan.shot("second").style is None and plan.shot("first").style == "ink"


# -- keys, prices -------------------------------------------------------------------------------


EDIT = HEAD + "  - id: second\n    edit: first\n    prompt: Make it night.\n"


def test_edit_key_follows_the_source_clip(project: Path) -> None:
    before = compile_file(write_storyboard(project, EDIT))
    after = compile_file(write_storyboard(project, EDIT.replace("@mira walks.", "@mira runs.")))
    assert before.shot("second").key != after.shot("second").key
    assert before.shot("second").depends_on == ("first",)
    edit = before.shot("second")
    assert edit.duration == before.shot("first").duration and edit.aspect_ratio == before.shot("first").aspect_ratio
    assert [a.display for a in edit.assets()] == ["first.clip", "assets/mira/front.png"][: len(edit.assets())]


def test_audio_enters_the_key_and_the_price(project: Path) -> None:
    silent = compile_file(write_storyboard(project, HEAD + "  - id: second\n    model: o3\n    prompt: x\n"))
    loud = compile_file(
        write_storyboard(project, HEAD + "  - id: second\n    model: o3\n    audio: true\n    prompt: x\n")
    )
    assert silent.shot("second").key != loud.shot("second").key
    assert (silent.shot("second").price_per_second, loud.shot("second").price_per_second) == (0.084, 0.112)
    result = run_cli("cost", "storyboard.yaml", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    costs = {s["id"]: s["usd"] for s in json.loads(result.stdout)["shots"]}
    assert costs == {"first": 0.42, "second": 0.56}


# -- graph and board --------------------------------------------------------------------------


def test_graph_shows_edit_and_end_frame_edges(project: Path) -> None:
    """An edit's edge comes from the shot it edits; an end frame's from that shot's first frame."""
    from storyboard.graph import build_graph, render_graph

    text = EDIT + "  - id: third\n    model: o3\n    end: first.first_frame\n    prompt: x\n"
    plan = compile_file(write_storyboard(project, text))
    g = build_graph(plan)
    assert g.edges["shot:first", "shot:second"]["kind"] == "edit"
    assert g.edges["first:first", "shot:third"]["kind"] == "end"
    assert ("shot:first", "first:first") in g.edges
    shown = render_graph(plan, "text")
    assert "  ← edit of the clip of first" in shown and "  ← end frame: first frame of first" in shown
    assert '-- "edit" -->' in render_graph(plan, "mermaid")
    assert 'label="end frame"' in render_graph(plan, "dot")


def test_edits_in_a_cycle(project: Path) -> None:
    text = HEAD + "  - id: a\n    edit: b\n    prompt: x\n  - id: b\n    edit: a\n    prompt: y\n"
    [p] = problems(write_storyboard(project, text))
    assert (p.line, p.path, p.message) == (13, "shots[1]", "dependency cycle: a → b → a")


def test_a_transition_into_an_edit_counts_the_source_length(project: Path) -> None:
    """The edit lasts as long as its 3 s source: a 2 s crossfade on each side does not fit."""
    text = HEAD.replace('    prompt: "@mira walks."\n', '    duration: 3\n    prompt: "@mira walks."\n')
    text += "  - id: second\n    edit: first\n    transition: {type: crossfade, duration: 2}\n    prompt: x\n"
    text += "  - id: third\n    transition: {type: crossfade, duration: 2}\n    prompt: y\n"
    found = [p.message for p in problems(write_storyboard(project, text))]
    assert any("shot 'second' lasts 3 s" in m for m in found), found
