"""A tiny in-memory world for unit tests of the build: a four-shot chain storyboard, 32×32 clips
encoded in-process by PyAV (no ffmpeg process), and a backend that writes them and records its calls.

Every clip is real (probed and frame-extracted like a generated one) and takes milliseconds.
"""

from __future__ import annotations

import functools
import io
import threading
from pathlib import Path

from sbtest import write_storyboard
from storyboard.backends.base import Backend, ShotJob
from storyboard.build.cache import Cache
from storyboard.compiler.compile import compile_file
from storyboard.errors import BackendError
from storyboard.plan import Plan

# a ← b ← c continue from each other's last frames; d stands alone; e repeats d's request exactly
CHAIN = """
    version: 1
    title: Chain
    characters:
      mira:
        description: a young explorer
        image: assets/mira/front.png
    images:
      red: assets/red.png
      blue: assets/blue.png
    shots:
      - id: a
        start: red
        duration: 3
        prompt: "@mira walks into the red room"
      - id: b
        start: a.last_frame
        duration: 3
        prompt: the camera follows @mira
      - id: c
        start: b.last_frame
        duration: 3
        prompt: the camera rises
      - id: d
        start: blue
        duration: 5
        prompt: a blue sky, still
"""


def chain_plan(project: Path, text: str = CHAIN) -> Plan:
    """The storyboard ``text`` written into ``project`` (the fixture tree) and compiled."""
    return compile_file(write_storyboard(project, text))


@functools.cache
def tiny_clip(seconds: int, shade: int = 0) -> bytes:
    """An MP4 of ``seconds`` at 4 fps, 32×32, one grey level per frame (MPEG-4 part 2, by PyAV)."""
    import av
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=4)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        for i in range(seconds * 4):
            pixels = np.full((32, 32, 3), (shade + 20 * i) % 256, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def store_tiny(cache: Cache, key: str, seconds: int, shot_id: str) -> None:
    """Put a tiny clip into ``cache`` under ``key`` as a finished build would."""
    tmp = cache.temp_path(key)
    tmp.write_bytes(tiny_clip(seconds))
    cache.store(key, tmp, shot_id=shot_id, duration=float(seconds))


class TinyBackend(Backend):
    """Writes a tiny clip of the requested duration; fails the shots in ``fail``; records every call."""

    name = "tiny"

    def __init__(self, fail: set[str] | None = None, seconds: dict[str, int] | None = None):
        self.fail = set(fail or ())
        self.seconds = dict(seconds or {})  # shot id → a duration to write instead of the requested one
        self.generated: list[str] = []
        self.committed_ids: list[str] = []
        self.prepared = False
        self.closed = False
        self._lock = threading.Lock()

    def prepare(self, plan: Plan, shots: list, state_dir: Path) -> None:  # type: ignore[type-arg]
        self.prepared = True

    def generate(self, job: ShotJob) -> None:
        with self._lock:
            self.generated.append(job.shot.id)
        if job.shot.id in self.fail:
            raise BackendError(f"told to fail {job.shot.id}")
        for ref in job.shot.assets():
            if ref.kind == "last_frame":
                frame = job.local(ref)
                assert frame is not None and frame.stat().st_size > 0, "the upstream frame is extracted first"
        job.dest.write_bytes(tiny_clip(self.seconds.get(job.shot.id, job.shot.duration)))

    def committed(self, job: ShotJob) -> None:
        with self._lock:
            self.committed_ids.append(job.shot.id)

    def close(self) -> None:
        self.closed = True
