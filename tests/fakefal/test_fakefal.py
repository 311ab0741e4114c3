"""The fake fal server, spoken to by the real, unpatched fal_client (in process and in subprocesses)."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av
import fal_client
import httpx
import imageio_ffmpeg
import pytest

import storyboard
from storyboard.backends.fakefal import FakeFal, Fault
from storyboard.backends.fakefal.protocol import Queue

ENDPOINT = "fal-ai/kling-video/o1/standard/reference-to-video"
PRO = "fal-ai/kling-video/o1/reference-to-video"
REPO = Path(storyboard.__file__).resolve().parents[1]


@pytest.fixture
def fake(fake_fal_factory: Callable[..., FakeFal]) -> FakeFal:
    """A quick fake: requests take 0.15 s."""
    return fake_fal_factory(processing_seconds=0.15)


def make_client(fake: FakeFal, monkeypatch: pytest.MonkeyPatch, key: str = "test-key") -> fal_client.SyncClient:
    """A fal client for ``fake``; the environment stays set, and fal_client reads it at its first call."""
    for name, value in fake.client_env(key).items():
        monkeypatch.setenv(name, value)
    return fal_client.SyncClient()


@pytest.fixture
def client(fake: FakeFal, monkeypatch: pytest.MonkeyPatch) -> Iterator[fal_client.SyncClient]:
    """A fal client for ``fake``; its pooled connections are closed afterwards (fal_client never does)."""
    made = make_client(fake, monkeypatch)
    yield made
    if "_client" in vars(made):
        made._client.close()


def run_one(client: fal_client.SyncClient, prompt: str = "a slow orbit", **extra: Any) -> dict[str, Any]:
    """Submit and wait for the result."""
    return client.submit(ENDPOINT, {"prompt": prompt, "duration": "3", **extra}).get(interval=0.02)


def fetch(url: str, **kwargs: Any) -> httpx.Response:
    """GET through the proxy named by the environment."""
    with httpx.Client(timeout=10) as http:
        return http.get(url, **kwargs)


def jpeg_bytes(width: int, height: int, fmt: str = "JPEG") -> bytes:
    """A real image of that size (fal's image rules decode it)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, fmt)
    return out.getvalue()


def check_video(path: Path, frames: int, size: tuple[int, int]) -> None:
    """A real H.264 yuv420p 24 fps silent video of exactly ``frames`` frames at ``size`` (Kling's shape)."""
    assert imageio_ffmpeg.count_frames_and_secs(str(path))[0] == frames
    with av.open(str(path)) as container:
        assert not container.streams.audio, "Kling O1 clips are silent"
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert (stream.codec_context.width, stream.codec_context.height) == size
        assert stream.average_rate == 24


# --- the happy path -----------------------------------------------------------------------------


def test_upload_round_trip_and_range(fake: FakeFal, client: fal_client.SyncClient, tmp_path: Path) -> None:
    data = os.urandom(5000)
    (tmp_path / "look.png").write_bytes(data)
    url = client.upload_file(tmp_path / "look.png")
    assert url.startswith("https://v3.fal.media/files/") and url.endswith("/look.png")
    assert fetch(url).content == data
    partial = fetch(url, headers={"Range": "bytes=10-19"})
    assert (partial.status_code, partial.content) == (206, data[10:20])
    [upload] = fake.uploads
    assert (upload.name, upload.size, upload.content_type, upload.via) == ("look.png", 5000, "image/png", "cdn_v3")
    assert [c.phase for c in fake.calls] == ["token", "upload", "download", "download"]


def test_upload_falls_back_to_gcs_when_the_cdn_fails(fake: FakeFal, client: fal_client.SyncClient) -> None:
    fake.add_fault(Fault(kind="500", phase="upload", times=1))
    url = client.upload(b"fallback bytes", "application/octet-stream", file_name="f.bin")
    assert fetch(url).content == b"fallback bytes"
    assert [u.via for u in fake.uploads] == ["gcs"]
    assert [(c.host, c.status) for c in fake.calls if c.phase == "upload"] == [
        ("v3.fal.media", 500),
        ("rest.fal.ai", 200),
        ("storage.googleapis.com", 200),
    ]


def test_queue_walk_result_and_video(
    fake_fal_factory: Callable[..., FakeFal], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = fake_fal_factory(processing_seconds=0.6, concurrency=1, faults=(Fault(kind="stuck", match="blocker"),))
    client = make_client(fake, monkeypatch)
    try:
        blocker = client.submit(PRO, {"prompt": "blocker"})  # holds the only slot until cancelled
        handle = client.submit(PRO, {"prompt": "a cat turns", "duration": "4", "aspect_ratio": "9:16"})
        queued = handle.status(with_logs=True)
        assert isinstance(queued, fal_client.Queued) and queued.position == 0
        blocker.cancel()
        events = list(handle.iter_events(with_logs=True, interval=0.03))
        kinds = [type(e).__name__ for e in events]
        assert "InProgress" in kinds and kinds[-1] == "Completed"
        in_progress = [e for e in events if isinstance(e, fal_client.InProgress)]
        assert all(isinstance(e.logs, list) for e in in_progress)
        assert {"message", "level", "source", "timestamp"} <= set(in_progress[-1].logs[0])
        done = events[-1]
        assert done.metrics["inference_time"] == pytest.approx(0.6) and done.error is None
        assert client.status(PRO, handle.request_id).logs is None  # logs only when asked
        video = handle.get()["video"]
        assert (video["content_type"], video["file_name"]) == ("video/mp4", "output.mp4")
        body = fetch(video["url"]).content
        assert len(body) == video["file_size"]
        (tmp_path / "out.mp4").write_bytes(body)
        check_video(tmp_path / "out.mp4", 4 * 24 + 1, (360, 640))
    finally:
        if "_client" in vars(client):
            client._client.close()
    submitted = [(s.endpoint, s.request_id) for s in fake.submissions]
    assert submitted == [(PRO, blocker.request_id), (PRO, handle.request_id)]
    assert fake.downloads[0].request_id == handle.request_id


def test_direct_run_on_fal_run(fake: FakeFal) -> None:
    before = dict(os.environ)
    with fake.environ(fal_key="k"):
        client = fal_client.SyncClient()
        try:  # the first call makes the client's httpx client, from the environment of that moment
            assert client.run(ENDPOINT, {"prompt": "x", "duration": "3"})["video"]["url"].endswith("/output.mp4")
        finally:
            client._client.close()
    assert dict(os.environ) == before
    assert fake.count("direct", 200) == 1


def test_connections_are_kept_alive(client: fal_client.SyncClient, fake: FakeFal) -> None:
    run_one(client)
    assert fake.count("status") > 1 and fake.tunnels == 1  # submit, polls and result share one tunnel


def test_other_hosts_are_refused(fake: FakeFal, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in fake.env.items():
        monkeypatch.setenv(name, value)
    with httpx.Client() as http:
        with pytest.raises(httpx.ProxyError):
            http.get("https://example.com/")
        assert http.get("http://example.com/").status_code == 403
    assert [(c.phase, c.host, c.status) for c in fake.calls] == [
        ("proxy", "example.com", 403),
        ("proxy", "example.com", 403),
    ]


SUBMIT_SCRIPT = """
import json, sys, fal_client
url = fal_client.upload_file(sys.argv[1])
handle = fal_client.submit(sys.argv[2], {"prompt": "@Image1 walks", "image_urls": [url], "duration": "3",
                                          "aspect_ratio": "1:1"})
print(json.dumps({"url": url, "request_id": handle.request_id}))
"""

POLL_SCRIPT = """
import json, sys, fal_client, httpx
seen = []
while True:
    status = fal_client.status(sys.argv[2], sys.argv[1], with_logs=True)
    seen.append(type(status).__name__)
    if isinstance(status, fal_client.Completed):
        break
result = fal_client.result(sys.argv[2], sys.argv[1])
with httpx.Client() as http:
    open(sys.argv[3], "wb").write(http.get(result["video"]["url"]).content)
print(json.dumps({"seen": seen, "result": result}))
"""


def test_two_client_processes_share_one_fake(fake: FakeFal, tmp_path: Path) -> None:
    """A first process uploads and submits, then exits; a second polls its request id."""
    env = {**os.environ, "NO_PROXY": "*", "no_proxy": "*", **fake.client_env("sub-key")}
    image = tmp_path / "frame.jpg"
    image.write_bytes(jpeg_bytes(320, 320))

    def python(script: str, *args: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    first = python(SUBMIT_SCRIPT, str(image), ENDPOINT)
    second = python(POLL_SCRIPT, first["request_id"], ENDPOINT, str(tmp_path / "v.mp4"))
    assert second["seen"][-1] == "Completed"
    check_video(tmp_path / "v.mp4", 3 * 24 + 1, (480, 480))
    assert fake.uploads[0].name == "frame.jpg" and fake.uploads[0].url == first["url"]
    assert fake.submissions[0].body["image_urls"] == [first["url"]]


# --- validation -------------------------------------------------------------------------------

REF = "<ref>"  # replaced by the URL of an image uploaded to the fake (it refuses any other URL)
EL = {"frontal_image_url": REF, "reference_image_urls": [REF]}
VALIDATION_CASES = [
    ({}, ["body", "prompt"], "missing"),
    ({"prompt": "  "}, ["body", "prompt"], "string_too_short"),
    ({"prompt": "x" * 2501}, ["body", "prompt"], "string_too_long"),
    ({"prompt": "x", "negative_prompt": "blur"}, ["body", "negative_prompt"], "extra_forbidden"),
    ({"prompt": "x", "duration": "11"}, ["body", "duration"], "enum"),
    ({"prompt": "x", "duration": "2"}, ["body", "duration"], "enum"),
    ({"prompt": "x", "duration": 5}, ["body", "duration"], "enum"),
    ({"prompt": "x", "aspect_ratio": "4:3"}, ["body", "aspect_ratio"], "enum"),
    ({"prompt": "x", "image_urls": [REF] * 4, "elements": [EL] * 4}, ["body"], "value_error"),
    ({"prompt": "@Element2 waves", "elements": [EL]}, ["body", "prompt"], "value_error"),
    ({"prompt": "@Element0 waves", "elements": [EL]}, ["body", "prompt"], "value_error"),
    ({"prompt": "in the style of @Image1"}, ["body", "prompt"], "value_error"),
    (
        {"prompt": "x", "elements": [{"reference_image_urls": [REF]}]},
        ["body", "elements", 0, "frontal_image_url"],
        "missing",
    ),
    (
        {"prompt": "x", "elements": [{"frontal_image_url": REF}]},
        ["body", "elements", 0, "reference_image_urls"],
        "missing",
    ),
    (
        {"prompt": "x", "elements": [{"frontal_image_url": REF, "reference_image_urls": []}]},
        ["body", "elements", 0, "reference_image_urls"],
        "too_short",
    ),
    (
        {"prompt": "x", "elements": [{"frontal_image_url": REF, "reference_image_urls": [REF] * 4}]},
        ["body", "elements", 0, "reference_image_urls"],
        "too_long",
    ),
    ({"prompt": "x", "elements": [{**EL, "voice_id": "v"}]}, ["body", "elements", 0, "voice_id"], "extra_forbidden"),
    ({"prompt": "x", "image_urls": ["file:///tmp/a.png"]}, ["body", "image_urls", 0], "url_scheme"),
    ({"prompt": "x", "image_urls": ["http://v3.fal.media/files/a/b.png"]}, ["body", "image_urls", 0], "url_scheme"),
    (
        {"prompt": "x", "image_urls": ["https://v3.fal.media/files/nope/a.png"]},
        ["body", "image_urls", 0],
        "file_download_error",
    ),
    ({"prompt": "x", "image_urls": ["https://example.com/a.png"]}, ["body", "image_urls", 0], "file_download_error"),
]


def _with_ref(value: Any, url: str) -> Any:
    if value == REF:
        return url
    if isinstance(value, list):
        return [_with_ref(v, url) for v in value]
    if isinstance(value, dict):
        return {k: _with_ref(v, url) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("arguments", "loc", "kind"), VALIDATION_CASES)
def test_invalid_input_is_a_422(
    client: fal_client.SyncClient,
    fake: FakeFal,
    tmp_path: Path,
    arguments: dict[str, Any],
    loc: list[Any],
    kind: str,
) -> None:
    (tmp_path / "ref.png").write_bytes(jpeg_bytes(400, 400, "PNG"))
    url = client.upload_file(tmp_path / "ref.png")
    with pytest.raises(fal_client.FalClientHTTPError) as caught:
        client.submit(ENDPOINT, _with_ref(arguments, url))
    assert caught.value.status_code == 422
    assert [(d["loc"], d["type"]) for d in caught.value.message] == [(loc, kind)]
    assert fake.submissions == [] and fake.count("submit", 422) == 1


IMAGE_CASES = [
    (jpeg_bytes(299, 400), "image_too_small"),
    (jpeg_bytes(400, 299, "PNG"), "image_too_small"),
    (jpeg_bytes(1100, 400), "invalid_aspect_ratio"),  # 2.75
    (jpeg_bytes(310, 800), "invalid_aspect_ratio"),  # 0.39
    (jpeg_bytes(400, 400, "GIF"), "image_load_error"),
    (jpeg_bytes(400, 400, "BMP"), "image_load_error"),
    (b"\x89PNG not an image", "image_load_error"),
    (b"\xff" * 10_000_001, "image_too_large"),  # "10 MB" read as decimal megabytes, the stricter reading
]


@pytest.mark.parametrize(("data", "kind"), IMAGE_CASES)
def test_images_outside_fals_rules_are_a_422(
    client: fal_client.SyncClient, fake: FakeFal, tmp_path: Path, data: bytes, kind: str
) -> None:
    (tmp_path / "img.png").write_bytes(data)
    url = client.upload_file(tmp_path / "img.png")
    with pytest.raises(fal_client.FalClientHTTPError) as caught:
        client.submit(ENDPOINT, {"prompt": "@Image1 glows", "image_urls": [url]})
    assert caught.value.status_code == 422
    assert [(d["loc"], d["type"]) for d in caught.value.message] == [(["body", "image_urls", 0], kind)]
    assert fake.submissions == []


def test_images_at_fals_limits_are_accepted(client: fal_client.SyncClient, fake: FakeFal, tmp_path: Path) -> None:
    urls = []
    for i, (w, h, fmt) in enumerate([(300, 300, "JPEG"), (750, 300, "PNG"), (300, 750, "WEBP")]):
        (tmp_path / f"ok{i}.img").write_bytes(jpeg_bytes(w, h, fmt))
        urls.append(client.upload_file(tmp_path / f"ok{i}.img"))
    el = {"frontal_image_url": urls[0], "reference_image_urls": urls}
    client.submit(ENDPOINT, {"prompt": "@Element1 by @Image3", "image_urls": urls, "elements": [el] * 4})
    assert len(fake.submissions) == 1


def test_unknown_endpoint_is_a_404(client: fal_client.SyncClient) -> None:
    with pytest.raises(fal_client.FalClientHTTPError) as caught:
        client.submit("fal-ai/kling-video/o9/nothing", {"prompt": "x"})
    assert caught.value.status_code == 404 and "not found" in caught.value.message


def test_missing_or_malformed_key_is_a_401(
    fake_fal_factory: Callable[..., FakeFal], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_fal_factory(key="the-key")
    for name, value in fake.env.items():
        monkeypatch.setenv(name, value)
    with httpx.Client() as http:
        answer = http.post(f"https://queue.fal.run/{ENDPOINT}", json={"prompt": "x"})
    assert answer.status_code == 401 and "Authorization" in answer.json()["detail"]
    for key in ("two words", "wrong-key"):
        client = fal_client.SyncClient(key=key)
        with pytest.raises(fal_client.FalClientHTTPError) as caught:
            client.submit(ENDPOINT, {"prompt": "x"})
        client._client.close()
        assert caught.value.status_code == 401
    assert fake.count("submit", 401) == 3


# --- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["submit", "status", "result", "upload"])
def test_429_twice_is_retried_by_the_client(client: fal_client.SyncClient, fake: FakeFal, phase: str) -> None:
    fake.add_fault(Fault(kind="429", phase=phase, times=2))
    client.upload(b"x", "text/plain")
    run_one(client)
    assert fake.count(phase, 429) == 2
    assert fake.count(phase, 200) == 1 if phase in ("submit", "result", "upload") else fake.count(phase, 200) >= 1


def test_plain_500_is_not_retried(client: fal_client.SyncClient, fake: FakeFal) -> None:
    fake.add_fault(Fault(kind="500", phase="submit", match="orbit"))
    run_one(client, "a dolly in")  # does not match
    with pytest.raises(fal_client.FalClientHTTPError) as caught:
        run_one(client, "the orbit shot")
    assert (caught.value.status_code, caught.value.error_type) == (500, "internal_error")
    assert fake.count("submit") == 2
    run_one(client, "the orbit shot")  # spent


def test_502_from_the_ingress_is_retried(client: fal_client.SyncClient, fake: FakeFal) -> None:
    fake.add_fault(Fault(kind="502", phase="result", times=2))
    run_one(client)
    assert fake.count("result", 502) == 2 and fake.count("result", 200) == 1


def test_dropped_connection_is_retried(client: fal_client.SyncClient, fake: FakeFal) -> None:
    fake.add_fault(Fault(kind="drop", phase="status"))
    run_one(client)
    assert [c.status for c in fake.calls if c.phase == "status"][0] is None


def test_drop_after_submit_charges_twice(client: fal_client.SyncClient, fake: FakeFal) -> None:
    """The request was accepted but the answer lost: the client's retry submits it again."""
    fake.add_fault(Fault(kind="drop_after", phase="submit"))
    run_one(client)
    assert len(fake.submissions) == 2


def test_stuck_request_stays_in_progress_until_cancelled(client: fal_client.SyncClient, fake: FakeFal) -> None:
    fake.add_fault(Fault(kind="stuck", match="orbit"))
    stuck = client.submit(ENDPOINT, {"prompt": "orbit"})
    run_one(client, "dolly")
    time.sleep(0.2)
    assert isinstance(stuck.status(), fal_client.InProgress)
    stuck.cancel()
    status = stuck.status()
    assert isinstance(status, fal_client.Completed) and status.error_type == "client_cancelled"
    with pytest.raises(fal_client.FalClientHTTPError) as caught:
        stuck.get()
    assert caught.value.status_code == 499


def test_stuck_request_recovers_after_stuck_seconds(
    fake_fal_factory: Callable[..., FakeFal], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_fal_factory(
        processing_seconds=0.05, stuck_seconds=0.4, chaos_rate=1.0, chaos_kinds=("stuck",), chaos_phases=("job",)
    )
    client = make_client(fake, monkeypatch)
    started = time.monotonic()
    assert "video" in run_one(client)
    assert time.monotonic() - started >= 0.4
    client._client.close()


@pytest.mark.parametrize(("status", "error_type"), [(503, "runner_disconnected"), (422, "content_policy_violation")])
def test_completed_with_error(client: fal_client.SyncClient, fake: FakeFal, status: int, error_type: str) -> None:
    fake.add_fault(Fault(kind="completed_error", status=status, error_type=error_type, detail="it broke"))
    handle = client.submit(ENDPOINT, {"prompt": "x"})
    final = list(handle.iter_events(interval=0.02))[-1]
    assert isinstance(final, fal_client.Completed)
    assert (final.error, final.error_type) == ("it broke", error_type)
    with pytest.raises(fal_client.FalClientHTTPError) as caught:
        handle.get()
    assert caught.value.status_code == status
    if status == 422:
        assert caught.value.message[0]["type"] == error_type
    else:
        assert (caught.value.message, caught.value.error_type) == ("it broke", error_type)
    assert fake.count("result") == 1


def test_truncated_download(client: fal_client.SyncClient, fake: FakeFal) -> None:
    fake.add_fault(Fault(kind="truncated"))
    url = run_one(client)["video"]["url"]
    with pytest.raises(httpx.RemoteProtocolError):
        fetch(url)
    assert len(fetch(url).content) == fake.downloads[1].total
    first = fake.downloads[0]
    assert first.truncated and first.size == first.total // 2


def test_422_fault_on_submit(client: fal_client.SyncClient, fake: FakeFal) -> None:
    fake.add_fault(Fault(kind="422", match="forbidden"))
    with pytest.raises(fal_client.FalClientHTTPError) as caught:
        run_one(client, "a forbidden thing")
    assert caught.value.status_code == 422 and caught.value.message[0]["type"] == "content_policy_violation"


def test_chaos_is_survivable_and_reproducible(
    fake_fal_factory: Callable[..., FakeFal], monkeypatch: pytest.MonkeyPatch
) -> None:
    def faults_seen() -> list[str | None]:
        fake = fake_fal_factory(processing_seconds=0.05, chaos_rate=0.3, chaos_kinds=("429", "502", "drop"), seed=11)
        client = make_client(fake, monkeypatch)
        for n in range(3):
            run_one(client, f"shot {n}")
        client._client.close()
        return [c.fault for c in fake.calls if c.phase != "status"]

    first = faults_seen()
    assert any(f and f.startswith("chaos:") for f in first)
    assert faults_seen() == first


def test_concurrency_limit_queues_with_positions(
    fake_fal_factory: Callable[..., FakeFal], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_fal_factory(processing_seconds=0.2, concurrency=1, faults=(Fault(kind="stuck", match="blocker"),))
    client = make_client(fake, monkeypatch)
    blocker = client.submit(ENDPOINT, {"prompt": "blocker"})
    handles = [client.submit(ENDPOINT, {"prompt": f"shot {n}"}) for n in range(3)]
    assert [h.status().position for h in handles] == [0, 1, 2]
    blocker.cancel()
    positions = []
    while isinstance(status := handles[2].status(), fal_client.Queued):
        positions.append(status.position)
    assert positions == sorted(positions, reverse=True) and set(positions) <= {0, 1}
    for handle in handles:
        handle.get(interval=0.02)
    client._client.close()
    jobs = [fake.queue.get(h.request_id) for h in handles]  # wall-clock timeline: one after the other
    assert [j.finished_at - j.started_at for j in jobs] == pytest.approx([0.2] * 3)
    assert [jobs[0].finished_at, jobs[1].finished_at] == [jobs[1].started_at, jobs[2].started_at]


def test_queue_timeline_with_a_fake_clock() -> None:
    now = [100.0]
    queue = Queue(concurrency=2, processing_seconds=1.0, queue_seconds=0.5, clock=lambda: now[0])
    jobs = [queue.submit(ENDPOINT, {"prompt": str(n)}) for n in range(3)]
    assert [j.state for j in jobs] == ["IN_QUEUE"] * 3 and [queue.position(j) for j in jobs] == [0, 1, 2]
    now[0] = 100.6
    queue.get(jobs[0].request_id)
    assert [j.state for j in jobs] == ["IN_PROGRESS", "IN_PROGRESS", "IN_QUEUE"] and queue.position(jobs[2]) == 0
    now[0] = 110.0  # events replayed in time order, however late the look
    queue.get(jobs[0].request_id)
    assert [(j.started_at, j.finished_at) for j in jobs] == [(100.5, 101.5), (100.5, 101.5), (101.5, 102.5)]
    assert queue.cancel(jobs[0].request_id) == "ALREADY_COMPLETED"
    late = queue.submit(ENDPOINT, {"prompt": "late"})
    assert queue.cancel(late.request_id) == "CANCELLATION_REQUESTED" and late.error.error_type == "client_cancelled"
    assert queue.cancel("nope") == "NOT_FOUND"


def test_fault_forms() -> None:
    assert Fault.parse("500:submit:2:orbit") == Fault(kind="500", phase="submit", times=2, match="orbit")
    assert Fault.parse("drop:any:*").times is None
    assert Fault(kind="stuck").phase == "job" and Fault(kind="truncated").phase == "download"
    bad_faults = [
        {"kind": "418"},
        {"kind": "stuck", "phase": "submit"},
        {"kind": "500", "times": 0},
        {"kind": "500", "x": 1},
    ]
    for bad in bad_faults:
        with pytest.raises(ValueError):
            Fault.from_dict(bad)


# --- steering from elsewhere ------------------------------------------------------------------


def test_control_api(client: fal_client.SyncClient, fake: FakeFal) -> None:
    with httpx.Client(base_url=fake.url, trust_env=False) as control:
        fault = {"kind": "500", "phase": "submit", "match": "orbit"}
        assert control.post("/_fake/faults", json=fault).status_code == 201
        with pytest.raises(fal_client.FalClientHTTPError):
            run_one(client, "orbit")
        assert control.get("/_fake/calls").json()[-1]["fault"] == "500"
        assert control.get("/_fake/faults").json()[0]["used"] == 1
        assert control.post("/_fake/faults", json={"kind": "nonsense"}).status_code == 400
        assert control.post("/_fake/config", json={"concurrency": 1}).status_code == 200
        run_one(client)
        assert [j["state"] for j in control.get("/_fake/jobs").json()] == ["COMPLETED"]
        assert control.get("/_fake/ca.pem").content == fake.ca_path.read_bytes()
        assert control.post("/_fake/reset").status_code == 200
        assert control.get("/_fake/calls").json() == [] and control.get("/_fake/faults").json() == []
    assert fake.queue.concurrency == 1


def test_command_line_server(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "storyboard.backends.fakefal",
            "--processing-seconds",
            "0.05",
            "--fault",
            "500:submit:1:orbit",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        exports: dict[str, str] = {}
        timer = threading.Timer(20, proc.kill)
        timer.start()
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("export "):
                name, _, value = line[len("export ") :].strip().partition("=")
                exports[name] = value.strip("'")
            if line.startswith("# and set FAL_KEY"):
                break
        timer.cancel()
        assert exports["NO_PROXY"] == "" and exports["HTTPS_PROXY"].startswith("http://127.0.0.1:")
        tls = ssl.create_default_context(cafile=exports["SSL_CERT_FILE"])
        with httpx.Client(proxy=exports["HTTPS_PROXY"], verify=tls, trust_env=False) as http:

            def submit() -> int:
                answer = http.post(
                    f"https://queue.fal.run/{ENDPOINT}", json={"prompt": "orbit"}, headers={"Authorization": "Key k"}
                )
                return answer.status_code

            assert [submit(), submit()] == [500, 200]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert not Path(exports["SSL_CERT_FILE"]).exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_fixture_and_clean_stop(fake_fal: FakeFal, fake_fal_factory: Callable[..., FakeFal]) -> None:
    assert fake_fal.ca_path is not None and fake_fal.ca_path.exists()
    assert fake_fal.env["HTTPS_PROXY"] == f"http://127.0.0.1:{fake_fal.port}" and "FAL_KEY" not in fake_fal.env
    other = fake_fal_factory()
    with socket.create_connection(("127.0.0.1", other.port)) as idle:  # an idle keep-alive connection
        idle.sendall(b"GET /_fake/calls HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert idle.recv(100).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        other.stop()
        assert time.monotonic() - started < 2
    assert not [t for t in threading.enumerate() if t.name.startswith(f"fakefal-{other.port}")]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", other.port), timeout=1).close()
