"""Backends for tests, loaded by the CLI as ``support.backends:Name`` (tests/ on PYTHONPATH).

They wrap the real preview backend, so the clips are real; what they add is steered by
environment variables, because the CLI runs in a subprocess.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from storyboard.backends.base import ShotJob
from storyboard.backends.preview import PreviewBackend
from storyboard.errors import BackendError


class FlakyBackend(PreviewBackend):
    """Fails the shots named in ``STORYBOARD_TEST_FAIL`` (comma-separated ids)."""

    name = "flaky"

    def generate(self, job: ShotJob) -> None:
        failing = {s for s in os.environ.get("STORYBOARD_TEST_FAIL", "").split(",") if s}
        if job.shot.id in failing:
            raise BackendError(f"the test backend was told to fail {job.shot.id!r}")
        super().generate(job)


class SlowBackend(PreviewBackend):
    """Writes half a clip, sleeps ``STORYBOARD_TEST_SLEEP`` seconds, then renders: a window to kill it in.

    Shots listed in ``STORYBOARD_TEST_FAST`` (comma-separated ids) do not sleep.

    Every call is logged to ``STORYBOARD_TEST_LOG`` (one shot id a line) so tests can count renders.
    """

    name = "slow"

    def generate(self, job: ShotJob) -> None:
        log = os.environ.get("STORYBOARD_TEST_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as f:
                f.write(job.shot.id + "\n")
        Path(job.dest).write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4096)  # a half-written clip
        fast = job.shot.id in os.environ.get("STORYBOARD_TEST_FAST", "").split(",")
        deadline = time.monotonic() + (0.0 if fast else float(os.environ.get("STORYBOARD_TEST_SLEEP", "0")))
        while time.monotonic() < deadline:
            if job.cancel.wait(0.05):
                raise BackendError("cancelled")
        super().generate(job)


class DuckBackend:
    """A user's backend that does not subclass ``Backend``: only ``generate`` (by the preview), no ``name``."""

    def __init__(self) -> None:
        self.preview = PreviewBackend()

    def generate(self, job: ShotJob) -> None:
        self.preview.generate(job)


class CrashingBackend:
    """A user's backend with a bug: ``prepare`` raises a plain RuntimeError (an internal error)."""

    def prepare(self, plan: object, shots: object, state_dir: Path) -> None:
        raise RuntimeError("the test backend crashed in prepare")

    def generate(self, job: ShotJob) -> None:
        raise AssertionError("never reached")


class NotABackend:
    """Has no ``generate``: loading it is a usage error."""
