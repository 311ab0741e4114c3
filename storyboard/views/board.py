"""``storyboard board``: the plan as a static HTML storyboard page, one card per shot.

The page (``build/board/index.html`` beside the storyboard by default) shows each shot's start
frame, references, compiled prompt with its tags linked to their pictures, transition, cost and
the last build's status and clip. Thumbnails are copied into ``assets/`` beside the page, named
by content hash, so the folder still works when moved or zipped; clips are linked relatively.
The page has no scripts and no timestamps: the same plan, build and cache give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from storyboard import __version__
from storyboard.build.cache import Cache
from storyboard.build.review import ShotReview
from storyboard.compiler.compile import CompileContext
from storyboard.errors import UsageError
from storyboard.plan import Plan, ShotPlan
from storyboard.views.board_cards import (
    STATUSES,
    TEMPLATES,
    Card,
    CardMaker,
    measured_seconds,
    money,
    read_run_results,
    rel_url,
    seconds_text,
    short_model,
    write_shared,
)
from storyboard.views.cost import estimate


@dataclass(frozen=True, slots=True)
class Page:
    """The page header's facts and the cards."""

    title: str
    source: str
    version: str
    shot_count: int
    seconds: float
    film_seconds: float
    total_cost: str
    cost_now: str | None
    prices: tuple[tuple[str, str, str], ...]  # (model, $/s, where the price comes from)
    build: str
    backend: str | None
    film: str | None
    cards: tuple[Card, ...] = field(default=())


def _build_summary(cards: list[Card], results: dict[str, Any] | None) -> str:
    if results is None:
        return "not built yet"
    counts = {s: sum(1 for c in cards if c.status == s) for s in STATUSES}
    parts = [f"{n} {s}" for s, n in counts.items()]
    outdated = sum(1 for c in cards if c.status == "outdated")
    missing = sum(1 for c in cards if c.status == "not-built")
    if outdated:
        parts.append(f"{outdated} changed since")
    if missing:
        parts.append(f"{missing} not built")
    return ", ".join(parts)


def write_board(
    plan: Plan,
    ctx: CompileContext | None,
    out: Path,
    build_dir: Path | None,
    cache: Cache | None,
    prices: dict[str, float],
    reviews: dict[str, ShotReview] | None = None,
    *,
    paid: bool = False,
) -> Path:
    """Write the storyboard page for ``plan`` to ``out`` (thumbnails into ``assets/`` beside it); returns ``out``.

    ``build_dir`` is the last build's folder (its ``run_results.json`` and clips are shown when
    present); ``cache`` is where continuity frames and takes are found; ``prices`` are the user's
    overrides; ``reviews`` the approvals and notes of the review file; ``paid``: whether the cache's
    backend charges for generations (only then is a cached shot money saved).
    """
    out = out.absolute()
    page = make_page(plan, ctx, out.parent, build_dir, cache, prices, reviews=reviews, paid=paid)
    write_shared(out, render_page(page).encode("utf-8"))
    return out


def make_page(
    plan: Plan,
    ctx: CompileContext | None,
    page_dir: Path,
    build_dir: Path | None,
    cache: Cache | None,
    prices: dict[str, float],
    *,
    link: Callable[[Path], str] | None = None,
    reviews: dict[str, ShotReview] | None = None,
    paid: bool = False,
) -> Page:
    """The page's facts and cards; thumbnails are written into ``page_dir/assets``.

    ``link`` turns a clip or film path into the URL the page uses (default: relative to ``page_dir``).
    """
    page_dir = page_dir.absolute()
    link = link or (lambda p: rel_url(p, page_dir))
    build_dir = build_dir.absolute() if build_dir is not None else None
    results = read_run_results(build_dir) if build_dir is not None else None
    saved = cache if paid else None  # only a paid backend's cache saves money
    est = {s.id: s for s in estimate(plan, saved, prices).shots}
    maker = CardMaker(plan, ctx, page_dir, build_dir, cache, results, link, reviews)
    cards: list[Card] = []
    total, now = 0.0, 0.0
    for number, shot in enumerate(plan.shots, 1):
        sc = est[shot.id]
        note: str | None
        if sc.price_per_second is None:
            cost, note = "no price", "no price known for this model"
        else:
            full = sc.seconds * sc.price_per_second
            total += full
            now += sc.usd
            cost = money(full)
            note = f"cached on {cache.backend}: free to rebuild" if sc.cached and cache is not None else None
        cards.append(maker.card(shot, number, cost, note))
    prices_shown: list[tuple[str, str, str]] = []
    firsts: dict[tuple[str, bool | None], ShotPlan] = {}
    for s in plan.shots:
        firsts.setdefault((s.model, s.audio), s)
    for (name, audio), first in firsts.items():
        price = prices.get(name, first.price_per_second)
        source = "user override" if name in prices else first.price_source
        rate = "no price" if price is None else f"${price:g}/s" + (" with audio" if audio else "")
        prices_shown.append((short_model(name), rate, source))
    seconds: float = sum(s.duration for s in plan.shots)
    overlap: float = sum(s.transition.duration for s in plan.shots[1:] if s.transition.type == "crossfade")
    film = build_dir / plan.film.output if build_dir is not None else None
    measured = measured_seconds(film) if film is not None and film.is_file() else None
    if measured is not None:  # the film as it is, not as the requested seconds add up
        seconds = round(sum(c.clip_seconds or c.duration for c in cards), 3)
        overlap = seconds - measured
    page = Page(
        title=plan.title,
        source=plan.source.name,
        version=__version__,
        shot_count=len(plan.shots),
        seconds=seconds,
        film_seconds=round(seconds - overlap, 3),
        total_cost=money(total),
        cost_now=money(now) if saved is not None and round(now, 2) != round(total, 2) else None,
        prices=tuple(prices_shown),
        build=_build_summary(cards, results),
        backend=str(results.get("backend")) if results and results.get("backend") else None,
        film=link(film) if film is not None and film.is_file() else None,
        cards=tuple(cards),
    )
    return page


def render_page(page: Page, live: dict[str, Any] | None = None) -> str:
    """The page's HTML; ``live`` adds the live board's controls and script (``storyboard serve``)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template("board.html.j2").render(page=page, seconds=seconds_text, live=live)


def board_command(
    file: Path,
    out: Path | None = None,
    open_browser: bool = False,
    *,
    build_dir: Path | None = None,
    cache_dir: Path | None = None,
    prices_file: Path | None = None,
    default_backend: str | None = None,
) -> Path:
    """Compile ``file`` and write its storyboard page (default ``build/board/index.html``); returns the page.

    ``default_backend`` names the cache to read when no build has run yet (the CLI passes
    ``STORYBOARD_BACKEND``; else ``preview``).

    Statuses and clips come from the last build in ``build_dir`` (default ``build/``), continuity
    frames from that build's backend cache. ``out`` may name the HTML file or a folder for it.
    """
    from storyboard.backends import backend_is_paid, backend_name
    from storyboard.build.run import default_build_dir, open_cache
    from storyboard.compiler.compile import compile_with_context
    from storyboard.compiler.models import load_prices

    plan, ctx = compile_with_context(file)
    build = (build_dir or default_build_dir(plan)).absolute()
    results = read_run_results(build)
    backend = str(results["backend"]) if results and results.get("backend") else backend_name(None, default_backend)
    cache = open_cache(plan, cache_dir, backend)
    if out is None:
        out = build / "board" / "index.html"
    elif out.is_dir() or not out.suffix:
        out = out / "index.html"
    try:
        paid = backend_is_paid(backend)
    except UsageError:  # the last build's own backend cannot be loaded here: claim no savings
        paid = False
    from storyboard.build.review import read_review, review_path

    reviews = read_review(review_path(plan.source))
    page = write_board(plan, ctx, out, build, cache, load_prices(prices_file), reviews, paid=paid)
    if open_browser:
        import webbrowser

        webbrowser.open(page.as_uri())
    return page
