"""The live board's HTTP rules in process (httpx's ASGI transport, no socket): hosts, token, POST checks,
picks through the API, and a paid build that never starts without its cost confirmed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from sbtest import write_storyboard
from storyboard.serve.app import create_app, is_loopback
from storyboard.serve.live import Live, ServeOptions
from support.cli import run_cli

STORYBOARD = """\
version: 1
title: Api
defaults:
  duration: 3
images:
  red: assets/red.png
shots:
  - id: one
    start: red
    takes: 2
    prompt: A red room.
"""

POST = {"X-Storyboard": "1"}


def _with_client(
    live: Live,
    test: Callable[[httpx.AsyncClient], Awaitable[None]],
    token: str | None = None,
    host: str = "127.0.0.1:8400",
) -> None:
    """Run ``test`` against the app in process (the server's start-up compile done by hand)."""
    app = create_app(live, token, {host})
    live.compile()

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{host}") as client:
            await test(client)

    asyncio.run(go())


@pytest.fixture
def sb(project: Path) -> Path:
    return write_storyboard(project, STORYBOARD)


def test_loopback_addresses() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.2", "example.org", "::"))


def test_hosts_posts_and_the_token(sb: Path) -> None:
    async def local(client: httpx.AsyncClient) -> None:
        assert (await client.get("/")).status_code == 200
        assert (await client.get("/", headers={"host": "evil.example:8400"})).status_code == 421  # DNS rebinding
        assert (await client.post("/api/review", json={"shot": "one", "note": "x"})).status_code == 403  # no header
        cross = await client.post(
            "/api/review", json={"shot": "one", "note": "x"}, headers={**POST, "origin": "http://evil.example"}
        )
        assert cross.status_code == 403
        ok = await client.post("/api/review", json={"shot": "one", "note": "fine"}, headers=POST)
        assert ok.status_code == 200 and ok.json()["note"] == "fine"
        bad = await client.post("/api/review", json={"shot": "nope", "note": "x"}, headers=POST)
        assert bad.status_code == 400 and "unknown shot 'nope'" in bad.json()["error"]

    _with_client(Live(ServeOptions(file=sb, previews=False)), local)

    async def remote(client: httpx.AsyncClient) -> None:
        assert (await client.get("/")).status_code == 401
        assert (await client.get("/?token=wrong")).status_code == 401
        first = await client.get("/?token=s3cret-token")
        assert first.status_code == 200 and "HttpOnly" in first.headers["set-cookie"]
        client.cookies.set("storyboard_token", "s3cret-token")
        assert (await client.get("/api/board")).status_code == 200  # the cookie carries on
        client.cookies.clear()
        assert (await client.get("/api/board")).status_code == 401
        bearer = await client.get("/api/board", headers={"authorization": "Bearer s3cret-token"})
        assert bearer.status_code == 200

    _with_client(Live(ServeOptions(file=sb, previews=False)), remote, token="s3cret-token", host="10.0.0.5:8400")


def test_pick_through_the_api_and_a_stale_page_is_refused(sb: Path) -> None:
    assert run_cli("build", str(sb), cwd=sb.parent).returncode == 0

    async def test(client: httpx.AsyncClient) -> None:
        board = (await client.get("/api/board")).json()
        assert [t["take"] for t in board["shots"][0]["takes"]] == [1, 2]
        missing = await client.post("/api/pick", json={"shot": "one", "take": 3}, headers=POST)
        assert missing.status_code == 400 and "has no take 3" in missing.json()["error"]
        stale = await client.post("/api/pick", json={"shot": "one", "take": 2, "digest": "0" * 64}, headers=POST)
        assert stale.status_code == 409 and "changed on disk" in stale.json()["error"]
        assert "pick:" not in sb.read_text("utf-8")
        done = await client.post("/api/pick", json={"shot": "one", "take": 2}, headers=POST)
        assert done.status_code == 200 and done.json() == {"shot": "one", "take": 2, "previous": None, "line": 11}

    _with_client(Live(ServeOptions(file=sb, previews=False)), test)
    assert "    pick: 2\n" in sb.read_text("utf-8")


def test_a_paid_build_needs_its_cost_confirmed(sb: Path) -> None:
    live = Live(ServeOptions(file=sb, backend="fal", previews=False))

    async def test(client: httpx.AsyncClient) -> None:
        asked = await client.post("/api/build", json={}, headers=POST)
        assert asked.status_code == 409
        body = asked.json()
        assert body["confirm"] and body["estimate"] == pytest.approx(2 * 3 * 0.084, abs=0.01)
        assert "for $0.50?" in body["message"]
        wrong = await client.post("/api/build", json={"confirm_usd": 0.01}, headers=POST)
        assert wrong.status_code == 409

    _with_client(live, test)
    assert live.build_state == {"state": "idle"}  # nothing was started


def test_a_save_never_starts_a_paid_generation_and_a_confirmation_caps_it(sb: Path) -> None:
    # the background build after a save, on a board served on fal: it says what it would cost, sends nothing
    live = Live(ServeOptions(file=sb, backend="fal", previews=True))
    live.compile()
    assert live._build_once("fal") is True
    assert live.build_state["state"] == "confirm" and live.build_state["estimate"] == pytest.approx(0.5, abs=0.01)
    assert not (sb.parent / ".storyboard" / "cache" / "fal" / "state").exists()  # no journal: nothing was sent
    # a confirmation for less than the estimate now does not start it either
    assert live._build_once("fal", confirmed_usd=0.25) is True
    assert live.build_state["state"] == "confirm"
    assert not (sb.parent / "build" / "run_results.json").exists()


def test_a_pick_of_a_cached_take_restitches_the_film_in_the_background(sb: Path) -> None:
    # nothing continues from `one`, so nothing is generated: the film must still follow the pick
    assert run_cli("build", str(sb), cwd=sb.parent).returncode == 0
    film = sb.parent / "build" / "film.mp4"
    first = film.read_bytes()
    live = Live(ServeOptions(file=sb, previews=True))
    live.compile()
    assert live._build_once("preview") is True  # the server's first build: everything cached, film unchanged
    assert live.pending("preview", live.good.plan) == ([], False)  # type: ignore[union-attr]
    sb.write_text(sb.read_text("utf-8").replace("    takes: 2\n", "    takes: 2\n    pick: 2\n"), "utf-8")
    live.compile()
    assert live.pending("preview", live.good.plan) == ([], True)  # type: ignore[union-attr]
    assert live._build_once("preview") is True
    assert live.build_state["state"] == "done", live.build_state
    assert film.read_bytes() != first
    take2 = json.loads((sb.parent / "build" / "shots" / "one.json").read_text("utf-8"))
    assert take2["inputs"]["take"] == 2
