"""Fetching a media URL: the limits, redirects and errors every fetch shares, and the httpx
download behind ``Media.read()`` / ``aread()`` (a caller's own code).

The library's own requests fetch through their model's transport instead
(``providers/media_fetch.py``), under the same rules: at most `MAX_DOWNLOAD_BYTES`
(stopping as soon as a reply announces or sends more), at most `MAX_REDIRECTS` redirects and
only to http(s) URLs, `FETCH_CONNECT_TIMEOUT` and `FETCH_READ_TIMEOUT`, no headers of the
model's (a media host never sees a key), and each failure a `MediaFetchError` showing the URL
with its user info and query values masked. httpx is imported only when a URL is fetched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

from agentloop.errors import MediaFetchError, MediaTooLargeError

if TYPE_CHECKING:
    import httpx

#: Schemes agentloop fetches itself (a ``gs://`` URI only Gemini can read).
HTTP_SCHEMES = ("http://", "https://")

#: Largest download accepted when a URL has to be inlined (50 MiB, the
#: largest inline payload any supported provider accepts); past it the fetch
#: stops reading and raises `MediaTooLargeError`.
MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024
#: Redirects followed from a media URL before the fetch gives up.
MAX_REDIRECTS = 5
#: Seconds a media fetch waits for a connection, and then between two reads.
FETCH_CONNECT_TIMEOUT = 10.0
FETCH_READ_TIMEOUT = 30.0


def shown_url(url: str) -> str:
    """``url`` as errors and logs show it: user info dropped, query values masked (a
    signed URL's token is a credential)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"  # an IPv6 address
        if parts.port is not None:
            host = f"{host}:{parts.port}"
    except ValueError:
        return "<an unreadable URL>"
    query = "&".join(f"{name}=***" for name, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


def fetch_status_error(url: str, status: int) -> MediaFetchError:
    """The error for a fetch answered with a failure status."""
    shown = shown_url(url)
    return MediaFetchError(f"fetching {shown} failed with HTTP {status}", url=shown, status=status)


def too_large_error(url: str, limit: int) -> MediaTooLargeError:
    """The error for a fetch whose reply announced or sent more than ``limit`` bytes."""
    shown = shown_url(url)
    return MediaTooLargeError(f"{shown} is larger than {limit} bytes", url=shown, limit=limit)


def redirect_target(url: str, location: str | None, hops: int) -> str:
    """Where a redirect from ``url`` leads (its ``location`` read against ``url``), checked:
    an http(s) URL, at most `MAX_REDIRECTS` hops in all."""
    shown = shown_url(url)
    if not location:
        raise MediaFetchError(f"fetching {shown}: a redirect without a location", url=shown)
    if hops > MAX_REDIRECTS:
        raise MediaFetchError(f"fetching {shown}: more than {MAX_REDIRECTS} redirects", url=shown)
    target = urljoin(url, location.strip())
    if not target.startswith(HTTP_SCHEMES):
        raise MediaFetchError(f"fetching {shown}: a redirect to a non-HTTP URL", url=shown)
    return target


def declared_type(content_type: str | None) -> str | None:
    """The MIME type a reply's ``content-type`` names, without its parameters."""
    return (content_type or "").split(";")[0].strip() or None


class CappedBody:
    """A fetched body gathered chunk by chunk, refused as soon as it passes ``limit`` bytes
    (or announces more), so a huge or endless reply is never held in memory."""

    def __init__(self, url: str, limit: int = MAX_DOWNLOAD_BYTES) -> None:
        self.url = url
        self.limit = limit
        self._chunks: list[bytes] = []
        self._size = 0

    def announced(self, content_length: str | None) -> None:
        length = (content_length or "").strip()
        if length.isdigit() and int(length) > self.limit:
            raise too_large_error(self.url, self.limit)

    def add(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self.limit:
            raise too_large_error(self.url, self.limit)
        self._chunks.append(chunk)

    def data(self) -> bytes:
        return b"".join(self._chunks)


def fetch_failure(url: str, exc: Exception) -> MediaFetchError:
    """The error for a fetch that got no reply (refused, reset, timed out)."""
    shown = shown_url(url)
    text = str(exc).replace(url, shown) or type(exc).__name__
    return MediaFetchError(f"fetching {shown} failed: {text}", url=shown)


def _check_download(response: httpx.Response, url: str) -> CappedBody:
    if response.status_code >= 400:
        raise fetch_status_error(url, response.status_code)
    body = CappedBody(url)
    body.announced(response.headers.get("content-length"))
    return body


def _client_settings() -> dict[str, Any]:
    import httpx

    timeout = httpx.Timeout(FETCH_READ_TIMEOUT, connect=FETCH_CONNECT_TIMEOUT)
    return {"timeout": timeout, "follow_redirects": True, "max_redirects": MAX_REDIRECTS}


def download(url: str, client: httpx.Client | None) -> tuple[bytes, str | None]:
    import httpx  # only when a URL is fetched: messages and media never load it otherwise

    try:
        if client is not None:
            return _get(client, url)
        with httpx.Client(**_client_settings()) as own:
            return _get(own, url)
    except httpx.HTTPError as exc:
        raise fetch_failure(url, exc) from None


def _get(client: httpx.Client, url: str) -> tuple[bytes, str | None]:
    with client.stream("GET", url, follow_redirects=True) as response:
        body = _check_download(response, url)
        for chunk in response.iter_bytes():
            body.add(chunk)
        return body.data(), declared_type(response.headers.get("content-type"))


async def download_async(url: str, client: httpx.AsyncClient | None) -> tuple[bytes, str | None]:
    import httpx

    try:
        if client is not None:
            return await _aget(client, url)
        async with httpx.AsyncClient(**_client_settings()) as own:
            return await _aget(own, url)
    except httpx.HTTPError as exc:
        raise fetch_failure(url, exc) from None


async def _aget(client: httpx.AsyncClient, url: str) -> tuple[bytes, str | None]:
    async with client.stream("GET", url, follow_redirects=True) as response:
        body = _check_download(response, url)
        async for chunk in response.aiter_bytes():
            body.add(chunk)
        return body.data(), declared_type(response.headers.get("content-type"))
