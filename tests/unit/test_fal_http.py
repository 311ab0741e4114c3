"""The submission sent once: what proves nothing left the machine, against the real fal-client and the fake."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import fal_client
import httpx
import pytest

from storyboard.backends.fakefal import FakeFal, Fault
from storyboard.backends.fal_http import AnswerLost, NothingSent, download, nothing_left_the_machine, submit_once

ENDPOINT = "fal-ai/kling-video/o1/standard/reference-to-video"


@pytest.fixture
def fake(fake_fal_factory: Callable[..., FakeFal]) -> FakeFal:
    return fake_fal_factory(processing_seconds=0.05)


def client_for(fake: FakeFal, monkeypatch: pytest.MonkeyPatch, key: str) -> fal_client.SyncClient:
    for name, value in fake.client_env(key).items():
        monkeypatch.setenv(name, value)
    return fal_client.SyncClient()


@pytest.fixture
def closing() -> Iterator[list[fal_client.SyncClient]]:
    made: list[fal_client.SyncClient] = []
    yield made
    for c in made:
        if "_client" in vars(c):
            c._client.close()


def test_an_illegal_header_is_refused_before_any_byte_is_sent(
    fake: FakeFal, monkeypatch: pytest.MonkeyPatch, closing: list[fal_client.SyncClient]
) -> None:
    client = client_for(fake, monkeypatch, "key-with-a-newline\n")  # a CRLF .env file
    closing.append(client)
    with pytest.raises(NothingSent, match="LocalProtocolError"):
        submit_once(client, ENDPOINT, {"prompt": "a slow dawn"})
    assert fake.submissions == [] and [c for c in fake.calls if c.phase == "submit"] == []


def test_connection_refused_is_nothing_sent(
    monkeypatch: pytest.MonkeyPatch, closing: list[fal_client.SyncClient]
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for name in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{port}")
    monkeypatch.setenv("FAL_KEY", "k")
    client = fal_client.SyncClient()
    closing.append(client)
    with pytest.raises(NothingSent, match="ConnectError"):
        submit_once(client, ENDPOINT, {"prompt": "a slow dawn"})


def test_an_answer_lost_after_sending_is_not_nothing_sent(
    fake: FakeFal, monkeypatch: pytest.MonkeyPatch, closing: list[fal_client.SyncClient]
) -> None:
    client = client_for(fake, monkeypatch, "k")
    closing.append(client)
    fake.add_fault(Fault(kind="drop_after", phase="submit", times=None))
    with pytest.raises(AnswerLost, match="RemoteProtocolError"):
        submit_once(client, ENDPOINT, {"prompt": "a slow dawn"})
    assert len(fake.submissions) == 1, "sent more than once: fal-client's retry loop was not bypassed"


def test_a_plain_submission_carries_the_fallbacks_header(
    fake: FakeFal, monkeypatch: pytest.MonkeyPatch, closing: list[fal_client.SyncClient]
) -> None:
    client = client_for(fake, monkeypatch, "k")
    closing.append(client)
    handle = submit_once(client, ENDPOINT, {"prompt": "a slow dawn"})
    assert handle.request_id == fake.submissions[0].request_id
    [call] = [c for c in fake.calls if c.phase == "submit"]
    assert call.headers is not None and call.headers["x-fal-disable-fallbacks"] == "true"
    assert handle.get()["video"]["url"]


@pytest.mark.parametrize(
    ("exc", "proof"),
    [
        (httpx.ConnectError("refused"), True),
        (httpx.ConnectTimeout("slow"), True),
        (httpx.LocalProtocolError("Illegal header value"), True),
        (httpx.ReadTimeout("no answer"), False),
        (httpx.WriteError("broken pipe"), False),
        (httpx.RemoteProtocolError("closed"), False),
        (httpx.PoolTimeout("busy"), False),
    ],
)
def test_which_failures_prove_nothing_was_sent(exc: Exception, proof: bool) -> None:
    assert nothing_left_the_machine(exc) is proof


def test_a_cut_download_resumes_from_where_it_stopped(
    fake: FakeFal, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, closing: list[fal_client.SyncClient]
) -> None:
    client = client_for(fake, monkeypatch, "k")
    closing.append(client)
    video = client.submit(ENDPOINT, {"prompt": "a slow dawn", "duration": "3"}).get(interval=0.02)["video"]
    fake.add_fault(Fault(kind="truncated", phase="download", times=1))
    dest = tmp_path / "clip.mp4"
    with httpx.Client(timeout=10) as http:
        with pytest.raises(Exception, match="cut"):
            download(http, video["url"], dest, video["file_size"])
        assert 0 < dest.stat().st_size < video["file_size"]
        assert download(http, video["url"], dest, video["file_size"]) == video["file_size"]
    with httpx.Client(timeout=10) as http:
        assert dest.read_bytes() == http.get(video["url"]).content
    assert [d.status for d in fake.downloads] == [200, 206, 200]
