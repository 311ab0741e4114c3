"""The freeze edit: `generate:` replaced by files in the YAML text, and nothing else of the file changed."""

from __future__ import annotations

import pytest
import yaml

from storyboard.compiler.freeze import Frozen, freeze_text
from storyboard.errors import UsageError

TEXT = """\
# yaml-language-server: $schema=../../schemas/storyboard.schema.json
version: 1
title: "Frozen"   # quoted on purpose

characters:
  # the keeper, from words
  keeper:
    description: the old keeper
    generate:
      prompt: >
        An old keeper,
        whole figure
      views: 2     # side and back
    voice: {fal: George}

  gull: {generate: {prompt: a gull, views: 1}, description: a bird}   # flow style
styles:
  pastel:
    generate: {prompt: pastel, images: 2}
images:
  tower:
    generate:
      prompt: a tower

  hall: assets/hall.png
shots:
  - id: a
    prompt: "@keeper"
"""


def test_a_block_generate_becomes_image_and_references_in_place() -> None:
    out = freeze_text(TEXT, Frozen("characters", "keeper", ("assets/keeper/front.png", "assets/keeper/view1.png")))
    assert out.replace(
        "    image: assets/keeper/front.png\n    references: [assets/keeper/view1.png]\n", ""
    ) == TEXT.replace(
        "    generate:\n      prompt: >\n        An old keeper,\n        whole figure\n      views: 2     # side and back\n",
        "",
    )
    assert yaml.safe_load(out)["characters"]["keeper"] == {
        "description": "the old keeper",
        "image": "assets/keeper/front.png",
        "references": ["assets/keeper/view1.png"],
        "voice": {"fal": "George"},
    }


def test_flow_styles_and_named_images_are_rewritten_in_their_own_form() -> None:
    out = freeze_text(TEXT, Frozen("characters", "gull", ("a gull.png", "#view.png")))
    assert '  gull: {image: a gull.png, references: ["#view.png"], description: a bird}   # flow style\n' in out
    out = freeze_text(out, Frozen("styles", "pastel", ("p1.png", "p2.png")))
    assert "  pastel:\n    images: [p1.png, p2.png]\nimages:\n" in out
    out = freeze_text(out, Frozen("images", "tower", ("assets/tower/image.png",)))
    assert "  tower: assets/tower/image.png\n\n  hall: assets/hall.png\n" in out
    assert out.startswith(
        '# yaml-language-server: $schema=../../schemas/storyboard.schema.json\nversion: 1\ntitle: "Frozen"   # quoted'
    )
    assert "  # the keeper, from words\n" in out


def test_an_asset_without_generate_is_refused() -> None:
    with pytest.raises(UsageError, match="has no `generate:`"):
        freeze_text(TEXT, Frozen("images", "hall", ("x.png",)))
    with pytest.raises(UsageError, match="declares no character 'nobody'"):
        freeze_text(TEXT, Frozen("characters", "nobody", ("x.png",)))
