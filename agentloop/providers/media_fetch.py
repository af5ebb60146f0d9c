"""Fetching the media a codec inlines, through the model's transport, before it encodes.

A codec is pure: it never downloads. Each says which parts of a request it sends as bytes
although they hold only a URL (its ``media_to_fetch``, built on `pending`), and `HTTPModel`
fetches those first: `fetch` through the blocking transport, `afetch` through the async one,
all at once, so a chain's event loop keeps running while a slow media host answers. The bytes
are cached on the part (``Media.keep_download``), so a part is fetched once however many
requests of a chain carry it; two parts with one URL share a download, and so do concurrent
requests on one event loop (a batch whose prompts share an attachment).

Every fetch keeps to the rules of `agentloop.downloads`: a GET with none of the model's
headers (a media host never sees a key), redirects followed by hand (at most
`MAX_REDIRECTS`, to http(s) URLs only: a transport follows none itself), the body read in
chunks and refused past the cap, the fetch timeouts, and each failure a `MediaFetchError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import chain, compress, repeat
from operator import attrgetter
from typing import Protocol

from agentloop.downloads import (
    FETCH_CONNECT_TIMEOUT,
    FETCH_READ_TIMEOUT,
    HTTP_SCHEMES,
    CappedBody,
    declared_type,
    fetch_failure,
    fetch_status_error,
    redirect_target,
)
from agentloop.errors import MediaFetchError
from agentloop.media import Media
from agentloop.messages import Message, ToolResult
from agentloop.providers.redaction import redact
from agentloop.providers.transport import (
    AsyncResponseStream,
    AsyncTransport,
    HTTPRequest,
    Timeout,
    Transport,
    TransportError,
)

#: A fetched body and the MIME type its reply declared.
Download = tuple[bytes, str | None]
#: A codec's rule: whether it sends this part as bytes (``True``: it is a tool result's).
Inlines = Callable[[Media, bool], bool]


class HasSecrets(Protocol):
    """What holds the secrets masked in a fetch error (an `HTTPModel`: its key, its
    credential headers)."""

    def secrets_to_mask(self) -> tuple[str, ...]: ...


REDIRECTS = frozenset({301, 302, 303, 307, 308})
TIMEOUT = Timeout(FETCH_READ_TIMEOUT, FETCH_CONNECT_TIMEOUT)


def media_parts(messages: Iterable[Message]) -> Iterator[tuple[Media, bool]]:
    """Every media part of ``messages``, with whether it is a tool result's attachment."""
    # Every request of a chain asks this of its whole history, so the usual case, no tool
    # result with attachments, is found at C speed, with no Python step per part.
    parts = list(chain.from_iterable(map(_PARTS, messages)))
    results = compress(parts, map(isinstance, parts, repeat(ToolResult)))
    if not any(map(_ATTACHMENTS, results)):
        for media in compress(parts, map(isinstance, parts, repeat(Media))):
            yield media, False
        return
    for part in parts:
        if isinstance(part, Media):
            yield part, False
        elif isinstance(part, ToolResult):
            for media in part.attachments:
                yield media, True


_PARTS = attrgetter("parts")
_ATTACHMENTS = attrgetter("attachments")


def pending(messages: Iterable[Message], inlines: Inlines) -> list[Media]:
    """The parts a codec sends as bytes (``inlines``) that hold only an http(s) URL, each
    once. Pure. A part with another URL (``gs://``) is the codec's error to raise."""
    seen: set[int] = set()
    out: list[Media] = []
    for media, in_result in media_parts(messages):
        url = media.url
        if media.data is not None or url is None or not url.startswith(HTTP_SCHEMES):
            continue
        if id(media) not in seen and inlines(media, in_result):
            seen.add(id(media))
            out.append(media)
    return out


def _by_url(media: Sequence[Media]) -> dict[str, list[Media]]:
    groups: dict[str, list[Media]] = {}
    for part in media:
        if part.data is None and part.url is not None:
            groups.setdefault(part.url, []).append(part)
    return groups


def _request(url: str) -> HTTPRequest:
    return HTTPRequest("GET", url, {"accept": "*/*"}, b"", TIMEOUT)


def _next_hop(
    url: str, target: str, status: int, headers: Mapping[str, str], hops: int
) -> str | None:
    """Where to go after ``target`` answered ``status``: a redirect's target, None for a
    body to read; a failure status is the error."""
    if status in REDIRECTS:
        return redirect_target(target, headers.get("location"), hops + 1)
    if not 200 <= status < 300:
        raise fetch_status_error(url, status)
    return None


# -- blocking ------------------------------------------------------------------------


def fetch(transport: Transport, media: Sequence[Media], limit: int, owner: HasSecrets) -> None:
    """Fetch the bytes of ``media`` (URL-only parts) through ``transport``, one URL after the
    other, and cache them on each part. ``owner``'s secrets are masked in any error."""
    try:
        for url, parts in _by_url(media).items():
            data, declared = _get(transport, url, limit)
            for part in parts:
                part.keep_download(data, declared)
    except MediaFetchError as error:
        raise _masked(error, owner) from None


def _masked(error: MediaFetchError, owner: HasSecrets) -> MediaFetchError:
    """``error`` with the model's key masked, should a URL have carried it."""
    secrets = owner.secrets_to_mask()
    error.args = (redact(str(error), secrets),)
    error.url = redact(error.url, secrets) if error.url is not None else None
    return error


def _get(transport: Transport, url: str, limit: int) -> Download:
    target, hops = url, 0
    while True:
        try:
            response = transport.stream(_request(target))
        except TransportError as exc:
            raise fetch_failure(url, exc) from None
        try:
            following = _next_hop(url, target, response.status, response.headers, hops)
            if following is None:
                body = CappedBody(url, limit)
                body.announced(response.headers.get("content-length"))
                for chunk in response.iter_bytes():
                    body.add(chunk)
                return body.data(), declared_type(response.headers.get("content-type"))
        except TransportError as exc:
            raise fetch_failure(url, exc) from None
        finally:
            response.close()
        target, hops = following, hops + 1


# -- async ---------------------------------------------------------------------------

#: Downloads under way, by event loop and URL: a request needing a URL another is already
#: fetching on the same loop awaits that download instead of starting its own.
_IN_FLIGHT: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Future[Download]] = {}


async def afetch(
    transport: AsyncTransport, media: Sequence[Media], limit: int, owner: HasSecrets
) -> None:
    """`fetch`, awaitable: every URL at once, each part's bytes cached as they arrive."""
    groups = _by_url(media)
    if not groups:
        return
    try:
        await asyncio.gather(
            *(_fetch_into(transport, u, parts, limit) for u, parts in groups.items())
        )
    except MediaFetchError as error:
        raise _masked(error, owner) from None


async def _fetch_into(transport: AsyncTransport, url: str, parts: list[Media], limit: int) -> None:
    data, declared = await _shared(transport, url, limit)
    for part in parts:
        if part.data is None:
            part.keep_download(data, declared)


async def _shared(transport: AsyncTransport, url: str, limit: int) -> Download:
    key = (asyncio.get_running_loop(), url)
    download = _IN_FLIGHT.get(key)
    if download is None:
        download = asyncio.ensure_future(_aget(transport, url, limit))
        _IN_FLIGHT[key] = download
        download.add_done_callback(lambda done: _settled(key, done))
    # Shielded: a waiter cancelled (its chain given up) leaves the others their download.
    return await asyncio.shield(download)


def _settled(key: tuple[asyncio.AbstractEventLoop, str], done: asyncio.Future[Download]) -> None:
    _IN_FLIGHT.pop(key, None)
    if not done.cancelled():
        done.exception()  # retrieved: a failure every waiter gave up on is not logged as lost


async def _aget(transport: AsyncTransport, url: str, limit: int) -> Download:
    target, hops = url, 0
    while True:
        try:
            response = await transport.stream(_request(target))
        except TransportError as exc:
            raise fetch_failure(url, exc) from None
        try:
            following = _next_hop(url, target, response.status, response.headers, hops)
            if following is None:
                return await _aread(response, url, limit)
        except TransportError as exc:
            raise fetch_failure(url, exc) from None
        finally:
            await response.aclose()
        target, hops = following, hops + 1


async def _aread(response: AsyncResponseStream, url: str, limit: int) -> Download:
    body = CappedBody(url, limit)
    body.announced(response.headers.get("content-length"))
    async for chunk in response.aiter_bytes():
        body.add(chunk)
    return body.data(), declared_type(response.headers.get("content-type"))
