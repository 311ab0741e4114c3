"""The live board's page and JSON: the static board's cards with takes, picks, reviews and controls."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from storyboard.serve.live import Live


def _linker(live: Live) -> Any:
    build = live.build_dir
    cache_root = live.cache().root

    def link(path: Path) -> str:
        path = path.absolute()
        for prefix, root in (("/build/", build), ("/cache/", cache_root)):
            try:
                rel = path.relative_to(root)
            except ValueError:
                continue
            stamp = ""
            try:
                st = path.stat()
                stamp = f"?v={st.st_mtime_ns:x}{st.st_size:x}"  # a new clip under the same name is fetched again
            except OSError:
                pass
            return prefix + quote(rel.as_posix()) + stamp
        return ""

    return link


def render_live_page(live: Live) -> str:
    """The whole page for ``GET /``: the last good board, the current problems, the controls."""
    from storyboard.compiler.models import load_prices
    from storyboard.views.board import make_page, render_page

    current, good = live.current, live.good
    state = live.build_state
    controls = {
        "version": current.version if current else 0,
        "digest": (good.digest if good else "") or "",
        "problems": current.problems if current else [],
        "backend": live.backend,
        "build": _build_text(state),
    }
    if good is None or good.plan is None:
        return _empty_page(controls)
    page = make_page(
        good.plan,
        good.ctx,
        live.build_dir / "board",
        live.build_dir,
        live.cache(),
        load_prices(live.options.prices),
        link=_linker(live),
        reviews=live.reviews(),
    )
    return render_page(page, live=controls)


def _build_text(state: dict[str, Any]) -> str:
    s = state.get("state", "idle")
    if s == "idle":
        return "no build running"
    text = f"{state.get('backend', '')} build: {s}"
    if state.get("message"):
        text += f" — {state['message']}"
    return text


def _empty_page(controls: dict[str, Any]) -> str:
    from html import escape

    problems = "".join(f'<p class="problem">{escape(p)}</p>\n' for p in controls["problems"])
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>storyboard</title></head><body>\n'
        '<header class="wrap top"><h1>storyboard</h1></header>\n'
        f'<section id="live" data-version="{controls["version"]}" data-digest="" '
        f'data-backend="{escape(controls["backend"])}"><div id="problems">{problems}</div>'
        '<p id="build-state"></p></section>\n<main class="wrap"></main>\n'
        '<script src="/static/live.js" defer></script>\n</body></html>\n'
    )


def board_json(live: Live) -> dict[str, Any]:
    """``GET /api/board``: the current compile, and every shot's takes, pick and review."""
    from storyboard.build.takes import cached_takes

    current, good = live.current, live.good
    out: dict[str, Any] = {
        "version": current.version if current else 0,
        "ok": bool(current and not current.problems),
        "problems": current.problems if current else [],
        "backend": live.backend,
        "build": live.build_state,
        "shots": [],
    }
    if good is None or good.plan is None:
        return out
    cache = live.cache()
    reviews = live.reviews()
    link = _linker(live)
    for shot in good.plan.shots:
        have = cached_takes(cache, shot)
        review = reviews.get(shot.id)
        out["shots"].append(
            {
                "id": shot.id,
                "take": shot.take,
                "picked": shot.picked,
                "takes": [
                    {
                        "take": n,
                        "key": shot.take_key(n),
                        "built": n in have,
                        "clip": link(cache.clip_path(shot.take_key(n))) if n in have else None,
                    }
                    for n in sorted({*have, *shot.wanted_takes()})
                ],
                "review": review.to_json() if review else None,
                "state": live.shot_states.get(shot.id),
            }
        )
    return out
