"""Sound on fal: lines, effects and music through the ElevenLabs endpoints, with the fal backend's queue.

The same discipline as a shot (see :mod:`storyboard.backends.fal`): the request is journalled
before it is sent and its id as soon as fal answers, a rerun after a crash polls the journalled
request instead of submitting again, and a result is downloaded (and decoded by the executor)
before the journal entry is closed, so a sound is never paid for twice. The result is
``{"audio": {"url", "content_type", ...}}``; speech may carry per-word ``timestamps``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from storyboard.backends.base import AudioJob, Progress
from storyboard.errors import BackendError, RejectedRequestError, TransientBackendError

if TYPE_CHECKING:
    from storyboard.backends.fal import FalBackend


def generate_audio(backend: FalBackend, job: AudioJob) -> None:
    """Submit (or resume) one sound's request, wait for it, and download the audio to ``job.dest``."""
    journal = backend.journal
    assert journal is not None, "prepare() first"
    audio = job.audio
    sub = journal.active(audio.key)
    if sub is not None:
        job.progress(Progress(audio.id, f"resuming request {sub.request_id} submitted earlier", state="queued"))
    else:
        if journal.dangling(audio.key):
            if not job.force:
                raise BackendError(
                    f"an earlier build was stopped while submitting sound {audio.id!r}: fal may have accepted that "
                    "request, but its id was never saved, so it is not sent again on its own (that could pay twice). "
                    "Check your requests at https://fal.ai/dashboard/requests; to send it again, build with --force"
                )
            journal.drop_intent(audio.key, "--force")
        backend._check_cancel(job)  # type: ignore[arg-type]
        journal.submitting(audio.key, audio.id)
        try:
            sub = backend._submit(audio, audio.request())
        except (RejectedRequestError, TransientBackendError) as exc:
            journal.drop_intent(audio.key, str(exc))
            raise
        job.progress(Progress(audio.id, f"submitted as {sub.request_id}", state="queued"))
    result = backend._wait(job, sub)  # type: ignore[arg-type]
    file = (result or {}).get("audio") or {}
    url = file.get("url") if isinstance(file, dict) else None
    if not url:
        journal.ended(sub, "failed", "no audio in the result")
        raise BackendError(f"fal returned no audio for {audio.id!r} (request {sub.request_id})")
    job.progress(Progress(audio.id, "downloading", state="downloading"))
    backend._retry(lambda: backend._download(url, job.dest, file.get("file_size")), "download", job)  # type: ignore[arg-type]
    job.words[:] = word_timings((result or {}).get("timestamps"))


def word_timings(raw: Any) -> list[tuple[str, float, float]]:
    """Per-word (text, start, end) from a speech result's ``timestamps``, if it has usable ones."""
    out: list[tuple[str, float, float]] = []
    if not isinstance(raw, list):
        return out
    for item in raw:
        if not isinstance(item, dict):
            continue
        text = item.get("text", item.get("word"))
        start, end = item.get("start", item.get("start_time")), item.get("end", item.get("end_time"))
        if isinstance(text, str) and text.strip() and isinstance(start, int | float) and isinstance(end, int | float):
            out.append((text.strip(), float(start), float(end)))
    return out


def committed_audio(backend: FalBackend, job: AudioJob) -> None:
    """The executor stored the sound: its request is done with for good."""
    assert backend.journal is not None
    sub = backend.journal.active(job.audio.key)
    if sub is not None:
        backend.journal.ended(sub, "finished")
