"""A faithful fake of fal.ai's queue, storage and CDN for Kling O1, spoken to by the real fal-client.

Start one, point the client at it through its environment, and test a pipeline offline::

    from storyboard.backends.fakefal import FakeFal, Fault

    with FakeFal(processing_seconds=0.2) as fake:
        fake.add_fault(Fault(kind="500", phase="submit", times=1, match="orbit"))
        subprocess.run([...], env={**os.environ, **fake.client_env(fal_key="anything")})
        assert fake.count("submit") == 2

The transport (an HTTPS proxy on 127.0.0.1) and the control API live in :mod:`.server`, the rules
(faults, validation, queue) in :mod:`.protocol`, the result videos in :mod:`.video`; this module
holds the fal routes and the record of calls. ``python -m storyboard.backends.fakefal`` runs one
in the foreground; the pytest fixture ``fake_fal`` gives one per test.
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from storyboard.backends.fakefal import audio, endpoints, images, video
from storyboard.backends.fakefal.protocol import (
    DEFAULT_CHAOS_KINDS,
    DEFAULT_CHAOS_PHASES,
    DONE,
    ENDPOINTS,
    FAULT_KINDS,
    PHASES,
    QUEUED,
    Fault,
    FaultBook,
    Job,
    Queue,
    iso,
    validate_input,
)
from storyboard.backends.fakefal.server import (
    JSON_INVALID,
    HttpRequest,
    HttpResponse,
    ProxyServer,
    control_api,
    fal_request_id,
    fault_response,
    is_fal_host,
    json_response,
    tls_material,
)
from storyboard.backends.fakefal.video import Download, MediaStore, Upload

__all__ = [
    "ENDPOINTS",
    "FAULT_KINDS",
    "PHASES",
    "Call",
    "Download",
    "FakeFal",
    "Fault",
    "Submission",
    "Upload",
    "patched_environ",
    "start",
]

_LOCAL_HOSTS = ("127.0.0.1", "localhost")
_DIRECT_WAIT = 60.0  # longest a fal.run call waits for its request


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP call the fake answered (``status`` None: the connection was dropped)."""

    time: float
    phase: str
    method: str
    host: str
    path: str
    status: int | None
    request_id: str | None = None
    body: Any = None  # the JSON body of submissions
    fault: str | None = None  # e.g. "500", "chaos:drop"
    via: str = "tunnel"
    headers: dict[str, str] | None = None  # of submissions, lower-case names, Authorization left out


@dataclass(frozen=True, slots=True)
class Submission:
    """A request the queue accepted."""

    endpoint: str
    request_id: str
    body: dict[str, Any]
    time: float


@contextlib.contextmanager
def patched_environ(changes: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``changes`` applied for the block, restored afterwards (also for a fake
    running in another process, whose ``env`` a caller received)."""
    saved = {name: os.environ.get(name) for name in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class FakeFal:
    """The fake fal service: configure, ``start()`` (or ``with``), point clients at ``env``, inspect.

    Timing is wall-clock: a request waits ``queue_seconds`` at least, then for a free slot among
    ``concurrency``, then runs ``processing_seconds``. A ``stuck`` request runs ``stuck_seconds``
    (None: forever, until cancelled). ``chaos_rate`` injects faults of ``chaos_kinds`` at random
    (for one ``seed``, each phase draws the same sequence). ``key``, if given, is the only fal key
    accepted. ``strict_urls`` rejects every input URL that is not a file the fake holds;
    ``check_images`` also applies fal's image rules (≥300 px a side, aspect 0.4–2.5, ≤10 MB,
    JPEG/PNG/WebP) to uploaded images. Both are on by default: the fake is as strict as fal.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        processing_seconds: float = 0.3,
        queue_seconds: float = 0.0,
        concurrency: int = 2,
        stuck_seconds: float | None = None,
        chaos_rate: float = 0.0,
        chaos_kinds: tuple[str, ...] = DEFAULT_CHAOS_KINDS,
        chaos_phases: tuple[str, ...] = DEFAULT_CHAOS_PHASES,
        seed: int | None = None,
        faults: Iterable[Fault] = (),
        video_sizes: dict[str, tuple[int, int]] | None = None,
        fps: int = video.DEFAULT_FPS,
        key: str | None = None,
        strict_urls: bool = True,
        check_images: bool = True,
    ) -> None:
        self.queue = Queue(concurrency=concurrency, processing_seconds=processing_seconds, queue_seconds=queue_seconds)
        self.faults = FaultBook(
            chaos_rate=chaos_rate, chaos_kinds=tuple(chaos_kinds), chaos_phases=tuple(chaos_phases), seed=seed
        )
        for fault in faults:
            self.faults.add(fault)
        self.stuck_seconds, self.strict_urls, self.key = stuck_seconds, strict_urls, key
        sizes = {**video.DEFAULT_SIZES, **(video_sizes or {})}
        self.media = MediaStore(sizes=sizes, fps=fps, check_images=check_images)
        self.port = port
        self.ca_path: Path | None = None
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._submissions: list[Submission] = []
        self._audio_submissions: list[Submission] = []  # speech, music, effects (see .audio)
        self._image_submissions: list[Submission] = []  # generated assets' images (see .images)
        self.tunnels = 0  # TLS tunnels opened: fewer than calls when clients keep connections alive
        self._server: ProxyServer | None = None
        self._thread: threading.Thread | None = None
        self._dir: Path | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeFal:
        """Bind 127.0.0.1, write the CA certificate, serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        ca, _ = tls_material()
        self._dir = Path(tempfile.mkdtemp(prefix="fakefal-"))
        self.ca_path = self._dir / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_path))
        self._server = ProxyServer(self.handle, self.port, on_connect=self._record_connect)
        self.port = self._server.port
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fakefal-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every connection, remove the CA file; bounded to a few seconds."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.close_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> FakeFal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- how clients reach it -------------------------------------------------------------

    @property
    def url(self) -> str:
        """The plain-http base, ``http://127.0.0.1:<port>``; it is also the proxy URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that send fal clients created with them here.

        Both spellings of the proxy variables (urllib lets lower case win), NO_PROXY emptied so a
        user's exclusions cannot bypass the fake, the CA in SSL_CERT_FILE (httpx) and
        REQUESTS_CA_BUNDLE (requests), fal's default host names. No fal key: see client_env().
        """
        if self.ca_path is None:
            raise RuntimeError("the fake fal is not started")
        proxy, ca = self.url, str(self.ca_path)
        return {
            "HTTPS_PROXY": proxy,
            "https_proxy": proxy,
            "HTTP_PROXY": proxy,
            "http_proxy": proxy,
            "NO_PROXY": "",
            "no_proxy": "",
            "SSL_CERT_FILE": ca,
            "REQUESTS_CA_BUNDLE": ca,
            "FAL_RUN_HOST": "fal.run",
            "FAL_QUEUE_RUN_HOST": "queue.fal.run",
        }

    def client_env(self, fal_key: str | None = "fake-key") -> dict[str, str]:
        """``env`` plus ``FAL_KEY=fal_key`` (unless None)."""
        return {**self.env, **({"FAL_KEY": fal_key} if fal_key is not None else {})}

    @contextlib.contextmanager
    def environ(self, fal_key: str | None = None) -> Iterator[dict[str, str]]:
        """Apply ``client_env(fal_key)`` to ``os.environ`` for the block, then restore it.

        fal_client reads FAL_KEY, and httpx the proxy and CA, when a ``SyncClient`` makes its first
        call: make that call inside the block; the client keeps what it read. The module-level
        ``fal_client.submit`` & co. share one client, set up at the first of them.
        """
        changes = self.client_env(fal_key)
        with patched_environ(changes):
            yield changes

    # -- steering and inspecting ----------------------------------------------------------

    def add_fault(self, fault: Fault) -> Fault:
        """Put ``fault`` in force (after any already there) and return it."""
        return self.faults.add(fault)

    def configure(self, **settings: Any) -> None:
        """Change concurrency, processing_seconds, queue_seconds, stuck_seconds or chaos_rate live."""
        if "stuck_seconds" in settings:
            self.stuck_seconds = settings.pop("stuck_seconds")
        if "chaos_rate" in settings:
            rate = float(settings.pop("chaos_rate"))
            if not 0.0 <= rate <= 1.0:
                raise ValueError("chaos_rate must be between 0 and 1")
            self.faults.chaos_rate = rate
        self.queue.configure(**settings)

    def expire(self, request_id: str | None = None) -> int:
        """Make result videos gone from the CDN (one request's, or all): their URLs answer 404."""
        return self.media.expire(request_id)

    def reset(self) -> None:
        """Clear faults and every record; requests and files stay (a later run may still poll them)."""
        self.faults.clear()
        self.media.clear_records()
        with self._lock:
            self._calls.clear()
            self._submissions.clear()
            self._audio_submissions.clear()
            self._image_submissions.clear()

    @property
    def calls(self) -> list[Call]:
        """Every call so far, in order (control-API calls excluded)."""
        with self._lock:
            return list(self._calls)

    @property
    def submissions(self) -> list[Submission]:
        """Requests the queue accepted, in order."""
        with self._lock:
            return list(self._submissions)

    @property
    def audio_submissions(self) -> list[Submission]:
        """Requests to the audio endpoints the queue accepted, in order (``submissions`` holds the videos)."""
        with self._lock:
            return list(self._audio_submissions)

    @property
    def image_submissions(self) -> list[Submission]:
        """Requests to the image endpoints the queue accepted, in order."""
        with self._lock:
            return list(self._image_submissions)

    @property
    def uploads(self) -> list[Upload]:
        """Files uploaded, in order."""
        return self.media.uploads

    @property
    def downloads(self) -> list[Download]:
        """Files served, in order."""
        return self.media.downloads

    def count(self, phase: str, status: int | None = None) -> int:
        """How many calls reached ``phase`` (optionally: answered with ``status``)."""
        return sum(1 for c in self.calls if c.phase == phase and (status is None or c.status == status))

    def records(self, what: str) -> list[dict[str, Any]]:
        """``calls``, ``submissions``, ``uploads``, ``downloads``, ``faults`` or ``jobs`` as JSON data."""
        if what == "faults":
            return [f.to_dict() for f in self.faults.list()]
        if what == "jobs":
            jobs = [self.queue.get(s.request_id) for s in self.submissions]
            return [
                {
                    "request_id": j.request_id,
                    "endpoint": j.endpoint,
                    "state": j.state,
                    "prompt": j.prompt,
                    "error": j.error.error_type if j.error else None,
                }
                for j in jobs
                if j is not None
            ]
        return [asdict(r) for r in getattr(self, what)]

    # -- the app --------------------------------------------------------------------------

    def handle(self, req: HttpRequest) -> HttpResponse:
        """Answer one request (the transport's app function)."""
        if req.via == "plain":
            if req.host not in _LOCAL_HOSTS:
                refusal = json_response(403, {"detail": f"the fake fal does not proxy {req.host}"})
                return self._record(req, "proxy", refusal)
            if req.path.rstrip("/") == "/_fake" or req.path.startswith("/_fake/"):
                return control_api(self, req)
            req.host, req.path = _local_route(req.path)
        phase, action, context, request_id = self._route(req)
        fault = self.faults.take(phase, context) if phase in PHASES else None
        if fault is not None and fault.kind in ("429", "500", "502", "drop", "422"):
            response = fault_response(fault, context)
        elif _needs_key(phase, req.host) and not self._authorized(req):
            detail = "Missing or malformed Authorization header: expected 'Key <FAL_KEY>'"
            response = json_response(401, {"detail": detail}, fal_request_id())
        else:
            response = action()
            response.truncate = fault is not None and fault.kind == "truncated" and response.status in (200, 206)
            if fault is not None and fault.kind == "corrupt" and response.status == 200 and response.file is not None:
                response.body, response.file = _corrupted(response.file.read_bytes()), None
            response.drop = response.drop or (fault is not None and fault.kind == "drop_after")
        if phase == "upload" and req.path == "/files/upload":
            # fal_client makes a new httpx.Client for each CDN upload and never closes it: closing
            # the connection here keeps its socket from surfacing later as a ResourceWarning.
            response.close = True
        if phase == "download":
            self.media.record_download(
                self._base(req, req.host) + req.path, self.media.find(req.path), response, req.method == "HEAD"
            )
        label = None if fault is None else fault.kind if fault.source == "explicit" else f"chaos:{fault.kind}"
        body = _json_or_none(req.body) if phase in ("submit", "direct") else None
        return self._record(req, phase, response, request_id, body, label)

    def _route(self, req: HttpRequest) -> tuple[str, Callable[[], HttpResponse], str | None, str | None]:
        """(phase, handler, text a fault's ``match`` is checked against, request id) of a request."""
        host, method, path = req.host, req.method, req.path
        queue_path = re.fullmatch(r"/([^/]+)/([^/]+)/requests/([^/]+)(/status|/cancel)?", path)
        if host in ("queue.fal.run", "queue.falrun.com") and queue_path:
            owner, alias, rid, tail = queue_path.groups()
            job = self.queue.get(rid)
            job = job if job is not None and job.endpoint.startswith(f"{owner}/{alias}/") else None
            prompt = job.prompt if job is not None else None
            if (tail, method) == ("/status", "GET"):
                return "status", lambda: self._status(req, job, rid), prompt, rid
            if (tail, method) == ("/cancel", "PUT"):
                return "cancel", lambda: self._cancel(job, rid), prompt, rid
            if (tail, method) == (None, "GET"):
                return "result", lambda: self._result(req, job, rid), prompt, rid
        elif host in ("queue.fal.run", "queue.falrun.com", "fal.run", "falrun.com") and method == "POST":
            body = _json_or_none(req.body)
            prompt = body.get("prompt") if isinstance(body, dict) and isinstance(body.get("prompt"), str) else None
            phase = "submit" if host.startswith("queue.") else "direct"
            return phase, lambda: self._submit(req, body, phase), prompt, None
        elif (host, method, path) == ("rest.fal.ai", "POST", "/storage/auth/token"):
            return "token", self._token, None, None
        elif (host, method, path) == ("rest.fal.ai", "POST", "/storage/upload/initiate"):
            body = _json_or_none(req.body)
            name = body.get("file_name") if isinstance(body, dict) else None
            return "upload", lambda: self._initiate(req, body), name, None
        elif host == "storage.googleapis.com" and method == "PUT":
            slot_id = (path.split("/") + ["", "", ""])[2]
            slot = self.media.slot(slot_id)
            return "upload", lambda: self._gcs_put(req, slot_id), slot and slot[0], None
        elif host.endswith("fal.media") and (method, path) == ("POST", "/files/upload"):
            return "upload", lambda: self._cdn_upload(req), req.headers.get("X-Fal-File-Name"), None
        elif host.endswith("fal.media") and method in ("GET", "HEAD"):
            stored = self.media.find(path)
            job = stored.job if stored is not None else None
            context = job.prompt if job is not None else (stored.name if stored is not None else None)
            rid = job.request_id if job is not None else None
            return "download", lambda: self.media.serve(stored, req.headers.get("Range")), context, rid
        return "unknown", lambda: json_response(404, {"detail": "Not Found"}), None, None

    def _authorized(self, req: HttpRequest) -> bool:
        match = re.fullmatch(r"Key (\S+)", req.headers.get("Authorization") or "")
        return match is not None and (self.key is None or match.group(1) == self.key)

    def _base(self, req: HttpRequest, host: str) -> str:
        """Where ``host`` is, as the client that sent ``req`` reaches it."""
        return f"{self.url}/{host}" if req.via == "plain" else f"https://{host}"

    # -- queue ----------------------------------------------------------------------------

    def _submit(self, req: HttpRequest, body: Any, phase: str) -> HttpResponse:
        endpoint = req.path.strip("/")
        sound = endpoint in audio.ENDPOINTS
        picture = endpoint in images.ENDPOINTS
        if endpoint not in ENDPOINTS and not sound and not picture and endpoint not in endpoints.SCHEMAS:
            return json_response(404, {"detail": f"Application '{endpoint}' not found"}, fal_request_id())
        if body is None:
            return json_response(422, JSON_INVALID, fal_request_id())
        if sound:
            errors = audio.validate(endpoint, body)
        elif picture:  # FLUX.1 [dev] and Kontext (images.py)
            errors = images.validate(endpoint, body, known=self._check_url, data=self.media.data_at)
        elif endpoint in endpoints.SCHEMAS:  # the rest of the Kling family (endpoints.py)
            errors = endpoints.validate_input(endpoint, body, known=self._check_url, data=self.media.data_at)
        else:
            errors = validate_input(body, known=self._check_url)
        if errors:
            return json_response(422, {"detail": errors}, {**fal_request_id(), "x-fal-retryable": "false"})
        prompt = body.get("prompt") or body.get("text")
        fate = self.faults.take("job", prompt if isinstance(prompt, str) else json.dumps(body))
        job = self.queue.submit(endpoint, body, fate, stuck_seconds=self.stuck_seconds)
        if sound:
            audio.register(self.media, job)
        elif picture:
            images.register(self.media, job)
        else:
            self.media.add_result(job)
        with self._lock:
            (self._audio_submissions if sound else self._image_submissions if picture else self._submissions).append(
                Submission(endpoint, job.request_id, body, time.time())
            )
        if phase == "direct":
            while job.state != DONE and time.monotonic() - job.submitted_at < _DIRECT_WAIT:
                time.sleep(0.02)
                self.queue.get(job.request_id)
            if job.state != DONE:
                return json_response(
                    504,
                    {"detail": "Request timed out", "error_type": "request_timeout"},
                    {**fal_request_id(job.request_id), "x-fal-error-type": "request_timeout"},
                )
            return self._result(req, job, job.request_id)
        answer = {**self._urls(req, job), "queue_position": self.queue.position(job)}
        return json_response(200, answer, fal_request_id(job.request_id))

    def _urls(self, req: HttpRequest, job: Job) -> dict[str, str]:
        base = f"{self._base(req, req.host)}/{'/'.join(job.endpoint.split('/')[:2])}/requests/{job.request_id}"
        return {
            "request_id": job.request_id,
            "response_url": base,
            "status_url": f"{base}/status",
            "cancel_url": f"{base}/cancel",
        }

    def _status(self, req: HttpRequest, job: Job | None, rid: str) -> HttpResponse:
        if job is None:
            return json_response(404, {"detail": f"Request {rid} not found"}, fal_request_id(rid))
        body: dict[str, Any] = {"status": job.state, **self._urls(req, job)}
        if job.state == QUEUED:
            body["queue_position"] = self.queue.position(job)
        else:  # fal_client requires the key even without logs
            body["logs"] = self.queue.logs(job) if req.query.get("logs", "").lower() in ("1", "true") else None
        if job.state == DONE:
            ran = (job.finished_at or 0.0) - job.started_at if job.started_at is not None else 0.0
            body["metrics"] = {"inference_time": round(ran, 3)}
            if job.error is not None and not job.phantom:
                body["error"], body["error_type"] = job.error.message, job.error.error_type
        return json_response(200, body, fal_request_id(rid))

    def _result(self, req: HttpRequest, job: Job | None, rid: str) -> HttpResponse:
        if job is None:
            return json_response(404, {"detail": f"Request {rid} not found"}, fal_request_id(rid))
        if job.state != DONE:
            return json_response(400, {"detail": "Request is still in progress"}, fal_request_id(rid))
        err = job.error
        if err is not None and err.status == 422:
            detail = [{"loc": ["body"], "msg": err.message, "type": err.error_type, "input": job.body}]
            return json_response(422, {"detail": detail}, {**fal_request_id(rid), "x-fal-retryable": "false"})
        if err is not None:
            return json_response(
                err.status,
                {"detail": err.message, "error_type": err.error_type},
                {**fal_request_id(rid), "x-fal-error-type": err.error_type},
            )
        if job.endpoint in audio.ENDPOINTS:
            return json_response(
                200, audio.result(job, self._base(req, "v3.fal.media"), self.media), fal_request_id(rid)
            )
        if job.endpoint in images.ENDPOINTS:
            return json_response(
                200, images.result(job, self._base(req, "v3.fal.media"), self.media), fal_request_id(rid)
            )
        return json_response(
            200,
            {
                "video": {
                    "url": f"{self._base(req, 'v3.fal.media')}/files/{job.output_id}/output.mp4",
                    "content_type": "video/mp4",
                    "file_name": "output.mp4",
                    "file_size": self.media.result_clip(job).stat().st_size,
                }
            },
            fal_request_id(rid),
        )

    def _cancel(self, job: Job | None, rid: str) -> HttpResponse:
        outcome = self.queue.cancel(job.request_id) if job is not None else "NOT_FOUND"
        status = {"CANCELLATION_REQUESTED": 202, "ALREADY_COMPLETED": 400, "NOT_FOUND": 404}[outcome]
        return json_response(status, {"status": outcome}, fal_request_id(rid))

    # -- storage --------------------------------------------------------------------------

    def _token(self) -> HttpResponse:
        return json_response(
            200,
            {
                "token": self.media.new_token(),
                "token_type": "Bearer",
                "base_url": "https://v3.fal.media",
                "expires_at": iso(time.time() + 3600),
            },
        )

    def _cdn_upload(self, req: HttpRequest) -> HttpResponse:
        if not self.media.token_valid(req.headers.get("Authorization")):
            return json_response(401, {"detail": "Invalid or missing upload token"})
        content_type = req.headers.get("Content-Type") or "application/octet-stream"
        name = req.headers.get("X-Fal-File-Name") or "file" + (mimetypes.guess_extension(content_type) or ".bin")
        lifecycle = _json_or_none((req.headers.get("X-Fal-Object-Lifecycle") or "").encode())
        url = self.media.store(
            name, content_type, req.body, via="cdn_v3", base=self._base(req, req.host), lifecycle=lifecycle
        )
        return json_response(200, {"access_url": url, "content_type": content_type, "file_name": name})

    def _initiate(self, req: HttpRequest, body: Any) -> HttpResponse:
        if not isinstance(body, dict):
            return json_response(422, JSON_INVALID)
        name = str(body.get("file_name") or "upload.bin")
        lifecycle = _json_or_none((req.headers.get("X-Fal-Object-Lifecycle-Preference") or "").encode())
        slot = self.media.open_slot(name, str(body.get("content_type") or "application/octet-stream"), lifecycle)
        gcs = self._base(req, "storage.googleapis.com")
        return json_response(
            200,
            {
                "upload_url": f"{gcs}/fal-fake-uploads/{slot}/{quote(name)}?X-Goog-Signature=fake",
                "file_url": f"{self._base(req, 'v3.fal.media')}/files/{slot}/{quote(name)}",
            },
        )

    def _gcs_put(self, req: HttpRequest, slot_id: str) -> HttpResponse:
        slot = self.media.slot(slot_id, take=True)
        if slot is None:
            return HttpResponse(
                403, {"Content-Type": "application/xml"}, b"<Error><Code>SignatureDoesNotMatch</Code></Error>"
            )
        self.media.store(
            slot[0],
            req.headers.get("Content-Type") or slot[1],
            req.body,
            via="gcs",
            base=self._base(req, "v3.fal.media"),
            file_id=slot_id,
            lifecycle=slot[2],
        )
        return HttpResponse(200, {"Content-Type": "text/plain"})

    def _check_url(self, url: str) -> tuple[str, str] | None:
        """With ``strict_urls``: why a URL in a request is unusable here, or None.

        The fake reaches nothing outside itself, so only its own uploads (and result videos) are
        usable; fal would fail to download anything else it could not reach.
        """
        if not self.strict_urls:
            return None
        parts = urlsplit(url)
        host, path = parts.hostname or "", parts.path
        if host in _LOCAL_HOSTS and parts.port == self.port:
            host, path = _local_route(path)
        if host.endswith("fal.media") and path.startswith("/files/"):
            return self.media.problem(path)
        return f"Failed to download the file: {host or url} is not reachable", "file_download_error"

    # -- recording ------------------------------------------------------------------------

    def _record(
        self,
        req: HttpRequest,
        phase: str,
        response: HttpResponse,
        request_id: str | None = None,
        body: Any = None,
        fault: str | None = None,
    ) -> HttpResponse:
        call = Call(
            time.time(),
            phase,
            req.method,
            req.host,
            req.target or req.path,
            None if response.drop else response.status,
            request_id,
            body,
            fault,
            req.via,
            _recorded_headers(req) if phase in ("submit", "direct") else None,
        )
        with self._lock:
            self._calls.append(call)
        return response

    def _record_connect(self, target: str, status: int) -> None:
        with self._lock:
            self.tunnels += status == 200
        if status != 200:
            with self._lock:
                host = target.rpartition(":")[0]
                self._calls.append(Call(time.time(), "proxy", "CONNECT", host, target, status, via="plain"))


def _local_route(path: str) -> tuple[str, str]:
    """(host, path) of a plain request to 127.0.0.1: ``/<fal host>/…``, or guessed from the path."""
    first, _, rest = path.lstrip("/").partition("/")
    if is_fal_host(first):
        return first, "/" + rest
    return {"files": "v3.fal.media", "storage": "rest.fal.ai"}.get(first, "queue.fal.run"), path


def _needs_key(phase: str, host: str) -> bool:
    """Queue calls and the storage API want ``Authorization: Key …``; the CDN has its own token."""
    queue_or_rest = phase in ("submit", "status", "result", "cancel", "direct", "token")
    return queue_or_rest or (phase == "upload" and host == "rest.fal.ai")


def _corrupted(data: bytes) -> bytes:
    """``data`` with a stretch in its middle zeroed: the same length, a container that still opens."""
    middle, span = len(data) // 2, max(len(data) // 8, 1)
    return data[:middle] + bytes(span) + data[middle + span :]


def _recorded_headers(req: HttpRequest) -> dict[str, str]:
    """A request's headers as recorded: names in lower case, never the credential."""
    return {name.lower(): value for name, value in req.headers.items() if name.lower() != "authorization"}


def _json_or_none(data: bytes) -> Any:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return None


def start(**options: Any) -> FakeFal:
    """Make and start a :class:`FakeFal` with ``options``; call ``stop()`` (or use ``with``)."""
    return FakeFal(**options).start()
