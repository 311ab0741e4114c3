"""Generated assets in the compiler: `generate:` → keyed, priced image nodes; shots keyed on them; errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from sbtest import write_storyboard
from storyboard.compiler.compile import compile_file
from storyboard.errors import InputError
from storyboard.graph import build_graph, render_graph

SHEET = """\
version: 1
title: Sheet
vars:
  scarf: red
characters:
  mira:
    generate:
      prompt: A young explorer with a {{ scarf }} scarf, whole figure
      views: 2
      seed: 7
  stone: {image: assets/grey.png}
images:
  hall:
    generate: {prompt: An empty glass hall, aspect_ratio: "16:9"}
shots:
  - id: one
    prompt: "@mira walks in."
  - id: two
    prompt: "@stone glows."
  - id: three
    start: hall
    prompt: The hall is empty.
"""


def _facts(path: Path) -> list[tuple[int | None, int | None, str, str, str | None]]:
    with pytest.raises(InputError) as info:
        compile_file(path)
    return [(p.line, p.column, p.path, p.message, p.hint) for p in info.value.problems]


def test_a_character_sheet_is_a_frontal_image_then_views_made_from_it(project: Path) -> None:
    plan = compile_file(write_storyboard(project, SHEET))
    front, side, back, hall = plan.images
    assert (front.id, side.id, back.id, hall.id) == ("mira.front", "mira.view1", "mira.view2", "hall.image")
    assert front.endpoint == "fal-ai/flux/dev" and side.endpoint == back.endpoint == "fal-ai/flux-pro/kontext"
    assert front.request() == {
        "prompt": "A young explorer with a red scarf, whole figure",
        "image_size": {"width": 768, "height": 1024},
        "num_images": 1,
        "seed": 7,
        "output_format": "png",
    }
    assert side.source == back.source == "mira.front" and side.source_key == front.key
    assert side.request("https://cdn/front.png")["image_url"] == "https://cdn/front.png"
    assert "from the left side" in side.prompt and "from behind" in back.prompt
    assert (hall.width, hall.height) == (1344, 768)
    # prices: FLUX.1 [dev] by whole megapixels (0.79 MP → 1), Kontext per image
    assert front.price_usd == pytest.approx(0.025) and side.price_usd == pytest.approx(0.04)
    one = plan.shot("one")
    assert one.elements[0].frontal.kind == "generated" and one.elements[0].frontal.key == front.key
    assert [r.value for r in one.elements[0].references] == ["mira.view1", "mira.view2"]
    assert plan.to_json()["images"][1]["depends_on"] == ["mira.front"]


def test_a_changed_prompt_remakes_the_asset_and_its_shots_only(project: Path) -> None:
    before = compile_file(write_storyboard(project, SHEET))
    after = compile_file(write_storyboard(project, SHEET.replace("{{ scarf }} scarf", "{{ scarf }} coat")))
    old, new = {i.id: i.key for i in before.images}, {i.id: i.key for i in after.images}
    assert all(old[i] != new[i] for i in ("mira.front", "mira.view1", "mira.view2"))  # views follow the frontal
    assert old["hall.image"] == new["hall.image"]
    assert before.shot("one").key != after.shot("one").key
    assert before.shot("two").key == after.shot("two").key and before.shot("three").key == after.shot("three").key


def test_seed_size_and_model_enter_the_key(project: Path) -> None:
    base = {i.id: i.key for i in compile_file(write_storyboard(project, SHEET)).images}
    for change in ("seed: 7", "views: 2"):
        other = SHEET.replace(change, {"seed: 7": "seed: 8", "views: 2": "views: 2\n      size: [800, 1000]"}[change])
        keys = {i.id: i.key for i in compile_file(write_storyboard(project, other)).images}
        assert keys["mira.front"] != base["mira.front"], change


def test_a_librarys_generated_asset_is_named_by_its_namespace(project: Path) -> None:
    write_storyboard(project, "version: 1\ncharacters:\n  ghost: {generate: {prompt: a pale ghost, views: 1}}\n",
                     "lib/spirits.yaml")  # fmt: skip
    plan = compile_file(
        write_storyboard(
            project,
            'version: 1\ntitle: L\nimports: {sp: lib/spirits.yaml}\nshots:\n  - id: a\n    prompt: "@sp.ghost floats."\n',
        )
    )
    assert [i.id for i in plan.images] == ["sp.ghost.front", "sp.ghost.view1"]
    assert plan.shot("a").elements[0].frontal.value == "sp.ghost.front"


def test_extends_keeps_a_generated_parents_views(project: Path) -> None:
    text = SHEET.replace("  stone:", "  old_mira: {extends: mira, image: assets/grey.png}\n  stone:")
    text += '  - id: four\n    prompt: "@old_mira sits."\n'
    plan = compile_file(write_storyboard(project, text))
    el = plan.shot("four").elements[0]
    assert el.frontal.kind == "file" and [r.value for r in el.references] == ["mira.view1", "mira.view2"]


def test_graph_shows_the_views_and_the_shots_that_use_them(project: Path) -> None:
    plan = compile_file(write_storyboard(project, SHEET))
    g = build_graph(plan)
    assert g.edges["image:mira.front", "image:mira.view1"]["kind"] == "view"
    assert g.edges["image:mira.view2", "shot:one"]["kind"] == "generated"
    assert ("image:hall.image", "shot:three") in g.edges and ("image:mira.front", "shot:two") not in g.edges
    text = render_graph(plan, "text")
    assert "image mira.view1 (fal-ai/flux-pro/kontext) ← made from mira.front" in text
    assert "  ← generated image mira.view2" in text
    assert '-- "view" -->' in render_graph(plan, "mermaid")


BAD = """\
version: 1
title: Bad
characters:
  b:
    generate: {prompt: a cat, views: 5}
  c:
    image: assets/grey.png
    generate: {prompt: a dog}
  d:
    generate: {prompt: a bird, model: flux-deev}
  e:
    generate: {prompt: "a fox near @b", view_model: flux-dev}
  f:
    generate: {prompt: "   "}
styles:
  s:
    generate: {prompt: ink, views: 2}
images:
  hall:
    generate: {prompt: "a hall {{ nope }}", size: [200, 900]}
  wide:
    generate: {prompt: a plain, size: [2000, 600]}
shots:
  - id: one
    prompt: "@b"
"""


def test_bad_generated_assets_are_reported_with_their_lines(project: Path) -> None:
    facts = _facts(write_storyboard(project, BAD))
    got = {(line, path): (message, hint) for line, _, path, message, hint in facts}
    assert got[(5, "characters.b.generate.views")] == (
        "views: 5 — an element takes 1 to 3 reference views (fal's element rule)",
        "write `views:` 1, 2 or 3; the frontal image is made besides them",
    )
    assert got[(8, "characters.c.generate")][0] == "character 'c' has both `image` and `generate`"
    assert got[(10, "characters.d.generate.model")] == (
        "unknown image model 'flux-deev'",
        "did you mean 'flux-dev'?",
    )
    assert got[(12, "characters.e.generate.prompt")][0] == "'e': an image prompt cannot refer to @b"
    assert got[(12, "characters.e.generate.view_model")][0] == (
        "FLUX.1 [dev] text-to-image is not an image-to-image model (it takes the frontal image)"
    )
    assert got[(14, "characters.f.generate.prompt")][0] == "'f': a generated asset needs a prompt"
    assert got[(17, "styles.s.generate.views")][0] == "a style has no reference views"
    assert got[(20, "images.hall.generate.prompt")][0] == "'hall': undefined variable 'nope' in the prompt"
    assert got[(20, "images.hall.generate.size")][0] == "size 200×900: each side must be 300 to 2048 pixels"
    assert got[(22, "images.wide.generate.size")][0] == "size 2000×600 has aspect ratio 3.33; Kling takes 0.40 to 2.50"
    assert len(facts) == 10


def test_a_generated_asset_without_a_prompt(project: Path) -> None:
    facts = _facts(
        write_storyboard(
            project, SHEET.replace("      prompt: A young explorer with a {{ scarf }} scarf, whole figure\n", "")
        )
    )
    assert facts == [
        (
            8,  # the generate mapping starts on the line after `generate:`
            7,
            "characters.mira.generate.prompt",
            "a generated asset needs a prompt: missing required field 'prompt'",
            "say what the image shows: `generate: {prompt: a young explorer with a red scarf, views: 2}`",
        )
    ]
