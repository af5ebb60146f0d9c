"""The httpx transports: the blocking default, and async over a caller's ``httpx.AsyncClient``.

httpx stays the blocking default: one connection at a time is what a chain
does, and there its cost per request is within a few percent of a raw
``httpx.Client.post``. Under hundreds of concurrent requests its async pool is
slow (httpcore scans the whole pool for every request), so the async default
is `agentloop.providers.aiohttp_transport`; `HTTPXAsyncTransport` serves
those who pass their own ``httpx.AsyncClient`` (a proxy, a mock).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx

from agentloop.providers.transport import (
    HTTPRequest,
    HTTPResponse,
    Timeout,
    TransportConnectionError,
    TransportTimeout,
    lower_keys,
)


def httpx_timeout(timeout: Timeout) -> httpx.Timeout:
    """httpx's timeout for ours: the read timeout also bounds writes and the wait for the pool."""
    return httpx.Timeout(timeout.read, connect=timeout.connect)


@contextmanager
def mapped_errors() -> Iterator[None]:
    """httpx's failures as the transport's own errors."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise TransportTimeout(f"{type(exc).__name__}: {exc}") from exc
    except httpx.HTTPError as exc:
        raise TransportConnectionError(str(exc) or type(exc).__name__) from exc


def _build(client: httpx.Client | httpx.AsyncClient, request: HTTPRequest) -> httpx.Request:
    # An explicit timeout wins; else the client's own (which a caller's client may have set).
    if request.timeout is None:
        return client.build_request(
            request.method, request.url, headers=request.headers, content=request.body
        )
    return client.build_request(
        request.method,
        request.url,
        headers=request.headers,
        content=request.body,
        timeout=httpx_timeout(request.timeout),
    )


class HTTPXStream:
    """A streamed httpx reply, blocking."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.headers = lower_keys(response.headers)

    def iter_bytes(self) -> Iterator[bytes]:
        with mapped_errors():
            yield from self._response.iter_bytes()

    def read(self) -> bytes:
        with mapped_errors():
            return self._response.read()

    def close(self) -> None:
        self._response.close()


class HTTPXTransport:
    """Blocking requests through one ``httpx.Client`` (made on first use unless given)."""

    def __init__(
        self, client: httpx.Client | None = None, *, timeout: Timeout | None = None
    ) -> None:
        self._client = client
        self.timeout = timeout or Timeout()

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=httpx_timeout(self.timeout))
        return self._client

    def send(self, request: HTTPRequest) -> HTTPResponse:
        client = self.client
        with mapped_errors():
            response = client.send(_build(client, request))
        return HTTPResponse(response.status_code, lower_keys(response.headers), response.content)

    def stream(self, request: HTTPRequest) -> HTTPXStream:
        client = self.client
        with mapped_errors():
            response = client.send(_build(client, request), stream=True)
        return HTTPXStream(response)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


class HTTPXAsyncStream:
    """A streamed httpx reply, async."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.headers = lower_keys(response.headers)

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        with mapped_errors():
            async for chunk in self._response.aiter_bytes():
                yield chunk

    async def read(self) -> bytes:
        with mapped_errors():
            return await self._response.aread()

    async def aclose(self) -> None:
        await self._response.aclose()


class HTTPXAsyncTransport:
    """Async requests through a caller's ``httpx.AsyncClient``."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def send(self, request: HTTPRequest) -> HTTPResponse:
        with mapped_errors():
            response = await self.client.send(_build(self.client, request))
        return HTTPResponse(response.status_code, lower_keys(response.headers), response.content)

    async def stream(self, request: HTTPRequest) -> HTTPXAsyncStream:
        with mapped_errors():
            response = await self.client.send(_build(self.client, request), stream=True)
        return HTTPXAsyncStream(response)

    async def aclose(self) -> None:
        await self.client.aclose()


def over_clients(
    client: httpx.Client | None, async_client: httpx.AsyncClient | None, timeout: Timeout
) -> tuple[HTTPXTransport | None, HTTPXAsyncTransport | None]:
    """Transports over a caller's httpx clients (None where none is given)."""
    return (
        HTTPXTransport(client, timeout=timeout) if client is not None else None,
        HTTPXAsyncTransport(async_client) if async_client is not None else None,
    )
