"""Upload benchmark: a 100-shot storyboard that uses 6 distinct image files, built with ``--backend fal``.

The real CLI (``storyboard build FILE --backend fal --jobs 8``) runs in a subprocess with the real
fal-client, pointed at the project's fake fal server (``FakeFal(processing_seconds=0.05,
concurrency=8)``) through ``FakeFal.client_env("bench-key")`` and ``STORYBOARD_FAL_POLL=0.05``.
Shots are 3 s, 1:1, without continuity (a last frame would be one more upload), each with its own
prompt; each uses a start image, one or two characters (one with a reference view) and a style.

Counted: the files the fake received. Goal: 6 on the first build (one per distinct file, however
many shots use it), 0 on the second (everything cached), which also submits nothing.

Run alone: ``python bench/upload_bench.py [--quick]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import row, storyboard_cmd, subprocess_env, table, write_png  # noqa: E402

FILES = {  # the 6 distinct files
    "assets/mira_front.png": (200, 60, 50),
    "assets/mira_side.png": (201, 60, 50),
    "assets/kai.png": (40, 160, 60),
    "assets/style.png": (240, 230, 210),
    "assets/hall.png": (60, 110, 140),
    "assets/yard.png": (140, 110, 60),
}


def storyboard_text(shots: int) -> str:
    """``shots`` 3-s 1:1 shots over the 6 files, no continuity, each prompt distinct."""
    lines = [
        "version: 1",
        "title: Upload bench",
        'defaults: {duration: 3, aspect_ratio: "1:1", style: paper}',
        "characters:",
        "  mira: {image: assets/mira_front.png, references: [assets/mira_side.png]}",
        "  kai: {image: assets/kai.png}",
        "styles:",
        "  paper: {images: [assets/style.png]}",
        "images:",
        "  hall: assets/hall.png",
        "  yard: assets/yard.png",
        "shots:",
    ]
    for i in range(shots):
        who = ("@mira", "@kai", "@mira and @kai")[i % 3]
        lines += [
            f"  - id: s{i:03d}",
            f"    start: {('hall', 'yard')[i % 2]}",
            f"    prompt: Shot {i}, {who} cross the room and the camera follows.",
        ]
    return "\n".join(lines) + "\n"


def build(sb: Path, env: dict[str, str], jobs: int) -> float:
    """One ``storyboard build --backend fal`` in a subprocess; its wall seconds."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [*storyboard_cmd(), "build", str(sb), "--backend", "fal", "--jobs", str(jobs), "--quiet"],
        cwd=sb.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"upload bench: the build failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return seconds


def run(quick: bool, shots: int | None = None) -> list[dict[str, Any]]:
    """Build twice against the fake fal; count uploads (see the module docstring)."""
    from storyboard.backends.fakefal import FakeFal, video

    shots = shots or (30 if quick else 100)
    jobs = 8
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="upload-bench-") as tmp:
        root = Path(tmp)
        for path, rgb in FILES.items():
            write_png(root / path, rgb, (640, 360) if "hall" in path or "yard" in path else (320, 320))
        sb = root / "storyboard.yaml"
        sb.write_text(storyboard_text(shots), encoding="utf-8")
        fake = FakeFal(processing_seconds=0.05, concurrency=jobs).start()
        try:
            w, h = video.DEFAULT_SIZES["1:1"]
            video.clip(3, w, h)  # the fake's result video, encoded once before anything is timed
            env = subprocess_env(**fake.client_env("bench-key"), STORYBOARD_FAL_POLL="0.05")
            first_s = build(sb, env, jobs)
            first = fake.uploads
            first_subs = len(fake.submissions)
            fake.reset()
            second_s = build(sb, env, jobs)
            second = fake.uploads
            second_subs = len(fake.submissions)
        finally:
            fake.stop()
        distinct = len({u.sha256 for u in first})
        rows.append(
            row(
                f"upload dedup {shots} shots × 3 s 1:1, 6 distinct files, fal --jobs {jobs}: first build uploads"
                f" ({first_subs} submitted, {distinct} distinct, {first_s:.1f} s)",
                len(first),
                len(FILES),
                "files",
                "= 6",
                len(first) == len(FILES),
                digits=0,
            )
        )
        rows.append(
            row(
                f"upload dedup {shots} shots: second build uploads ({second_subs} submitted, {second_s:.1f} s)",
                len(second),
                0,
                "files",
                "= 0",
                len(second) == 0 and second_subs == 0,
                ratio=None,
                digits=0,
            )
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Print this benchmark's rows as a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 shots instead of 100")
    args = parser.parse_args(argv)
    print(table(run(args.quick)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
