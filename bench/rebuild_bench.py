"""Rebuild benchmark: after a full build, how many generations does each kind of edit cost?

A 12-shot storyboard (three continuity chains of four, three characters, a style, two location
images) is built once with :class:`bench.backends.LatencyBackend` (no latency; it records every
``generate`` call), through :func:`storyboard.build.run.run_build` — the code path of
``storyboard build`` — with a fresh compile before every build. Then, one after the other:

(a) nothing changes;
(b) one character's frontal image is saved again with one pixel changed;
(c) one shot's prompt is changed;
(d) one shot is inserted in the middle of a chain (the next shot now continues from it).

For each, the generations made are compared with the minimal set computed independently of
storyboard's keys, from this module's own model of the storyboard: the shots whose own inputs
changed (prompt, the files they use, their start) plus everything downstream of them by
continuity. Goal: exactly the minimal set (ratio 1.0), and nothing at all for (a).

Run alone: ``python bench/rebuild_bench.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.backends import LatencyBackend  # noqa: E402
from bench.common import row, table, write_png  # noqa: E402
from storyboard.build.run import BuildOptions, run_build  # noqa: E402
from storyboard.compiler.compile import compile_file  # noqa: E402

CHARACTERS = {"mira": "assets/mira.png", "kai": "assets/kai.png", "ada": "assets/ada.png"}
STYLE = ("assets/style_a.png", "assets/style_b.png")
IMAGES = {"greenhouse": "assets/greenhouse.png", "harbour": "assets/harbour.png"}


@dataclass(frozen=True)
class Shot:
    """This benchmark's own model of a shot: what it is made of."""

    id: str
    prompt: str
    start: str  # an image name or "<shot>.last_frame"
    duration: int = 5
    uses_style: bool = True

    def upstream(self) -> str | None:
        """The shot this one continues from, if any."""
        return self.start[: -len(".last_frame")] if self.start.endswith(".last_frame") else None

    def files(self) -> set[str]:
        """Every file the shot's request uses (its start image, the characters it names, the style)."""
        out = {CHARACTERS[n] for n in CHARACTERS if f"@{n}" in self.prompt}
        if self.start in IMAGES:
            out.add(IMAGES[self.start])
        if self.uses_style:
            out.update(STYLE)
        return out


@dataclass
class Story:
    """The storyboard as this benchmark sees it, and the bytes of its files."""

    shots: list[Shot]
    digests: dict[str, str] = field(default_factory=dict)

    def yaml(self) -> str:
        """The storyboard file."""
        lines = [
            "version: 1",
            "title: Rebuild bench",
            'defaults: {duration: 5, aspect_ratio: "16:9", style: paper}',
            "characters:",
        ]
        lines += [f"  {n}: {{image: {p}}}" for n, p in CHARACTERS.items()]
        lines += ["styles:", f"  paper: {{images: [{', '.join(STYLE)}]}}", "images:"]
        lines += [f"  {n}: {p}" for n, p in IMAGES.items()]
        lines.append("shots:")
        for s in self.shots:
            lines += [
                f"  - id: {s.id}",
                f"    start: {s.start}",
                f"    duration: {s.duration}",
                f"    prompt: {s.prompt}",
            ]
            if not s.uses_style:
                lines.append("    style: null")
        return "\n".join(lines) + "\n"


def initial_story() -> Story:
    """Three chains of four shots, each starting from a location image; one shot of chain b has no style."""
    shots: list[Shot] = []
    cast = [("a", "greenhouse", "@mira"), ("b", "harbour", "@kai"), ("c", "greenhouse", "@ada and @mira")]
    for chain, place, who in cast:
        for j in range(4):
            start = place if j == 0 else f"{chain}{j}.last_frame"
            shots.append(
                Shot(
                    f"{chain}{j + 1}",
                    f"Shot {chain}{j + 1}, {who} walks on, the camera follows.",
                    start,
                    duration=5 if j % 2 == 0 else 4,
                    uses_style=chain != "b" or j != 2,
                )
            )
    return Story(shots)


def minimal_set(before: Story, after: Story) -> set[str]:
    """Shots of ``after`` whose own inputs differ from ``before`` (or that are new), plus their downstream."""
    old = {s.id: s for s in before.shots}
    changed: set[str] = set()
    for s in after.shots:
        prior = old.get(s.id)
        if prior is None or prior != s or any(before.digests[f] != after.digests[f] for f in s.files()):
            changed.add(s.id)
    downstream = {s.id: [t.id for t in after.shots if t.upstream() == s.id] for s in after.shots}
    stack = list(changed)
    while stack:
        for nxt in downstream[stack.pop()]:
            if nxt not in changed:
                changed.add(nxt)
                stack.append(nxt)
    return changed


def _digests(root: Path) -> dict[str, str]:
    files = [*CHARACTERS.values(), *STYLE, *IMAGES.values()]
    return {f: hashlib.sha256((root / f).read_bytes()).hexdigest() for f in files}


def _write_assets(root: Path) -> None:
    colours = [(200, 60, 50), (40, 160, 60), (40, 70, 200), (230, 210, 50), (190, 50, 170)]
    for path, rgb in zip([*CHARACTERS.values(), *STYLE], colours):
        write_png(root / path, rgb)
    for i, path in enumerate(IMAGES.values()):
        write_png(root / path, (60 + 80 * i, 110, 140), (640, 360))


def _touch_pixel(path: Path) -> None:
    """Save the image again with its top-left pixel changed."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        r, g, b = im.getpixel((0, 0))
        im.putpixel((0, 0), ((r + 1) % 256, g, b))
        im.save(path, format="PNG")


class Project:
    """The storyboard on disk, its build folder and cache, and the backend that counts generations."""

    def __init__(self, root: Path):
        self.root = root
        _write_assets(root)
        self.story = initial_story()
        self.story.digests = _digests(root)
        self.backend = LatencyBackend(0.0, root / "clips")

    def build(self) -> list[str]:
        """Write the storyboard, compile it, build it; the shot ids generated, in order."""
        path = self.root / "storyboard.yaml"
        path.write_text(self.story.yaml(), encoding="utf-8")
        plan = compile_file(path)
        before = len(self.backend.calls)
        outcome = run_build(
            plan,
            BuildOptions(backend="bench", jobs=2, out_dir=self.root / "build", cache_dir=self.root / "cache"),
            lambda e: None,
            backend=self.backend,
        )
        if not outcome.ok or outcome.film is None:
            raise RuntimeError(
                f"rebuild bench: the build failed: {[(r.id, r.error) for r in outcome.results if r.error]}"
            )
        return self.backend.calls[before:]

    def change(self, edit: str) -> Story:
        """Apply one edit to the files and to the model; returns the story before it."""
        before = Story(list(self.story.shots), dict(self.story.digests))
        shots = self.story.shots
        if edit == "image":
            _touch_pixel(self.root / CHARACTERS["mira"])
        elif edit == "prompt":
            i = next(i for i, s in enumerate(shots) if s.id == "c2")
            shots[i] = replace(shots[i], prompt=shots[i].prompt.replace("walks on", "stops and turns"))
        elif edit == "insert":
            i = next(i for i, s in enumerate(shots) if s.id == "a3")  # between a2 and a3
            shots.insert(i, Shot("a2b", "Shot a2b, @mira kneels by the pond.", "a2.last_frame"))
            shots[i + 1] = replace(shots[i + 1], start="a2b.last_frame")
        self.story.digests = _digests(self.root)
        return before


CASES = (
    ("(a) no change", None),
    ("(b) one character image changed (one pixel)", "image"),
    ("(c) one prompt changed", "prompt"),
    ("(d) one shot inserted mid-chain", "insert"),
)


def run(quick: bool) -> list[dict[str, Any]]:
    """Build, then rebuild after each edit; one row per edit (``quick`` changes nothing: it is fast)."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="rebuild-bench-") as tmp:
        project = Project(Path(tmp))
        first = project.build()
        if sorted(first) != sorted(s.id for s in project.story.shots):
            raise RuntimeError(f"rebuild bench: the first build generated {first}")
        for label, edit in CASES:
            before = project.change(edit) if edit else Story(list(project.story.shots), dict(project.story.digests))
            made = project.build()
            need = minimal_set(before, project.story)
            extra = sorted(set(made) - need)
            missing = sorted(need - set(made))
            dupes = len(made) - len(set(made))
            exact = not extra and not missing and not dupes
            ratio = len(made) / len(need) if need else (1.0 if not made else None)
            goal = "0 generations" if not need else "ratio = 1.0 (exactly the minimal set)"
            name = f"rebuild 12 shots, {label}: generations vs minimal"
            if extra or missing:
                name += f" (extra {extra}, missing {missing})"
            rows.append(row(name, len(made), len(need), "shots", goal, exact, ratio=ratio, digits=0))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Print this benchmark's rows as a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the same (this benchmark is already quick)")
    args = parser.parse_args(argv)
    print(table(run(args.quick)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
