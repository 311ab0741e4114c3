"""What the fake's CDN holds: result videos (made here) and uploaded files.

A result clip is ffmpeg's ``testsrc`` pattern (it draws its own counter, no fonts needed) encoded as
H.264 High, yuv420p, ``fps`` frames a second, exactly ``duration × fps + 1`` frames — the
shape of real Kling output (a "5 s" clip is 121 frames, 5.04 s). A request for native audio
(``generate_audio``, :func:`endpoints.output_has_audio`) gets an AAC track as long as the picture,
44.1 kHz stereo: a steady 330 Hz tone at -18 dBFS with a 0.5 s fade in (an audible, measurable
sound); otherwise the clip is silent. Clips are cached per (duration, width, height, fps, audio)
for the whole process, so thirty shots cost one encode.
:class:`MediaStore` keeps uploads and results by id, serves them, and records both.
"""

from __future__ import annotations

import atexit
import hashlib
import re
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit

from storyboard.backends.fakefal.schema import image_problem
from storyboard.backends.fakefal.server import HttpResponse

if TYPE_CHECKING:
    from storyboard.backends.fakefal.protocol import Job

DEFAULT_SIZES: dict[str, tuple[int, int]] = {"16:9": (640, 360), "9:16": (360, 640), "1:1": (480, 480)}
DEFAULT_FPS = 24
ENCODE_TIMEOUT = 60.0

_lock = threading.Lock()
_Key = tuple[int, int, int, int, bool]  # seconds, width, height, fps, audio
_entries: dict[_Key, _Entry] = {}
_cache_dir: Path | None = None


@dataclass
class _Entry:
    done: threading.Event
    path: Path | None = None
    error: BaseException | None = None


def _directory() -> Path:
    global _cache_dir
    if _cache_dir is None:
        _cache_dir = Path(tempfile.mkdtemp(prefix="fakefal-videos-"))
        atexit.register(shutil.rmtree, _cache_dir, True)
    return _cache_dir


def _encode(key: _Key, entry: _Entry) -> None:
    from storyboard.media.ffmpeg import run_ffmpeg

    duration, width, height, fps, audio = key
    with _lock:
        dest = _directory() / f"{duration}s_{width}x{height}_{fps}fps{'_audio' if audio else ''}.mp4"
    tmp = dest.with_suffix(".tmp.mp4")
    seconds = clip_frames(duration, fps) / fps
    sound = (
        ["-f", "lavfi", "-i", f"sine=frequency=330:sample_rate=44100:duration={seconds:.6f},afade=t=in:d=0.5",
         "-map", "0:v", "-map", "1:a", "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "44100"]
        if audio else []
    )  # fmt: skip
    try:
        run_ffmpeg(
            [
                "-f",
                "lavfi",
                "-i",
                f"testsrc=size={width}x{height}:rate={fps}",
                *sound,
                "-frames:v",
                str(clip_frames(duration, fps)),
                "-c:v",
                "libx264",
                "-preset",
                "superfast",
                "-crf",
                "32",
                "-pix_fmt",
                "yuv420p",
                "-r",
                str(fps),
                "-movflags",
                "+faststart",
                str(tmp),
            ],
            timeout=ENCODE_TIMEOUT,
            what="fake fal result video",
        )
        tmp.replace(dest)
        entry.path = dest
    except BaseException as exc:  # handed to every waiter
        entry.error = exc
        tmp.unlink(missing_ok=True)
    finally:
        entry.done.set()


def _entry(key: _Key) -> _Entry:
    with _lock:
        entry = _entries.get(key)
        if entry is not None and entry.error is None:
            return entry
        entry = _entries[key] = _Entry(done=threading.Event())
    threading.Thread(target=_encode, args=(key, entry), name="fakefal-video", daemon=True).start()
    return entry


def clip_frames(duration: int, fps: int = DEFAULT_FPS) -> int:
    """Frames in a result clip of ``duration`` seconds: one more than duration × fps, as Kling makes them."""
    return duration * fps + 1


def prepare(duration: int, width: int, height: int, fps: int = DEFAULT_FPS, audio: bool = False) -> None:
    """Start making the clip for this shape in the background, if not already made."""
    _entry((duration, width, height, fps, audio))


def clip(
    duration: int,
    width: int,
    height: int,
    fps: int = DEFAULT_FPS,
    *,
    audio: bool = False,
    timeout: float = ENCODE_TIMEOUT,
) -> Path:
    """The cached clip for this shape (with a sound track if ``audio``), made now if needed; raises if
    ffmpeg failed or timed out."""
    entry = _entry((duration, width, height, fps, audio))
    if not entry.done.wait(timeout):
        raise TimeoutError(f"the fake fal video {duration}s {width}x{height} took over {timeout:.0f} s")
    if entry.error is not None:
        raise entry.error
    assert entry.path is not None
    return entry.path


# ---------------------------------------------------------------------------------------------
# What v3.fal.media holds: uploaded files and result videos, and the record of both.


@dataclass(frozen=True, slots=True)
class Upload:
    """A file stored through the CDN v3 upload or the GCS fallback (``via``: ``cdn_v3`` | ``gcs``)."""

    name: str
    size: int
    sha256: str
    content_type: str
    url: str
    via: str
    time: float
    lifecycle: dict[str, object] | None = None  # the storage lifetime asked for (X-Fal-Object-Lifecycle)


@dataclass(frozen=True, slots=True)
class Download:
    """A file served: ``size`` bytes sent of ``total``; ``request_id`` for result videos."""

    url: str
    name: str
    size: int
    total: int
    status: int
    truncated: bool
    request_id: str | None
    time: float


@dataclass
class StoredFile:
    """An uploaded file (``data``) or a request's result video (``job``)."""

    name: str
    content_type: str
    data: bytes | None = None
    job: Job | None = None


class MediaStore:
    """Files by id, upload tokens, GCS upload slots, and the uploads/downloads records; thread-safe."""

    def __init__(self, *, sizes: dict[str, tuple[int, int]], fps: int, check_images: bool) -> None:
        self.sizes, self.fps, self.check_images = sizes, fps, check_images
        self._files: dict[str, StoredFile] = {}
        self._slots: dict[str, tuple[str, str, dict[str, object] | None]] = {}
        self._tokens: set[str] = set()
        self._uploads: list[Upload] = []
        self._expired: set[str] = set()  # request ids whose result video is gone
        self._downloads: list[Download] = []
        self._lock = threading.Lock()

    def new_token(self) -> str:
        """Issue an upload token for the CDN."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(token)
        return token

    def token_valid(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries an issued ``Bearer`` token."""
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            return scheme == "Bearer" and token in self._tokens

    def open_slot(self, name: str, content_type: str, lifecycle: dict[str, object] | None = None) -> str:
        """Reserve a GCS upload slot; returns its id."""
        slot = secrets.token_hex(10)
        with self._lock:
            self._slots[slot] = (name, content_type, lifecycle)
        return slot

    def slot(self, slot_id: str, *, take: bool = False) -> tuple[str, str, dict[str, object] | None] | None:
        """The (name, content type, lifecycle) of an open slot; ``take`` closes it."""
        with self._lock:
            return self._slots.pop(slot_id, None) if take else self._slots.get(slot_id)

    def store(
        self,
        name: str,
        content_type: str,
        data: bytes,
        *,
        via: str,
        base: str,
        file_id: str | None = None,
        lifecycle: dict[str, object] | None = None,
    ) -> str:
        """Keep an uploaded file, record it, and return its URL under ``base``."""
        file_id = file_id or secrets.token_hex(10)
        url = f"{base}/files/{file_id}/{quote(name)}"
        digest = hashlib.sha256(data).hexdigest()
        record = Upload(name, len(data), digest, content_type, url, via, time.time(), lifecycle)
        with self._lock:
            self._files[file_id] = StoredFile(name, content_type, data)
            self._uploads.append(record)
        return url

    def add_result(self, job: Job) -> None:
        """Register ``job``'s result video (made lazily) and start encoding its shape."""
        seconds, (width, height) = self.result_shape(job)
        prepare(seconds, width, height, self.fps, self.result_audio(job))
        with self._lock:
            self._files[job.output_id] = StoredFile("output.mp4", "video/mp4", job=job)

    def result_shape(self, job: Job) -> tuple[int, tuple[int, int]]:
        """Seconds and frame size of ``job``'s result: its endpoint's own rule (endpoints.py) or O1's fields."""
        from storyboard.backends.fakefal import endpoints

        if job.endpoint in endpoints.SCHEMAS:
            return endpoints.output_shape(job.endpoint, job.body, self.data_at, self.sizes)
        return int(job.body.get("duration", "5")), self.sizes[job.body.get("aspect_ratio", "16:9")]

    def result_audio(self, job: Job) -> bool:
        """Whether ``job``'s result clip has native audio (the endpoint's ``generate_audio``)."""
        from storyboard.backends.fakefal import endpoints

        return endpoints.output_has_audio(job.endpoint, job.body)

    def data_at(self, url: str) -> bytes | None:
        """The bytes of an uploaded file behind one of the fake's URLs, or None."""
        stored = self.find(urlsplit(url).path)
        return stored.data if stored is not None else None

    def result_clip(self, job: Job) -> Path:
        """The video file of ``job``'s result."""
        seconds, (width, height) = self.result_shape(job)
        return clip(seconds, width, height, self.fps, audio=self.result_audio(job))

    def expire(self, request_id: str | None = None) -> int:
        """Remove result videos (of one request, or all) from the CDN; returns how many."""
        with self._lock:
            jobs = [f.job for f in self._files.values() if f.job is not None]
            gone = {j.request_id for j in jobs if request_id is None or j.request_id == request_id}
            self._expired |= gone
        return len(gone)

    def find(self, path: str) -> StoredFile | None:
        """The file at ``/files/<id>/<name>``, or None (also for an expired result video)."""
        segments = path.split("/")
        if len(segments) != 4 or segments[1] != "files":
            return None
        with self._lock:
            stored = self._files.get(segments[2])
            if stored is not None and stored.job is not None and stored.job.request_id in self._expired:
                return None
        return stored if stored is not None and unquote(segments[3]) == stored.name else None

    def problem(self, path: str) -> tuple[str, str] | None:
        """Why a request may not use the file at ``path`` (absent, or a bad image), or None."""
        stored = self.find(path)
        if stored is None:
            return "Failed to download the file: 404 Not Found", "file_download_error"
        if self.check_images and stored.data is not None:
            return image_problem(stored.data)
        return None

    def serve(self, stored: StoredFile | None, range_header: str | None) -> HttpResponse:
        """The answer to a GET of ``stored`` (206 for a satisfiable single range)."""
        if stored is None:
            return HttpResponse(404, {"Content-Type": "application/json"}, b'{"detail": "File not found"}')
        headers = {"Content-Type": stored.content_type, "Accept-Ranges": "bytes"}
        response = HttpResponse(200, headers)
        if stored.job is not None:
            response.file = self.result_clip(stored.job)
            size = response.file.stat().st_size
        else:
            response.body = stored.data or b""
            size = len(response.body)
        byte_range = parse_range(range_header, size)
        if byte_range is not None:
            response.status, response.byte_range = 206, byte_range
            headers["Content-Range"] = f"bytes {byte_range[0]}-{byte_range[1]}/{size}"
        return response

    def record_download(self, url: str, stored: StoredFile | None, response: HttpResponse, head: bool) -> None:
        """Note a file served (nothing for failures and dropped connections)."""
        if stored is None or response.drop or response.status not in (200, 206):
            return
        total = response.file.stat().st_size if response.file is not None else len(response.body)
        start, end = response.byte_range or (0, total - 1)
        sent = 0 if head else (end - start + 1) // (2 if response.truncate else 1)
        request_id = stored.job.request_id if stored.job is not None else None
        with self._lock:
            self._downloads.append(
                Download(url, stored.name, sent, total, response.status, response.truncate, request_id, time.time())
            )

    @property
    def uploads(self) -> list[Upload]:
        """Files uploaded, in order."""
        with self._lock:
            return list(self._uploads)

    @property
    def downloads(self) -> list[Download]:
        """Files served, in order."""
        with self._lock:
            return list(self._downloads)

    def clear_records(self) -> None:
        """Forget the uploads and downloads records (the files stay)."""
        with self._lock:
            self._uploads.clear()
            self._downloads.clear()


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range of a single-range ``Range`` header, or None to send everything."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", (header or "").strip())
    if match is None or size == 0 or match.group(1) == match.group(2) == "":
        return None
    if match.group(1) == "":
        return max(size - int(match.group(2)), 0), size - 1
    start, end = int(match.group(1)), int(match.group(2) or size - 1)
    return (start, min(end, size - 1)) if start < size else None
