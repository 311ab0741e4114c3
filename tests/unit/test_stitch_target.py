"""The film's frame: which clip gives the stitched film its shape (``choose_target``)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from storyboard.media.probe import ClipInfo
from storyboard.media.stitch_encode import choose_target


def _clip(w: int, h: int, name: str = "c") -> ClipInfo:
    return ClipInfo(Path(f"{name}.mp4"), 5.0, 120, w, h, Fraction(24), "h264", "yuv420p", Fraction(1, 12288), b"x",
                    False)  # fmt: skip


def test_the_first_clip_gives_the_shape_without_marks() -> None:
    t = choose_target([_clip(1280, 720), _clip(1920, 1080)])
    assert (t.width, t.height) == (1280, 720)


def test_a_card_does_not_bring_generated_clips_down_to_its_size() -> None:
    card, kling = _clip(1280, 720, "card"), _clip(1920, 1080, "kling")
    t = choose_target([card, kling, kling], aspect=(16, 9), shapers=[False, True, True])
    assert (t.width, t.height) == (1920, 1080)
    t = choose_target([card, kling], shapers=[False, True])
    assert (t.width, t.height) == (1920, 1080)


def test_cards_alone_or_generated_clips_of_another_ratio_keep_the_old_rule() -> None:
    card = _clip(1280, 720, "card")
    assert (choose_target([card, card], shapers=[False, False]).width) == 1280  # nothing generated
    tall = _clip(720, 1280, "tall")  # the only generated clip is not of the film's ratio: the card fits it
    t = choose_target([card, tall], aspect=(16, 9), shapers=[False, True])
    assert (t.width, t.height) == (1280, 720)
