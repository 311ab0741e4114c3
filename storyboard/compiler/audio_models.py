"""The audio endpoints storyboard generates sound with, their limits and their prices.

Speech, effects and music go to ElevenLabs models on fal (same queue protocol as Kling). Prices
are in US dollars with where each figure came from; a figure from a third-party listing is
marked so. They are estimates for ``storyboard cost`` and ``--max-cost``, like the video prices.
"""

from __future__ import annotations

from dataclasses import dataclass

TTS_ENDPOINT = "fal-ai/elevenlabs/tts/eleven-v3"
SFX_ENDPOINT = "fal-ai/elevenlabs/sound-effects/v2"
MUSIC_ENDPOINT = "fal-ai/elevenlabs/music"

FASTEST_CHARS_PER_SECOND = 20.0  # brisk speech; ElevenLabs voices average about 14-16 characters a second
TYPICAL_CHARS_PER_SECOND = 15.0


@dataclass(frozen=True, slots=True)
class AudioPrice:
    """A price per unit of one audio endpoint."""

    endpoint: str
    unit: str  # "1000 characters" | "second" | "minute, rounded up"
    usd: float
    source: str


PRICES: dict[str, AudioPrice] = {
    TTS_ENDPOINT: AudioPrice(TTS_ENDPOINT, "1000 characters", 0.10, "fal.ai model page: $0.1 per 1000 characters"),
    SFX_ENDPOINT: AudioPrice(SFX_ENDPOINT, "second", 0.0023, "third-party listing: $0.138 per minute"),
    MUSIC_ENDPOINT: AudioPrice(
        MUSIC_ENDPOINT, "minute, rounded up", 0.80, "third-party listings: $0.69-0.75 per minute; rounded up"
    ),
}


def fastest_speech_seconds(text: str) -> float:
    """The least time a line can take to say, from its length (for the 'longer than any shot' check)."""
    return len(text) / FASTEST_CHARS_PER_SECOND


def typical_speech_seconds(text: str) -> float:
    """About how long a line takes to say, from its length (for fit warnings before generating)."""
    return len(text) / TYPICAL_CHARS_PER_SECOND


def audio_price(endpoint: str, *, characters: int = 0, seconds: float = 0.0) -> float | None:
    """Dollars for one generation: by characters (speech) or seconds (effects, music); None if unpriced."""
    import math

    price = PRICES.get(endpoint)
    if price is None:
        return None
    if price.unit == "1000 characters":
        return price.usd * characters / 1000
    if price.unit == "second":
        return price.usd * seconds
    return price.usd * max(1, math.ceil(seconds / 60))
