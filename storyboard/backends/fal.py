"""The ``fal`` backend: Kling O1 generations on fal.ai through the real ``fal-client``.

With :mod:`.fal_http`, the only modules that import ``fal_client``. Per shot: upload each input
once per distinct content (with an explicit 7-day lifetime, URLs reused for 6), submit to the
queue exactly once (never through fal-client's retry loop, always with fallbacks disabled),
journal the request id before waiting, poll status (queue position and model logs reach the
display), journal the result's video URL, then download it — resuming after a cut — and decode
it in full. A rerun after a crash polls journalled requests instead of submitting again; a
cached clip damaged later is downloaded again from its journalled URL while the CDN still has
it. fal-client retries polling itself; this module adds bounded retries with backoff for what
it leaves and never resubmits a request that may still be running.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from storyboard.backends.base import AudioJob, Backend, ImageJob, Progress, ShotJob
from storyboard.backends.fal_http import AnswerLost, NothingSent, VideoGone, download, submit_once
from storyboard.backends.fal_state import UPLOAD_LIFETIME, Journal, Submission, Submittable, UploadCache, Video
from storyboard.backends.fal_support import (
    check_key_form,
    check_start_frame,
    detail_words,
    redact_fal_client_logs,
    with_reference_views,
)
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


def has_credentials() -> bool:
    """True when FAL_KEY, or FAL_KEY_ID and FAL_KEY_SECRET, are set."""
    return bool(os.environ.get("FAL_KEY") or (os.environ.get("FAL_KEY_ID") and os.environ.get("FAL_KEY_SECRET")))


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
        self.warnings: list[str] = []  # for the build's summary (a migrated or moved-aside state file)

    # -- lifecycle -----------------------------------------------------------------------
    def prepare(self, plan: Plan, shots: list[ShotPlan], state_dir: Path) -> None:
        """Check credentials before anything is uploaded or submitted; open the state."""
        if not self.credentials:
            raise CredentialsError(
                "the fal backend needs credentials: set FAL_KEY (or FAL_KEY_ID and FAL_KEY_SECRET) in the "
                "environment — keys are made at https://fal.ai/dashboard/keys. Or build offline with --backend preview."
            )
        check_key_form()
        import fal_client
        import httpx

        redact_fal_client_logs()
        self.client = fal_client.SyncClient()
        self.journal = Journal(state_dir / "journal.jsonl")
        self.uploads = UploadCache(state_dir / "uploads.json")
        self.warnings += self.journal.notes + self.uploads.notes
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
        """Recover, resume or submit the shot's request, wait, and download the clip to ``job.dest``."""
        assert self.journal is not None, "prepare() first"
        shot = job.shot
        sub = self.journal.active(shot.key)
        if sub is None and not job.force and self._recover(job):
            return
        if sub is not None:
            job.progress(Progress(shot.id, f"resuming request {sub.request_id} submitted earlier", state="queued"))
        else:
            sub = self._send(job)
        result = self._wait(job, sub)
        video = (result or {}).get("video") or {}
        url = video.get("url")
        if not isinstance(url, str) or not url:
            self.journal.ended(sub, "failed", "no video in the result")
            raise BackendError(f"fal returned no video for {shot.id!r} (request {sub.request_id})")
        size = video.get("file_size") if isinstance(video.get("file_size"), int) else None
        self.journal.result(sub, url, size)
        job.progress(Progress(shot.id, "downloading", state="downloading"))
        try:
            self._fetch(job, url, size)
        except VideoGone as exc:
            self.journal.url_gone(Video(shot.key, sub.request_id, url, size), str(exc))
            self.journal.ended(sub, "failed", f"the result video is gone ({exc})")
            raise BackendError(
                f"the video of {shot.id!r} (request {sub.request_id}) is no longer on fal's CDN ({exc}); "
                "generating it again will be paid"
            ) from None

    def _send(self, job: ShotJob) -> Submission:
        """Upload the inputs and submit the request once, behind a durable "submitting" hold."""
        assert self.journal is not None
        shot = job.shot
        refused = self.journal.rejected(shot.key)
        if refused is not None and not job.force:
            raise RejectedRequestError(
                f"fal accepted and then refused the request for shot {shot.id!r} in an earlier build: {refused}. "
                "It is not sent again as it is (fal may charge a refused request): change the shot, or send it "
                f"again with --select {shot.id} --force"
            )
        if self.journal.dangling(shot.key):
            if not job.force:
                raise BackendError(
                    f"an earlier build sent shot {shot.id!r} to fal but never got the answer (it was stopped, "
                    "or the connection was lost): fal may have queued that request — and be charging for it — "
                    "so it is not sent again on its own. Check https://fal.ai/dashboard/requests for a request "
                    f"with this shot's prompt; if there is none (or to pay for it again), release the hold with "
                    f"`storyboard build --backend fal --select {shot.id} --force`"
                )
            self.journal.drop_intent(shot.key, "--force")
        elif refused is not None:
            self.journal.drop_intent(shot.key, "--force after a refusal")
        request = with_reference_views(shot.request(lambda ref: self._url(job, ref)))
        self._check_cancel(job)
        self.journal.submitting(shot.key, shot.id)
        try:
            sub = self._submit(shot, request)
        except (RejectedRequestError, TransientBackendError, CredentialsError) as exc:  # nothing was queued
            self.journal.drop_intent(shot.key, str(exc))
            raise
        job.progress(Progress(shot.id, f"submitted as {sub.request_id}", state="queued"))
        return sub

    def _recover(self, job: ShotJob) -> bool:
        """Download again the video of a finished request for this key (a cached clip damaged or
        deleted later); False when none is journalled or its URL is gone."""
        assert self.journal is not None
        video = self.journal.video(job.shot.key)
        if video is None:
            return False
        job.progress(
            Progress(
                job.shot.id,
                f"downloading again the video of request {video.request_id} (not paid again)",
                state="downloading",
            )
        )
        try:
            self._fetch(job, video.url, video.size)
        except VideoGone as exc:
            self.journal.url_gone(video, str(exc))
            job.progress(
                Progress(
                    job.shot.id,
                    f"the video of request {video.request_id} is gone from fal's CDN ({exc}); "
                    "generating the shot again, which is paid",
                    state="queued",
                )
            )
            self.warnings.append(
                f"shot {job.shot.id!r}: its cached clip was damaged and fal's CDN no longer has the video of request "
                f"{video.request_id} ({exc}); it was generated again (paid)"
            )
            return False
        return True

    def generate_audio(self, job: AudioJob) -> None:
        """A line, effect or music cue through fal's ElevenLabs endpoints (see :mod:`.fal_audio`)."""
        from storyboard.backends.fal_audio import generate_audio

        generate_audio(self, job)

    def committed_audio(self, job: AudioJob) -> None:
        """The executor stored the sound: close its journal entry."""
        from storyboard.backends.fal_audio import committed_audio

        committed_audio(self, job)

    def generate_image(self, job: ImageJob) -> None:
        """A generated asset's image through fal's image endpoints (see :mod:`.fal_image`)."""
        from storyboard.backends.fal_image import generate_image

        generate_image(self, job)

    def committed_image(self, job: ImageJob) -> None:
        """The image runner stored the image: close its journal entry."""
        from storyboard.backends.fal_image import committed_image

        committed_image(self, job)

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
        import fal_client

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
                if ref.kind in ("last_frame", "first_frame"):  # made by the build: checked here
                    check_start_frame(path, ref.display, job.shot.image_limits)
                lifecycle = fal_client.StorageSettings(expires_in=UPLOAD_LIFETIME)
                url = self._retry(
                    lambda: self.client.upload_file(path, lifecycle=lifecycle), f"upload of {ref.display}", job
                )
                self.uploads.put(digest, url, path.stat().st_size)
        return url

    # -- queue ---------------------------------------------------------------------------
    def _submit(self, shot: Submittable, request: dict[str, Any]) -> Submission:
        """Send the submission once per attempt that fal answered; never re-send one whose answer was lost."""
        import fal_client

        assert self.journal is not None
        attempt = 0
        while True:
            try:
                handle = submit_once(self.client, shot.endpoint, request)
                break
            except fal_client.FalClientHTTPError as exc:
                if exc.status_code == 422 or 400 <= exc.status_code < 500 and exc.status_code not in (408, 409, 429):
                    raise RejectedRequestError(
                        f"fal rejected the request for shot {shot.id!r} (HTTP {exc.status_code}): "
                        f"{detail_words(exc.message)}"
                    ) from None
                # fal answered with an error: the request was not queued (and not charged), safe to send again
                error: str = f"HTTP {exc.status_code} {redact(str(exc))[:200]}"
            except NothingSent as exc:  # no byte of it left the machine: safe to send again
                if "MissingCredentialsError" in str(exc):
                    raise CredentialsError(f"fal-client found no credentials: {redact(str(exc))[:200]}") from None
                error = redact(str(exc))[:200]
            except AnswerLost as exc:
                raise BackendError(
                    f"the request for shot {shot.id!r} was sent to fal but its answer was lost "
                    f"({redact(str(exc))[:200]}): fal may have queued it — and be charging for it — so it is "
                    "not sent again on its own. Check https://fal.ai/dashboard/requests for a request with this "
                    "shot's prompt; if there is none (or to pay for it again), release the hold with "
                    f"`storyboard build --backend fal --select {shot.id} --force`"
                ) from None
            attempt += 1
            if attempt > self.retries:
                raise TransientBackendError(
                    f"fal kept failing to accept shot {shot.id!r} ({error}); nothing was queued, the next build "
                    "sends it again"
                )
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
                    return self._result(job, sub, handle)
            if time.monotonic() > deadline:
                raise TransientBackendError(
                    f"shot {sub.shot!r} is still running on fal after {self.wait_seconds:.0f} s (request "
                    f"{sub.request_id}); run the build again to keep waiting — it will not be submitted twice"
                )
            job.cancel.wait(self.poll_seconds)

    def _result(self, job: ShotJob, sub: Submission, handle: Any) -> dict[str, Any]:
        """The completed request's output; a 422 here (a "phantom": COMPLETED with nothing rendered)
        is final — reported in fal's words, journalled, never retried and never cached."""
        import fal_client

        assert self.journal is not None
        try:
            return self._retry(lambda: handle.get(), f"result of {sub.shot!r}", job, raw_4xx=True)
        except fal_client.FalClientHTTPError as exc:
            words = detail_words(exc.message)
            self.journal.ended(sub, "rejected" if exc.status_code == 422 else "failed", words)
            raise RejectedRequestError(
                f"fal accepted the request for shot {sub.shot!r} (request {sub.request_id}) but refused it when its "
                f"result was fetched (HTTP {exc.status_code}): {words}. Nothing was rendered, and fal may charge "
                f"for it; it is not sent again as it is — change the shot, or send it again with "
                f"--select {sub.shot} --force"
            ) from None

    def _count_failure(self, failures: int, what: str, exc: Exception) -> int:
        failures += 1
        if failures > self.retries:
            raise TransientBackendError(
                f"{what}: gave up after {self.retries} retries: {redact(str(exc))[:200]}; "
                "the request keeps running and the next build resumes it"
            ) from None
        time.sleep(self.backoff * 2 ** (failures - 1))
        return failures

    def _retry(self, fn: Callable[[], T], what: str, job: ShotJob, raw_4xx: bool = False) -> T:
        """Call ``fn`` with bounded exponential backoff on transient failures (not on 4xx, which
        ``raw_4xx`` lets through as fal-client raised it)."""
        import fal_client

        attempt = 0
        while True:
            try:
                return fn()
            except fal_client.FalClientHTTPError as exc:
                if 400 <= exc.status_code < 500 and exc.status_code not in (408, 409, 429):
                    if raw_4xx:
                        raise
                    raise BackendError(f"{what}: HTTP {exc.status_code}: {detail_words(exc.message)}") from None
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
        """Download the clip (resuming after cuts) until it decodes in full; VideoGone if the CDN lost it.

        A download that does not decode is fetched again from scratch, never paid for again."""
        from storyboard.errors import MediaError
        from storyboard.media.verify import decode_fully

        job.dest.unlink(missing_ok=True)
        for attempt in range(self.retries + 1):
            self._retry(lambda: download(self._http, url, job.dest, size), "download", job)
            try:
                decode_fully(job.dest)
                return
            except MediaError as exc:
                job.dest.unlink(missing_ok=True)
                if attempt == self.retries:
                    raise TransientBackendError(
                        f"the video of {job.shot.id!r} does not play after {attempt + 1} "
                        f"downloads ({exc}); the next build fetches it again"
                    ) from None
                self._check_cancel(job)
                time.sleep(self.backoff * 2**attempt)

    def _download(self, url: str, dest: Path, expected: int | None) -> None:
        """Fetch ``url`` into ``dest`` (resuming a partial file with Range); for the audio path."""
        download(self._http, url, dest, expected)
