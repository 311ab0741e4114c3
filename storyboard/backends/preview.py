"""The ``preview`` backend: an offline, deterministic animatic of each shot.

No key, no network: every shot becomes a real H.264 clip of the right length and shape
showing its start frame (or a gradient) with a slow push-in, its references as labelled
thumbnails and its prompt with the tags highlighted. The card fades out just before the end,
so the last frame (which a continuity shot starts from) is the clean picture. Pillow draws the
pictures (:mod:`.preview_card`); ffmpeg animates and encodes them with fixed settings, so the
same shot always gives the same bytes and clips of one aspect ratio can be joined by stream copy.
A shot that asks its model for its own sound (``audio: true`` on Kling O3/v3) gets a placeholder
track, a low seeded room tone as long as the picture, so the animatic's mix has the film's
fourth stem where fal's would.
"""

from __future__ import annotations

import math
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from PIL import Image

from storyboard.backends.base import AudioJob, Backend, ImageJob, Progress, ShotJob
from storyboard.backends.preview_background import render_background, seed_bytes
from storyboard.backends.preview_card import PROGRESS_COLOR, Card, Layout, Tile, render_overlay
from storyboard.errors import BackendError, MediaError
from storyboard.media.ffmpeg import house_video_args, run_ffmpeg
from storyboard.plan import AssetRef, Plan, ShotPlan

FPS = 24
ZOOM = 1.08  # the push-in: the background ends this much larger than at the start
FADE_FRAMES = 6  # the card fades out over a quarter second (fading frames are costly to encode) …
CLEAN_FRAMES = 6  # … then the last quarter second shows the background alone
SIZES: dict[str, tuple[int, int]] = {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (960, 960)}

PREVIEW_CRF = 23  # lower quality than the house's 18: smaller, faster, plenty for an animatic
TIMESCALE = 12288  # the MP4 track timescale (ffmpeg's usual for 24 fps), pinned for stream copy


def encoder_args(size: tuple[int, int]) -> list[str]:
    """The x264 options: the house encoder's (:func:`storyboard.media.ffmpeg.house_video_args`, fast).

    So every preview clip of one shape carries the house SPS/PPS and the stitcher joins preview
    clips by stream copy. Only the CRF differs (it does not enter the parameter sets); threads
    are pinned so the bytes do not depend on the machine's core count, and keyframes fall every
    2 s exactly (no scene cuts), which gives the stitcher regular cut points.
    """
    args = house_video_args(size[0], size[1], Fraction(FPS), Fraction(1, TIMESCALE), fast=True)
    args[args.index("-crf") + 1] = str(PREVIEW_CRF)
    return [*args, "-threads", "2", "-keyint_min", str(2 * FPS), "-sc_threshold", "0"]


MUX_ARGS: tuple[str, ...] = (
    "-an", "-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1",
    "-fflags", "+bitexact", "-flags:v", "+bitexact", "-movflags", "+faststart", "-f", "mp4",
)  # fmt: skip


def frame_size(aspect_ratio: str) -> tuple[int, int]:
    """The preview's frame size for an aspect ratio ("16:9", "9:16" or "1:1")."""
    try:
        return SIZES[aspect_ratio]
    except KeyError:
        raise BackendError(f"preview: unsupported aspect ratio {aspect_ratio!r} (expected 16:9, 9:16 or 1:1)") from None


def background_size(size: tuple[int, int]) -> tuple[int, int]:
    """The background's size: the frame enlarged by :data:`ZOOM`, rounded up to even numbers."""
    w, h = size
    return 2 * math.ceil(w * ZOOM / 2), 2 * math.ceil(h * ZOOM / 2)


class PreviewBackend(Backend):
    """Renders each shot as an animatic clip locally; needs no credentials."""

    name = "preview"
    paid = False

    def prepare(self, plan: Plan, shots: list[ShotPlan], state_dir: Path) -> None:
        """Nothing to check: the preview works offline with whatever the plan holds."""

    def generate_audio(self, job: AudioJob) -> None:
        """Speech from eSpeak NG for a line; a placeholder of the right length for effects and music."""
        from storyboard.backends.preview_audio import generate_audio

        generate_audio(job)

    def generate_image(self, job: ImageJob) -> None:
        """A labelled placeholder of a generated asset's image, at the size asked (see :mod:`.preview_image`)."""
        from storyboard.backends.preview_image import generate_image

        generate_image(job)

    def generate(self, job: ShotJob) -> None:
        """Write the shot's animatic MP4 to ``job.dest``."""
        shot = job.shot
        size = frame_size(shot.aspect_ratio)
        if shot.duration < 1:
            raise BackendError(f"preview: shot {shot.id!r} has duration {shot.duration}")
        _check_cancel(job)
        job.progress(Progress(shot.id, "rendering preview", state="running"))
        # scratch inside the cache (job.scratch): what a killed build leaves there, the next one sweeps
        with tempfile.TemporaryDirectory(prefix="storyboard-preview-", dir=job.scratch) as tmp:
            bg_path, card_path = Path(tmp) / "background.rgb", Path(tmp) / "card.rgba"
            bg_size = background_size(size)
            start = job.local(shot.start) if shot.start is not None else None
            background, used_start = render_background(start, bg_size, shot.id, shot.index + 1)
            _write_raw(background, bg_path)
            card = card_for(job, start_shown=used_start)
            _write_raw(render_overlay(card, size), card_path)
            args = ffmpeg_args(bg_path, bg_size, card_path, size, shot.duration * FPS, shot.id, job.dest,
                               native_sound=bool(shot.audio))  # fmt: skip
            _check_cancel(job)
            try:
                run_ffmpeg(args, what=f"preview of {shot.id}")
            except MediaError:
                job.dest.unlink(missing_ok=True)
                raise

    def close(self) -> None:
        """Nothing to release."""


def _check_cancel(job: ShotJob) -> None:
    if job.cancel.is_set():
        raise BackendError("cancelled")


def _write_raw(img: Image.Image, path: Path) -> None:
    """Raw pixels for ffmpeg's rawvideo demuxer (much faster than PNG both ways)."""
    path.write_bytes(img.tobytes())


def card_for(job: ShotJob, *, start_shown: bool = True) -> Card:
    """What the overlay shows for the job's shot."""
    shot = job.shot
    start_tag = start_name = None
    if shot.start is not None:
        start_name = _file_name(shot.start) if shot.start.kind != "last_frame" else shot.start.display
        if shot.start in shot.image_urls:
            start_tag = f"@Image{shot.image_urls.index(shot.start) + 1}"
    return Card(
        shot_id=shot.id,
        number=shot.index + 1,
        duration=shot.duration,
        aspect_ratio=shot.aspect_ratio,
        prompt=shot.prompt,
        tiles=tiles_for(job),
        style=shot.style,
        start_tag=start_tag,
        start_name=start_name,
        start_shown=start_shown,
    )


def tiles_for(job: ShotJob) -> tuple[Tile, ...]:
    """One tile per element (its frontal image), then one per reference image but the start frame."""
    shot = job.shot
    names = {tag: m.name for m in shot.mentions for tag in m.tags}
    tiles: list[Tile] = []
    for i, el in enumerate(shot.elements, 1):
        tiles.append(_tile(job, el.frontal, f"@Element{i}", el.name, "element"))
    for i, ref in enumerate(shot.image_urls, 1):
        if ref == shot.start:
            continue
        tag = f"@Image{i}"
        tiles.append(_tile(job, ref, tag, names.get(tag) or _file_name(ref), "image"))
    if shot.end is not None and shot.end not in shot.image_urls:
        label = shot.end.display if shot.end.kind != "file" else _file_name(shot.end)
        tiles.append(_tile(job, shot.end, "end", label, "image"))
    return tuple(tiles)


def _tile(job: ShotJob, ref: AssetRef, tag: str, label: str, kind: Literal["element", "image"]) -> Tile:
    path = job.local(ref)
    note = urlsplit(ref.value).netloc if path is None and ref.kind == "url" else ""
    return Tile(tag=tag, label=label, kind=kind, path=path, note=note)


def _file_name(ref: AssetRef) -> str:
    if ref.kind == "url":
        return urlsplit(ref.value).path.rstrip("/").rsplit("/", 1)[-1] or ref.value
    return Path(ref.display).name


def _drift(shot_id: str) -> tuple[float, float]:
    """Where the push-in heads, as fractions of the spare margin (near the centre, per shot)."""
    seed = seed_bytes(shot_id)
    return 0.35 + seed[20] / 255 * 0.3, 0.35 + seed[21] / 255 * 0.3


def filter_graph(bg_size: tuple[int, int], size: tuple[int, int], frames: int, shot_id: str, bar_h: int) -> str:
    """The ffmpeg filter graph: push in on the background, lay the card over, fill the progress bar."""
    w, h = size
    bw, bh = bg_size
    last = max(1, frames - 1)
    fx, fy = _drift(shot_id)
    to_yuv = "scale=out_color_matrix=bt709:out_range=tv:flags=bilinear"
    bar_color = "0x{:02X}{:02X}{:02X}".format(*PROGRESS_COLOR[:3])
    zoom_w = f"ceil({w}+{bw - w}*n/{last})"
    zoom_h = f"ceil({h}+{bh - h}*n/{last})"
    # The card fades out just before the end so the clip's last frames show the clean background:
    # a continuity shot starts from the last frame, and must not inherit this shot's card.
    fade_n = max(1, min(FADE_FRAMES, frames // 8))
    clean_n = max(1, min(CLEAN_FRAMES, frames // 8))
    fade = f"fade=t=out:s={frames - clean_n - fade_n}:n={fade_n}:alpha=1"
    still = f"loop=loop=-1:size=1:start=0,setpts=N/{FPS}/TB"
    return ";".join(
        [
            f"[0:v]{to_yuv},format=yuv420p,{still},"
            f"scale=w='{zoom_w}':h='{zoom_h}':eval=frame:flags=bilinear,"
            f"crop={w}:{h}:x='floor((iw-ow)*{fx:.4f})':y='floor((ih-oh)*{fy:.4f})':exact=1[bg]",
            f"[1:v]{to_yuv},format=yuva420p,{still},{fade}[card]",
            f"color=c={bar_color}:s={w}x{bar_h}:r={FPS},format=yuva420p,{fade}[bar]",
            "[bg][card]overlay=format=yuv420[v1]",
            f"[v1][bar]overlay=x='-w+W*(n+1)/{frames}':y=H-h:format=yuv420:eval=frame,setsar=1[v]",
        ]
    )


def native_sound_source(frames: int, shot_id: str) -> str:
    """A lavfi source standing in for a model's own sound (``generate_audio``): a seeded, low room
    tone exactly as long as the picture, faded in and out, at about -30 dBFS RMS."""
    seconds = frames / FPS
    seed = int.from_bytes(seed_bytes(shot_id)[22:26], "big")
    fade = min(0.2, seconds / 4)
    return (
        f"anoisesrc=color=brown:amplitude=0.4:seed={seed}:sample_rate=48000:duration={seconds:.6f},"
        f"lowpass=f=700,afade=t=in:d={fade:.3f},afade=t=out:st={seconds - fade:.6f}:d={fade:.3f},"
        "aformat=sample_fmts=fltp:channel_layouts=stereo"
    )


def ffmpeg_args(
    bg_path: Path,
    bg_size: tuple[int, int],
    card_path: Path,
    size: tuple[int, int],
    frames: int,
    shot_id: str,
    dest: Path,
    *,
    native_sound: bool = False,
) -> list[str]:
    """The ffmpeg arguments that turn the raw background and card into the clip at ``dest``
    (with an AAC track standing in for the model's own sound when ``native_sound``)."""
    bar_h = Layout(*size).progress_h
    sound: list[str] = []
    mux = list(MUX_ARGS)
    if native_sound:
        sound = ["-f", "lavfi", "-i", native_sound_source(frames, shot_id)]
        mux.remove("-an")
    args = [
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s:v", f"{bg_size[0]}x{bg_size[1]}", "-i", str(bg_path),
        "-f", "rawvideo", "-pix_fmt", "rgba", "-s:v", f"{size[0]}x{size[1]}", "-i", str(card_path),
        *sound,
        "-filter_complex", filter_graph(bg_size, size, frames, shot_id, bar_h),
        "-map", "[v]", "-frames:v", str(frames),
    ]  # fmt: skip
    if native_sound:
        args += ["-map", "2:a", "-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2"]
    return [*args, *encoder_args(size), *mux, str(dest)]


__all__ = ["FPS", "SIZES", "PreviewBackend", "encoder_args", "frame_size"]
