"""media.extract_last_frame: the true last frame, fast, for long and short clips."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from storyboard.errors import MediaError
from storyboard.media.ffmpeg import run_ffmpeg
from storyboard.media.frames import extract_last_frame


def _clip(path: Path, seconds: float, gop: int = 48) -> Path:
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=320x180:rate=24:duration={seconds}",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-g",
            str(gop),
            str(path),
        ]
    )
    return path


def _decoded_last(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        frames = list(c.decode(video=0))
    return np.asarray(frames[-1].to_image(), dtype=np.int16)


@pytest.mark.parametrize("seconds,gop", [(5, 48), (0.5, 48), (3, 1000)])
def test_extracts_the_true_last_frame(tmp_path, seconds, gop):
    clip = _clip(tmp_path / "c.mp4", seconds, gop)
    out = extract_last_frame(clip, tmp_path / "frames" / "last.png")
    with Image.open(out) as im:
        got = np.asarray(im.convert("RGB"), dtype=np.int16)
    want = _decoded_last(clip)
    assert got.shape == want.shape == (180, 320, 3)
    assert np.abs(got - want).max() == 0
    # and it is not some earlier frame (testsrc2 moves every frame)
    with av.open(str(clip)) as c:
        frames = list(c.decode(video=0))
    if len(frames) > 1:
        earlier = np.asarray(frames[-2].to_image(), dtype=np.int16)
        assert np.abs(got - earlier).max() > 0
    assert not list(out.parent.glob(".*.tmp.png"))


def test_a_file_that_is_not_a_video_is_a_media_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(MediaError):
        extract_last_frame(bad, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
