"""``storyboard models``: the registry as a table, or as JSON."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from storyboard.compiler.models import ModelInfo, Registry


def _durations(m: ModelInfo) -> str:
    if m.kind == "image":
        return "—"
    if m.kind == "edit":
        lo, hi = m.source_seconds or (m.durations[0], m.durations[-1])
        return f"= source ({lo:g}–{hi:g} s)"
    return f"{m.durations[0]}–{m.durations[-1]} s"


def _price(m: ModelInfo) -> str:
    if m.price_per_megapixel is not None:
        return f"${m.price_per_megapixel:g}/MP"
    if m.price_per_second is None:
        return "?"
    text = f"${m.price_per_second:g}/s"
    if m.audio_price_per_second is not None and m.audio_price_per_second != m.price_per_second:
        text += f" (${m.audio_price_per_second:g}/s audio)"
    return text


def model_json(m: ModelInfo) -> dict[str, Any]:
    """One model as ``storyboard models --json`` prints it."""
    s = m.shape
    return {
        "endpoint": m.endpoint,
        "label": m.title,
        "aliases": list(m.aliases),
        "kind": m.kind,
        "fields": m.takes(),
        "start": s.start,
        "start_required": s.start_required,
        "end": s.end,
        "audio_default": s.audio_default if s.audio else None,
        "limits": {
            "prompt_chars": m.max_prompt_chars,
            "references": m.max_references,
            "references_with_video": m.references_with_video,
            "durations": [m.durations[0], m.durations[-1]] if m.durations else None,
            "aspect_ratios": list(m.aspect_ratios),
            "element_views": list(m.element_views),
            "source_seconds": list(m.source_seconds) if m.source_seconds else None,
        },
        "price": {
            "per_second": m.price_per_second,
            "audio_per_second": m.audio_price_per_second,
            "per_megapixel": m.price_per_megapixel,
            "source": m.price_source,
        },
        "schema": m.schema_source,
        "user": m.user,
    }


def models_json(registry: Registry) -> dict[str, Any]:
    """Every model of the registry, in registry order."""
    return {"models": [model_json(m) for m in registry.models]}


def models_table(registry: Registry) -> Table:
    """The registry as a rich table: one row per model."""
    table = Table(title="models (docs/models.md)", title_justify="left", show_lines=False)
    for col in ("alias", "model", "kind", "takes", "durations", "aspect", "refs", "price"):
        table.add_column(col, overflow="fold")
    for m in registry.models:
        takes = [f for f in m.takes() if f not in ("prompt", "duration", "aspect_ratio")]
        table.add_row(
            ", ".join(m.aliases) or "—",
            m.title + (" (yours)" if m.user else "") + "\n" + m.endpoint,
            m.kind,
            ", ".join(takes),
            _durations(m),
            " ".join(m.aspect_ratios) if m.aspect_ratios else ("start image's" if m.kind == "video" else "—"),
            str(m.max_references) if m.kind != "image" else "—",
            _price(m),
        )
    return table
