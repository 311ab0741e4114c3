"""What the page may ask the server to do: pick a take, approve or annotate a shot, start a build.

Each runs in a worker thread and raises UsageError (HTTP 400, or 409 for a storyboard changed on
disk since the page showed it) with the same words as the CLI.
"""

from __future__ import annotations

from typing import Any

from storyboard.errors import UsageError
from storyboard.serve.live import Live


def _int(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise UsageError(f"{name} must be a whole number from 1")
    return value


def _shot(live: Live, data: dict[str, Any]) -> str:
    from storyboard.util import did_you_mean

    good = live.good
    shot = data.get("shot")
    if good is None or good.plan is None:
        raise UsageError("the storyboard does not compile; fix the problems shown first")
    ids = [s.id for s in good.plan.shots]
    if not isinstance(shot, str) or shot not in ids:
        hint = did_you_mean(str(shot), ids)
        raise UsageError(f"unknown shot {shot!r}" + (f" — {hint}" if hint else ""))
    return shot


def pick_take(live: Live, data: dict[str, Any]) -> dict[str, Any]:
    """Write ``pick: take`` for the shot, as ``storyboard pick`` does (the take must be built)."""
    from storyboard.build.picks import write_pick
    from storyboard.build.takes import cached_takes

    shot_id = _shot(live, data)
    take = _int(data, "take")
    good = live.good
    assert good is not None and good.plan is not None
    current = live.current
    if current is not None and current.problems:
        raise UsageError("the storyboard does not compile now; fix it before picking")
    have = cached_takes(live.cache(), good.plan.shot(shot_id))
    if take not in have:
        raise UsageError(f"shot {shot_id!r} has no take {take}; its takes on {live.backend}: {have or 'none'}")
    digest = data.get("digest") if isinstance(data.get("digest"), str) else good.digest
    edit = write_pick(live.file, shot_id, take, expect_sha256=digest)
    return {"shot": shot_id, "take": take, "previous": edit.previous, "line": edit.line}


def review_shot(live: Live, data: dict[str, Any]) -> dict[str, Any]:
    """Approve (or not) a shot's picked take, and/or set its note, in the review file."""
    from storyboard.build.review import update_review

    shot_id = _shot(live, data)
    good = live.good
    assert good is not None and good.plan is not None
    approved = data.get("approved")
    note = data.get("note")
    if approved is not None and not isinstance(approved, bool):
        raise UsageError("approved must be true or false")
    if note is not None and not isinstance(note, str):
        raise UsageError("note must be text")
    reviews = update_review(
        live.review_file,
        live.file.name,
        [s.id for s in good.plan.shots],
        shot_id,
        approved=approved,
        take=good.plan.shot(shot_id).take,
        note=note,
    )
    return {"shot": shot_id, **reviews[shot_id].to_json()} if shot_id in reviews else {"shot": shot_id}


def build_now(live: Live, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Start a build: at once on a free backend; on a paid one only when ``confirm_usd`` equals the estimate.

    Returns (HTTP status, body): 202 started, 409 with the estimate to confirm, 200 nothing to do.
    """
    from storyboard.backends import backend_is_paid, backend_name

    backend = backend_name(data.get("backend") if isinstance(data.get("backend"), str) else live.backend)
    good = live.good
    if good is None or good.plan is None:
        raise UsageError("the storyboard does not compile; fix the problems shown first")
    todo, needed = live.pending(backend, good.plan)
    if not needed:
        return 200, {"state": "nothing to build", "backend": backend}
    est = live.estimate(backend, good.plan) if backend_is_paid(backend) and todo else None
    if est is not None:  # a paid generation only once the page confirmed its very cost
        confirm = data.get("confirm_usd")
        if est.unpriced:
            raise UsageError(f"no price known for: {', '.join(est.unpriced)}; give prices to storyboard serve --prices")
        if not isinstance(confirm, int | float) or round(float(confirm), 2) != round(est.total, 2):
            return 409, {
                "confirm": True,
                "backend": backend,
                "estimate": round(est.total, 2),
                "takes": todo,
                "message": f"generate {len(todo)} take(s) and sound(s) on {backend} for ${est.total:.2f}?",
            }
    started = live.start_build(backend, round(est.total, 2) if est is not None else None)
    return 202, {"state": "started" if started else "queued", "backend": backend, "takes": todo}
