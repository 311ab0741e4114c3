"""The fal key never leaves the environment: not on screen, not on disk, not in what fal is sent.

Builds run the real CLI with a recognisable FAL_KEY against the fake fal server, which accepts
only that key (so every accepted call proves the key travelled in the Authorization header, the
one place it belongs). The fake is also made to *echo the key back* in its error details, as a
misbehaving proxy or service might: storyboard must redact what it prints and writes. After the
runs, stdout, stderr, every file under the project (build folder, cache, journal, upload cache),
the HOME folder the CLI ran with, and the fake's records and stored uploads are scanned.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sbtest import write_storyboard
from storyboard.backends.fakefal import Fault
from support.cli import results, run_cli

KEY_ID = "5f0e8c2a-7d4b-4e61-9a3f-0c9b8d7e6f5a"
KEY_SECRET = "9c4e2b7a1d6f3e8b5a0c7d2e4f6a8b1c"
KEY = f"{KEY_ID}:{KEY_SECRET}"  # fal's own form: key id, colon, secret
FAST = {"STORYBOARD_FAL_POLL": "0.05", "STORYBOARD_FAL_BACKOFF": "0.02", "STORYBOARD_FAL_RETRIES": "2"}

STORYBOARD = """\
version: 1
title: Secrets
defaults: {duration: 3, aspect_ratio: "1:1"}
characters:
  mira: {image: assets/mira/front.png, references: [assets/mira/side.png]}
images:
  lake: assets/blue.png
shots:
  - id: first
    start: lake
    prompt: "@mira walks to the lake."
  - id: second
    start: first.last_frame
    prompt: "@mira sits down."
  - id: third
    prompt: "@mira waves goodbye."
"""


class Runs:
    """Every CLI run of a test, for the scan at the end."""

    def __init__(self, project: Path, fake, home: Path, env: dict[str, str] | None = None):
        self.project, self.fake, self.home = project, fake, home
        self.env = env if env is not None else {"FAL_KEY": KEY}
        self.procs: list[subprocess.CompletedProcess[str]] = []

    def __call__(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        env = {**self.fake.env, **self.env, **FAST, "HOME": str(self.home), **extra}
        proc = run_cli(*args, cwd=self.project, env=env, timeout=180)
        assert "Traceback" not in proc.stderr, proc.stderr
        self.procs.append(proc)
        return proc

    def build(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return self("build", "storyboard.yaml", "--backend", "fal", *args, **extra)

    def scan(self, cache: bool = True) -> None:
        """The key (and its secret half) is nowhere storyboard could have put it."""
        needles = [KEY, KEY_SECRET]
        for proc in self.procs:
            for needle in needles:
                assert needle not in proc.stdout, f"key on stdout of {proc.args}"
                assert needle not in proc.stderr, f"key on stderr of {proc.args}:\n{proc.stderr}"
        files = [f for root in (self.project, self.home) for f in root.rglob("*") if f.is_file()]
        if cache:
            assert any(f.name == "journal.jsonl" for f in files), "the scan must cover the fal journal"
            assert any(f.name == "uploads.json" for f in files), "the scan must cover the upload cache"
            assert any(f.name == "run_results.json" for f in files), "the scan must cover the build folder"
        for f in files:
            data = f.read_bytes()
            for needle in needles:
                assert needle.encode() not in data, f"key written to {f}"
        records = {what: self.fake.records(what) for what in ("calls", "submissions", "uploads", "downloads", "jobs")}
        text = json.dumps(records, default=str)
        for needle in needles:
            assert needle not in text, "key sent to fal outside the Authorization header"
        for upload in self.fake.uploads:
            stored = self.fake.media.find(urlsplit(upload.url).path)
            assert stored is not None and stored.data is not None
            assert KEY.encode() not in stored.data and KEY_SECRET.encode() not in stored.data


@pytest.fixture
def runs(project: Path, fake_fal_factory, tmp_path: Path) -> Runs:
    fake = fake_fal_factory(key=KEY, processing_seconds=0.2)  # any other key gets a 401
    write_storyboard(project, STORYBOARD)
    home = tmp_path / "home"
    home.mkdir()
    return Runs(project, fake, home)


def test_successful_builds_in_every_verbosity_and_the_read_only_commands(runs: Runs) -> None:
    ok = runs.build()
    assert ok.returncode == 0, ok.stderr
    assert runs.fake.count("submit", 200) == 3, "the fake accepted the key (it refuses any other)"
    assert {r["status"] for r in results(runs.project / "build").values()} == {"generated"}
    verbose = runs.build("--force", "--verbose")
    assert verbose.returncode == 0, verbose.stderr
    quiet = runs.build("--force", "-q")
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    for args in (
        ["cost", "storyboard.yaml"],
        ["cost", "storyboard.yaml", "--json"],
        ["compile", "storyboard.yaml", "--json"],
        ["compile", "storyboard.yaml"],
        ["validate", "storyboard.yaml", "--json"],
    ):
        proc = runs(*args)
        assert proc.returncode == 0, proc.stderr
    assert runs.fake.count("submit", 200) == 9
    runs.scan()


def test_failures_that_echo_the_key_are_redacted(runs: Runs) -> None:
    fake = runs.fake
    echo = f"invalid credentials {KEY} (secret {KEY_SECRET})"
    # fal rejects one request and echoes the key in the 422 detail
    fake.add_fault(Fault(kind="422", phase="submit", match="sits", times=None, detail=echo))
    rejected = runs.build("--verbose")
    assert rejected.returncode == 1
    assert "fal rejected the request for shot 'second' (HTTP 422)" in rejected.stderr
    assert "invalid credentials ***" in rejected.stderr, "the echoed detail is shown, redacted"
    assert results(runs.project / "build")["second"]["status"] == "failed"
    fake.faults.clear()

    # 500s that never stop, echoing the key, on submit and on upload
    fake.add_fault(Fault(kind="500", phase="submit", match="waves", times=None, detail=echo))
    failed = runs.build("--force")
    assert failed.returncode == 1 and "kept failing to accept shot 'third" in failed.stderr, failed.stderr
    fake.faults.clear()
    fake.add_fault(Fault(kind="500", phase="upload", times=None, detail=echo))
    (runs.project / "assets" / "blue.png").write_bytes((runs.project / "assets" / "red.png").read_bytes())
    failed = runs.build("-q")
    assert failed.returncode == 1 and "upload of" in failed.stderr, failed.stderr
    fake.faults.clear()

    # a request that completes with an error whose message carries the key (written to the journal)
    completed = fake.add_fault(Fault(kind="completed_error", phase="job", match="sits", detail=echo))
    failed = runs.build("--force")
    assert completed.used == 1
    assert failed.returncode == 1 and "fal reported an error for shot 'second" in failed.stderr, failed.stderr
    fake.faults.clear()

    # transient 500s on status that echo the key, then success
    status = fake.add_fault(Fault(kind="500", phase="status", times=2, detail=echo))
    ok = runs.build("--verbose")
    assert status.used == 2
    assert ok.returncode == 0, ok.stderr
    runs.scan()


def test_a_missing_asset_error_with_the_key_set(runs: Runs) -> None:
    write_storyboard(runs.project, STORYBOARD.replace("assets/blue.png", "assets/bleu.png"))
    for args in (
        ["build", "storyboard.yaml", "--backend", "fal"],
        ["validate", "storyboard.yaml"],
        ["cost", "storyboard.yaml"],
    ):
        proc = runs(*args)
        assert proc.returncode == 2 and "asset file 'assets/bleu.png' not found" in proc.stderr, proc.stderr
    assert runs.fake.calls == []
    runs.scan(cache=False)  # nothing was built: there is no cache to scan


def test_key_id_and_secret_variables(project: Path, fake_fal_factory, tmp_path: Path) -> None:
    """FAL_KEY_ID + FAL_KEY_SECRET instead of FAL_KEY: the same guarantees."""
    fake = fake_fal_factory(key=KEY, processing_seconds=0.2)
    write_storyboard(project, STORYBOARD)
    home = tmp_path / "home"
    home.mkdir()
    runs = Runs(project, fake, home, env={"FAL_KEY_ID": KEY_ID, "FAL_KEY_SECRET": KEY_SECRET})
    fake.add_fault(
        Fault(kind="422", phase="submit", match="waves", times=None, detail=f"secret {KEY_SECRET} is not valid here")
    )
    proc = runs.build("--verbose")
    assert proc.returncode == 1 and "secret *** is not valid here" in proc.stderr, proc.stderr
    assert fake.count("submit", 200) == 2
    runs.scan()


@pytest.mark.parametrize("tail", ["\r", "\n", "\r\n", " ", "\t"])
@pytest.mark.parametrize("form", ["FAL_KEY", "FAL_KEY_SECRET", "leading"])
def test_a_key_with_a_line_break_or_spaces_is_refused_before_anything_is_sent(runs: Runs, tail: str, form: str) -> None:
    """A CRLF .env file or a CI secret saved with a newline: refused with a sentence, never sent or shown."""
    runs.env = {
        "FAL_KEY": {"FAL_KEY": KEY + tail, "leading": tail + KEY}.get(form, ""),
        "FAL_KEY_ID": KEY_ID if form == "FAL_KEY_SECRET" else "",
        "FAL_KEY_SECRET": KEY_SECRET + tail if form == "FAL_KEY_SECRET" else "",
    }
    for args in ([], ["--verbose"]):
        proc = runs.build(*args)
        assert proc.returncode == 2, proc.stderr
        var = "FAL_KEY_SECRET" if form == "FAL_KEY_SECRET" else "FAL_KEY"
        assert f"error: {var} " in proc.stderr and "nothing was sent to fal" in proc.stderr, proc.stderr
    assert runs.fake.calls == [] and runs.fake.uploads == []
    runs.scan(cache=False)
    for proc in runs.procs:  # not the key's halves with the whitespace either
        assert (KEY_SECRET + tail) not in proc.stderr and repr(KEY_SECRET + tail)[1:-1] not in proc.stderr


def spellings() -> dict[str, str]:
    """The forms a key takes in error texts of HTTP libraries, proxies and reprs."""
    import base64
    from urllib.parse import quote, quote_plus

    return {
        "repr-escaped with a CR": repr(f"{KEY}\r")[1:-1],
        "bytes repr with CRLF": repr(f"{KEY}\r\n".encode())[2:-1],
        "json with a newline": json.dumps(KEY + "\n")[1:-1],
        "url-encoded": quote(KEY, safe=""),
        "url-encoded, lower hex": quote(KEY, safe="").replace("%3A", "%3a"),
        "form-encoded with a space": quote_plus(f"{KEY} "),
        "basic auth": base64.b64encode(KEY.encode()).decode(),
        "the id alone": KEY_ID,
        "the secret alone": KEY_SECRET,
    }


def test_every_spelling_of_the_key_in_an_error_is_redacted(runs: Runs) -> None:
    """The service (or a proxy) echoes the key escaped, encoded, or in halves: none of it is shown or written."""
    echo = " ".join(f"<{name}: {text}>" for name, text in spellings().items())
    runs.fake.add_fault(Fault(kind="422", phase="submit", match="sits", times=None, detail=echo))
    runs.fake.add_fault(Fault(kind="completed_error", phase="job", match="waves", times=None, detail=echo))
    for args in (["--verbose"], []):
        proc = runs.build(*args)
        assert proc.returncode == 1, proc.stderr
        assert "fal rejected the request for shot 'second' (HTTP 422)" in proc.stderr, proc.stderr
        assert "<the secret alone: ***>" in proc.stderr, proc.stderr
    run_results = (runs.project / "build" / "run_results.json").read_text()
    assert "<basic auth: ***>" in run_results
    for name, text in spellings().items():
        for proc in runs.procs:
            assert text not in proc.stderr and text not in proc.stdout, name
        assert text not in run_results, name
    runs.scan()
