"""The fake's audio endpoints: ElevenLabs speech, dialogue, music and sound effects on fal.

Each input is checked against fal's published schema for the endpoint, stricter where fal is
silent (an unknown field is refused, so a typo in our requests cannot pass unnoticed); the
limits are written here from fal's pages, not imported from storyboard's compiler. A result is
a real MP3 of the length the request implies (speech: from its text; music: ``music_length_ms``;
effects: ``duration_seconds``) served from the fake CDN like a video.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storyboard.backends.fakefal.video import StoredFile
from storyboard.media.ffmpeg import ffmpeg_exe

if TYPE_CHECKING:
    from storyboard.backends.fakefal.protocol import Job
    from storyboard.backends.fakefal.video import MediaStore

TTS = "fal-ai/elevenlabs/tts/eleven-v3"
DIALOGUE = "fal-ai/elevenlabs/text-to-dialogue/eleven-v3"
MUSIC = "fal-ai/elevenlabs/music"
SFX = "fal-ai/elevenlabs/sound-effects/v2"
ENDPOINTS = (TTS, DIALOGUE, MUSIC, SFX)

MAX_TEXT = 5000  # characters of one speech request
SPEECH_CHARS_PER_SECOND = 15.0
_FIELDS: dict[str, dict[str, tuple[type | tuple[type, ...], tuple[float, float] | None]]] = {
    TTS: {
        "text": (str, None), "voice": (str, None), "stability": ((int, float), (0, 1)),
        "similarity_boost": ((int, float), (0, 1)), "style": ((int, float), (0, 1)), "speed": ((int, float), (0.7, 1.2)),
        "timestamps": (bool, None), "language_code": (str, None), "previous_text": (str, None),
        "next_text": (str, None),
    },
    DIALOGUE: {"inputs": (list, None), "stability": ((int, float), (0, 1)), "use_speaker_boost": (bool, None),
               "seed": (int, None), "language_code": (str, None)},
    MUSIC: {"prompt": (str, None), "music_length_ms": (int, (3000, 600000)), "force_instrumental": (bool, None),
            "output_format": (str, None)},
    SFX: {"text": (str, None), "duration_seconds": ((int, float), (0.5, 22)), "prompt_influence": ((int, float), (0, 1)),
          "loop": (bool, None), "output_format": (str, None)},
}  # fmt: skip
_REQUIRED = {TTS: ("text",), DIALOGUE: ("inputs",), MUSIC: ("prompt",), SFX: ("text",)}


def _err(loc: list[Any], msg: str, type_: str, value: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"loc": loc, "msg": msg, "type": type_}
    if value is not None:
        out["input"] = value
    return out


def validate(endpoint: str, body: Any) -> list[dict[str, Any]]:
    """The 422 ``detail`` items fal would answer for ``body`` at an audio endpoint (empty: acceptable)."""
    if not isinstance(body, dict):
        return [_err(["body"], "Input should be a valid dictionary", "dict_type", body)]
    fields = _FIELDS[endpoint]
    errors = [_err(["body", k], "Extra inputs are not permitted", "extra_forbidden", v) for k, v in body.items()
              if k not in fields]  # fmt: skip
    for name in _REQUIRED[endpoint]:
        if body.get(name) is None:
            errors.append(_err(["body", name], "field required", "missing"))
    for name, (kind, bounds) in fields.items():
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
            errors.append(_err(["body", name], f"Input should be a valid {getattr(kind, '__name__', 'number')}",
                               "type_error", value))  # fmt: skip
            continue
        if bounds is not None and isinstance(value, int | float) and not bounds[0] <= value <= bounds[1]:
            errors.append(_err(["body", name], f"Input should be between {bounds[0]} and {bounds[1]}",
                               "value_error", value))  # fmt: skip
        if isinstance(value, str) and name in ("text", "prompt"):
            if not value.strip():
                errors.append(_err(["body", name], "String should have at least 1 character", "string_too_short"))
            elif len(value) > MAX_TEXT:
                errors.append(_err(["body", name], f"String should have at most {MAX_TEXT} characters",
                                   "string_too_long"))  # fmt: skip
    if endpoint == DIALOGUE and isinstance(body.get("inputs"), list):
        if not body["inputs"]:
            errors.append(_err(["body", "inputs"], "List should have at least 1 item", "too_short"))
        for i, item in enumerate(body["inputs"]):
            if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item.get("text", "").strip():
                errors.append(_err(["body", "inputs", i, "text"], "field required", "missing"))
            elif not isinstance(item.get("voice"), str):
                errors.append(_err(["body", "inputs", i, "voice"], "field required", "missing"))
    return errors


def seconds_of(endpoint: str, body: dict[str, Any]) -> float:
    """How long the result of a valid request lasts."""
    if endpoint == TTS:
        return max(0.6, len(body["text"]) / SPEECH_CHARS_PER_SECOND)
    if endpoint == DIALOGUE:
        return max(0.6, sum(len(i["text"]) for i in body["inputs"]) / SPEECH_CHARS_PER_SECOND)
    if endpoint == MUSIC:
        return body.get("music_length_ms", 30000) / 1000
    return float(body.get("duration_seconds") or 2.0)


def timestamps(body: dict[str, Any], seconds: float) -> list[dict[str, Any]]:
    """Per-word timings for a speech result, spread over its length by word size."""
    words = str(body.get("text", "")).split()
    total = sum(len(w) + 1 for w in words) or 1
    out, t = [], 0.0
    for w in words:
        d = seconds * (len(w) + 1) / total
        out.append({"text": w, "start": round(t, 3), "end": round(t + d, 3)})
        t += d
    return out


_lock = threading.Lock()
_made: dict[tuple[str, int], bytes] = {}


def audio_bytes(endpoint: str, seconds: float) -> bytes:
    """A real MP3 of ``seconds`` (to the millisecond): a warbling tone for speech, a chord for music, noise for effects."""
    key = (endpoint, round(seconds * 1000))
    with _lock:
        if key in _made:
            return _made[key]
    if endpoint in (TTS, DIALOGUE):
        source = f"aevalsrc='0.3*sin(2*PI*(180+40*sin(2*PI*3*t))*t)*(0.6+0.4*sin(2*PI*4*t))':s=44100:d={seconds}"
    elif endpoint == MUSIC:
        source = f"aevalsrc='0.2*sin(2*PI*220*t)+0.15*sin(2*PI*330*t)':s=44100:d={seconds}"
    else:
        source = f"anoisesrc=color=pink:amplitude=0.3:sample_rate=44100:duration={seconds}"
    with tempfile.TemporaryDirectory(prefix="fakefal-audio-") as tmp:
        out = Path(tmp) / "output.mp3"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", source, "-c:a", "libmp3lame", "-b:a", "128k",
                        "-y", str(out)], check=True, timeout=60)  # fmt: skip
        data = out.read_bytes()
    with _lock:
        _made[key] = data
    return data


def result_body(endpoint: str, body: dict[str, Any], url: str, size: int, seconds: float) -> dict[str, Any]:
    """The output JSON of a completed audio request."""
    out: dict[str, Any] = {"audio": {"url": url, "content_type": "audio/mpeg", "file_name": "output.mp3",
                                     "file_size": size}}  # fmt: skip
    if endpoint == TTS and body.get("timestamps"):
        out["timestamps"] = timestamps(body, seconds)
    return out


def register(media: MediaStore, job: Job) -> None:
    """Make ``job``'s result audio now and keep it on the fake CDN under the job's output id."""
    data = audio_bytes(job.endpoint, seconds_of(job.endpoint, job.body))
    with media._lock:
        media._files[job.output_id] = StoredFile("output.mp3", "audio/mpeg", data=data)


def result(job: Job, base: str, media: MediaStore) -> dict[str, Any]:
    """The output JSON of ``job`` (completed without error), its file served under ``base``."""
    stored = media.find(f"/files/{job.output_id}/output.mp3")
    size = len(stored.data or b"") if stored is not None else 0
    url = f"{base}/files/{job.output_id}/output.mp3"
    return result_body(job.endpoint, job.body, url, size, seconds_of(job.endpoint, job.body))
