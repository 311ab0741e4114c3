"""A card shot's plan and its local files → the picture the media layer renders (no backend involved)."""

from __future__ import annotations

from pathlib import Path

from storyboard.media.card import CardPicture
from storyboard.plan import CARD_TIMESCALE, AssetRef, ShotPlan


def _rgb(colour: str) -> tuple[int, int, int]:
    """``#rrggbb`` → (r, g, b)."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def card_picture(shot: ShotPlan, local: dict[AssetRef, Path]) -> CardPicture:
    """What to draw for a card shot, with its font and picture as the snapshotted (keyed) files."""
    card = shot.card
    assert card is not None, f"shot {shot.id!r} is not a card"
    return CardPicture(
        text=card.text,
        width=card.width,
        height=card.height,
        fps=card.fps,
        seconds=shot.duration,
        timescale=CARD_TIMESCALE,
        font=local[card.font] if card.font is not None else None,
        size=card.size,
        color=_rgb(card.color),
        background=_rgb(card.background),
        image=local[card.image] if card.image is not None else None,
        position=card.position,  # type: ignore[arg-type]
        fade_in=card.fade_in,
        fade_out=card.fade_out,
    )
