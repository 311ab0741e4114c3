"""Sound end to end, by listening: the real CLI builds the greenhouse example (narration, a line,
an effect, music) and the film, its stems and its subtitles are measured from the files with
ffmpeg's ebur128, PyAV and numpy — never read from storyboard's own report."""

from __future__ import annotations

import json
import re
import subprocess
import wave
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
import pytest

from support.cli import run_cli
from support.shared import copy_of

FPS = 24
TARGET = -14.0


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of the file's audio, by ffmpeg."""
    proc = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a:0",
         "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    summary = proc.stderr[proc.stderr.rfind("Summary:") :]
    i = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))  # type: ignore[union-attr]
    tp = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))  # type: ignore[union-attr]
    return i, tp


def streams(path: Path) -> dict[str, tuple[str, float, int]]:
    """type → (codec, seconds, packets) of the film's first stream of each type, decoded/demuxed by PyAV."""
    out = {}
    with av.open(str(path)) as c:
        for s in c.streams:
            if s.type in out:
                continue
            packets = [p for p in c.demux(s) if p.size]
            c.seek(0)
            end = max(float((p.pts + (p.duration or 0)) * p.time_base) for p in packets)
            out[s.type] = (s.codec_context.name, end, len(packets))
    return out


def samples(path: Path) -> tuple[np.ndarray, int]:
    """A 16-bit WAV as floats (mono mix) and its rate."""
    with wave.open(str(path), "rb") as w:
        rate, ch = w.getframerate(), w.getnchannels()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768
    return data.reshape(-1, ch).mean(axis=1), rate


def rms_db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(x**2)) + 1e-12)


def srt_cues(path: Path) -> list[tuple[float, float, str]]:
    def sec(t: str) -> float:
        h, m, rest = t.split(":")
        s, ms = rest.split(",")
        return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000

    cues = []
    for block in path.read_text("utf-8").strip().split("\n\n"):
        lines = block.splitlines()
        a, b = lines[1].split(" --> ")
        cues.append((sec(a), sec(b), " ".join(lines[2:])))
    return cues


@pytest.fixture(scope="module")
def built(greenhouse_build: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The greenhouse example built once (preview backend), copied into a private folder."""
    folder, stderr = greenhouse_build
    assert "sound: 4 generated, 0 cached, 0 failed" in stderr
    return copy_of(folder, tmp_path_factory.mktemp("sound") / "greenhouse")


def test_the_film_has_sound_as_long_as_its_picture(built: Path) -> None:
    film = built / "build" / "greenhouse.mp4"
    found = streams(film)
    assert found["video"][0] == "h264"
    assert found["audio"][0] == "aac"
    assert abs(found["audio"][1] - found["video"][1]) <= 1 / FPS  # to the frame
    assert found["subtitle"][0] == "mov_text"


def test_a_rebuild_with_nothing_changed_leaves_the_film_alone(built: Path) -> None:
    """The mux rewrites the stitched film: its stamp must follow, or every rebuild stitched and mixed again."""
    film = built / "build" / "greenhouse.mp4"
    before = (film.stat().st_mtime_ns, film.read_bytes())
    proc = run_cli("build", str(built / "storyboard.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert "sound unchanged" in proc.stderr
    assert (film.stat().st_mtime_ns, film.read_bytes()) == before


def test_the_film_is_at_its_loudness_target_under_the_true_peak_ceiling(built: Path) -> None:
    loudness, peak = ebur128(built / "build" / "greenhouse.mp4")
    assert abs(loudness - TARGET) <= 1.0
    assert peak <= -1.0


def test_stems_are_wav_beside_the_film_and_as_long_as_it(built: Path) -> None:
    film_seconds = streams(built / "build" / "greenhouse.mp4")["video"][1]
    for stem in ("dialogue", "effects", "music"):
        with wave.open(str(built / "build" / f"greenhouse.{stem}.wav"), "rb") as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (48000, 2, 2)
            assert abs(w.getnframes() / 48000 - film_seconds) <= 1 / FPS
    dialogue, _ = samples(built / "build" / "greenhouse.dialogue.wav")
    assert rms_db(dialogue) > -50  # the preview really speaks


def test_music_is_lower_while_a_line_plays_than_outside(built: Path) -> None:
    music, rate = samples(built / "build" / "greenhouse.music.wav")
    cues = srt_cues(built / "build" / "greenhouse.srt")
    assert len(cues) == 2
    (a, b, _), (c, _, _) = cues
    during = music[int((a + 0.3) * rate) : int((b - 0.1) * rate)]
    gap = music[int((b + 0.6) * rate) : int((c - 0.3) * rate)]  # between the two lines, music at full level
    assert rms_db(gap) - rms_db(during) > 6  # ducked by the cue's 12 dB, ramps aside


def test_subtitles_follow_the_speech_within_a_tenth_of_a_second(built: Path) -> None:
    voice, rate = samples(built / "build" / "greenhouse.dialogue.wav")
    window = rate // 100
    loud = np.abs(voice[: len(voice) // window * window]).reshape(-1, window).max(axis=1) > 10 ** (-40 / 20)
    cues = srt_cues(built / "build" / "greenhouse.srt")
    assert cues[0][2] == "Every summer, the old glasshouse woke up before anyone else."
    assert cues[1][2].startswith("There you are. I knew you")
    for start, end, _ in cues:
        base = max(0.0, start - 1)
        spoken = np.nonzero(loud[round(base * 100) : round((end + 1) * 100)])[0]
        onset = base + spoken[0] / 100
        offset = base + (spoken[-1] + 1) / 100
        assert abs(onset - start) <= 0.1
        assert abs(offset - end) <= 0.1
    vtt = (built / "build" / "greenhouse.vtt").read_text("utf-8")
    assert vtt.startswith("WEBVTT") and "<00:00:" in vtt  # per-word timings from the speech engine


def test_the_timeline_has_the_audio_tracks(built: Path) -> None:
    import opentimelineio as otio

    timeline = otio.adapters.read_from_file(str(built / "build" / "greenhouse.otio"))
    audio = {t.name: [c.name for c in t.find_clips()] for t in timeline.tracks if t.kind == otio.schema.TrackKind.Audio}
    assert audio == {
        "Dialogue": ["arrival.line1", "orbit.line1"],
        "Effects": ["arrival.sfx1"],
        "Music": ["music1"],
    }
    for track in timeline.tracks:
        for clip in track.find_clips():
            assert (built / "build" / clip.media_reference.target_url).exists()


def test_changing_one_line_regenerates_that_line_and_nothing_else(built: Path) -> None:
    sb = built / "storyboard.yaml"
    sb.write_text(sb.read_text("utf-8").replace("I knew you were still here.", "I knew you would wait."), "utf-8")
    proc = run_cli("build", str(sb))
    assert proc.returncode == 0, proc.stderr
    data = json.loads((built / "build" / "run_results.json").read_text())
    assert {s["id"]: s["status"] for s in data["sounds"]} == {
        "arrival.line1": "cached",
        "arrival.sfx1": "cached",
        "orbit.line1": "generated",
        "music1": "cached",
    }
    assert {s["status"] for s in data["shots"]} == {"cached"}
    assert srt_cues(built / "build" / "greenhouse.srt")[1][2] == "There you are. I knew you would wait."
    loudness, _ = ebur128(built / "build" / "greenhouse.mp4")
    assert abs(loudness - TARGET) <= 1.0


def test_status_ls_cost_and_compile_show_the_sounds(built: Path) -> None:
    sb = str(built / "storyboard.yaml")
    plan = json.loads(run_cli("compile", sb, "--json").stdout)
    assert [a["id"] for a in plan["audio"]] == ["arrival.line1", "arrival.sfx1", "orbit.line1", "music1"]
    assert plan["audio"][0]["request"]["voice"] == "George"
    status = json.loads(run_cli("status", sb, "--json").stdout)
    assert {s["state"] for s in status["sounds"]} == {"up to date"}
    listed = json.loads(run_cli("ls", sb, "--json").stdout)
    assert [s["id"] for s in listed["sounds"]] == ["arrival.line1", "arrival.sfx1", "orbit.line1", "music1"]
    cost = json.loads(run_cli("cost", sb, "--json").stdout)  # the fal cache is empty: every sound is priced
    assert len(cost["audio"]) == 4 and all(a["usd"] > 0 for a in cost["audio"])
    assert cost["total"] > sum(s["usd"] for s in cost["shots"])
    graph = run_cli("graph", sb, "--format", "text").stdout
    assert "sound music1 (music) ← fal-ai/elevenlabs/music" in graph


# -- through fal: the real fal-client and the fake fal server ---------------------------------

KEY = "fal-test-key-sound"
FAST = {"STORYBOARD_FAL_POLL": "0.05", "STORYBOARD_FAL_BACKOFF": "0.05"}


def test_fal_builds_the_sound_through_the_audio_endpoints_and_rebuilds_for_free(example, fake_fal) -> None:
    sb = example("greenhouse")
    env = {**fake_fal.client_env(KEY), **FAST}
    proc = run_cli("build", str(sb), "--backend", "fal", env=env)
    assert proc.returncode == 0, proc.stderr
    subs = fake_fal.audio_submissions
    assert sorted(s.endpoint for s in subs) == [
        "fal-ai/elevenlabs/music",
        "fal-ai/elevenlabs/sound-effects/v2",
        "fal-ai/elevenlabs/tts/eleven-v3",
        "fal-ai/elevenlabs/tts/eleven-v3",
    ]
    speech = {s.body["text"]: s.body["voice"] for s in subs if s.endpoint.endswith("tts/eleven-v3")}
    assert speech == {
        "Every summer, the old glasshouse woke up before anyone else.": "George",
        "There you are. I knew you were still here.": "Aria",
    }
    film = sb.parent / "build" / "greenhouse.mp4"
    found = streams(film)
    assert abs(found["audio"][1] - found["video"][1]) <= 1 / FPS
    assert abs(ebur128(film)[0] - TARGET) <= 1.0
    again = run_cli("build", str(sb), "--backend", "fal", env=env)
    assert again.returncode == 0, again.stderr
    assert len(fake_fal.audio_submissions) == 4 and len(fake_fal.submissions) == 4


def test_sigkill_during_speech_resumes_without_a_second_submission(example, fake_fal_factory) -> None:
    import os
    import signal
    import sys
    import time

    from storyboard.backends.fakefal import Fault
    from support.cli import cli_env

    fake = fake_fal_factory(processing_seconds=0.2)
    fake.add_fault(Fault(kind="stuck", phase="job", times=1, match="There you are", seconds=4.0))
    sb = example("greenhouse")
    env = cli_env({**fake.client_env(KEY), **FAST})
    proc = subprocess.Popen(
        [sys.executable, "-m", "storyboard", "build", str(sb), "--backend", "fal"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    spoken = lambda: [s for s in fake.audio_submissions if "There you are" in s.body.get("text", "")]  # noqa: E731
    while time.monotonic() < deadline and not spoken():
        time.sleep(0.05)
    line_id = spoken()[0].request_id if spoken() else None

    def journal() -> tuple[set[str], set[str]]:
        """(request ids journalled as submitted, keys whose submission is under way) in the build's journal."""
        ids, open_intents = set(), set()
        for path in (sb.parent / ".storyboard").rglob("journal.jsonl"):
            for line in path.read_text("utf-8").splitlines():
                try:
                    e = json.loads(line)
                except ValueError:
                    continue  # a line being written
                if e.get("event") == "submitting":
                    open_intents.add(e.get("key"))
                elif e.get("event") in ("submitted", "intent_dropped"):
                    open_intents.discard(e.get("key"))
                    ids.add(e.get("request_id"))
        return ids, open_intents

    # kill once the line's request id is journalled (it is stuck on the fake) and no other request is
    # between being sent and being journalled (a kill there holds that sound, by design, on the rerun)
    while time.monotonic() < deadline and not (line_id in (state := journal())[0] and not state[1]):
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert len(spoken()) == 1
    again = run_cli("build", str(sb), "--backend", "fal", env={**fake.client_env(KEY), **FAST})
    assert again.returncode == 0, again.stderr
    assert len(spoken()) == 1, "the line was submitted twice"
    assert "resuming request" in again.stderr
    texts = [s.body.get("text") or s.body.get("prompt") for s in fake.audio_submissions]
    assert len(texts) == len(set(texts)) == 4
