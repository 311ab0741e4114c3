"""What a model can and cannot take, in words: the notes ``validate`` prints when a shot changes model.

Pure functions over :class:`~storyboard.compiler.models.ModelInfo`; the compiler turns them
into warnings (a default the model drops) or problems (a field the shot wrote that the model
does not take).
"""

from __future__ import annotations

from storyboard.compiler.models import ModelInfo, Registry

ASPECTS = {"16:9": 16 / 9, "9:16": 9 / 16, "1:1": 1.0}


def nearest_aspect(width: int, height: int) -> str:
    """The storyboard aspect ratio closest to a picture's (for models that follow the start image)."""
    ratio = width / height
    return min(ASPECTS, key=lambda a: abs(ASPECTS[a] - ratio))


def no_aspect_reason(model: ModelInfo) -> str:
    """Why a model has no aspect ratio field: what decides the clip's shape instead."""
    return "the source clip's is used" if model.kind == "edit" else "the start image's is used"


def model_notes(default: ModelInfo, model: ModelInfo) -> list[str]:
    """What ``model`` drops and adds compared with ``default`` (empty when they are the same)."""
    if model.name == default.name:
        return []
    a, b = default.shape, model.shape
    notes: list[str] = []
    if a.aspect_ratio and not b.aspect_ratio:
        notes.append(f"has no aspect ratio: {no_aspect_reason(model)}")
    if a.image_urls and not b.image_urls:
        notes.append("takes no reference images (image_urls): styles and @images cannot be sent")
    if a.elements and not b.elements:
        notes.append("takes no elements: characters and objects cannot be sent")
    if a.duration and not b.duration:
        notes.append("takes no duration: the clip lasts as long as its source")
    if b.start_required and not a.start_required:
        notes.append("needs a start frame (`start:`)")
    if b.end and not a.end:
        notes.append("adds an end frame (`end:`)")
    if b.multi_prompt and not a.multi_prompt:
        notes.append("adds several prompts in one clip (`multi_prompt:`)")
    if b.audio and not a.audio:
        notes.append(
            "makes native audio unless `audio: false`" if b.audio_default else "adds native audio (`audio: true`)"
        )
    if b.video and not a.video:
        notes.append("edits another shot's clip (`edit:`)")
    if model.durations and default.durations and model.durations[-1] > default.durations[-1]:
        notes.append(f"allows shots up to {model.durations[-1]} s")
    if model.max_references != default.max_references:
        notes.append(f"takes at most {model.max_references} references (not {default.max_references})")
    return notes


def models_with(registry: Registry, what: str) -> str:
    """The aliases of the models that take ``what`` (end, multi_prompt, audio, aspect_ratio), for hints."""
    names = []
    for m in registry.models:
        s = m.shape
        has = {
            "end": s.end is not None,
            "multi_prompt": s.multi_prompt,
            "audio": s.audio is not None,
            "aspect_ratio": s.aspect_ratio,
            "image_urls": s.image_urls,
            "elements": s.elements,
            "edit": m.kind == "edit",
        }[what]
        if has:
            names.append(m.aliases[0] if m.aliases else m.name)
    return ", ".join(names) if names else "none registered"
