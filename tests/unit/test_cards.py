"""Title and credit cards: the card spec compiles into a keyed, free shot; bad cards are errors with
file:line; the card's picture is drawn where the layout says (measured on the rendered layers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sbtest import write_storyboard
from storyboard.backends.preview import SIZES
from storyboard.compiler.compile import compile_file
from storyboard.errors import InputError
from storyboard.media.card import CardPicture, default_font_bytes, draw_background, draw_text_layer, text_box
from storyboard.plan import CARD_ENDPOINT, CARD_SIZES, CARD_TIMESCALE

CARD = """\
version: 1
title: The Greenhouse
images:
  greenhouse: assets/blue.png
shots:
  - id: title
    duration: 4
    card:
      text: "{{ title }}"
      background: "#101010"
  - id: one
    prompt: A ball rolls.
"""


def problems(path: Path) -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(InputError) as err:
        compile_file(path)
    return [(p.line, p.path, p.message) for p in err.value.problems]


def test_a_card_is_a_free_shot_with_its_own_key(project: Path) -> None:
    plan = compile_file(write_storyboard(project, CARD))
    card = plan.shots[0]
    assert card.card is not None and card.endpoint == CARD_ENDPOINT
    assert card.card.text == "The Greenhouse"  # jinja, like prompts
    assert (card.duration, card.price_per_second, card.assets()) == (4, 0.0, ())
    assert card.request(lambda a: a.display)["background"] == "#101010"
    assert (card.card.width, card.card.height, card.card.fps) == (1280, 720, 24)
    # the generated shot after it is unchanged by the card's presence
    alone = compile_file(write_storyboard(project, CARD.replace("  - id: title", "  - id: t0", 1), "b.yaml"))
    assert alone.shots[1].key == plan.shots[1].key


@pytest.mark.parametrize(
    ("change", "differs"),
    [
        (("{{ title }}", "Credits"), True),
        (('"#101010"', '"#101011"'), True),
        (("duration: 4", "duration: 5"), True),
        (("    card:\n", "    notes: a note\n    card:\n"), False),  # notes never enter a key
    ],
)
def test_the_key_covers_what_the_card_is_made_of(project: Path, change: tuple[str, str], differs: bool) -> None:
    base = compile_file(write_storyboard(project, CARD)).shots[0].key
    other = compile_file(write_storyboard(project, CARD.replace(*change), "c.yaml")).shots[0].key
    assert (base != other) is differs


def test_a_font_file_and_a_picture_enter_the_key_by_their_bytes(project: Path) -> None:
    (project / "fonts").mkdir()
    (project / "fonts" / "title.otf").write_bytes(default_font_bytes())
    text = CARD.replace('background: "#101010"', "background: greenhouse\n      font: fonts/title.otf")
    shot = compile_file(write_storyboard(project, text)).shots[0]
    assert shot.card is not None and shot.card.font is not None and shot.card.image is not None
    assert [a.display for a in shot.assets()] == ["assets/blue.png", "fonts/title.otf"]
    before = shot.key
    (project / "fonts" / "title.otf").write_bytes(default_font_bytes() + b"\0")
    assert compile_file(project / "storyboard.yaml").shots[0].key != before


@pytest.mark.parametrize(
    ("card", "line", "path", "message"),
    [
        ('{text: "  "}', 8, "shots[0].card.text", "shot 'title': the card's text is empty"),
        ("{text: Hi, font: fonts/none.ttf}", 8, "shots[0].card.font", "asset file 'fonts/none.ttf' not found"),
        (
            "{text: Hi, font: assets/blue.png}",
            8,
            "shots[0].card.font",
            "'assets/blue.png' is not a font file Pillow can read (unknown file format)",
        ),
        ('{text: Hi, background: "#12"}', 8, "shots[0].card.background", "'#12' is not a colour"),
        (
            "{text: Hi, background: nowhere.png}",
            8,
            "shots[0].card.background",
            "asset file 'nowhere.png' not found (the card's background)",
        ),  # fmt: skip
        (
            "{text: Hi, fade_in: 3, fade_out: 2}",
            8,
            "shots[0].card",
            "shot 'title': the text fades in over 3 s and out over 2 s, longer than the card's 4 s",
        ),  # fmt: skip
        (
            "{text: Hi, size: 4}",
            8,
            "shots[0].card.size",
            "4 is out of range: input should be greater than or equal to 8",
        ),
        ("{text: Hi, colour: red}", 8, "shots[0].card.colour", "unknown field 'colour'"),
    ],
)
def test_bad_cards_are_errors_at_their_line(project: Path, card: str, line: int, path: str, message: str) -> None:
    text = CARD.replace('    card:\n      text: "{{ title }}"\n      background: "#101010"\n', f"    card: {card}\n")
    assert problems(write_storyboard(project, text)) == [(line, path, message)]


def test_a_card_with_a_prompt_or_a_model_is_an_error(project: Path) -> None:
    text = CARD.replace("    duration: 4\n", "    duration: 4\n    prompt: A title.\n    model: o1-pro\n", 1)
    assert problems(write_storyboard(project, text)) == [
        (8, "shots[0].prompt", "shot 'title' is a card, made locally: it has no `prompt`"),
        (9, "shots[0].model", "shot 'title' is a card, made locally: it has no `model`"),
    ]


def test_a_title_too_wide_for_the_card_is_an_error_with_the_size_that_fits(project: Path) -> None:
    text = CARD.replace('"{{ title }}"', '"A title far too long to fit on one line of the card"\n      size: 120')
    [(line, path, message)] = problems(write_storyboard(project, text))
    assert (line, path) == (9, "shots[0].card.text")
    assert "px wide at size 120; the card is 1280 px wide" in message


def test_cards_are_the_preview_clips_shape() -> None:
    """Same size per aspect ratio and the same time scale: a card and a preview clip stream-copy."""
    from storyboard.backends import preview

    assert CARD_SIZES == SIZES
    assert (CARD_TIMESCALE, 24) == (preview.TIMESCALE, preview.FPS)


@pytest.mark.parametrize("position", ["center", "top", "bottom"])
def test_the_text_is_drawn_inside_its_box_and_nowhere_else(position: str) -> None:
    card = CardPicture("The Greenhouse\nby Mira", 1280, 720, 24, 4, 12288, size=72, position=position)  # type: ignore[arg-type]
    alpha = np.asarray(draw_text_layer(card))[:, :, 3]
    left, top, right, bottom = text_box(card)
    inside = alpha[top:bottom, left:right]
    assert inside.max() == 255 and inside.mean() > 10
    outside = alpha.copy()
    outside[top:bottom, left:right] = 0
    assert outside.max() == 0
    centre_y = (top + bottom) / 2
    expected = {"center": (300, 420), "top": (0, 250), "bottom": (470, 720)}[position]
    assert expected[0] <= centre_y <= expected[1]
    assert abs((left + right) / 2 - 640) < 8  # centred across


def test_a_picture_background_covers_the_frame(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (400, 400), (200, 30, 30)).save(tmp_path / "bg.png")
    card = CardPicture("x", 1280, 720, 24, 3, 12288, image=tmp_path / "bg.png")
    bg = np.asarray(draw_background(card))
    assert bg.shape == (720, 1280, 3) and tuple(bg[0, 0]) == (200, 30, 30) and tuple(bg[-1, -1]) == (200, 30, 30)
