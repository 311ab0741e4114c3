"""The preview backend: real, deterministic H.264 animatics of each shot, offline."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from fractions import Fraction
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image, ImageDraw

from storyboard.backends import preview as preview_mod
from storyboard.backends.base import Backend, Progress, ShotJob
from storyboard.backends.preview import SIZES, PreviewBackend, tiles_for
from storyboard.backends.preview_text import split_runs, wrap_prompt
from storyboard.errors import BackendError, MediaError
from storyboard.media.ffmpeg import house_extradata
from storyboard.media.probe import probe, scan_video
from storyboard.plan import AssetRef, ElementRef, Mention, ShotPlan

URL = "https://cdn.example.com/refs/storm-sky.jpg"
PROMPT = (
    "@Image1 Slow push in on the harbor at dusk. @Element1 walks along the pier holding @Element2; "
    "storm clouds like @Image3 gather over @Image2."
)


def _png(path: Path, size: tuple[int, int], color: tuple[int, int, int]) -> Path:
    """A test picture with some structure (so motion and thumbnails are visible)."""
    img = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.ellipse((w * 0.25, h * 0.2, w * 0.75, h * 0.8), fill=(255 - color[0], 255 - color[1], 255 - color[2]))
    for x in range(0, w, 40):
        draw.line((x, 0, x, h), fill=(255, 255, 255), width=3)
    img.save(path)
    return path


def _ref(path: Path) -> AssetRef:
    return AssetRef("file", str(path), path.name, hashlib.sha256(path.read_bytes()).hexdigest())


class Assets:
    """The pictures of one test storyboard."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.start = _ref(_png(root / "start.png", (640, 400), (40, 70, 120)))
        self.mira = _ref(_png(root / "mira.png", (320, 400), (200, 90, 60)))
        self.lantern = _ref(_png(root / "lantern.png", (300, 300), (230, 200, 60)))
        self.harbor = _ref(_png(root / "harbor.png", (400, 300), (30, 150, 110)))
        self.url = AssetRef("url", URL, URL)

    def shot(self, *, aspect: str = "16:9", duration: int = 2, start: bool = True, shot_id: str = "harbor") -> ShotPlan:
        """A shot using every kind of asset: start frame, two elements, a file image and a URL."""
        images = ((self.start,) if start else ()) + (self.harbor, self.url)
        return ShotPlan(
            id=shot_id,
            index=2,
            model="kling-o1",
            endpoint="fal-ai/kling-video/o1/reference-to-video",
            prompt=PROMPT,
            image_urls=images,
            elements=(ElementRef("mira", self.mira), ElementRef("props.lantern", self.lantern, (self.harbor,))),
            duration=duration,
            aspect_ratio=aspect,
            depends_on=(),
            key="ab" * 32,
            start=self.start if start else None,
            style="noir",
            mentions=(Mention("harbor", "image", ("@Image2",)), Mention("mira", "character", ("@Element1",))),
        )

    def job(self, shot: ShotPlan, dest: Path, **kw: object) -> ShotJob:
        """A job with every local asset resolved (the URL stays remote)."""
        files = {a: a.path for a in (self.start, self.mira, self.lantern, self.harbor)}
        return ShotJob(shot=shot, dest=dest, local_files=files, state_dir=self.root / "state", **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> Assets:
    return Assets(tmp_path_factory.mktemp("assets"))


@pytest.fixture(scope="module")
def clip(assets: Assets, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 5-second 16:9 clip, rendered once for the tests that only read it."""
    dest = tmp_path_factory.mktemp("clip") / "harbor.mp4"
    PreviewBackend().generate(assets.job(assets.shot(duration=5), dest))
    return dest


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_is_a_backend() -> None:
    backend = PreviewBackend()
    assert isinstance(backend, Backend)
    assert backend.name == "preview"
    backend.close()


def test_prepare_needs_nothing(tmp_path: Path) -> None:
    PreviewBackend().prepare(None, [], tmp_path)  # type: ignore[arg-type]


def test_clip_is_h264_yuv420p_24fps_exact_frames_no_audio(clip: Path) -> None:
    with av.open(str(clip)) as container:
        assert not container.streams.audio
        v = container.streams.video[0]
        assert v.codec_context.name == "h264"
        assert v.codec_context.pix_fmt == "yuv420p"
        assert v.codec_context.profile == "High"
        assert v.average_rate == 24
        assert (v.codec_context.width, v.codec_context.height) == (1280, 720)
    frames, secs = imageio_ffmpeg.count_frames_and_secs(str(clip))
    assert frames == 5 * 24
    assert secs == pytest.approx(5.0)


@pytest.mark.parametrize("aspect", ["16:9", "9:16", "1:1"])
def test_size_per_aspect_ratio(assets: Assets, tmp_path: Path, aspect: str) -> None:
    dest = tmp_path / "out.mp4"
    PreviewBackend().generate(assets.job(assets.shot(aspect=aspect, duration=1), dest))
    with av.open(str(dest)) as container:
        v = container.streams.video[0]
        assert (v.codec_context.width, v.codec_context.height) == SIZES[aspect]
        assert v.average_rate == 24
    assert imageio_ffmpeg.count_frames_and_secs(str(dest))[0] == 24
    # The house encoder's parameter sets: the stitcher can join preview clips by stream copy.
    assert probe(dest).extradata == house_extradata(*SIZES[aspect], Fraction(24))


def test_keyframes_every_two_seconds(clip: Path) -> None:
    scan = scan_video(clip)
    assert scan.regular
    assert scan.cut_points[:3] == (0, 48, 96)


def test_same_job_gives_same_bytes(assets: Assets, clip: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.mp4"
    PreviewBackend().generate(assets.job(assets.shot(duration=5), again))
    assert _sha(again) == _sha(clip)


def test_parallel_renders_are_identical(assets: Assets, tmp_path: Path) -> None:
    dests = [tmp_path / f"p{i}.mp4" for i in range(2)]
    backend = PreviewBackend()
    threads = [threading.Thread(target=backend.generate, args=(assets.job(assets.shot(duration=1), d),)) for d in dests]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _sha(dests[0]) == _sha(dests[1])


def test_first_frame_is_drawn_and_the_background_moves(clip: Path) -> None:
    frames = _frames(clip)
    first, last = frames[0].astype(int), frames[-1].astype(int)
    assert first.std() > 20  # not a uniform frame
    # Right of the thumbnails, between the header and the prompt: only the background shows there.
    region = (slice(120, 300), slice(700, 1200))
    assert np.abs(first[region] - last[region]).mean() > 5
    # The card does not move: the shot id's white letters stay where they were (until it fades).
    header = (slice(10, 55), slice(150, 400))
    letters = first[header].min(axis=-1) > 225
    assert letters.sum() > 200
    assert frames[100][header][letters].min(axis=-1).mean() > 215


def test_last_frame_is_the_clean_background(assets: Assets, tmp_path: Path) -> None:
    """A continuity shot starts from the last frame: it must not carry this shot's card."""
    plain = tmp_path / "plain.png"
    Image.new("RGB", (640, 360), (90, 140, 200)).save(plain)
    ref = _ref(plain)
    shot = dataclasses.replace(assets.shot(duration=1), start=ref, image_urls=(ref,))
    job = assets.job(shot, tmp_path / "out.mp4")
    job.local_files[ref] = plain
    PreviewBackend().generate(job)
    frames = _frames(job.dest)
    assert np.abs(frames[-1].astype(int) - (90, 140, 200)).max() <= 4
    assert np.abs(frames[0].astype(int) - (90, 140, 200)).max() > 100  # the card was there


def test_no_start_frame(assets: Assets, tmp_path: Path) -> None:
    dest = tmp_path / "nostart.mp4"
    PreviewBackend().generate(assets.job(assets.shot(start=False, duration=2), dest))
    assert imageio_ffmpeg.count_frames_and_secs(str(dest))[0] == 48
    frames = _frames(dest)
    first, last = frames[0].astype(int), frames[-1].astype(int)
    assert first.std() > 10
    assert np.abs(first - last).mean() > 0.5


def test_gradient_is_seeded_by_shot_id(assets: Assets, tmp_path: Path) -> None:
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    PreviewBackend().generate(assets.job(assets.shot(start=False, duration=1, shot_id="one"), a))
    PreviewBackend().generate(assets.job(assets.shot(start=False, duration=1, shot_id="two"), b))
    assert _sha(a) != _sha(b)


def test_start_frame_given_as_url_falls_back(assets: Assets, tmp_path: Path) -> None:
    shot = assets.shot(duration=1)
    job = assets.job(shot, tmp_path / "out.mp4")
    job.local_files.pop(assets.start)
    PreviewBackend().generate(job)
    assert imageio_ffmpeg.count_frames_and_secs(str(job.dest))[0] == 24


def test_cancel_before_start(assets: Assets, tmp_path: Path) -> None:
    job = assets.job(assets.shot(), tmp_path / "out.mp4")
    job.cancel.set()
    with pytest.raises(BackendError, match="cancelled"):
        PreviewBackend().generate(job)
    assert not job.dest.exists()


def test_reports_progress(assets: Assets, tmp_path: Path) -> None:
    events: list[Progress] = []
    job = assets.job(assets.shot(duration=1), tmp_path / "out.mp4", progress=events.append)
    PreviewBackend().generate(job)
    assert events == [Progress("harbor", "rendering preview", state="running")]


def test_temp_files_are_cleaned_up(assets: Assets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr("tempfile.tempdir", None)
    PreviewBackend().generate(assets.job(assets.shot(duration=1), tmp_path / "out.mp4"))
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "scratch"]


def test_ffmpeg_failure_is_a_media_error(assets: Assets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preview_mod, "MUX_ARGS", ("-no-such-option", "1", *preview_mod.MUX_ARGS))
    job = assets.job(assets.shot(duration=1), tmp_path / "out.mp4")
    with pytest.raises(MediaError):
        PreviewBackend().generate(job)
    assert not job.dest.exists()


def test_unsupported_aspect_ratio(assets: Assets, tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="aspect ratio"):
        PreviewBackend().generate(assets.job(assets.shot(aspect="4:3"), tmp_path / "out.mp4"))


def test_tiles_name_and_tag_each_reference(assets: Assets, tmp_path: Path) -> None:
    tiles = tiles_for(assets.job(assets.shot(), tmp_path / "x.mp4"))
    assert [(t.tag, t.label, t.kind) for t in tiles] == [
        ("@Element1", "mira", "element"),
        ("@Element2", "props.lantern", "element"),
        ("@Image2", "harbor", "image"),  # the name from the mention
        ("@Image3", "storm-sky.jpg", "image"),  # no mention: the file name
    ]
    assert tiles[0].path == assets.mira.path
    assert tiles[3].path is None and tiles[3].note == "cdn.example.com"


def test_split_runs_marks_tags() -> None:
    assert split_runs("(@Element1's") == [("(", False), ("@Element1", True), ("'s", False)]
    assert split_runs("@Image12,") == [("@Image12", True), (",", False)]
    assert split_runs("plain") == [("plain", False)]


def test_wrap_prompt_fits_width_and_keeps_words() -> None:
    measure = lambda run: 10.0 * len(run[0])  # noqa: E731
    lines = wrap_prompt("one two three @Element1 four\nnext", 150, measure)
    assert all(sum(measure(r) for r in line) <= 150 for line in lines)
    text = ["".join(t for t, _ in line) for line in lines]
    assert text == ["one two three", "@Element1 four", "next"]
    assert ("@Element1", True) in lines[1]


def test_wrap_prompt_breaks_overlong_words() -> None:
    measure = lambda run: 10.0 * len(run[0])  # noqa: E731
    lines = wrap_prompt("x" * 35, 100, measure)
    assert ["".join(t for t, _ in line) for line in lines] == ["x" * 10, "x" * 10, "x" * 10, "x" * 5]


def test_cover_fills_a_frame_whose_width_matches_the_image_exactly() -> None:
    """A 1344×768 start image (a generated 16:9 image) covering the 1384×778 background: the
    scale rounds the crop a hair past the image's edge, which Pillow refused ("box offset can't
    be negative") and failed the shot."""
    from PIL import Image

    from storyboard.backends.preview_background import cover

    out = cover(Image.new("RGB", (1344, 768), (10, 20, 30)), (1384, 778))
    assert out.size == (1384, 778)
