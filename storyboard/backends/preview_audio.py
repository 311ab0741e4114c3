"""The preview's sound: real speech from eSpeak NG, and placeholders for effects and music.

Speech comes from the eSpeak NG library bundled in the ``espeakng-loader`` wheel (a declared
dependency, so ``pip install`` is the whole set-up), called through ctypes in synchronous mode:
the samples and the per-word timings come back through a callback. eSpeak keeps global state,
so one lock serialises syntheses (a line takes tens of milliseconds). Effects are a shaped burst
of pink noise and music a soft chord with a slow swell, each of the requested length, made by
ffmpeg's generators with a seed from the sound's key, so the same plan gives the same bytes.
"""

from __future__ import annotations

import array
import ctypes
import threading
import wave
from pathlib import Path

from storyboard.backends.base import AudioJob, Progress
from storyboard.errors import BackendError
from storyboard.media.ffmpeg import run_ffmpeg

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_EVENT_END_OF_LIST, _EVENT_WORD = 0, 1
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE = 1


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


class Speaker:
    """eSpeak NG in this process: :meth:`say` returns mono 16-bit samples and word timings."""

    _lock = threading.Lock()
    _instance: Speaker | None = None

    def __init__(self) -> None:
        try:
            import espeakng_loader  # type: ignore[import-untyped]
        except ImportError:  # pragma: no cover - a declared dependency
            raise BackendError(
                "preview speech needs the espeakng-loader package: pip install espeakng-loader"
            ) from None
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
            ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if rate <= 0:
            raise BackendError("eSpeak NG did not start (espeak_Initialize failed)")
        self.lib, self.sample_rate = lib, rate
        self._samples = array.array("h")
        self._words: list[tuple[int, int, int]] = []
        self._callback = _Callback(self._collect)  # kept referenced: eSpeak calls it later
        lib.espeak_SetSynthCallback(self._callback)

    @classmethod
    def get(cls) -> Speaker:
        """The one speaker of this process (made at first use)."""
        with cls._lock:
            if cls._instance is None:
                cls._instance = Speaker()
            return cls._instance

    def _collect(self, wav: ctypes.Array, count: int, events: ctypes.Array) -> int:
        if count > 0:
            self._samples.extend(wav[:count])
        i = 0
        while events[i].type != _EVENT_END_OF_LIST:
            if events[i].type == _EVENT_WORD:
                e = events[i]
                self._words.append((e.text_position, e.length, e.audio_position))
            i += 1
        return 0

    def say(self, text: str, voice: str, rate: int) -> tuple[array.array, list[tuple[str, float, float]]]:
        """Samples of ``text`` spoken by eSpeak voice ``voice`` at ``rate`` words a minute, and word timings."""
        with self._lock:
            self._samples, self._words = array.array("h"), []
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise BackendError(
                    f"preview: eSpeak NG has no voice {voice!r} (try en, en-us, en-us+f3, en+m3, fr, de)"
                )
            self.lib.espeak_SetParameter(_PARAM_RATE, rate, 0)
            data = text.encode("utf-8")
            if self.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None) != 0:
                raise BackendError("preview: eSpeak NG could not speak the line")
            self.lib.espeak_Synchronize()
            samples, raw = self._samples, self._words
        total = len(samples) / self.sample_rate
        tokens = text.split()  # the words as written, punctuation kept, when eSpeak saw as many
        words = []
        for n, (pos, length, ms) in enumerate(raw):
            word = tokens[n] if len(tokens) == len(raw) else text[pos - 1 : pos - 1 + length]
            end = raw[n + 1][2] / 1000 if n + 1 < len(raw) else total
            words.append((word, ms / 1000, end))
        return samples, words


def speak(job: AudioJob) -> None:
    """Write the line's speech as a WAV to ``job.dest`` and its word timings to ``job.words``."""
    voice = job.audio.voice
    assert voice is not None
    job.progress(Progress(job.id, f"speaking ({voice.preview})", state="running"))
    speaker = Speaker.get()
    samples, words = speaker.say(job.audio.text, voice.preview, voice.rate)
    if not samples:
        raise BackendError(f"preview: eSpeak NG produced no sound for {job.id!r}")
    with wave.open(str(job.dest), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(speaker.sample_rate)
        w.writeframes(samples.tobytes())
    job.words[:] = words


def placeholder(job: AudioJob) -> None:
    """Write a stand-in effect (pink-noise burst) or music (a soft swelling chord) of the right length."""
    audio = job.audio
    seconds = float(audio.seconds or 1.0)
    seed = int(audio.key[:8], 16)
    job.progress(Progress(job.id, f"placeholder {audio.kind} ({seconds:g} s)", state="running"))
    if audio.kind == "sfx":
        fade = min(0.3, seconds / 4)
        source = f"anoisesrc=color=pink:amplitude=0.5:seed={seed}:sample_rate=48000:duration={seconds}"
        chain = f"afade=t=in:d={fade},afade=t=out:st={seconds - fade}:d={fade},volume=-6dB"
    else:
        root = 196.0 * 2 ** ((seed % 5) / 12)  # a chord whose root depends on the cue
        tones = "+".join(
            f"{a}*sin(2*PI*{root * r:.3f}*t)" for a, r in ((0.16, 1), (0.11, 1.26), (0.09, 1.5), (0.05, 2))
        )
        source = f"aevalsrc='({tones})*(0.8+0.2*sin(2*PI*0.25*t))':s=48000:d={seconds}"
        chain = "aformat=channel_layouts=stereo"
    run_ffmpeg(["-f", "lavfi", "-i", source, "-af", chain, "-ac", "2", "-c:a", "pcm_s16le", "-f", "wav", "-y", str(job.dest)],
               what=f"the placeholder for {job.id}")  # fmt: skip


def generate_audio(job: AudioJob) -> None:
    """The preview's sound for one audio node: speech for a line, a placeholder otherwise."""
    if job.cancel.is_set():
        raise BackendError("cancelled")
    if job.audio.kind == "line":
        speak(job)
    else:
        placeholder(job)


def wav_seconds(path: Path) -> float:
    """The length of a PCM WAV file in seconds."""
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()
