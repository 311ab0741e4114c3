"""The Plan from a storyboard's checked shot drafts: requests, cache keys, shot plans and the film.

The last step of compiling (:mod:`storyboard.compiler.compile`), once every shot is checked and
the continuity order is known: each shot's canonical request is built with its upstream shots'
keys (the picked take of each: continuity follows picks), hashed into its key and the key of
its take, and written into a :class:`~storyboard.plan.ShotPlan`. Pure.
"""

from __future__ import annotations

from pathlib import Path

from storyboard.compiler.load import Document
from storyboard.compiler.shot_rules import Draft
from storyboard.compiler.spec import Storyboard
from storyboard.plan import (
    AudioPlan,
    FilmPlan,
    ImagePlan,
    Plan,
    ShotPlan,
    SourceLocation,
    Transition,
    build_request,
    shot_key,
    take_key,
)


def assemble_plan(
    drafts: list[Draft],
    order: list[str],
    *,
    doc: Document,
    storyboard: Storyboard,
    root: Path,
    film_transition: Transition,
    film_aspect: str,
    audio: tuple[AudioPlan, ...] = (),
    images: tuple[ImagePlan, ...] = (),
) -> Plan:
    """The Plan of checked drafts: each shot's request and cache key (in ``order``, upstream first), the film."""
    by_id = {d.shot.id: d for d in drafts}
    keys: dict[str, str] = {}
    bases: dict[str, str] = {}
    for sid in order:
        d = by_id[sid]
        ups = {u: keys[u] for u in d.depends}  # the picked take of each upstream shot: continuity follows picks
        if d.card is not None:  # a card has one take (made locally, the same every time): no takes or pick
            bases[sid] = keys[sid] = shot_key(
                d.model.endpoint, d.card.request(d.duration, lambda a: a.canonical({})), {}
            )
            continue
        canonical = build_request(
            d.model.shape,
            prompt=d.mapped_prompt,
            multi_prompt=d.parts,
            image_urls=d.images,
            elements=d.elements,
            duration=d.duration,
            aspect_ratio=d.aspect,
            start=d.start,
            end=d.end,
            audio=d.audio,
            video=d.video,
            url_of=lambda a, ups=ups: a.canonical(ups),  # type: ignore[misc]
        )
        bases[sid] = shot_key(d.model.endpoint, canonical, ups)
        keys[sid] = take_key(bases[sid], d.shot.pick or 1)
    lines = doc.item_lines(("shots",))
    shots = tuple(
        ShotPlan(
            id=d.shot.id,
            index=d.index,
            model=d.model.name,
            endpoint=d.model.endpoint,
            prompt=d.mapped_prompt,
            image_urls=d.images,
            elements=d.elements,
            duration=d.duration,
            aspect_ratio=d.aspect,
            depends_on=d.depends,
            key=keys[d.shot.id],
            start=d.start,
            style=d.style,
            transition=d.transition,
            mentions=d.mentions,
            source_prompt=d.rendered,
            notes=d.shot.notes,
            location=SourceLocation(doc.display, *lines[d.index]) if d.index < len(lines) else None,
            shape=d.model.shape,
            end=d.end,
            audio=d.audio,
            multi_prompt=d.parts,
            video=d.video,
            price_per_second=d.model.price(d.audio),
            price_source=d.model.price_source,
            model_label=d.model.title,
            image_limits=d.model.images,
            card=d.card,
            takes=1 if d.card is not None else d.shot.takes or storyboard.defaults.takes or 1,
            take=d.shot.pick or 1,
            picked=d.shot.pick is not None,
            base_key="" if (d.shot.pick or 1) == 1 else bases[d.shot.id],
        )
        for d in drafts
    )
    return Plan(
        title=storyboard.title,
        source=doc.path.absolute(),
        root=root,
        shots=shots,
        film=FilmPlan(
            storyboard.film.output,
            film_transition,
            loudness=storyboard.film.loudness.target,
            true_peak=storyboard.film.loudness.true_peak,
            subtitles=storyboard.film.subtitles is not False,
            burn_subtitles=not isinstance(storyboard.film.subtitles, bool) and storyboard.film.subtitles.burn_in,
            aspect_ratio=film_aspect,
        ),
        audio=audio,
        images=images,
    )
