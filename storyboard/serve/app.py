"""The live board's HTTP side: starlette routes on uvicorn, bound to loopback unless told otherwise.

Routes::

    GET  /                 the board (the static board's page with the live controls and script)
    GET  /events           server-sent events: board (compiled again), shot, progress, build
    GET  /api/board        the current compile: version, problems, shots with takes, picks, reviews (JSON)
    POST /api/pick         {shot, take, digest}: writes ``pick:`` into the storyboard, as `storyboard pick`
    POST /api/review       {shot, approved?, note?}: writes <storyboard>.review.yaml
    POST /api/build        {backend, confirm_usd?}: a build; a paid one only with its cost confirmed
    /build/…, /cache/…     clips and frames; /assets/… thumbnails; /static/live.js

Every request must name this server in its Host header (against DNS rebinding); every POST must
carry ``X-Storyboard: 1`` and, when the browser sends one, an Origin of this server (another site
cannot send that header without a CORS preflight, which is never granted). On another interface
than loopback (``--allow-remote``) every request needs the token (``?token=`` once, then a cookie).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hmac
import ipaddress
import secrets
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from storyboard.errors import StoryboardError, UsageError
from storyboard.serve.live import Live, ServeOptions
from storyboard.serve.page import board_json, render_live_page

STATIC = Path(__file__).parent / "static"
COOKIE = "storyboard_token"
HEARTBEAT = 10.0  # seconds between keep-alive comments on the event stream


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Guard:
    """ASGI middleware: the Host check, the token, and the POST checks (see the module docstring)."""

    def __init__(self, app: ASGIApp, live: Live, token: str | None, hosts: set[str]):
        self.app, self.live, self.token, self.hosts = app, live, token, hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        host = request.headers.get("host", "")
        if self.hosts and host not in self.hosts:
            await PlainTextResponse("unknown host", 421)(scope, receive, send)
            return
        set_cookie = False
        if self.token is not None:
            given = request.query_params.get("token") or request.cookies.get(COOKIE) or ""
            auth = request.headers.get("authorization", "")
            if auth.startswith("Bearer "):
                given = auth[7:]
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                await PlainTextResponse("a token is required: open the address printed by storyboard serve", 401)(
                    scope, receive, send
                )
                return
            set_cookie = COOKIE not in request.cookies
        if request.method not in ("GET", "HEAD"):
            origin = request.headers.get("origin")
            if request.headers.get("x-storyboard") != "1" or (origin is not None and origin.split("//", 1)[-1] != host):
                await PlainTextResponse("refused: not from this board", 403)(scope, receive, send)
                return
        if not set_cookie:
            await self.app(scope, receive, send)
            return
        token = self.token or ""

        async def send_with_cookie(message: Any) -> None:
            if message["type"] == "http.response.start":
                cookie = f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def create_app(live: Live, token: str | None = None, hosts: set[str] | None = None) -> Starlette:
    """The starlette application around ``live``."""

    async def index(request: Request) -> Response:
        html = await asyncio.to_thread(render_live_page, live)
        return HTMLResponse(html, headers={"cache-control": "no-store"})

    async def api_board(request: Request) -> Response:
        return JSONResponse(await asyncio.to_thread(board_json, live), headers={"cache-control": "no-store"})

    async def events(request: Request) -> Response:
        queue: asyncio.Queue[str] = asyncio.Queue()
        live.subscribers.add(queue)

        async def stream() -> AsyncIterator[str]:
            try:
                current = live.current
                yield f'event: hello\ndata: {{"version": {current.version if current else 0}}}\n\n'
                while not live.closing.is_set():
                    try:
                        yield await asyncio.wait_for(queue.get(), HEARTBEAT)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
            finally:
                live.subscribers.discard(queue)

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"cache-control": "no-store", "x-accel-buffering": "no"}
        )

    async def body(request: Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except ValueError:
            raise UsageError("the request body is not JSON") from None
        if not isinstance(data, dict):
            raise UsageError("the request body must be a JSON object")
        return data

    async def api_pick(request: Request) -> Response:
        from storyboard.serve.actions import pick_take

        data = await body(request)
        return JSONResponse(await asyncio.to_thread(pick_take, live, data))

    async def api_review(request: Request) -> Response:
        from storyboard.serve.actions import review_shot

        data = await body(request)
        return JSONResponse(await asyncio.to_thread(review_shot, live, data))

    async def api_build(request: Request) -> Response:
        from storyboard.serve.actions import build_now

        data = await body(request)
        status, payload = await asyncio.to_thread(build_now, live, data)
        return JSONResponse(payload, status_code=status)

    async def user_error(request: Request, exc: Exception) -> Response:
        code = 409 if exc.__class__.__name__ == "StaleFileError" else 400
        return JSONResponse({"error": str(exc)}, status_code=code)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        live.loop = asyncio.get_running_loop()
        await asyncio.to_thread(live.compile)
        if live.current is not None and not live.current.problems:
            live.want_previews()
        watcher = asyncio.create_task(live.watch())
        try:
            yield
        finally:
            live.stop()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    live.build_dir.mkdir(parents=True, exist_ok=True)
    cache_root = live.cache().root
    cache_root.mkdir(parents=True, exist_ok=True)
    (live.build_dir / "board" / "assets").mkdir(parents=True, exist_ok=True)
    routes = [
        Route("/", index),
        Route("/events", events),
        Route("/api/board", api_board),
        Route("/api/pick", api_pick, methods=["POST"]),
        Route("/api/review", api_review, methods=["POST"]),
        Route("/api/build", api_build, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC)),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        # the page is served at /, so its thumbnails ("assets/…", as on the static board) are here
        Mount("/assets", StaticFiles(directory=live.build_dir / "board" / "assets", check_dir=False)),
        Mount("/build", StaticFiles(directory=live.build_dir, check_dir=False)),
        Mount("/cache", StaticFiles(directory=cache_root, check_dir=False)),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(Guard, live=live, token=token, hosts=hosts or set())],
        exception_handlers={StoryboardError: user_error},
        lifespan=lifespan,
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; UsageError (exit 2) when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UsageError(f"cannot listen on {host!r}: {exc.strerror}") from None
    sock = socket.socket(infos[0][0], socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(infos[0][4])
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"port {port} on {host} is in use (another storyboard serve?); choose another with --port, "
                "or --port 0 for any free one"
            ) from None
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def run_server(options: ServeOptions, term: Any) -> None:
    """Check the options, bind the port, and serve until Ctrl-C."""
    import uvicorn

    if not is_loopback(options.host) and not options.allow_remote:
        raise UsageError(
            f"refusing to listen on {options.host}: anyone who reaches it could pick takes and start builds; "
            "serve on 127.0.0.1 (the default), or add --allow-remote (a token is then required)"
        )
    if not options.file.is_file():
        raise UsageError(f"{options.file}: no such storyboard file")
    token: str | None = None
    if not is_loopback(options.host):
        token = options.token or options.token_from_environment or secrets.token_urlsafe(24)
    live = Live(options)
    sock = bind(options.host, options.port)
    port = sock.getsockname()[1]
    shown = f"[{options.host}]" if ":" in options.host else options.host
    hosts: set[str] = set()
    if is_loopback(options.host):
        hosts = {f"{h}:{port}" for h in ("127.0.0.1", "localhost", "[::1]", shown)}
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    app = create_app(live, token, hosts)
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, timeout_graceful_shutdown=2, lifespan="on", server_header=False
    )
    server = uvicorn.Server(config)
    term.success(f"serving {options.file} at {url} (Ctrl-C to stop)")
    if token:
        term.warning("listening beyond this machine: share the address with its token only with people you trust")
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shuts down on Ctrl-C, then raises the signal again
        pass
    finally:
        live.stop()
        sock.close()
    term.info("stopped")
