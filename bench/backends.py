"""Bench-only backends: a fixed generation latency, a real (tiny) clip, and a log of every call.

:class:`LatencyBackend` implements :class:`storyboard.backends.base.Backend`. It sleeps a fixed
latency (waking early if the build is cancelled), then copies a clip pre-rendered once per
duration by :func:`tiny_clip`, so the executor's probe and duration check, the cache and the
last-frame extraction all run on a real MP4. Every call is recorded in ``calls`` (shot ids, in
order), so a benchmark can count generations.

It can also be loaded by the CLI as ``bench.backends:LatencyBackend`` (the repository on
PYTHONPATH); there it reads ``STORYBOARD_BENCH_LATENCY`` (seconds, default 0),
``STORYBOARD_BENCH_CLIPS`` (a folder for the pre-rendered clips) and appends shot ids to
``STORYBOARD_BENCH_LOG`` if set.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

from storyboard.backends.base import Progress, ShotJob
from storyboard.errors import BackendError
from storyboard.media.ffmpeg import run_ffmpeg
from storyboard.plan import Plan, ShotPlan

TINY_SIZE = (128, 72)
_render_lock = threading.Lock()


def tiny_clip(folder: Path, duration: int, size: tuple[int, int] = TINY_SIZE, fps: int = 24) -> Path:
    """A small H.264 clip of exactly ``duration`` seconds in ``folder``, rendered once and reused."""
    path = folder / f"tiny_{duration}s_{size[0]}x{size[1]}.mp4"
    with _render_lock:
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.mp4")
            run_ffmpeg(
                [
                    "-f",
                    "lavfi",
                    "-i",
                    f"testsrc2=s={size[0]}x{size[1]}:r={fps}:d={duration}",
                    "-c:v",
                    "libx264",
                    "-preset",
                    "ultrafast",
                    "-pix_fmt",
                    "yuv420p",
                    "-g",
                    str(2 * fps),
                    "-an",
                    "-f",
                    "mp4",
                    str(tmp),
                ],
                what="bench tiny clip",
            )
            os.replace(tmp, path)
    return path


class LatencyBackend:
    """Sleeps ``latency`` seconds per shot, then writes a real tiny clip of the shot's duration."""

    name = "bench"

    def __init__(self, latency: float | None = None, clips: Path | None = None, log: Path | None = None):
        env_clips = os.environ.get("STORYBOARD_BENCH_CLIPS")
        env_log = os.environ.get("STORYBOARD_BENCH_LOG")
        self.latency = latency if latency is not None else float(os.environ.get("STORYBOARD_BENCH_LATENCY", "0"))
        self.clips = clips or (Path(env_clips) if env_clips else Path.home() / ".cache" / "storyboard-bench")
        self.log = log or (Path(env_log) if env_log else None)
        self.calls: list[str] = []
        self.spans: list[tuple[str, float, float]] = []  # (shot id, start, end) in time.monotonic()
        self._lock = threading.Lock()

    def prepare(self, plan: Plan, shots: list[ShotPlan], state_dir: Path) -> None:
        """Render the clip of each duration used, before anything is timed."""
        for d in sorted({s.duration for s in shots}):
            tiny_clip(self.clips, d)

    def generate(self, job: ShotJob) -> None:
        """Wait the latency (cancellable), then copy the pre-rendered clip to ``job.dest``."""
        t0 = time.monotonic()
        with self._lock:
            self.calls.append(job.shot.id)
            if self.log is not None:
                with open(self.log, "a", encoding="utf-8") as f:
                    f.write(job.shot.id + "\n")
        job.progress(Progress(job.shot.id, "bench: waiting", state="running"))
        if self.latency > 0 and job.cancel.wait(self.latency):
            raise BackendError("cancelled")
        shutil.copyfile(tiny_clip(self.clips, job.shot.duration), job.dest)
        with self._lock:
            self.spans.append((job.shot.id, t0, time.monotonic()))

    def close(self) -> None:
        """Nothing to release."""
