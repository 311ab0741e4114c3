"""Transport: an HTTP proxy on 127.0.0.1 that opens TLS tunnels to fal's host names.

A client with ``HTTPS_PROXY=http://127.0.0.1:<port>`` sends ``CONNECT queue.fal.run:443``; the
proxy answers 200, wraps the tunnel in TLS with a certificate from a private ``trustme`` CA
(trusted through ``SSL_CERT_FILE``) and serves HTTP/1.1 with keep-alive inside it. Plain
``http://127.0.0.1:<port>/…`` requests and absolute-form proxy requests reach the same app.

The app is one function, ``app(HttpRequest) -> HttpResponse``; the transport knows fal only by
its host names. After it come the HTTP answers shared by the app: fal's canned error replies
(the ingress's nginx 502, a 429, a plain 500, a dropped connection) and the ``/_fake`` control API.
"""

from __future__ import annotations

import functools
import json
import logging
import socket
import ssl
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from storyboard.backends.fakefal.protocol import Fault

if TYPE_CHECKING:
    from storyboard.backends.fakefal import FakeFal

log = logging.getLogger("storyboard.fakefal")

TLS_HOSTS = (
    "queue.fal.run",
    "fal.run",
    "rest.fal.ai",
    "v3.fal.media",
    "fal.media",
    "queue.falrun.com",
    "falrun.com",
    "storage.googleapis.com",
)
IDLE_TIMEOUT = 30.0  # seconds a connection may sit idle or stall mid-request
MAX_BODY = 200 * 1024 * 1024
CHUNK = 64 * 1024


def is_fal_host(host: str) -> bool:
    """Whether the fake answers for ``host`` (a fal name, or any ``*.fal.media``)."""
    return host in TLS_HOSTS or host.endswith(".fal.media")


@dataclass
class HttpRequest:
    """One request as the app sees it.

    ``via``: ``tunnel`` (TLS inside CONNECT), ``proxy`` (plain HTTP naming a fal host, by absolute
    form or Host header) or ``plain`` (plain HTTP to 127.0.0.1 itself).
    """

    method: str
    host: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes
    via: str
    target: str = ""  # the request target as sent, for recording


@dataclass
class HttpResponse:
    """What to send back; ``drop`` closes without a response, ``truncate`` stops the body halfway."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    file: Path | None = None
    byte_range: tuple[int, int] | None = None  # inclusive, for a 206 from ``file``
    drop: bool = False
    truncate: bool = False
    close: bool = False


@functools.cache
def tls_material() -> tuple[Any, Any]:
    """A private CA and a certificate for every fal host name, made once per process."""
    import trustme

    ca = trustme.CA(organization_name="storyboard fake fal")
    cert = ca.issue_cert(*TLS_HOSTS, "*.fal.media", "localhost", "127.0.0.1")
    return ca, cert


def server_ssl_context() -> ssl.SSLContext:
    """A TLS server context presenting the fal certificate, HTTP/1.1 only."""
    _, cert = tls_material()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class ProxyServer(ThreadingHTTPServer):
    """The listening socket: one daemon thread per connection, all of them closable at once."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        app: Callable[[HttpRequest], HttpResponse],
        port: int = 0,
        *,
        on_connect: Callable[[str, int], None] | None = None,
    ) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.app = app
        self.on_connect = on_connect
        self.ssl_context = server_ssl_context()
        self._live: set[socket.socket] = set()
        self._conn_threads: set[threading.Thread] = set()
        self._guard = threading.Lock()

    @property
    def port(self) -> int:
        """The port actually bound."""
        return self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve a connection in its own daemon thread, remembered so stop() can wait for it."""
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"fakefal-{self.port}-conn",
            daemon=True,
        )
        with self._guard:
            self._conn_threads = {t for t in self._conn_threads if t.is_alive()}
            self._conn_threads.add(thread)
        thread.start()

    def track(self, sock: socket.socket, live: bool) -> None:
        """Remember (or forget) an open connection socket."""
        with self._guard:
            (self._live.add if live else self._live.discard)(sock)

    def close_connections(self, join_timeout: float = 2.0) -> None:
        """Shut every open connection down and wait (bounded) for their threads to end."""
        with self._guard:
            live, threads = list(self._live), list(self._conn_threads)
        for sock in live:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in threads:
            thread.join(join_timeout / max(len(threads), 1))

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connection-level errors are the client's business; log them quietly."""
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakefal"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    server: ProxyServer

    def __init__(self, request: Any, client_address: Any, server: ProxyServer, tunnel_host: str | None = None) -> None:
        self.tunnel_host = tunnel_host
        super().__init__(request, client_address, server)

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass

    def do_CONNECT(self) -> None:  # noqa: N802 - the stdlib's naming
        """Open a TLS tunnel to a fal host; anything else is refused with 403."""
        host, _, port = self.path.rpartition(":")
        allowed = is_fal_host(host) and port == "443" and self.tunnel_host is None
        if self.server.on_connect is not None:
            self.server.on_connect(self.path, 200 if allowed else 403)
        if not allowed:
            text = f"the fake fal proxy only tunnels to fal hosts, not {self.path}\n"
            self._send(HttpResponse(403, {"Content-Type": "text/plain"}, text.encode(), close=True))
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        try:
            tls = self.server.ssl_context.wrap_socket(self.connection, server_side=True)
        except (OSError, ValueError):
            log.debug("TLS handshake for %s failed", host, exc_info=True)
            return
        try:
            _Handler(tls, self.client_address, self.server, tunnel_host=host)
        except OSError:
            log.debug("tunnel to %s ended with an error", host, exc_info=True)
        finally:
            tls.close()

    def _dispatch(self) -> None:
        target = self.path
        if self.tunnel_host is not None:
            host, via = self.tunnel_host, "tunnel"
        else:
            parts = urlsplit(target)
            if parts.scheme in ("http", "https") and parts.hostname:  # absolute form, as to a proxy
                host = parts.hostname
                target = parts.path + (f"?{parts.query}" if parts.query else "")
            else:
                host = (self.headers.get("Host") or "127.0.0.1").rsplit(":", 1)[0]
            via = "proxy" if is_fal_host(host) else "plain"
        body = self._read_body()
        if body is None:
            return
        path, _, query = target.partition("?")
        request = HttpRequest(
            self.command,
            host,
            path or "/",
            dict(parse_qsl(query, keep_blank_values=True)),
            self.headers,
            body,
            via,
            target=target,
        )
        try:
            response = self.server.app(request)
        except Exception as exc:  # the fake's own bug: answer it rather than hang the client
            log.exception("fake fal failed on %s %s%s", self.command, host, path)
            response = HttpResponse(
                500,
                {"Content-Type": "application/json", "x-fal-request-id": "fake-internal"},
                f'{{"detail": "fake fal internal error: {type(exc).__name__}"}}'.encode(),
            )
        self._send(response)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _dispatch

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
                total += size
                if total > MAX_BODY:
                    self._refuse(413)
                    return None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._refuse(413)
            return None
        return self.rfile.read(length) if length else b""

    def _refuse(self, status: int) -> None:
        response = json_response(status, {"detail": "body too large"})
        response.close = True
        self._send(response)

    def _send(self, response: HttpResponse) -> None:
        if response.drop:
            self.close_connection = True
            return
        size = response.file.stat().st_size if response.file is not None else len(response.body)
        start, end = response.byte_range or (0, size - 1)
        length = max(end - start + 1, 0)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        if response.close or response.truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            self.wfile.flush()
            return
        limit = length // 2 if response.truncate else length
        if response.file is None:
            self.wfile.write(response.body[start : start + limit])
        else:
            with response.file.open("rb") as fh:
                fh.seek(start)
                while limit > 0 and (chunk := fh.read(min(CHUNK, limit))):
                    self.wfile.write(chunk)
                    limit -= len(chunk)
        self.wfile.flush()
        if response.truncate:
            self.close_connection = True


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> HttpResponse:
    """A JSON answer with ``headers`` added."""
    return HttpResponse(status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(data).encode())


INGRESS_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway"
    b"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
JSON_INVALID = {"detail": [{"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}]}


def fal_request_id(request_id: str | None = None) -> dict[str, str]:
    """The header that tells fal_client an error came from fal itself, not from the ingress."""
    return {"x-fal-request-id": request_id or str(uuid.uuid4())}


def fault_response(fault: Fault, prompt: str | None) -> HttpResponse:
    """How fal answers when ``fault`` (429, 500, 502, drop or 422) strikes a call about ``prompt``."""
    if fault.kind == "drop":
        return HttpResponse(drop=True)
    if fault.kind == "502":  # as the ingress answers: nginx's page, no x-fal-request-id
        return HttpResponse(502, {"Content-Type": "text/html"}, INGRESS_502)
    if fault.kind == "429":
        return json_response(429, {"detail": fault.detail or "Too many requests"}, fal_request_id())
    if fault.kind == "422":
        return json_response(
            422,
            {
                "detail": [
                    {
                        "loc": ["body", "prompt"],
                        "msg": fault.detail or "The content was flagged by a content checker.",
                        "type": fault.error_type or "content_policy_violation",
                        "url": "https://docs.fal.ai/errors#content_policy_violation",
                        "input": prompt,
                    }
                ]
            },
            {**fal_request_id(), "x-fal-retryable": "false"},
        )
    error_type = fault.error_type or "internal_error"
    body = {"detail": fault.detail or "Internal Server Error", "error_type": error_type}
    return json_response(fault.status or 500, body, {**fal_request_id(), "x-fal-error-type": error_type})


RECORDS = ("calls", "submissions", "uploads", "downloads", "faults", "jobs")


def control_api(fake: FakeFal, req: HttpRequest) -> HttpResponse:
    """The ``/_fake/…`` routes on the plain-http side, to steer a fake from another process.

    ``GET /_fake`` (summary), ``GET /_fake/ca.pem``, ``GET /_fake/<calls|submissions|uploads|
    downloads|faults|jobs>``, ``POST /_fake/faults`` (a fault object or a list), ``DELETE
    /_fake/faults``, ``POST /_fake/reset``, ``POST /_fake/expire`` (``{"request_id": …}`` or ``{}``
    for every result video), ``POST /_fake/config`` (concurrency,
    processing_seconds, queue_seconds, stuck_seconds, chaos_rate).
    """
    path, method = req.path.rstrip("/"), req.method
    name = path.removeprefix("/_fake").lstrip("/")
    try:
        if name == "" and method == "GET":
            counts = {what: len(fake.records(what)) for what in RECORDS}
            summary = {"url": fake.url, "env": fake.env, "ca_path": str(fake.ca_path), "counts": counts}
            return json_response(200, summary)
        if name == "ca.pem" and method == "GET" and fake.ca_path is not None:
            return HttpResponse(200, {"Content-Type": "application/x-pem-file"}, fake.ca_path.read_bytes())
        if name == "faults" and method == "POST":
            data = json.loads(req.body or b"null")
            items = data if isinstance(data, list) else [data]
            added = [fake.add_fault(Fault.from_dict(item)) for item in items]
            return json_response(201, {"faults": [f.to_dict() for f in added]})
        if name == "faults" and method == "DELETE":
            fake.faults.clear()
            return json_response(200, {"faults": []})
        if name == "expire" and method == "POST":
            data = json.loads(req.body or b"{}")
            return json_response(200, {"expired": fake.expire(data.get("request_id"))})
        if name == "reset" and method == "POST":
            fake.reset()
            return json_response(200, {"reset": True})
        if name == "config" and method == "POST":
            fake.configure(**json.loads(req.body or b"{}"))
            return json_response(200, {"configured": True})
        if name in RECORDS and method == "GET":
            return json_response(200, fake.records(name))
    except (ValueError, TypeError, AttributeError) as exc:
        return json_response(400, {"detail": f"{type(exc).__name__}: {exc}"})
    return json_response(404, {"detail": f"no control route {method} {req.path}"})
