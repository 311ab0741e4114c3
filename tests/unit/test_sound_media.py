"""The sound's pure parts: subtitle text, the film's layout in frames, the ducking envelope, the fake's
audio schema, and the preview's speech engine (eSpeak NG from its wheel) really speaking."""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import numpy as np

from storyboard.backends.fakefal import audio as fake_audio
from storyboard.media.mix import _duck_expression, layout, sound_span
from storyboard.media.subtitles import Cue, srt, webvtt
from storyboard.plan import Transition


def test_srt_and_webvtt_text() -> None:
    cues = [
        Cue(0.5, 2.25, "Every summer.", (("Every", 0.5), ("summer.", 1.2))),
        Cue(61.004, 3725.5, "Later."),
    ]
    assert srt(cues) == (
        "1\n00:00:00,500 --> 00:00:02,250\nEvery summer.\n\n2\n00:01:01,004 --> 01:02:05,500\nLater.\n"
    )
    assert webvtt(cues) == (
        "WEBVTT\n\n1\n00:00:00.500 --> 00:00:02.250\nEvery <00:00:01.200>summer.\n\n"
        "2\n00:01:01.004 --> 01:02:05.500\nLater.\n"
    )


def test_overlapping_cues_end_where_the_next_begins() -> None:
    text = srt([Cue(1.0, 4.0, "a"), Cue(3.0, 5.0, "b")])
    assert "00:00:01,000 --> 00:00:03,000\na" in text


def test_layout_counts_frames_and_overlaps_crossfades() -> None:
    lay = layout([121, 193, 121], [Transition(), Transition("crossfade", 0.5), Transition("fade", 1.0)], Fraction(24))
    assert lay.starts == (0.0, (121 - 12) / 24, (121 - 12 + 193) / 24)
    assert lay.total == (121 + 193 + 121 - 12) / 24


def test_the_ducking_envelope_dips_by_the_cues_depth() -> None:
    expr = _duck_expression([(1.0, 2.0)], 12.0)
    assert expr is not None
    floor = 10 ** (-12 / 20)

    def at(t: float) -> float:
        ramp = min(max(min((t - (1.0 - 0.15)) / 0.15, ((2.0 + 0.35) - t) / 0.35), 0), 1)
        return 1 - (1 - floor) * ramp

    assert expr.startswith(f"1-{1 - floor:.5f}*")
    assert at(0.5) == 1 and abs(at(1.5) - floor) < 1e-9 and at(3.0) == 1
    assert _duck_expression([], 12.0) is None and _duck_expression([(1.0, 2.0)], 0) is None


def test_the_fake_refuses_what_fal_would_refuse() -> None:
    assert fake_audio.validate(fake_audio.TTS, {"text": "Hi", "voice": "Aria", "timestamps": True}) == []
    errors = fake_audio.validate(fake_audio.TTS, {"text": "", "stability": 2, "sped": 1})
    assert {(tuple(e["loc"]), e["type"]) for e in errors} == {
        (("body", "sped"), "extra_forbidden"),
        (("body", "stability"), "value_error"),
        (("body", "text"), "string_too_short"),
    }
    assert fake_audio.validate(fake_audio.MUSIC, {"prompt": "x", "music_length_ms": 1000})[0]["loc"] == [
        "body",
        "music_length_ms",
    ]
    assert fake_audio.validate(fake_audio.MUSIC, {"prompt": "x", "music_length_ms": 3000.5})[0]["type"] == "type_error"
    assert fake_audio.validate(fake_audio.SFX, {"text": "x", "duration_seconds": 23})[0]["type"] == "value_error"
    assert fake_audio.validate(fake_audio.SFX, {"duration_seconds": 2})[0]["type"] == "missing"


def test_the_fakes_audio_is_real_and_as_long_as_asked(tmp_path: Path) -> None:
    from storyboard.media.mix import decode_to_wav, wav_duration

    mp3 = tmp_path / "out.mp3"
    mp3.write_bytes(fake_audio.audio_bytes(fake_audio.SFX, 2.5))
    decode_to_wav(mp3, tmp_path / "out.wav")
    assert abs(wav_duration(tmp_path / "out.wav") - 2.5) < 0.06  # MP3 frames round the end


def test_the_preview_speaks(tmp_path: Path) -> None:
    from storyboard.backends.base import AudioJob
    from storyboard.backends.preview_audio import generate_audio
    from storyboard.plan import AudioPlan, VoicePlan

    line = AudioPlan("a.line1", "line", "tts", "There you are.", "0" * 64, voice=VoicePlan("v", "Aria", "en-us"))
    job = AudioJob(line, tmp_path / "line.wav", tmp_path)
    generate_audio(job)
    with wave.open(str(job.dest), "rb") as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        seconds = w.getnframes() / w.getframerate()
    assert 0.5 < seconds < 3
    assert np.sqrt(np.mean((data / 32768.0) ** 2)) > 0.01  # audible, not a placeholder of silence
    assert [w for w, _, _ in job.words] == ["There", "you", "are."]
    assert job.words[0][1] < job.words[1][1] < job.words[2][1]
    start, end = sound_span(job.dest)
    assert 0 <= start < 0.3 and seconds - 0.3 < end <= seconds


def _tone(path: Path, seconds: float, freq: float = 330.0, amp: float = 0.25) -> None:
    rate = 48000
    t = np.arange(int(seconds * rate)) / rate
    data = (amp * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data.tobytes())


def _rms_db(path: Path, a: float, b: float) -> float:
    with wave.open(str(path), "rb") as w:
        rate, ch = w.getframerate(), w.getnchannels()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768
    x = x.reshape(-1, ch).mean(axis=1)[int(a * rate) : int(b * rate)]
    return float(20 * np.log10(np.sqrt(np.mean(x**2)) + 1e-12))


def test_native_sound_is_a_fourth_stem_that_follows_the_picture_and_does_not_duck_music(tmp_path: Path) -> None:
    from storyboard.media.mix import Sound, render_stems, stems_of

    # two 2-s clips crossfaded over 0.5 s; only the second has its own sound; music throughout
    lay = layout([48, 48], [Transition(), Transition(type="crossfade", duration=0.5)], Fraction(24))
    native, music = tmp_path / "native.wav", tmp_path / "music.wav"
    _tone(native, 2.0)
    _tone(music, 4.0, freq=110.0, amp=0.1)
    sounds = [
        Sound("b.native", "native", native, 0.0, shot=1),
        Sound("m", "music", music, 0.0, -6.0, length=lay.total, file_seconds=4.0, duck=12),
    ]
    assert stems_of(sounds) == ("dialogue", "effects", "music", "native")
    assert stems_of(sounds[1:]) == ("dialogue", "effects", "music")
    stems = {s: tmp_path / f"film.{s}.wav" for s in stems_of(sounds)}
    render_stems(sounds, lay, [], stems, tmp_path / "premix.wav")
    start = lay.starts[1]  # 1.5 s: the second clip begins where the crossfade does
    assert abs(start - 1.5) < 1e-9
    assert _rms_db(stems["native"], 0.0, start - 0.02) < -80  # nothing before its clip
    fading = _rms_db(stems["native"], start, start + 0.25)
    full = _rms_db(stems["native"], start + 0.6, lay.total - 0.05)
    assert -80 < fading < full - 3  # rising through the crossfade
    assert full > -20
    # the music is not ducked under a clip's own sound: as loud during it as before it
    assert abs(_rms_db(stems["music"], 1.2, 1.45) - _rms_db(stems["music"], 2.5, 3.0)) < 1.0


def _peaky(path: Path, seconds: float = 8.0) -> None:
    """Speech-like bursts over a quiet bed: the limiter takes a different share at each gain."""
    rate = 48000
    t = np.arange(int(seconds * rate)) / rate
    bursts = (
        (np.sin(2 * np.pi * 0.7 * t) > 0.3) * 0.08 * np.sin(2 * np.pi * 440 * t) * np.abs(np.sin(2 * np.pi * 3 * t))
    )
    clicks = np.where(
        np.arange(t.size) % (rate // 10) < rate // 1000, 0.5, 0.0
    )  # 1 ms at 10 Hz: peaks, little loudness
    data = ((bursts + clicks + 0.002 * np.sin(2 * np.pi * 110 * t)) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data.tobytes())


def test_loudness_at_measures_each_chain_in_its_own_order(tmp_path: Path) -> None:
    from storyboard.media.loudness import Master, loudness_at, measure_loudness

    premix = tmp_path / "premix.wav"
    _tone(premix, 4.0, amp=0.05)  # quiet: no chain below reaches the limiter
    alone, _ = measure_loudness(premix)
    got = loudness_at(premix, [Master(0.0), Master(-6.0), Master(3.0)])
    assert [round(x - alone) for x in got] == [0, -6, 3]  # every summary read from its own filter


def test_master_lands_the_limited_mix_on_the_target(tmp_path: Path) -> None:
    from storyboard.media.loudness import loudness_at, master, measure_loudness

    premix = tmp_path / "premix.wav"
    _peaky(premix)
    before, _ = measure_loudness(premix)
    settings = master(premix, -14.0, -1.5, before)
    assert settings.gain is not None and settings.gain > -14.0 - before  # the limiter's loss is made up
    assert abs(loudness_at(premix, [settings])[0] + 14.0) <= 0.2
    silent = tmp_path / "silent.wav"
    _tone(silent, 1.0, amp=0.0)
    assert master(silent, -14.0, -1.5, -120.0).chain() == "anull"  # silence stays silence


def test_loudness_is_read_from_the_summary_not_a_line_per_tenth_of_a_second(tmp_path: Path, monkeypatch) -> None:
    """ebur128 logs every 100 ms frame at ffmpeg's info level unless told not to: an hour's film would
    hand back 36,000 lines to find one summary. The stems' run and the film's measure keep to the summaries."""
    import storyboard.media.loudness as loudness
    from storyboard.media.mix import Sound, render_stems, stems_of

    logs: list[str] = []
    real = loudness.run_ffmpeg

    def spy(args: list[str], **kwargs: object) -> str:  # calls through: only the log is kept
        log = real(args, **kwargs)  # type: ignore[arg-type]
        logs.append(log)
        return log

    monkeypatch.setattr(loudness, "run_ffmpeg", spy)
    lay = layout([480], [Transition()], Fraction(24))  # 20 s
    music = tmp_path / "music.wav"
    _tone(music, 20.0, freq=110.0)
    sounds = [Sound("m", "music", music, 0.0, length=lay.total, file_seconds=20.0)]
    stems = {s: tmp_path / f"film.{s}.wav" for s in stems_of(sounds)}
    premix = tmp_path / "premix.wav"
    summed = render_stems(sounds, lay, [], stems, premix)
    measured, _ = loudness.measure_loudness(premix)
    assert abs(summed - measured) < 0.1  # the summary is still read, and it is the file's
    per_frame = [sum(" M:" in line for line in log.splitlines()) for log in logs]
    assert per_frame == [0, 0], per_frame
