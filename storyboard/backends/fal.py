"""The ``fal`` backend: Kling O1 generations on fal.ai through the real ``fal-client``.

The only module that imports ``fal_client``. Per shot: upload each input once per distinct
content (URLs cached 6 days), submit to the queue, journal the request id before waiting,
poll status (queue position and model logs reach the display), fetch the result and stream
the video into the cache's temp file. A rerun after a crash polls journalled requests instead
of submitting again. fal-client retries 429/408/409 and ingress errors itself; this module
adds bounded retries with backoff for what it leaves (plain 5xx, dropped connections while
polling, failed downloads) and never resubmits a request that may still be running.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from storyboard.backends.base import AudioJob, Backend, Progress, ShotJob
from storyboard.backends.fal_state import Journal, Submission, UploadCache
from storyboard.errors import (
    BackendError,
    CredentialsError,
    RejectedRequestError,
    TransientBackendError,
    redact,
)
from storyboard.plan import AssetRef, Plan, ShotPlan
from storyboard.util import sha256_file

T = TypeVar("T")


class _RedactingHandler(logging.StreamHandler):
    """Shows fal-client's own warnings (upload fallbacks, backup domains) with any key scrubbed.

    fal-client logs through :mod:`logging` with no handler of its own, so Python's last-resort
    handler would print the exception text raw on stderr — and a service or proxy that echoes
    the key in an error would put it on screen. Every record now passes through :func:`redact`.
    """

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # the stderr of now, not of when the handler was made
        super().emit(record)


def _redact_fal_client_logs() -> None:
    logger = logging.getLogger("fal_client")
    if not any(isinstance(h, _RedactingHandler) for h in logger.handlers):
        handler = _RedactingHandler()
        handler.setFormatter(logging.Formatter("warning: fal-client: %(message)s"))
        handler.setLevel(logging.WARNING)
        logger.addHandler(handler)
        logger.propagate = False  # not to the last-resort handler, which would print it unredacted


def has_credentials() -> bool:
    """True when FAL_KEY, or FAL_KEY_ID and FAL_KEY_SECRET, are set."""
    return bool(os.environ.get("FAL_KEY") or (os.environ.get("FAL_KEY_ID") and os.environ.get("FAL_KEY_SECRET")))


def _detail_words(detail: Any) -> str:
    """fal's 422 ``detail`` (a pydantic-style list or a string) as one readable line."""
    if isinstance(detail, list):
        parts = []
        for d in detail:
            if isinstance(d, dict):
                loc = ".".join(str(x) for x in d.get("loc", []) if x != "body")
                parts.append(f"{loc}: {d.get('msg', '')}" if loc else str(d.get("msg", d)))
            else:
                parts.append(str(d))
        return "; ".join(parts)
    return str(detail)


class FalBackend(Backend):
    """Generates shots on fal.ai with the real fal-client.

    The CLI passes the settings it read from the environment (``STORYBOARD_FAL_POLL``,
    ``_TIMEOUT``, ``_RETRIES``, ``_BACKOFF``; whether a key is set); fal-client itself reads
    ``FAL_KEY`` when it makes its client. ``credentials=None`` asks the environment now.
    """

    name = "fal"
    paid = True

    def __init__(
        self,
        poll_seconds: float = 1.0,
        wait_seconds: float = 1800,
        retries: int = 5,
        backoff: float = 0.5,
        credentials: bool | None = None,
    ):
        self.poll_seconds = poll_seconds
        self.wait_seconds = wait_seconds
        self.retries = int(retries)
        self.backoff = backoff
        self.credentials = has_credentials() if credentials is None else credentials
        self.client: Any = None
        self.journal: Journal | None = None
        self.uploads: UploadCache | None = None
        self._http: Any = None

    # -- lifecycle -----------------------------------------------------------------------
    def prepare(self, plan: Plan, shots: list[ShotPlan], state_dir: Path) -> None:
        """Check credentials before anything is uploaded or submitted; open the state."""
        if not self.credentials:
            raise CredentialsError(
                "the fal backend needs credentials: set FAL_KEY (or FAL_KEY_ID and FAL_KEY_SECRET) in the "
                "environment — keys are made at https://fal.ai/dashboard/keys. Or build offline with --backend preview."
            )
        import fal_client
        import httpx

        _redact_fal_client_logs()
        self.client = fal_client.SyncClient()
        self.journal = Journal(state_dir / "journal.jsonl")
        self.uploads = UploadCache(state_dir / "uploads.json")
        self._http = httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0), follow_redirects=True)

    def close(self) -> None:
        """Close HTTP connections (fal-client never closes its own: close what it opened)."""
        if self._http is not None:
            self._http.close()
            self._http = None
        inner = vars(self.client).get("_client") if self.client is not None else None
        if inner is not None:
            inner.close()

    # -- one shot ------------------------------------------------------------------------
    def generate(self, job: ShotJob) -> None:
        """Upload inputs, submit (or resume), wait, and download the clip to ``job.dest``."""
        assert self.journal is not None, "prepare() first"
        shot = job.shot
        sub = self.journal.active(shot.key)
        if sub is not None:
            job.progress(Progress(shot.id, f"resuming request {sub.request_id} submitted earlier", state="queued"))
        else:
            if self.journal.dangling(shot.key):
                if not job.force:
                    raise BackendError(
                        f"an earlier build was stopped while submitting shot {shot.id!r}: fal may have accepted "
                        "that request, but its id was never saved, so it is not sent again on its own (that could "
                        "pay twice). Check your requests at https://fal.ai/dashboard/requests; to send it again, "
                        f"run the build with --select {shot.id} --force"
                    )
                self.journal.drop_intent(shot.key, "--force")
            request = shot.request(lambda ref: self._url(job, ref))
            self._check_cancel(job)
            self.journal.submitting(shot.key, shot.id)
            try:
                sub = self._submit(shot, request)
            except (RejectedRequestError, TransientBackendError) as exc:  # fal answered: nothing was queued
                self.journal.drop_intent(shot.key, str(exc))
                raise
            job.progress(Progress(shot.id, f"submitted as {sub.request_id}", state="queued"))
        result = self._wait(job, sub)
        video = (result or {}).get("video") or {}
        url = video.get("url")
        if not url:
            self.journal.ended(sub, "failed", "no video in the result")
            raise BackendError(f"fal returned no video for {shot.id!r} (request {sub.request_id})")
        job.progress(Progress(shot.id, "downloading", state="downloading"))
        self._fetch(job, url, video.get("file_size"))

    def generate_audio(self, job: AudioJob) -> None:
        """A line, effect or music cue through fal's ElevenLabs endpoints (see :mod:`.fal_audio`)."""
        from storyboard.backends.fal_audio import generate_audio

        generate_audio(self, job)

    def committed_audio(self, job: AudioJob) -> None:
        """The executor stored the sound: close its journal entry."""
        from storyboard.backends.fal_audio import committed_audio

        committed_audio(self, job)

    def committed(self, job: ShotJob) -> None:
        """The executor stored the clip in the cache: the request is done with for good."""
        assert self.journal is not None
        sub = self.journal.active(job.shot.key)
        if sub is not None:
            self.journal.ended(sub, "finished")

    def _check_cancel(self, job: ShotJob) -> None:
        if job.cancel.is_set():
            raise BackendError("cancelled; a submitted request keeps running on fal and the next build resumes it")

    # -- uploads -------------------------------------------------------------------------
    def _url(self, job: ShotJob, ref: AssetRef) -> str:
        if ref.kind == "url":
            return ref.value
        path = job.local(ref)
        if path is None:
            raise BackendError(f"no local file for {ref.display}")
        assert self.uploads is not None
        digest = ref.sha256 or sha256_file(path)
        with self.uploads.lock_for(digest):
            url = self.uploads.get(digest)
            if url is None:
                self._check_cancel(job)
                job.progress(Progress(job.shot.id, f"uploading {ref.display}", state="uploading"))
                url = self._retry(lambda: self.client.upload_file(path), f"upload of {ref.display}", job)
                self.uploads.put(digest, url, path.stat().st_size)
        return url

    # -- queue ---------------------------------------------------------------------------
    def _submit(self, shot: ShotPlan, request: dict[str, Any]) -> Submission:
        import fal_client

        assert self.journal is not None
        attempt = 0
        while True:
            try:
                handle = self.client.submit(shot.endpoint, request)
                break
            except fal_client.FalClientHTTPError as exc:
                if exc.status_code == 422 or 400 <= exc.status_code < 500 and exc.status_code not in (408, 409, 429):
                    raise RejectedRequestError(
                        f"fal rejected the request for shot {shot.id!r} (HTTP {exc.status_code}): "
                        f"{_detail_words(exc.message)}"
                    ) from None
                # a 5xx answer means the request was not queued (and not charged): safe to send again
                attempt += 1
                if attempt > self.retries:
                    raise TransientBackendError(
                        f"fal kept failing to accept shot {shot.id!r}: HTTP {exc.status_code} {redact(str(exc))[:200]}"
                    ) from None
                time.sleep(self.backoff * 2 ** (attempt - 1))
        sub = Submission(shot.key, shot.id, shot.endpoint, handle.request_id, time.time())
        self.journal.submitted(sub)
        return sub

    def _wait(self, job: ShotJob, sub: Submission) -> dict[str, Any]:
        import fal_client

        assert self.journal is not None
        handle = self.client.get_handle(sub.endpoint, sub.request_id)
        seen_logs = 0
        last_position: int | None = None
        deadline = time.monotonic() + self.wait_seconds
        failures = 0
        while True:
            self._check_cancel(job)
            try:
                status = handle.status(with_logs=True)
                failures = 0
            except fal_client.FalClientHTTPError as exc:
                if exc.status_code == 404:
                    self.journal.ended(sub, "abandoned", "unknown to fal")
                    raise TransientBackendError(
                        f"fal no longer knows request {sub.request_id} of shot {sub.shot!r}; it will be submitted again "
                        "on the next build"
                    ) from None
                failures = self._count_failure(failures, f"status of {sub.shot!r}", exc)
                continue
            except Exception as exc:  # httpx transport errors: the request is still running remotely
                failures = self._count_failure(failures, f"status of {sub.shot!r}", exc)
                continue
            if isinstance(status, fal_client.Queued):
                if status.position != last_position:
                    last_position = status.position
                    job.progress(
                        Progress(
                            sub.shot,
                            f"in queue (position {status.position})",
                            queue_position=status.position,
                            state="queued",
                        )
                    )
            else:
                logs = getattr(status, "logs", None) or []
                for entry in logs[seen_logs:]:
                    message = entry.get("message") if isinstance(entry, dict) else str(entry)
                    if message:
                        job.progress(Progress(sub.shot, str(message)[:200], state="running"))
                seen_logs = max(seen_logs, len(logs))
                if isinstance(status, fal_client.Completed):
                    if status.error:
                        self.journal.ended(sub, "failed", status.error)
                        raise BackendError(
                            f"fal reported an error for shot {sub.shot!r}: {status.error}"
                            + (f" ({status.error_type})" if status.error_type else "")
                        )
                    return self._retry(lambda: handle.get(), f"result of {sub.shot!r}", job)
            if time.monotonic() > deadline:
                raise TransientBackendError(
                    f"shot {sub.shot!r} is still running on fal after {self.wait_seconds:.0f} s (request "
                    f"{sub.request_id}); run the build again to keep waiting — it will not be submitted twice"
                )
            job.cancel.wait(self.poll_seconds)

    def _count_failure(self, failures: int, what: str, exc: Exception) -> int:
        failures += 1
        if failures > self.retries:
            raise TransientBackendError(
                f"{what}: gave up after {self.retries} retries: {redact(str(exc))[:200]}; "
                "the request keeps running and the next build resumes it"
            ) from None
        time.sleep(self.backoff * 2 ** (failures - 1))
        return failures

    def _retry(self, fn: Callable[[], T], what: str, job: ShotJob) -> T:
        """Call ``fn`` with bounded exponential backoff on transient failures (not on 4xx)."""
        import fal_client

        attempt = 0
        while True:
            try:
                return fn()
            except fal_client.FalClientHTTPError as exc:
                if 400 <= exc.status_code < 500 and exc.status_code not in (408, 409, 429):
                    raise BackendError(f"{what}: HTTP {exc.status_code}: {_detail_words(exc.message)}") from None
                error: Exception = exc
            except (TransientBackendError, OSError) as exc:
                error = exc
            except Exception as exc:
                if exc.__class__.__module__.startswith("httpx"):
                    error = exc
                else:
                    raise
            attempt += 1
            if attempt > self.retries:
                raise TransientBackendError(f"{what} failed after {self.retries} retries: {redact(str(error))[:200]}")
            self._check_cancel(job)
            time.sleep(self.backoff * 2 ** (attempt - 1))

    def _fetch(self, job: ShotJob, url: str, size: int | None) -> None:
        """Download the clip until it plays; a bad download is fetched again, never paid for again."""
        from storyboard.errors import MediaError
        from storyboard.media.probe import probe

        for attempt in range(self.retries + 1):
            self._retry(lambda: self._download(url, job.dest, size), "download", job)
            try:
                probe(job.dest)
                return
            except MediaError as exc:
                if attempt == self.retries:
                    raise TransientBackendError(
                        f"the video of {job.shot.id!r} does not play after {attempt + 1} "
                        f"downloads ({exc}); the next build fetches it again"
                    ) from None
                self._check_cancel(job)
                time.sleep(self.backoff * 2**attempt)

    # -- download ------------------------------------------------------------------------
    def _download(self, url: str, dest: Path, expected: int | None) -> None:
        """Stream the video to ``dest``; a short read is a TransientBackendError."""
        got = 0
        with self._http.stream("GET", url) as resp:
            if resp.status_code != 200:
                raise TransientBackendError(f"download of the video failed: HTTP {resp.status_code}")
            length = int(resp.headers.get("content-length") or expected or 0)
            with open(dest, "wb") as f:
                for chunk in resp.iter_bytes(1 << 16):
                    f.write(chunk)
                    got += len(chunk)
        if length and got != length:
            raise TransientBackendError(f"the video download was cut short ({got} of {length} bytes)")
        if got == 0:
            raise TransientBackendError("the video download was empty")
