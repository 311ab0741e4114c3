"""Preview benchmark: wall seconds of animatic rendering per second of film.

Six 5-s shots of greenhouse-like content (the bundled example's images: start frames, a
character with reference views, an object, a two-image style, one shot continuing from the one
before) are rendered

- one after the other with ``PreviewBackend().generate(job)`` — the continuity shot's start
  frame is stood in by an image, since no build extracts it here;
- through a whole 2-job build, :func:`storyboard.build.run.run_build` with the preview backend on a
  fresh cache: rendering, probing, caching, last-frame extraction and stitching the film.

Goal: ≤ 0.2 s of wall time per second of film. With ``baseline=True`` one shot is also
rendered by moviepy as the same two pictures (background and card, drawn by the preview's own
Pillow code) with a push-in (``vfx.Resize`` over time) and written with libx264 — a reference
for what the ffmpeg filter graph saves, not a goal.

Run alone: ``python bench/preview_bench.py [--quick]``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import REPO, row, table  # noqa: E402
from storyboard.backends.base import ShotJob  # noqa: E402
from storyboard.backends.preview import PreviewBackend  # noqa: E402
from storyboard.build.run import BuildOptions, run_build  # noqa: E402
from storyboard.compiler.compile import compile_file  # noqa: E402
from storyboard.plan import Plan, ShotPlan  # noqa: E402

GOAL = 0.2

STORYBOARD = """\
version: 1
title: Preview bench
defaults: {duration: 5, aspect_ratio: "16:9", style: storybook}
vars: {lens: 35mm lens}
characters:
  mira: {image: assets/mira/front.png, references: [assets/mira/side.png, assets/mira/back.png]}
objects:
  stone: {image: assets/stone.png}
styles:
  storybook: {images: [assets/style/storybook.png, assets/style/storybook_scene.png]}
images:
  greenhouse: assets/greenhouse.png
shots:
  - id: arrival
    start: greenhouse
    prompt: A high-angle view of the old glasshouse at noon; the camera swoops down and reveals @mira among the palms, {{ lens }}.
  - id: orbit
    start: arrival.last_frame
    prompt: The camera orbits @mira slowly to her back; inside her open backpack @stone glows cyan.
  - id: bench
    style: null
    prompt: "@mira sits on a bench in the same greenhouse with @stone in her open palm; the camera pushes in slowly."
  - id: keepsake
    prompt: Close-up of @stone on a seed tray beside a hand-painted tag, painted in the manner of @storybook.
  - id: pond
    start: greenhouse
    prompt: "@mira kneels by the lily pond and lets @stone sink; ripples of cyan light spread across the water."
  - id: leaving
    prompt: Seen from outside, @mira closes the glass door behind her and walks into the evening, {{ lens }}.
"""


def write_project(root: Path) -> Path:
    """The storyboard above, with the greenhouse example's assets copied beside it."""
    shutil.copytree(REPO / "examples" / "greenhouse" / "assets", root / "assets")
    path = root / "storyboard.yaml"
    path.write_text(STORYBOARD, encoding="utf-8")
    return path


def _job(shot: ShotPlan, dest: Path, stand_in: Path, state: Path) -> ShotJob:
    local = {ref: (ref.path if ref.kind == "file" else stand_in) for ref in shot.assets() if ref.kind != "url"}
    return ShotJob(shot=shot, dest=dest, local_files=local, state_dir=state)


def sequential(plan: Plan, work: Path) -> float:
    """Wall seconds of ``PreviewBackend().generate`` for every shot, one after the other."""
    backend = PreviewBackend()
    stand_in = plan.root / "assets" / "greenhouse.png"
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for shot in plan.shots:
        backend.generate(_job(shot, work / f"{shot.id}.mp4", stand_in, work))
    return time.perf_counter() - t0


def build(plan: Plan, work: Path, jobs: int = 2) -> float:
    """Wall seconds of a whole preview build (fresh cache), film stitched."""
    t0 = time.perf_counter()
    outcome = run_build(
        plan,
        BuildOptions(backend="preview", jobs=jobs, out_dir=work / "build", cache_dir=work / "cache"),
        lambda e: None,
    )
    seconds = time.perf_counter() - t0
    if not outcome.ok or outcome.film is None:
        raise RuntimeError(f"preview bench: the build failed: {[(r.id, r.error) for r in outcome.results if r.error]}")
    return seconds


def moviepy_shot(plan: Plan, work: Path) -> float:
    """Wall seconds for moviepy to render the first shot's pictures with a push-in (see the docstring)."""
    import numpy as np
    from moviepy import CompositeVideoClip, ImageClip, vfx

    from storyboard.backends.preview import FPS, background_size, card_for, frame_size
    from storyboard.backends.preview_background import render_background
    from storyboard.backends.preview_card import render_overlay

    shot = plan.shots[0]
    size = frame_size(shot.aspect_ratio)
    bg_size = background_size(size)
    work.mkdir(parents=True, exist_ok=True)
    job = _job(shot, work / "moviepy.mp4", plan.root / "assets" / "greenhouse.png", work)
    t0 = time.perf_counter()
    start = job.local(shot.start) if shot.start is not None else None
    background, used = render_background(start, bg_size, shot.id, shot.index + 1)
    overlay = render_overlay(card_for(job, start_shown=used), size)
    d = float(shot.duration)
    w, bw = size[0], bg_size[0]
    bg = ImageClip(np.asarray(background.convert("RGB"))).with_duration(d)
    bg = bg.with_effects([vfx.Resize(lambda t: (w + (bw - w) * t / d) / bw)]).with_position("center")
    card = ImageClip(np.asarray(overlay.convert("RGBA")), transparent=True).with_duration(d)
    film = CompositeVideoClip([bg, card], size=size).with_duration(d)
    film.write_videofile(str(job.dest), fps=FPS, codec="libx264", preset="superfast", audio=False, logger=None)
    return time.perf_counter() - t0


def run(quick: bool, baseline: bool | None = None) -> list[dict[str, Any]]:
    """Render sequentially and through a 2-job build; per second of film (see the module docstring)."""
    baseline = (not quick) if baseline is None else baseline
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="preview-bench-") as tmp:
        root = Path(tmp)
        plan = compile_file(write_project(root / "project"))
        if quick:  # three shots, the continuity pair among them
            plan = Plan(plan.title, plan.source, plan.root, plan.shots[:3], plan.film)
        film = sum(s.duration for s in plan.shots)
        label = f"{len(plan.shots)}×5 s 1280×720"
        seq = sequential(plan, root / "seq")
        base = None
        if baseline:
            try:
                base = moviepy_shot(plan, root / "mp") / plan.shots[0].duration
            except Exception as exc:  # an optional reference: report without it
                print(f"preview bench: moviepy reference skipped ({exc.__class__.__name__}: {exc})", file=sys.stderr)
        rows.append(
            row(
                f"preview {label}, PreviewBackend.generate one by one: s per film s"
                + (" (baseline: moviepy, one shot)" if base else ""),
                seq / film,
                base,
                "s/s",
                f"≤ {GOAL:g}",
                seq / film <= GOAL,
            )
        )
        whole = build(plan, root / "b2")
        rows.append(
            row(
                f"preview {label}, whole 2-job build incl. stitch: s per film s",
                whole / film,
                None,
                "s/s",
                f"≤ {GOAL:g}",
                whole / film <= GOAL,
            )
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Print this benchmark's rows as a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three shots, no moviepy reference")
    parser.add_argument(
        "--baseline",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="render one shot with moviepy too (default: not with --quick)",
    )
    args = parser.parse_args(argv)
    print(table(run(args.quick, args.baseline)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
