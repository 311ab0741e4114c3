"""Stitching: stream copy, normalising odd clips, smart-rendered crossfades and fades, atomic output.

Clips are tiny (320×180, 2 s) and generated once per session; every film is decoded in full.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
import pytest

from storyboard.errors import MediaError
from storyboard.media.ffmpeg import (
    ffmpeg_exe,
    house_audio_args,
    house_video_args,
    run_ffmpeg,
)
from storyboard.media.stitch import StitchReport, stitch
from storyboard.media.stitch_plan import (
    CUT,
    CopyPart,
    Join,
    Piece,
    Window,
    plan_segments,
    resolve_joins,
)
from storyboard.plan import Transition

W, H, FPS = 320, 180, 24
CUT_T = Transition("cut")


def _make(
    dest: Path,
    source: str,
    *,
    seconds: float = 2.0,
    fps: int = FPS,
    size: tuple[int, int] = (W, H),
    gop: int = 12,
    audio: bool = True,
    house: bool = True,
    vf: str | None = None,
) -> Path:
    sep = ":" if "=" in source else "="
    args = ["-f", "lavfi", "-i", f"{source}{sep}s={size[0]}x{size[1]}:r={fps}:d={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=f=440:r=48000:d={seconds}"]
    if vf:
        args += ["-vf", vf]
    if house:
        args += [*house_video_args(size[0], size[1], Fraction(fps)), "-g", str(gop), "-sc_threshold", "0"]
    else:
        args += ["-c:v", "libx264", "-preset", "medium", "-pix_fmt", "yuv420p", "-g", str(gop)]
    if audio:
        args += [*house_audio_args(48000, 2), "-shortest"]
    run_ffmpeg([*args, str(dest)], what="test clip")
    return dest


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    ramp = "geq=lum='20+3*N':cb=128:cr=128"  # frame k has luma 20+3k: a frame counter to check alignment
    return {
        "red": _make(d / "red.mp4", "color=c=red"),
        "blue": _make(d / "blue.mp4", "color=c=blue"),
        "green": _make(d / "green.mp4", "color=c=green"),
        "test": _make(d / "test.mp4", "testsrc2"),
        "ramp1": _make(d / "ramp1.mp4", "color=c=gray", vf=ramp),
        "ramp2": _make(d / "ramp2.mp4", "color=c=gray", vf=ramp),
        "ramp3": _make(d / "ramp3.mp4", "color=c=gray", vf=ramp),
        "fps30": _make(d / "fps30.mp4", "testsrc2", fps=30, gop=15),
        "big": _make(d / "big.mp4", "testsrc2", size=(640, 360)),
        "square": _make(d / "square.mp4", "color=c=yellow", size=(240, 240)),
        "mute": _make(d / "mute.mp4", "color=c=white", audio=False),
        "red1k": _make(d / "red1k.mp4", "color=c=red", gop=1000),
        "blue1k": _make(d / "blue1k.mp4", "color=c=blue", gop=1000),
        "green1k": _make(d / "green1k.mp4", "color=c=green", gop=1000),
        "foreign": _make(d / "foreign.mp4", "color=c=blue", house=False),
    }


@pytest.fixture()
def film(tmp_path: Path):
    """Stitch into a fresh folder; also checks that the scratch folder is left clean."""

    def run(paths: Sequence[Path], transitions: Sequence[Transition] | None = None, **kw: object) -> StitchReport:
        work = tmp_path / "work"
        report = stitch(
            list(paths), list(transitions or [CUT_T] * len(paths)), tmp_path / "film.mp4", workdir=work, **kw
        )
        assert list(work.iterdir()) == []
        assert [p.name for p in tmp_path.iterdir() if p.name != "work"] == ["film.mp4"]
        return report

    return run


def decode(path: Path) -> tuple[list[np.ndarray], list[int], float | None, float]:
    """Every frame (RGB), the video pts, the audio duration (s) and the video duration (s).

    ffmpeg must decode the whole film without a warning first (a missing reference or parameter
    set would show up here, where PyAV would only log it).
    """
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-v", "warning", "-i", str(path), "-f", "null", "-"], capture_output=True
    )
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr.decode()
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        tb = v.time_base
        a = c.streams.audio[0] if c.streams.audio else None
        adur = float(a.duration * a.time_base) if a is not None else None
        frames, pts = [], []
        for f in c.decode(v):
            frames.append(f.to_ndarray(format="rgb24"))
            pts.append(f.pts)
    step = pts[1] - pts[0]
    return frames, pts, adur, float(len(pts) * step * tb)


def lumas(path: Path) -> list[float]:
    """The mean luma (Y, 16–235) of each frame's centre."""
    with av.open(str(path)) as c:
        return [
            float(f.to_ndarray()[H // 2 - 4 : H // 2 + 4, W // 2 - 4 : W // 2 + 4].mean()) for f in c.decode(video=0)
        ]


def assert_gapless(pts: list[int]) -> None:
    steps = {b - a for a, b in zip(pts, pts[1:])}
    assert len(steps) == 1, f"frame timestamps are not evenly spaced: {sorted(steps)}"


def centre(frame: np.ndarray) -> np.ndarray:
    h, w, _ = frame.shape
    return frame[h // 2 - 4 : h // 2 + 4, w // 2 - 4 : w // 2 + 4].reshape(-1, 3).mean(axis=0)


# -- stream copy -------------------------------------------------------------------------------


def test_all_cuts_are_stream_copied(clips, film):
    report = film([clips["red"], clips["test"], clips["blue"]])
    assert report.method == "copy" and report.normalised == [] and report.reencoded_seconds == 0
    assert report.frames == 3 * 48 and (report.width, report.height, report.fps) == (W, H, 24)
    assert imageio_ffmpeg.count_frames_and_secs(str(report.out))[0] == 144
    frames, pts, adur, vdur = decode(report.out)
    assert len(frames) == 144 and vdur == pytest.approx(6.0)
    assert_gapless(pts)
    assert adur == pytest.approx(vdur, abs=0.05)
    assert centre(frames[47])[0] > 200 and centre(frames[48 + 48])[2] > 200  # red, then blue after the test card


def test_copy_keeps_every_frame_in_place(clips, film):
    report = film([clips["ramp1"], clips["ramp2"]])
    expected = [20 + 3 * (k % 48) for k in range(96)]
    assert lumas(report.out) == pytest.approx(expected, abs=2)


def test_a_30fps_clip_is_normalised_to_24fps_without_a_gap(clips, film):
    report = film([clips["red"], clips["fps30"], clips["blue"]])
    assert report.method == "copy" and report.normalised == [clips["fps30"]]
    assert report.frames == 3 * 48 and report.fps == 24
    frames, pts, adur, vdur = decode(report.out)
    assert len(frames) == 144
    assert_gapless(pts)
    assert adur == pytest.approx(vdur, abs=0.05)


def test_other_sizes_are_scaled_and_padded(clips, film):
    report = film([clips["test"], clips["big"], clips["square"]])
    assert set(report.normalised) == {clips["big"], clips["square"]}
    frames, pts, *_ = decode(report.out)
    assert len(frames) == report.frames == 144
    assert {f.shape for f in frames} == {(H, W, 3)}
    square = frames[96 + 24]
    assert centre(square)[0] > 200 and square[H // 2, 10].max() < 40  # yellow, pillarboxed in black


def test_a_clip_with_an_edit_list_is_normalised(clips, film, tmp_path_factory):
    trimmed = tmp_path_factory.mktemp("edit") / "trimmed.mp4"
    run_ffmpeg(["-ss", "0.3", "-i", str(clips["ramp1"]), "-c", "copy", str(trimmed)])  # an edit list hides 8 frames
    report = film([clips["ramp2"], trimmed])
    assert report.normalised == [trimmed] and report.frames == 48 + 41  # 1.7 s at 24 fps, last frame held
    assert lumas(report.out)[48:] == pytest.approx([20 + 3 * k for k in range(8, 48)] + [161], abs=3.5)
    smart = film([clips["ramp2"], trimmed], [CUT_T, Transition("crossfade", 0.25)])
    assert smart.normalised == [trimmed] and smart.frames == 48 + 41 - 6


def test_a_clip_without_sound_gets_silence(clips, film):
    report = film([clips["red"], clips["mute"], clips["blue"]])
    assert report.normalised == [clips["mute"]] and report.method == "copy"
    frames, pts, adur, vdur = decode(report.out)
    assert adur == pytest.approx(vdur, abs=0.05) and len(frames) == 144


def test_a_silent_first_clip_does_not_silence_the_film(clips, film):
    report = film([clips["mute"], clips["red"], clips["blue"]])
    frames, pts, adur, vdur = decode(report.out)
    assert adur is not None and adur == pytest.approx(vdur, abs=0.05)
    assert_gapless(pts)


def test_no_sound_anywhere_means_a_silent_film(clips, film):
    report = film([clips["mute"], clips["mute"]])
    assert decode(report.out)[2] is None and report.frames == 96


# -- smart rendering ---------------------------------------------------------------------------


def test_crossfade_blends_and_reencodes_only_the_window(clips, film):
    report = film(
        [clips["red"], clips["blue"], clips["green"]],
        [CUT_T, Transition("crossfade", 0.5), Transition("crossfade", 0.5)],
    )
    assert report.method == "smart" and report.normalised == []
    assert report.frames == 3 * 48 - 2 * 12
    assert report.reencoded_seconds <= 1.0 < report.duration / 4
    frames, pts, adur, vdur = decode(report.out)
    assert len(frames) == 120 == imageio_ffmpeg.count_frames_and_secs(str(report.out))[0]
    assert_gapless(pts)
    r, g, b = centre(frames[36 + 6])  # the middle of the red→blue crossfade
    assert 80 < r < 180 and 80 < b < 180 and g < 40
    assert centre(frames[30])[0] > 200 and centre(frames[60])[2] > 200
    assert adur == pytest.approx(vdur, abs=0.05)


def test_crossfade_keeps_frames_aligned(clips, film):
    report = film(
        [clips["ramp1"], clips["ramp2"], clips["ramp3"]],
        [CUT_T, Transition("crossfade", 0.25), Transition("fade", 0.5)],
    )
    got = lumas(report.out)
    assert len(got) == 3 * 48 - 6
    for k in range(0, 42):  # clip 1 before the crossfade
        assert got[k] == pytest.approx(20 + 3 * k, abs=2.5), k
    for k in range(6, 42):  # clip 2 between its transitions
        assert got[42 + k] == pytest.approx(20 + 3 * k, abs=2.5), k
    for k in range(6, 48):  # clip 3 after its fade-in
        assert got[90 + k] == pytest.approx(20 + 3 * k, abs=2.5), k


def test_fade_dips_to_black_without_shortening(clips, film):
    report = film([clips["red"], clips["blue"]], [CUT_T, Transition("fade", 0.5)])
    assert report.frames == 96 and report.method == "smart"
    frames, pts, adur, vdur = decode(report.out)
    assert len(frames) == 96
    assert max(centre(frames[47])) < 50 and max(centre(frames[48])) < 10
    assert centre(frames[40])[0] > 200 and centre(frames[56])[2] > 200
    assert adur == pytest.approx(vdur, abs=0.05)


def test_one_keyframe_clips_are_reencoded_correctly(clips, film):
    report = film(
        [clips["red1k"], clips["blue1k"], clips["green1k"]],
        [CUT_T, Transition("crossfade", 0.5), Transition("crossfade", 0.5)],
    )
    assert report.method == "reencode" and report.frames == 120
    frames, pts, *_ = decode(report.out)
    assert len(frames) == 120
    assert_gapless(pts)
    r, g, b = centre(frames[42])
    assert 80 < r < 180 and 80 < b < 180


def test_a_failed_splice_falls_back_to_reencoding(clips, film, monkeypatch):
    import storyboard.media.stitch as module

    real, calls = module.assemble, []

    def fail_first(segments, *args, **kwargs):
        calls.append(len(segments))
        if len(calls) == 1:
            raise module.SpliceError("simulated: copied packets do not fit")
        return real(segments, *args, **kwargs)

    monkeypatch.setattr(module, "assemble", fail_first)
    report = film([clips["red"], clips["blue"]], [CUT_T, Transition("crossfade", 0.5)])
    assert report.method == "reencode" and report.frames == 84 and report.reencoded_seconds == pytest.approx(3.5)
    assert len(decode(report.out)[0]) == 84


def test_foreign_clips_are_normalised_while_smart_rendering(clips, film):
    report = film(
        [clips["mute"], clips["foreign"], clips["fps30"]],
        [CUT_T, Transition("crossfade", 0.5), Transition("fade", 1.0)],
    )
    assert set(report.normalised) == {clips["foreign"], clips["fps30"]} and report.method == "smart"
    frames, pts, adur, vdur = decode(report.out)
    assert len(frames) == report.frames == 3 * 48 - 12
    assert_gapless(pts)
    assert adur == pytest.approx(vdur, abs=0.05)


def test_frame_rate_can_be_chosen(clips, film):
    report = film([clips["red"], clips["blue"]], fps=30)
    assert report.fps == 30 and report.frames == 120 and len(report.normalised) == 2
    frames, pts, adur, vdur = decode(report.out)
    assert len(frames) == 120 and vdur == pytest.approx(4.0)


# -- errors ------------------------------------------------------------------------------------


def test_transition_longer_than_a_clip_is_refused(clips, tmp_path):
    with pytest.raises(ValueError, match="crossfade into clip 2 lasts 3 s, but clip 1 is 2.00 s long"):
        stitch([clips["red"], clips["blue"]], [CUT_T, Transition("crossfade", 3)], tmp_path / "f.mp4", workdir=tmp_path)
    with pytest.raises(ValueError, match="clip 2 is 2.00 s long, and it has a transition on its other side"):
        stitch(
            [clips["red"], clips["blue"], clips["green"]],
            [CUT_T, Transition("fade", 1.5), Transition("crossfade", 0.5)],
            tmp_path / "f.mp4",
            workdir=tmp_path,
        )
    assert not (tmp_path / "f.mp4").exists()


def test_corrupt_input_leaves_no_film(clips, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    out = tmp_path / "out" / "film.mp4"
    with pytest.raises(MediaError):
        stitch([clips["red"], bad], [CUT_T, CUT_T], out, workdir=tmp_path / "work")
    assert not out.exists() and (not out.parent.exists() or list(out.parent.iterdir()) == [])


def test_truncated_clip_fails_without_touching_the_old_film(clips, tmp_path):
    truncated = tmp_path / "truncated.mp4"
    run_ffmpeg(["-i", str(clips["blue"]), "-c", "copy", "-movflags", "+faststart", str(truncated)])
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path / "film.mp4"
    out.write_bytes(b"the previous film")
    with pytest.raises(MediaError):
        stitch([clips["red"], truncated], [CUT_T, CUT_T], out, workdir=tmp_path / "work")
    assert out.read_bytes() == b"the previous film"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["film.mp4", "truncated.mp4", "work"]


# -- planning (pure) ---------------------------------------------------------------------------


def test_resolve_joins_in_frames():
    joins = resolve_joins(
        [CUT_T, Transition("crossfade", 0.5), Transition("fade", 1.0), Transition("crossfade", 0)],
        [5, 5, 5, 5],
        Fraction(24),
    )
    assert joins == [CUT, Join("crossfade", 12, 12), Join("fade", 12, 12), CUT]
    with pytest.raises(ValueError, match="unknown type 'wipe'"):
        resolve_joins([CUT_T, Transition("wipe", 1)], [5, 5], Fraction(24))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="2 clips but 1 transitions"):
        resolve_joins([CUT_T], [5, 5], Fraction(24))


def test_plan_copies_between_keyframes_and_merges_nothing_needlessly():
    joins = [CUT, Join("crossfade", 12, 12), CUT]
    parts = plan_segments([120, 120, 120], [(0, 48, 96)] * 3, joins)
    assert parts == [
        CopyPart(Piece(0, 0, 96), 0),
        Window((Piece(0, 96, 120), Piece(1, 0, 48)), (joins[1],), 96),
        CopyPart(Piece(1, 48, 120), 156),
        CopyPart(Piece(2, 0, 120), 228),
    ]
    assert sum(p.frames for p in parts) == 348


def test_plan_without_inner_keyframes_bounds_windows():
    xf, fade = Join("crossfade", 12, 12), Join("fade", 6, 6)
    joins = [CUT, xf, fade, xf, xf]
    parts = plan_segments([48] * 5, [(0,)] * 5, joins)
    assert all(isinstance(p, Window) for p in parts)
    # clip 3 would make a window of three clips: it is split in its untouched middle (frames 6–36)
    assert [[(q.clip, q.start, q.end) for q in p.pieces] for p in parts] == [
        [(0, 0, 48), (1, 0, 48), (2, 0, 21)],
        [(2, 21, 48), (3, 0, 48), (4, 0, 48)],
    ]
    assert [(p.film_start, p.frames) for p in parts] == [(0, 105), (105, 99)] and 105 + 99 == 5 * 48 - 36


def test_plan_splits_at_a_free_keyframe_and_can_copy_nothing():
    joins = [CUT, Join("crossfade", 6, 6), Join("crossfade", 6, 6)]
    parts = plan_segments([48, 48, 48], [(0, 24)] * 3, joins, copy=False)
    assert [[(q.clip, q.start, q.end) for q in p.pieces] for p in parts] == [
        [(0, 0, 24)],
        [(0, 24, 48), (1, 0, 24)],
        [(1, 24, 48), (2, 0, 48)],  # nothing follows clip 3, so nothing to gain from splitting it
    ]
