"""The Plan: the one data structure between compiling and executing.

A :class:`Plan` is pure data: every shot's compiled request (with asset references still
symbolic), its dependencies and its cache key. ``storyboard compile`` prints it; ``storyboard
build`` executes it; nothing in it refers to the network, the cache or the clock.

The package is one contract in four modules: :mod:`~storyboard.plan.refs` (the pieces),
:mod:`~storyboard.plan.shots` (shots, cards, the film, the Plan), :mod:`~storyboard.plan.generations`
(sounds and generated images) and :mod:`~storyboard.plan.keys` (requests and cache keys). Import
from ``storyboard.plan``: every public name is here.
"""

from storyboard.plan.generations import AudioKind, AudioPlan, ImagePlan, VoicePlan
from storyboard.plan.keys import audio_key, build_request, canonical_json, gc_paused, image_key, shot_key, take_key
from storyboard.plan.refs import (
    FRAME_KINDS,
    AssetKind,
    AssetRef,
    ElementRef,
    ImageLimits,
    Mention,
    PromptPart,
    RequestShape,
    SourceLocation,
    Transition,
)
from storyboard.plan.shots import (
    CARD_ENDPOINT,
    CARD_FPS,
    CARD_SIZES,
    CARD_TIMESCALE,
    CARD_VERSION,
    PLAN_VERSION,
    CardPlan,
    FilmPlan,
    Plan,
    ShotPlan,
)

__all__ = [
    "CARD_ENDPOINT", "CARD_FPS", "CARD_SIZES", "CARD_TIMESCALE", "CARD_VERSION", "FRAME_KINDS", "PLAN_VERSION",
    "AssetKind", "AssetRef", "AudioKind", "AudioPlan", "CardPlan", "ElementRef", "FilmPlan", "ImageLimits",
    "ImagePlan", "Mention", "Plan", "PromptPart", "RequestShape", "ShotPlan", "SourceLocation", "Transition",
    "VoicePlan", "audio_key", "build_request", "canonical_json", "gc_paused", "image_key", "shot_key", "take_key",
]  # fmt: skip
