"""The transport interface: one HTTP exchange as plain data, below every provider.

A transport sends an `HTTPRequest` (method, URL, headers, body bytes,
timeout) and returns an `HTTPResponse` (status, headers, body), or a
`ResponseStream` / `AsyncResponseStream` whose body arrives in chunks
(server-sent events). It knows nothing of providers, JSON or retries, and the
codecs know nothing of it: `HTTPModel`
(``providers/http.py``) is the only place the two meet.

Implementations: `agentloop.providers.httpx_transport` (httpx, the blocking
default) and `agentloop.providers.aiohttp_transport` (aiohttp, the async
default: several times faster than httpx under hundreds of concurrent requests).
A transport raises only the errors below, so whoever calls it never sees
which library did the work, and follows no redirect: a 3xx is a reply like any
other (a media fetch follows them itself, within its limits).
"""

from __future__ import annotations

import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar
from urllib.parse import urlsplit

V = TypeVar("V")

#: A read timeout long enough for long generations and slow reasoning models.
DEFAULT_READ_TIMEOUT = 600.0
DEFAULT_CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Timeout:
    """Seconds to wait: ``connect`` for a connection, ``read`` between two reads of the reply."""

    read: float | None = DEFAULT_READ_TIMEOUT
    connect: float | None = DEFAULT_CONNECT_TIMEOUT


@dataclass(slots=True)
class HTTPRequest:
    """One request as bytes on its way out. ``timeout`` None: the transport's own."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    timeout: Timeout | None = None


@dataclass(slots=True)
class HTTPResponse:
    """A whole reply. Header names are lower case; a repeated header keeps one value."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class TransportError(Exception):
    """The exchange failed below HTTP: no reply, or only part of one, arrived."""


class TransportTimeout(TransportError):
    """A connect or read took longer than its timeout."""


class TransportConnectionError(TransportError):
    """The connection could not be made, or broke (refused, reset, a body cut short)."""


class ResponseStream(Protocol):
    """A reply whose body is read as it arrives (blocking). Close it when done."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]:
        """Lower-case names, as in `HTTPResponse`."""
        ...

    def iter_bytes(self) -> Iterator[bytes]:
        """The body's chunks as they arrive; raises `TransportError` if it breaks off."""
        ...

    def read(self) -> bytes:
        """The rest of the body at once."""
        ...

    def close(self) -> None: ...


class AsyncResponseStream(Protocol):
    """A reply whose body is read as it arrives (async). Close it when done."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]:
        """Lower-case names, as in `HTTPResponse`."""
        ...

    def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body's chunks as they arrive; raises `TransportError` if it breaks off."""
        ...

    async def read(self) -> bytes:
        """The rest of the body at once."""
        ...

    async def aclose(self) -> None: ...


class Transport(Protocol):
    """Sends requests, blocking. Any status is a reply: only failures below HTTP raise."""

    def send(self, request: HTTPRequest) -> HTTPResponse: ...

    def stream(self, request: HTTPRequest) -> ResponseStream: ...

    def close(self) -> None: ...


class AsyncTransport(Protocol):
    """Sends requests from a coroutine. Any status is a reply: only failures below HTTP raise."""

    async def send(self, request: HTTPRequest) -> HTTPResponse: ...

    async def stream(self, request: HTTPRequest) -> AsyncResponseStream: ...

    async def aclose(self) -> None: ...


def lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers as a plain dict with lower-case names (what every transport returns)."""
    return {name.lower(): value for name, value in headers.items()}


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url``, or None (none set, or ``NO_PROXY``)."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or (parts.hostname and urllib.request.proxy_bypass(parts.hostname)):
        return None
    return proxy


class PerURL(Generic[V]):
    """``read(url)`` worked out once per URL: a model sends to one or two URLs, and what is
    read of one (the proxy the environment names, its parsed form) costs more than a
    request's own work. URLs with ids in them must not grow the table forever, so it is
    emptied past `LIMIT`."""

    __slots__ = ("_found", "_read")

    LIMIT = 256

    def __init__(self, read: Callable[[str], V]) -> None:
        self._read = read
        self._found: dict[str, V] = {}

    def __call__(self, url: str) -> V:
        found = self._found
        if url not in found:
            if len(found) >= self.LIMIT:
                found.clear()
            found[url] = self._read(url)
        return found[url]
