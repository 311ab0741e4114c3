"""A model's own audio (Kling O3/v3 ``generate_audio``) in the film, by listening.

The real fal-client builds against the fake fal server, which returns a clip with an AAC track
(a steady tone) for a request with ``generate_audio: true`` on a model that has it, and silent
clips otherwise. Everything is measured from the files with PyAV, numpy and ffmpeg's ebur128:
the film is audible while the O3 shot plays and silent where nothing sounds, its loudness is on
target, the native stem follows the picture through the crossfade, and the timeline has the
clip's sound on its own track.
"""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio

from sbtest import write_storyboard
from storyboard.media.probe import probe
from support.cli import run_cli

KEY = "fal-test-key-native"
FAST = {"STORYBOARD_FAL_POLL": "0.05", "STORYBOARD_FAL_BACKOFF": "0.05"}
FPS = 24
CROSSFADE = 0.5
STORYBOARD = f"""\
version: 1
title: Native
voices:
  narrator: {{fal: George, preview: en}}
shots:
  - id: quiet
    duration: 3
    prompt: A still lake.
  - id: loud
    model: o3
    audio: true
    duration: 3
    transition: {{type: crossfade, duration: {CROSSFADE}}}
    prompt: A waterfall roars.
  - id: spoken
    duration: 3
    prompt: A lake at night.
    lines:
      - {{speaker: narrator, text: "The water was quiet again.", offset: 0.5}}
film:
  output: native.mp4
"""


def film_audio(path: Path) -> tuple[np.ndarray, int]:
    """The film's audio track decoded (mono mix, floats) and its rate."""
    chunks, rate = [], 0
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        rate = stream.codec_context.sample_rate
        for frame in c.decode(stream):
            data = frame.to_ndarray()
            chunks.append(data.mean(axis=0) if data.ndim == 2 and data.shape[0] <= 8 else data.reshape(-1))
    return np.concatenate(chunks).astype(np.float64), rate


def wav_samples(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        rate, ch = w.getframerate(), w.getnchannels()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768
    return data.reshape(-1, ch).mean(axis=1), rate


def rms_db(x: np.ndarray, rate: int, a: float, b: float) -> float:
    part = x[int(a * rate) : int(b * rate)]
    assert part.size > rate // 10, (a, b)
    return float(20 * np.log10(np.sqrt(np.mean(part**2)) + 1e-12))


def test_native_audio_is_heard_at_its_shot(project: Path, fake_fal) -> None:
    sb = write_storyboard(project, STORYBOARD)
    proc = run_cli("build", str(sb), "--backend", "fal", env={**fake_fal.client_env(KEY), **FAST}, timeout=600)
    assert proc.returncode == 0, proc.stderr
    o3 = [s.body for s in fake_fal.submissions if "o3" in s.endpoint]
    assert len(o3) == 1 and o3[0]["generate_audio"] is True
    build = project / "build"
    shots = build / "shots"
    assert probe(shots / "loud.mp4").has_audio and not probe(shots / "quiet.mp4").has_audio
    # where each shot plays, from the clips' own lengths: the crossfade overlaps quiet and loud
    quiet, loud = probe(shots / "quiet.mp4").duration, probe(shots / "loud.mp4").duration
    loud_start = quiet - CROSSFADE
    loud_end = loud_start + loud
    film = build / "native.mp4"
    audio, rate = film_audio(film)
    total = probe(film).duration
    assert abs(len(audio) / rate - total) <= 1 / FPS  # as long as the picture, to the frame
    # the O3 shot is heard while it plays, and nothing is heard before it
    assert rms_db(audio, rate, loud_start + 0.75, loud_end - 0.25) > -30
    assert rms_db(audio, rate, 0.0, loud_start - 0.1) < -60
    # the film is mastered to its target with the native sound in the sum
    from storyboard.media.loudness import measure_loudness

    loudness, peak = measure_loudness(film)
    assert abs(loudness - -14.0) <= 1.0 and peak <= -1.0 + 0.1
    # the native stem beside the film: the clip's sound, crossfaded in with the picture, gone after its cut
    stem, srate = wav_samples(build / "native.native.wav")
    assert abs(len(stem) / srate - total) <= 1 / FPS
    assert rms_db(stem, srate, loud_start + 0.75, loud_end - 0.25) > -30
    assert rms_db(stem, srate, 0.0, loud_start - 0.05) < -80
    assert rms_db(stem, srate, loud_end + 0.05, total) < -80
    rising = rms_db(stem, srate, loud_start, loud_start + CROSSFADE / 2)  # inside the crossfade: fading in
    assert rms_db(stem, srate, 0.0, loud_start - 0.05) < rising < rms_db(stem, srate, loud_start + 1, loud_end - 0.25)
    # the line in the last shot is on the dialogue stem, and in the film
    dialogue, drate = wav_samples(build / "native.dialogue.wav")
    assert rms_db(dialogue, drate, loud_end + 0.5, total) > -45
    assert rms_db(audio, rate, loud_end + 0.5, total) > -40
    # the timeline: the clip's own sound on a Native track, at the clip's place, pointing at a real WAV
    timeline = otio.adapters.read_from_file(str(build / "native.otio"))
    native = [t for t in timeline.audio_tracks() if t.name == "Native"]
    assert len(native) == 1
    clips = list(native[0].find_clips())
    assert [c.name for c in clips] == ["loud.native"]
    assert (build / clips[0].media_reference.target_url).is_file()
    start = native[0].range_of_child(clips[0]).start_time.value
    assert abs(start - round(loud_start * FPS)) <= 1
    # built once: a rebuild pays for nothing and leaves the film alone
    before = film.stat().st_mtime_ns
    fake_fal.reset()
    again = run_cli("build", str(sb), "--backend", "fal", env={**fake_fal.client_env(KEY), **FAST}, timeout=600)
    assert again.returncode == 0, again.stderr
    assert fake_fal.submissions == [] and fake_fal.audio_submissions == []
    assert "sound unchanged" in again.stderr and film.stat().st_mtime_ns == before


def test_a_clip_asked_to_be_silent_stays_silent(project: Path, fake_fal) -> None:
    """``audio: false`` on v3 (whose default is on): the fake returns no sound, the film has none to mix."""
    sb = write_storyboard(
        project,
        "version: 1\ntitle: Mute\nimages:\n  dawn: assets/yellow.png\nshots:\n  - id: a\n    model: v3\n    start: dawn\n"
        "    audio: false\n    duration: 3\n    prompt: A lake.\n",
    )
    proc = run_cli("build", str(sb), "--backend", "fal", env={**fake_fal.client_env(KEY), **FAST}, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert fake_fal.submissions[0].body["generate_audio"] is False
    assert not probe(project / "build" / "film.mp4").has_audio
    assert not (project / "build" / "film.native.wav").exists()


def test_the_preview_stands_in_for_a_models_own_sound(project: Path) -> None:
    """Offline, the O3 shot's clip carries a placeholder room tone, so the animatic's mix has the
    fourth stem where fal's would: heard under that shot only, silent before it."""
    sb = write_storyboard(project, STORYBOARD)
    proc = run_cli("build", str(sb), timeout=600)
    assert proc.returncode == 0, proc.stderr
    build = project / "build"
    shots = build / "shots"
    assert probe(shots / "loud.mp4").has_audio and not probe(shots / "quiet.mp4").has_audio
    loud_start = probe(shots / "quiet.mp4").duration - CROSSFADE
    loud_end = loud_start + probe(shots / "loud.mp4").duration
    stem, rate = wav_samples(build / "native.native.wav")
    assert rms_db(stem, rate, loud_start + 0.75, loud_end - 0.25) > -45
    assert rms_db(stem, rate, 0.0, loud_start - 0.05) < -80
    assert rms_db(stem, rate, loud_end + 0.05, probe(build / "native.mp4").duration) < -80
    audio, arate = film_audio(build / "native.mp4")
    assert rms_db(audio, arate, loud_start + 0.75, loud_end - 0.25) > -40
    assert rms_db(audio, arate, 0.0, loud_start - 0.1) < -60
