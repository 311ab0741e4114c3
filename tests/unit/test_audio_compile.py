"""Sound in the compiler: voices, lines, effects and music become keyed audio nodes, and every bad
name, file or length is an error with its file, line and column, word for word."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sbtest import write_storyboard
from storyboard.compiler.audio import audio_signature, nominal_starts
from storyboard.compiler.compile import compile_file
from storyboard.errors import InputError

# the first shot starts on line 12
BASE = """\
version: 1
title: Sound
voices:
  narrator: {fal: George, preview: en}
  mira_voice: {fal: Aria, preview: en-us+f3}
characters:
  mira: {image: assets/mira/front.png, voice: mira_voice}
  old_mira: {extends: mira, image: assets/mira/old_front.png}
  ghost: {image: assets/grey.png}
shots:
  - id: first
    prompt: "@mira walks."
    lines:
      - {speaker: narrator, text: "It began {{ when }}.", offset: 0.5}
      - {speaker: old_mira, text: "Hello again."}
  - id: second
    duration: 4
    prompt: "@mira waits."
    sfx:
      - {prompt: "wind in the glass"}
film:
  music:
    - {prompt: "soft piano", start: first, end: second}
vars:
  when: at noon
"""


def problems(path: Path) -> list[tuple[int | None, int | None, str | None, str, str | None]]:
    with pytest.raises(InputError) as err:
        compile_file(path)
    return [(p.line, p.column, p.path, p.message, p.hint) for p in err.value.problems]


def test_lines_effects_and_music_become_audio_nodes(project: Path) -> None:
    plan = compile_file(write_storyboard(project, BASE))
    assert [(a.id, a.kind, a.shot) for a in plan.audio] == [
        ("first.line1", "line", "first"),
        ("first.line2", "line", "first"),
        ("second.sfx1", "sfx", "second"),
        ("music1", "music", None),
    ]
    line1, line2, sfx, music = plan.audio
    assert line1.text == "It began at noon."  # jinja, like prompts
    assert line1.request() == {"text": "It began at noon.", "voice": "George", "stability": 0.5, "timestamps": True}
    assert line2.voice is not None and line2.voice.fal == "Aria"  # old_mira speaks with mira's voice (extends)
    assert sfx.request() == {"text": "wind in the glass", "duration_seconds": 4.0}  # the rest of the shot
    assert music.request() == {"prompt": "soft piano", "music_length_ms": 9000, "force_instrumental": True}
    assert len({a.key for a in plan.audio}) == 4
    assert plan.to_json()["audio"][0]["mix"] == {"level": 0.0, "offset": 0.5}
    assert plan.film.loudness == -14.0 and plan.film.true_peak == -1.0


def test_a_key_changes_with_what_a_sound_is_made_of_not_where_it_plays(project: Path) -> None:
    keys = {a.id: a.key for a in compile_file(write_storyboard(project, BASE)).audio}
    moved = compile_file(write_storyboard(project, BASE.replace("offset: 0.5}", "offset: 1.5, level: -3}")))
    assert {a.id: a.key for a in moved.audio} == keys
    reworded = compile_file(write_storyboard(project, BASE.replace("at noon", "at dawn")))
    changed = {a.id for a in reworded.audio if a.key != keys[a.id]}
    assert changed == {"first.line1"}
    revoiced = compile_file(write_storyboard(project, BASE.replace("fal: George", "fal: Brian")))
    assert {a.id for a in revoiced.audio if a.key != keys[a.id]} == {"first.line1"}


def test_a_silent_storyboard_compiles_as_before(project: Path) -> None:
    plan = compile_file(write_storyboard(project, "version: 1\ntitle: t\nshots:\n  - {id: a, prompt: x}\n"))
    assert plan.audio == () and "audio" not in plan.to_json()


def test_unknown_speaker_suggests_the_close_name(project: Path) -> None:
    path = write_storyboard(project, BASE.replace("speaker: narrator", "speaker: narator"))
    assert problems(path) == [
        (14, 19, "shots[0].lines[0].speaker", "unknown speaker 'narator'", "did you mean 'narrator'?")
    ]


def test_a_character_without_a_voice_cannot_speak(project: Path) -> None:
    path = write_storyboard(project, BASE.replace("speaker: old_mira", "speaker: ghost"))
    assert problems(path) == [
        (
            15,
            19,
            "shots[0].lines[1].speaker",
            "character 'ghost' has no voice",
            "give it `voice:` (a voice name or a voice) or let a voice speak the line instead",
        )
    ]


def test_a_characters_unknown_voice_is_reported_where_it_is_written(project: Path) -> None:
    path = write_storyboard(project, BASE.replace("voice: mira_voice}", "voice: mira_vioce}"))
    found = problems(path)
    assert found[0] == (
        7,
        47,
        "characters.mira.voice",
        "unknown voice 'mira_vioce' for character 'mira'",
        "did you mean 'mira_voice'?",
    )


def test_an_audio_file_that_is_not_audio(project: Path) -> None:
    path = write_storyboard(project, BASE.replace('{prompt: "wind in the glass"}', "{file: assets/grey.png}"))
    assert problems(path) == [
        (
            20,
            16,
            "shots[1].sfx[0].file",
            "'assets/grey.png' is not an audio file",
            "give a WAV, MP3, FLAC, Ogg, M4A/AAC or AIFF file",
        )
    ]


def test_a_line_longer_than_any_allowed_shot(project: Path) -> None:
    long = " ".join(["word"] * 60)
    path = write_storyboard(project, BASE.replace('text: "Hello again."', f'text: "{long}"'))
    assert problems(path) == [
        (
            15,
            35,
            "shots[0].lines[1].text",
            "shot 'first': this line takes at least 14.9 s to say, longer than any shot the model allows (10 s)",
            "split it over two shots, or shorten it",
        )
    ]


def test_music_placed_against_an_unknown_shot(project: Path) -> None:
    path = write_storyboard(project, BASE.replace("end: second}", "end: secnd}"))
    assert problems(path) == [(23, 49, "film.music[0].end", "unknown shot 'secnd'", "did you mean 'second'?")]


def test_an_effect_has_a_prompt_or_a_file_not_both(project: Path) -> None:
    path = write_storyboard(project, BASE.replace('{prompt: "wind in the glass"}', '{prompt: "x", file: a.wav}'))
    (found,) = problems(path)
    assert found[:3] == (20, 9, "shots[1].sfx[0]")
    assert "either a prompt or a file (exactly one)" in found[3]


def test_a_line_starting_after_its_shot(project: Path) -> None:
    path = write_storyboard(project, BASE.replace("offset: 0.5}", "offset: 7}"))
    assert problems(path) == [
        (
            14,
            67,
            "shots[0].lines[0].offset",
            "shot 'first': the line starts at 7 s, but the shot lasts 5 s",
            "an offset is counted from the start of the shot",
        )
    ]


def test_bad_sound_exits_2_with_file_and_line_and_no_traceback(project: Path) -> None:
    path = write_storyboard(project, BASE.replace("speaker: narrator", "speaker: narator"))
    proc = subprocess.run(
        [sys.executable, "-m", "storyboard", "validate", str(path)],
        capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1", "COLUMNS": "300"}, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "storyboard.yaml:14:19: shots[0].lines[0].speaker: unknown speaker 'narator'" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "head,kind",
    [
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "wav"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "mp3"),
        (b"\xff\xfb\x90\x00", "mp3"),
        (b"fLaC\x00\x00\x00\x22", "flac"),
        (b"OggS\x00\x02", "ogg"),
        (b"\x00\x00\x00\x20ftypM4A ", "m4a"),
        (b"FORM\x00\x00\x00\x00AIFF", "aiff"),
        (b"\x89PNG\r\n\x1a\n", None),
        (b"", None),
    ],
)
def test_audio_signature(head: bytes, kind: str | None) -> None:
    assert audio_signature(head) == kind


def test_nominal_starts_overlap_at_crossfades(project: Path) -> None:
    text = BASE.replace(
        '    prompt: "@mira waits."', '    prompt: "@mira waits."\n    transition: {type: crossfade, duration: 1}'
    )
    plan = compile_file(write_storyboard(project, text))
    from storyboard.compiler.audio import ShotTiming

    timings = [ShotTiming(None, i, s.duration, 10, s.transition, {}) for i, s in enumerate(plan.shots)]  # type: ignore[arg-type]
    assert nominal_starts(timings) == [0.0, 4.0]
    assert plan.audio[-1].request()["music_length_ms"] == 8000  # 5 + 4 - 1 s of overlap
