"""The board's cards: one shot as the page shows it, with its thumbnails, prompt parts and takes.

:class:`CardMaker` turns each :class:`~storyboard.plan.ShotPlan` into a :class:`Card` — its start
frame and references as thumbnails copied beside the page (named by content hash), its compiled
prompt split at its tags, its cost, the last build's status, clip and takes. Used by
:mod:`storyboard.views.board` (the static page) and the live board (``storyboard serve``).
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from PIL import Image

from storyboard.build.cache import Cache
from storyboard.build.outputs import ShotStatus
from storyboard.build.review import ShotReview
from storyboard.build.takes import cached_takes
from storyboard.compiler.compile import CompileContext
from storyboard.compiler.models import find_model
from storyboard.plan import AssetRef, Mention, Plan, ShotPlan
from storyboard.util import atomic_write_bytes, sha256_file

THUMB_SIDE = 320  # longest side of a copied thumbnail, in pixels
TEMPLATES = Path(__file__).parent / "templates"
TAG_RE = re.compile(r"@(Element|Image)(\d+)(?!\d)")
STATUSES = tuple(ShotStatus)
KIND_LABELS = {
    "character": "character",
    "object": "object",
    "image": "image",
    "style": "style",
    "last_frame": "last frame",
}


@dataclass(frozen=True, slots=True)
class Thumb:
    """One picture on a card: a copied thumbnail, or a placeholder saying why there is none."""

    label: str  # the name as the author wrote it
    kind: str  # character, object, style, image, last frame
    tag: str | None = None  # "@Element1"
    anchor: str | None = None  # the figure's id, target of the prompt's tag links
    src: str | None = None  # the thumbnail, relative to the page
    note: str | None = None  # shown instead of a picture
    href: str | None = None  # a remote image's URL
    description: str | None = None
    minis: tuple[str, ...] = ()  # an element's reference views, relative to the page


@dataclass(frozen=True, slots=True)
class Part:
    """A run of the compiled prompt: plain text, or a tag linked to its picture (``anchor``)."""

    text: str
    tag: bool = False
    anchor: str | None = None


@dataclass(frozen=True, slots=True)
class Card:
    """Everything one shot's card shows."""

    number: int
    id: str
    anchor: str
    duration: int
    aspect_ratio: str
    model: str  # short name
    endpoint: str
    style: str | None
    transition: str
    cost: str
    cost_note: str | None
    status: str  # CSS class: generated, cached, failed, skipped, outdated, not-built
    status_text: str
    error: str | None
    start: Thumb | None
    continues_from: str | None  # shot id
    refs: tuple[Thumb, ...]
    prompt: tuple[Part, ...]
    source_prompt: str
    clip: str | None
    clip_note: str | None
    location: str | None
    clip_seconds: float | None = None  # measured from the built clip (a "5 s" Kling clip lasts 5.04 s)
    end: Thumb | None = None  # the end frame
    ends_on: str | None = None  # the shot whose frame this one ends on
    edit_of: str | None = None  # the shot whose clip this one edits
    is_card: bool = False  # a title or credit card, made locally
    generated: tuple[str, ...] = ()  # "keeper.view1 (made from keeper.front)": generated images it uses
    take: int = 1  # the take in the film
    takes: tuple[TakeView, ...] = ()  # every take built or wanted, in order
    review: ShotReview | None = None


@dataclass(frozen=True, slots=True)
class TakeView:
    """One take of a shot on its card."""

    number: int
    clip: str | None  # page-relative URL of the cached clip, None when not built
    in_film: bool
    wanted: bool  # asked for by the storyboard (``takes:``/``pick:``), else added by --force or reroll


class Thumbnails:
    """Downscaled copies of images in the page's ``assets/`` folder, each made once, named by content hash."""

    def __init__(self, page_dir: Path):
        self.dir = page_dir / "assets"
        self._made: dict[Path, str | None] = {}

    def __call__(self, path: Path, sha256: str | None = None) -> str | None:
        """The thumbnail of ``path`` as a page-relative URL, or None when it is not a readable image."""
        path = path.absolute()
        if path not in self._made:
            self._made[path] = self._make(path, sha256)
        return self._made[path]

    def _make(self, path: Path, sha256: str | None) -> str | None:
        try:
            digest = sha256 or sha256_file(path)
            with Image.open(path) as im:
                alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
                name = f"{digest[:24]}-{THUMB_SIDE}.{'png' if alpha else 'jpg'}"
                dest = self.dir / name
                if not dest.exists():
                    small = im.convert("RGBA" if alpha else "RGB")
                    small.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
                    buf = io.BytesIO()
                    if alpha:
                        small.save(buf, "PNG", optimize=True)
                    else:
                        small.save(buf, "JPEG", quality=85, optimize=True)
                    write_shared(dest, buf.getvalue())
        except (OSError, ValueError, Image.DecompressionBombError):
            return None
        return f"assets/{quote(name)}"


def write_shared(path: Path, data: bytes) -> None:
    """Write atomically, readable by everyone (the folder is meant to be shared)."""
    atomic_write_bytes(path, data)
    os.chmod(path, 0o644)


def read_run_results(build_dir: Path) -> dict[str, Any] | None:
    """The last build's ``run_results.json``, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads((build_dir / "run_results.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("shots"), list) else None


def rel_url(target: Path, page_dir: Path) -> str:
    """``target`` as a URL relative to the page's folder (so the folder can be moved or zipped)."""
    return quote(os.path.relpath(target, page_dir).replace(os.sep, "/"))


def money(usd: float) -> str:
    """``$1,234.50``."""
    return f"${usd:,.2f}"


def seconds_text(s: float) -> str:
    """``5 s``, ``2.5 s``."""
    return f"{s:g} s"


def short_model(name: str) -> str:
    """A packaged model's first alias (``o1``), else the name as written."""
    model = find_model(name)
    return model.aliases[0] if model and model.aliases else name


def _transition(shot: ShotPlan) -> str:
    if shot.index == 0 and shot.transition.type == "cut":
        return "opens the film"
    tr = shot.transition
    return "cut" if tr.type == "cut" else f"{tr.type} {seconds_text(tr.duration)}"


def prompt_parts(prompt: str, anchors: dict[str, str]) -> tuple[Part, ...]:
    """The prompt split into text and ``@ElementN``/``@ImageN`` tags, each tag with its anchor if known."""
    parts: list[Part] = []
    pos = 0
    for m in TAG_RE.finditer(prompt):
        if m.start() > pos:
            parts.append(Part(prompt[pos : m.start()]))
        parts.append(Part(m.group(0), True, anchors.get(m.group(0))))
        pos = m.end()
    if pos < len(prompt):
        parts.append(Part(prompt[pos:]))
    return tuple(parts)


def measured_seconds(path: Path) -> float | None:
    """A video's length from its frame count and rate, or None if it cannot be read."""
    from storyboard.errors import MediaError
    from storyboard.media.probe import probe

    try:
        info = probe(path)
    except (MediaError, OSError):
        return None
    return round(info.frames / float(info.fps), 3) if info.frames and info.fps else round(info.duration, 3)


class CardMaker:
    """Turns shots into cards, sharing the thumbnails, the cache and the last build's results."""

    def __init__(
        self,
        plan: Plan,
        ctx: CompileContext | None,
        page_dir: Path,
        build_dir: Path | None,
        cache: Cache | None,
        results: dict[str, Any] | None,
        link: Callable[[Path], str] | None = None,
        reviews: dict[str, ShotReview] | None = None,
    ):
        self.plan, self.ctx, self.page_dir, self.build_dir, self.cache = plan, ctx, page_dir, build_dir, cache
        self.link = link or (lambda p: rel_url(p, page_dir))
        self.reviews = reviews or {}
        self.by_id = plan.by_id()
        self.thumbs = Thumbnails(page_dir)
        self.results = {s.get("id"): s for s in results["shots"] if isinstance(s, dict)} if results else None

    def _description(self, name: str) -> str | None:
        asset = self.ctx.resolved.visible.get(name) if self.ctx else None
        return asset.description if asset else None

    def picture(self, ref: AssetRef) -> dict[str, Any]:
        """The thumbnail fields for one image input."""
        if ref.kind == "file":
            src = self.thumbs(ref.path, ref.sha256)
            return {"src": src, "note": None if src else f"cannot read {ref.display}"}
        if ref.kind == "url":
            return {"note": "remote image", "href": ref.value}
        if ref.kind == "generated":
            path = self._generated_file(ref)
            src = self.thumbs(path) if path is not None else None
            return {"src": src} if src else {"note": f"{ref.value}: generated from words, not made yet"}
        upstream = self.by_id.get(ref.value)
        if ref.kind == "clip":
            return {"note": f"the clip of {ref.value}"}
        if ref.kind == "first_frame":
            frame = self.cache.first_frame_path(upstream.key) if upstream and self.cache else None
            if frame is not None and frame.exists() and (src := self.thumbs(frame)):
                return {"src": src}
            return {"note": f"first frame of {ref.value} not built yet"}
        if upstream is not None and self.cache is not None and self.cache.has_frame(upstream.key):
            src = self.thumbs(self.cache.frame_path(upstream.key))
            if src:
                return {"src": src}
        return {"note": f"last frame of {ref.value} not built yet"}

    def _generated_file(self, ref: AssetRef) -> Path | None:
        """The cached image behind a generated ref (the last build's backend), or None."""
        if self.cache is None or ref.key is None:
            return None
        from storyboard.build.images import ImageStore

        store = ImageStore(self.cache)
        record = store.lookup(ref.key, verify=False)
        return store.path(record) if record is not None else None

    def _generated_edges(self, shot: ShotPlan) -> tuple[str, ...]:
        """The generated images a shot uses, each with the image it is made from."""
        made_from = {i.id: i.source for i in self.plan.images}
        out = []
        for ref in dict.fromkeys(a for a in shot.assets() if a.kind == "generated"):
            source = made_from.get(ref.value)
            out.append(f"{ref.value} (made from {source})" if source else f"{ref.value} (from words)")
        return tuple(out)

    def card(self, shot: ShotPlan, number: int, cost: str, cost_note: str | None) -> Card:
        """The card of one shot."""
        mentions: dict[str, Mention] = {t: m for m in shot.mentions for t in m.tags}
        anchors: dict[str, str] = {}
        refs: list[Thumb] = []
        start: Thumb | None = None
        for i, el in enumerate(shot.elements, 1):
            tag, m = f"@Element{i}", mentions.get(f"@Element{i}")
            anchor = anchors[tag] = f"shot-{shot.id}-element{i}"
            # the frontal image sent again as the one reference view (none declared) is not a second picture
            views = () if el.references == (el.frontal,) else el.references
            minis = tuple(
                s
                for r in views
                if (r.kind == "file" and (s := self.thumbs(r.path, r.sha256)))
                or (r.kind == "generated" and (s := self.picture(r).get("src")))
            )
            refs.append(
                Thumb(
                    m.name if m else el.name,
                    KIND_LABELS.get(m.kind, m.kind) if m else "element",
                    tag,
                    anchor,
                    description=el.description or self._description(el.name),
                    minis=minis,
                    **self.picture(el.frontal),
                )
            )
        for i, ref in enumerate(shot.image_urls, 1):
            tag, m = f"@Image{i}", mentions.get(f"@Image{i}")
            anchor = anchors[tag] = f"shot-{shot.id}-image{i}"
            label = m.name if m else ref.display
            kind = KIND_LABELS.get(m.kind, m.kind) if m else "image"
            if m and m.kind == "style" and len(m.tags) > 1:
                label = f"{m.name} {m.tags.index(tag) + 1}/{len(m.tags)}"
            thumb = Thumb(
                label, kind, tag, anchor, description=self._description(m.name) if m else None, **self.picture(ref)
            )
            if ref == shot.start and start is None:
                start = thumb
            else:
                refs.append(thumb)
        if shot.start is not None and start is None:  # a start frame the request does not tag
            start = Thumb(shot.start.display, "start frame", **self.picture(shot.start))
        status, status_text, error = self.status(shot)
        clip, clip_note = self.clip(shot)
        return Card(
            number=number,
            id=shot.id,
            anchor=f"shot-{shot.id}",
            duration=shot.duration,
            aspect_ratio=shot.aspect_ratio,
            model=short_model(shot.model),
            endpoint=shot.endpoint,
            style=shot.style,
            transition=_transition(shot),
            cost=cost,
            cost_note=cost_note,
            status=status,
            status_text=status_text,
            error=error,
            start=start,
            continues_from=shot.start.value if shot.start is not None and shot.start.kind == "last_frame" else None,
            end=Thumb(shot.end.display, "end frame", **self.picture(shot.end)) if shot.end is not None else None,
            ends_on=shot.end.value if shot.end is not None and shot.end.kind in ("last_frame", "first_frame") else None,
            edit_of=shot.video.value if shot.video is not None else None,
            generated=self._generated_edges(shot),
            refs=tuple(refs),
            prompt=prompt_parts(shot.prompt, anchors),
            source_prompt=shot.source_prompt,
            clip=clip,
            clip_note=clip_note,
            location=f"{self.plan.source.name}:{shot.location.line}" if shot.location and shot.location.line else None,
            clip_seconds=self.clip_seconds(shot) if clip is not None else None,
            is_card=shot.card is not None,
            take=shot.take,
            takes=self.takes(shot),
            review=self.reviews.get(shot.id),
        )

    def takes(self, shot: ShotPlan) -> tuple[TakeView, ...]:
        """Every take of the shot the cache holds or the storyboard asks for (none for a plain one-take shot)."""
        have = cached_takes(self.cache, shot) if self.cache is not None else []
        numbers = sorted({*have, *shot.wanted_takes()})
        if numbers == [1] and not shot.picked:
            return ()
        wanted = set(shot.wanted_takes())
        return tuple(
            TakeView(
                n,
                self.link(self.cache.clip_path(shot.take_key(n))) if self.cache is not None and n in have else None,
                n == shot.take,
                n in wanted,
            )
            for n in numbers
        )

    def status(self, shot: ShotPlan) -> tuple[str, str, str | None]:
        """(CSS class, text, error) of the shot in the last build."""
        if self.results is None:
            return "not-built", "not built", None
        entry = self.results.get(shot.id)
        if entry is None:
            return "not-built", "not in the last build", None
        status = str(entry.get("status"))
        error = entry.get("error") if isinstance(entry.get("error"), str) else None
        if entry.get("key") != shot.key:
            return "outdated", f"changed since the last build ({status})", error
        return (status if status in STATUSES else "unknown"), status, error

    def clip_seconds(self, shot: ShotPlan) -> float | None:
        """How long the built clip really lasts, measured from its frames (None when unreadable)."""
        assert self.build_dir is not None
        return measured_seconds(self.build_dir / "shots" / f"{shot.id}.mp4")

    def clip(self, shot: ShotPlan) -> tuple[str | None, str | None]:
        """The clip's page-relative URL, and a note when it was made from an earlier version of the shot."""
        if self.build_dir is None:
            return None, None
        path = self.build_dir / "shots" / f"{shot.id}.mp4"
        if not path.is_file():
            return None, None
        try:
            built_key = json.loads(path.with_suffix(".json").read_text("utf-8")).get("key")
        except (OSError, ValueError, AttributeError):
            built_key = None
        return self.link(path), None if built_key == shot.key else "clip of an earlier version"
