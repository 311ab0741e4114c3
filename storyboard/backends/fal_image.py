"""Generated assets on fal: FLUX.1 [dev] frontal images and Kontext views, with the fal backend's queue.

The same discipline as a shot (:mod:`storyboard.backends.fal`): the request is journalled before
it is sent and its id as soon as fal answers, it is sent once outside fal-client's retry loop
with fallbacks disabled, a rerun after a crash polls the journalled request instead of
submitting again, the result's URL is journalled before the download, and the entry is closed
only once the image runner has decoded, checked and cached the image. A view's source (the
frontal image) is uploaded once per content, like a shot's files. The result is
``{"images": [{"url", "width", "height", "content_type"}], "seed", "has_nsfw_concepts", …}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from storyboard.backends.base import ImageJob, Progress
from storyboard.backends.fal_http import VideoGone
from storyboard.backends.fal_state import UPLOAD_LIFETIME, Video
from storyboard.errors import BackendError, RejectedRequestError, TransientBackendError
from storyboard.util import sha256_file

if TYPE_CHECKING:
    from storyboard.backends.fal import FalBackend


def generate_image(backend: FalBackend, job: ImageJob) -> None:
    """Submit (or resume) one image's request, wait for it, and download the image to ``job.dest``."""
    journal = backend.journal
    assert journal is not None, "prepare() first"
    image = job.image
    sub = journal.active(image.key)
    if sub is None and not job.force:
        done = journal.video(image.key)  # paid for earlier, its cached copy lost since: fetched again, free
        if done is not None:
            job.progress(
                Progress(image.id, f"downloading again the image of request {done.request_id} (not paid again)")
            )
            try:
                _fetch(backend, job, done.url, done.size)
                return
            except VideoGone as exc:
                journal.url_gone(done, str(exc))
                backend.warnings.append(
                    f"image {image.id!r}: fal's CDN no longer has the image of request {done.request_id}; "
                    "it was generated again (paid)"
                )
    if sub is not None:
        job.progress(Progress(image.id, f"resuming request {sub.request_id} submitted earlier", state="queued"))
    else:
        refused = journal.rejected(image.key)
        if refused is not None and not job.force:
            raise RejectedRequestError(
                f"fal accepted and then refused the request for image {image.id!r} in an earlier build: {refused}. "
                "It is not sent again as it is: change the asset's prompt or seed"
            )
        if journal.dangling(image.key):
            raise BackendError(
                f"an earlier build was stopped while submitting image {image.id!r}: fal may have accepted that "
                "request, but its id was never saved, so it is not sent again on its own (that could pay twice). "
                "Check your requests at https://fal.ai/dashboard/requests; to send it again, change the asset's seed"
            )
        request = image.request(_upload(backend, job) if image.source_field is not None else None)
        backend._check_cancel(job)  # type: ignore[arg-type]
        journal.submitting(image.key, image.id)
        try:
            sub = backend._submit(image, request)
        except (RejectedRequestError, TransientBackendError) as exc:
            journal.drop_intent(image.key, str(exc))
            raise
        job.progress(Progress(image.id, f"submitted as {sub.request_id}", state="queued"))
    result = backend._wait(job, sub)  # type: ignore[arg-type]
    found = _first_image(result)
    if found is None:
        journal.ended(sub, "failed", "no image in the result")
        raise BackendError(f"fal returned no image for {image.id!r} (request {sub.request_id})")
    if _flagged(result):
        journal.ended(sub, "failed", "flagged by the safety checker")
        raise BackendError(
            f"fal's safety checker flagged the image {image.id!r} (request {sub.request_id}; fal blanks such images): "
            "change the asset's prompt or seed"
        )
    url, size = found
    journal.result(sub, url, size)
    job.progress(Progress(image.id, "downloading", state="downloading"))
    try:
        _fetch(backend, job, url, size)
    except VideoGone as exc:
        journal.url_gone(Video(image.key, sub.request_id, url, size), str(exc))
        journal.ended(sub, "failed", f"the result image is gone ({exc})")
        raise BackendError(f"the image of {image.id!r} (request {sub.request_id}) is no longer on fal's CDN") from None


def committed_image(backend: FalBackend, job: ImageJob) -> None:
    """The runner checked and stored the image: its request is done with for good."""
    assert backend.journal is not None
    sub = backend.journal.active(job.image.key)
    if sub is not None:
        backend.journal.ended(sub, "finished")


def _first_image(result: Any) -> tuple[str, int | None] | None:
    images = result.get("images") if isinstance(result, dict) else None
    first = images[0] if isinstance(images, list) and images and isinstance(images[0], dict) else None
    url = first.get("url") if first else None
    if not isinstance(url, str) or not url:
        return None
    size = first.get("file_size") if first else None
    return url, size if isinstance(size, int) else None


def _flagged(result: dict[str, Any]) -> bool:
    flags = result.get("has_nsfw_concepts")
    return isinstance(flags, list) and bool(flags) and flags[0] is True


def _fetch(backend: FalBackend, job: ImageJob, url: str, size: int | None) -> None:
    job.dest.unlink(missing_ok=True)
    backend._retry(lambda: backend._download(url, job.dest, size), "download", job)  # type: ignore[arg-type]


def _upload(backend: FalBackend, job: ImageJob) -> str:
    """The frontal image a view is made from, uploaded once per content (the shots' upload cache)."""
    import fal_client

    assert backend.uploads is not None and job.source is not None
    path = job.source
    digest = sha256_file(path)
    with backend.uploads.lock_for(digest):
        url = backend.uploads.get(digest)
        if url is None:
            backend._check_cancel(job)  # type: ignore[arg-type]
            job.progress(Progress(job.image.id, f"uploading {job.image.source}", state="uploading"))
            lifecycle = fal_client.StorageSettings(expires_in=UPLOAD_LIFETIME)
            url = backend._retry(
                lambda: backend.client.upload_file(path, lifecycle=lifecycle),
                f"upload of {job.image.source}",
                job,  # type: ignore[arg-type]
            )
            backend.uploads.put(digest, url, path.stat().st_size)
    return str(url)
