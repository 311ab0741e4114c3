"""The registry of models storyboard can compile for: endpoints, limits and prices.

Prices are per second of generated video in US dollars, with where each figure came from.
Users override or add prices with a YAML/JSON file named by ``STORYBOARD_PRICES``
(``{model-or-alias: price_per_second}``) or ``--prices FILE``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from storyboard.errors import UsageError


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model: its endpoint, what it accepts, and what it costs."""

    name: str  # the fal endpoint id
    aliases: tuple[str, ...]
    max_references: int
    durations: tuple[int, ...]
    aspect_ratios: tuple[str, ...]
    price_per_second: float | None
    price_source: str

    @property
    def endpoint(self) -> str:
        """The fal endpoint id requests go to."""
        return self.name


O1_DURATIONS = tuple(range(3, 11))
O1_ASPECTS = ("16:9", "9:16", "1:1")

MODELS: tuple[ModelInfo, ...] = (
    ModelInfo(
        name="fal-ai/kling-video/o1/standard/reference-to-video",
        aliases=("o1-standard", "kling-o1-standard"),
        max_references=7,
        durations=O1_DURATIONS,
        aspect_ratios=O1_ASPECTS,
        price_per_second=0.084,
        price_source="assumed equal to the documented O1 standard image-to-video price ($0.084/s); "
        "no published price for standard reference-to-video was found — override it",
    ),
    ModelInfo(
        name="fal-ai/kling-video/o1/reference-to-video",
        aliases=("o1-pro", "kling-o1-pro", "o1"),
        max_references=7,
        durations=O1_DURATIONS,
        aspect_ratios=O1_ASPECTS,
        price_per_second=0.112,
        price_source="fal.ai model page, O1 (pro) reference-to-video: $0.112 per second",
    ),
)


def _index() -> dict[str, ModelInfo]:
    out: dict[str, ModelInfo] = {}
    for m in MODELS:
        out[m.name] = m
        for a in m.aliases:
            out[a] = m
    return out


_BY_NAME = _index()


def known_names() -> list[str]:
    """Every endpoint id and alias, for error messages."""
    return sorted(_BY_NAME)


def find_model(name: str) -> ModelInfo | None:
    """The model for an endpoint id or alias, or None."""
    return _BY_NAME.get(name)


def load_prices(path: Path | None = None) -> dict[str, float]:
    """User price overrides from ``path`` (the CLI passes ``--prices`` or ``STORYBOARD_PRICES``): ``{model or alias: $/s}``."""
    src = path
    if src is None:
        return {}
    try:
        text = src.read_text("utf-8")
        import yaml

        data = json.loads(text) if src.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, Exception) as exc:  # yaml errors too
        raise UsageError(f"cannot read prices from {src}: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, (int, float)) and v >= 0 for v in data.values()):
        raise UsageError(f"{src}: expected a mapping of model name to price per second, e.g. `o1-pro: 0.112`")
    out: dict[str, float] = {}
    for name, price in data.items():
        model = find_model(str(name))
        if model is None:
            raise UsageError(f"{src}: unknown model {name!r}; known: {', '.join(known_names())}")
        out[model.name] = float(price)
    return out


def priced(model: ModelInfo, overrides: dict[str, float]) -> ModelInfo:
    """The model with the user's price applied, if any."""
    if model.name in overrides:
        return replace(model, price_per_second=overrides[model.name], price_source="user override")
    return model
