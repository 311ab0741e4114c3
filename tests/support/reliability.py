"""Helpers shared by the chaos, crash and concurrency tests: generated storyboards and fal checks."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import imageio_ffmpeg

FPS = 24
STARTS = [
    "assets/red.png",
    "assets/green.png",
    "assets/blue.png",
    "assets/yellow.png",
    "assets/magenta.png",
    "assets/cyan.png",
    "assets/orange.png",
    "assets/grey.png",
]
FAST_FAL = {"STORYBOARD_FAL_POLL": "0.05", "STORYBOARD_FAL_BACKOFF": "0.02"}


def chains_storyboard(chains: int, length: int, *, duration: int = 3, title: str = "Chains") -> str:
    """``chains`` continuity chains of ``length`` shots (``c<i>_<j>``), 1:1, each prompt unique.

    The first shot of a chain starts from a flat-colour image, every later one from the last frame
    of the shot before it; each prompt names its shot, so fal's records can be traced back to it.
    """
    lines = [
        "version: 1",
        f"title: {title}",
        f'defaults: {{duration: {duration}, aspect_ratio: "1:1"}}',
        "characters:",
        "  mira: {image: assets/mira/front.png, references: [assets/mira/side.png]}",
        "objects:",
        "  stone: {image: assets/grey.png}",
        "images:",
    ]
    lines += [f"  start{i}: {STARTS[i % len(STARTS)]}" for i in range(chains)]
    lines.append("shots:")
    for i in range(chains):
        for j in range(length):
            start = f"start{i}" if j == 0 else f"c{i}_{j - 1}.last_frame"
            thing = "@mira" if (i + j) % 2 else "@mira holds @stone and"
            lines += [f"  - id: c{i}_{j}", f"    start: {start}", f'    prompt: "Shot c{i}_{j}: {thing} walks on."']
    return "\n".join(lines) + "\n"


def shot_of(prompt: str) -> str:
    """The shot id a chains_storyboard prompt was written for."""
    marker = prompt.index("Shot ") + len("Shot ")
    return prompt[marker : prompt.index(":", marker)]


def submissions_by_shot(fake: Any) -> dict[str, list[Any]]:
    """Every submission the fake accepted, by shot id, in order."""
    out: dict[str, list[Any]] = defaultdict(list)
    for s in fake.submissions:
        out[shot_of(s.body["prompt"])].append(s)
    return dict(out)


def journalled(cache: Path) -> set[str]:
    """Request ids the fal backend wrote to its journal (under the cache folder ``cache``)."""
    import json

    ids: set[str] = set()
    for journal in cache.rglob("journal.jsonl"):
        for line in journal.read_text("utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == "submitted":
                ids.add(entry["request_id"])
    return ids


def assert_never_resubmitted_while_running(
    fake: Any, tolerance: float = 0.05, journal: set[str] | None = None
) -> tuple[int, int]:
    """A shot is submitted again only after its previous request *ended in an error*.

    Checked against the fake's own queue: the earlier request must be COMPLETED with an error, and
    must have completed before the later submission was accepted (a request still queued, running,
    stuck or successfully done must never be paid for a second time).

    With ``journal`` (the request ids the backend journalled), one exception is counted instead of
    failed: an earlier request whose id never reached the journal. That is a build killed in the
    milliseconds between fal accepting a request and the journal's write — fal offers no way to find
    such a request again (docs/security.md, "what is not defended"). Returns (resubmissions after an
    error, requests lost to that window).
    """
    again = lost = 0
    for shot, subs in submissions_by_shot(fake).items():
        for earlier, later in zip(subs, subs[1:]):
            job = fake.queue.get(earlier.request_id)
            assert job is not None, f"{shot}: request {earlier.request_id} unknown to the fake"
            if journal is not None and earlier.request_id not in journal and (job.error is None):
                lost += 1
                continue
            assert job.finished_at is not None and job.error is not None, (
                f"shot {shot} submitted again ({later.request_id}) while {earlier.request_id} was "
                f"{job.state}{' (stuck)' if job.stuck else ''} without an error: paid twice"
            )
            ended = fake.queue.wall(job.finished_at)
            assert ended <= later.time + tolerance, (
                f"shot {shot} submitted again {ended - later.time:.2f} s before {earlier.request_id} ended"
            )
            again += 1
    return again, lost


def clip_frames(backend: str, seconds: int) -> int:
    """Frames in one clip of ``seconds``: Kling (fal, and the fake) makes duration × 24 + 1, the preview exactly duration × 24."""
    return seconds * FPS + (1 if backend == "fal" else 0)


def frame_count(path: Path) -> int:
    """Decode the whole video: its true number of frames."""
    return imageio_ffmpeg.count_frames_and_secs(str(path))[0]
