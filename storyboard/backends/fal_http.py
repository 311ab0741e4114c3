"""The two HTTP exchanges of the fal backend that must not be left to fal-client's defaults.

* :func:`submit_once` sends the queue submission exactly once. ``SyncClient.submit`` wraps the
  POST in fal-client's retry loop (``_maybe_retry_request``: up to 10 attempts on transport
  errors, 408, 409, 429 and ingress 5xx), which re-sends a request whose answer was lost — and
  fal, with no idempotency key, would queue and charge it twice. Here the POST goes through the
  client's own ``httpx.Client`` (its auth header, its backup-domain transport) with fal-client's
  non-retrying ``_request``, and every failure is classified: fal answered (nothing queued),
  nothing left the machine, or unknown (the hold stays).
* :func:`download` streams a result video, resuming with an HTTP ``Range`` request after a cut,
  and tells a URL that is gone (404/410/403) from a transient failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storyboard.errors import TransientBackendError

FALLBACKS_HEADER = "x-fal-disable-fallbacks"  # a cached shot is always the model its key names
GONE_STATUSES = (403, 404, 410)


class NothingSent(Exception):
    """The submission failed before any byte of it could reach fal (safe to release, safe to send again)."""


class AnswerLost(Exception):
    """The submission may have reached fal, but no answer came back: it may be queued (and paid)."""


class VideoGone(Exception):
    """The CDN no longer serves the video (HTTP 404, 410 or 403)."""


def nothing_left_the_machine(exc: BaseException) -> bool:
    """Whether ``exc`` proves the request was never sent.

    Yes: no connection was made (``ConnectError``, ``ConnectTimeout``; fal-client's transport
    has already tried the backup domain), the proxy refused the tunnel (``ProxyError``), httpx
    refused to write it (``LocalProtocolError``: an illegal header, raised by h11 before any
    byte is written; ``UnsupportedProtocol``, ``InvalidURL``), or there were no credentials. No:
    a write, read or pool error, a ``RemoteProtocolError`` or a ``ReadTimeout`` may come after
    fal read the request.
    """
    import httpx
    from fal_client.auth import MissingCredentialsError

    proof = (
        httpx.ConnectError,
        httpx.ConnectTimeout,
        httpx.ProxyError,
        httpx.LocalProtocolError,
        httpx.UnsupportedProtocol,
        httpx.InvalidURL,
        MissingCredentialsError,
    )
    return isinstance(exc, proof)


def submit_once(client: Any, endpoint: str, arguments: dict[str, Any], timeout: float = 120.0) -> Any:
    """POST one submission to fal's queue, never re-sent; returns a ``SyncRequestHandle``.

    Raises ``FalClientHTTPError`` when fal answered with an error (nothing was queued),
    :class:`NothingSent` or :class:`AnswerLost`.
    """
    import fal_client
    from fal_client import client as fc

    headers: dict[str, str] = {FALLBACKS_HEADER: "true"}
    fc.add_fal_app_context_headers(headers)
    try:
        http = client._client  # the SyncClient's own httpx client: its auth, user agent and transport
        response = fc._request(
            http, "POST", fc.QUEUE_URL_FORMAT + endpoint, json=arguments, timeout=timeout, headers=headers
        )
    except fal_client.FalClientHTTPError:
        raise
    except Exception as exc:
        if nothing_left_the_machine(exc):
            raise NothingSent(f"{exc.__class__.__name__}: {exc}") from None
        raise AnswerLost(f"{exc.__class__.__name__}: {exc}") from None
    fc.handle_response_headers(response.headers)
    try:
        data = response.json()
        return fc.SyncRequestHandle(
            request_id=data["request_id"],
            response_url=data["response_url"],
            status_url=data["status_url"],
            cancel_url=data["cancel_url"],
            client=http,
        )
    except (ValueError, KeyError, TypeError) as exc:  # queued or not, we cannot tell: hold it
        raise AnswerLost(f"fal's answer to the submission could not be read ({exc})") from None


def download(http: Any, url: str, dest: Path, expected: int | None) -> int:
    """Fetch ``url`` into ``dest``, continuing a partial ``dest`` with a Range request; returns its size.

    A cut stream leaves what arrived in ``dest`` and raises TransientBackendError (the next call
    resumes from there); a server that ignores the Range starts the file over.
    """
    import httpx

    have = dest.stat().st_size if dest.exists() else 0
    if expected and have > expected:
        dest.unlink()
        have = 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        with http.stream("GET", url, headers=headers) as resp:
            if resp.status_code in GONE_STATUSES:
                raise VideoGone(f"HTTP {resp.status_code}")
            if resp.status_code == 416 and have and expected == have:
                return have  # everything had arrived already
            if resp.status_code == 206 and have and resp.headers.get("content-range", "").startswith(f"bytes {have}-"):
                mode, total = "ab", _total(resp.headers.get("content-range"), expected)
            elif resp.status_code == 200:
                mode, have = "wb", 0
                total = int(resp.headers.get("content-length") or expected or 0)
            else:
                raise TransientBackendError(f"download of the video failed: HTTP {resp.status_code}")
            with open(dest, mode) as f:
                for chunk in resp.iter_bytes():  # as it arrives: a cut keeps every byte received
                    f.write(chunk)
                    have += len(chunk)
    except httpx.TransportError as exc:  # a cut mid-stream: what arrived stays for the next try
        cut = f"the video download was cut at {_size(dest)} bytes ({exc.__class__.__name__})"
        raise TransientBackendError(cut) from None
    if total and have != total:
        raise TransientBackendError(f"the video download was cut short ({have} of {total} bytes)")
    if have == 0:
        raise TransientBackendError("the video download was empty")
    return have


def _total(content_range: str | None, expected: int | None) -> int:
    tail = (content_range or "").rpartition("/")[2]
    return int(tail) if tail.isdigit() else int(expected or 0)


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def live_urls(urls: dict[str, str], timeout: float = 10.0) -> set[str]:
    """The keys of ``urls`` (key → video URL) whose video the CDN still serves, by a HEAD each.

    Anything but a 2xx answer — gone, refused, unreachable — counts as not live: an estimate
    that must not be passed by (``--max-cost``) counts those shots as paid.
    """
    import httpx

    live: set[str] = set()
    if not urls:
        return live
    with httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)), follow_redirects=True) as http:
        for key, url in urls.items():
            try:
                if http.head(url).is_success:
                    live.add(key)
            except httpx.HTTPError:
                continue
    return live
