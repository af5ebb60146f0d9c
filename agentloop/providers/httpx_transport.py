"""The httpx transports: the blocking default, and async over a caller's ``httpx.AsyncClient``.

httpx stays the blocking default: one connection at a time is what a chain
does, and there its cost per request is within a few percent of a raw
``httpx.Client.post``. Under hundreds of concurrent requests its async pool is
slow (httpcore scans the whole pool for every request), so the async default
is `agentloop.providers.aiohttp_transport`; `HTTPXAsyncTransport` serves
those who pass their own ``httpx.AsyncClient`` (a proxy, a mock).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from agentloop.providers.transport import (
    HTTPRequest,
    HTTPResponse,
    PerURL,
    Timeout,
    TransportConnectionError,
    TransportTimeout,
    environment_proxy,
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
    """Blocking requests through httpx: a caller's ``httpx.Client``, or httpx's own pool.

    Without a client, requests go straight to an ``httpx.HTTPTransport`` (the connection
    pool an ``httpx.Client`` sends through) with the headers and timeout a client would
    give them: a chain makes one request after another, and the client's layers above the
    pool (URL merging, auth and redirect flows, hooks, cookies) cost a quarter of each
    request while doing nothing for an API call (`benchmarks/http_overhead.py`). A proxy
    the environment names (``HTTPS_PROXY``, ``NO_PROXY``...) gets a pool of its own, read
    the way the aiohttp transport reads it. Once ``client`` is asked for, a caller may
    configure it, so every later request goes through it.
    """

    def __init__(
        self, client: httpx.Client | None = None, *, timeout: Timeout | None = None
    ) -> None:
        self._client = client
        self.timeout = timeout or Timeout()
        #: httpx's pools by the proxy they go through (None: direct), used while no client.
        self._pools: dict[str | None, httpx.HTTPTransport] = {}
        self._proxy = PerURL(environment_proxy)
        #: Parsing a URL is a tenth of a request's work.
        self._url = PerURL(httpx.URL)
        self._timeouts: dict[Timeout | None, dict[str, Any]] = {}

    @property
    def client(self) -> httpx.Client:
        """The ``httpx.Client`` every request goes through from now on (made if none was)."""
        if self._client is None:
            self._client = httpx.Client(timeout=httpx_timeout(self.timeout))
            pools, self._pools = self._pools, {}
            for pool in pools.values():
                pool.close()
        return self._client

    def send(self, request: HTTPRequest) -> HTTPResponse:
        with mapped_errors():
            response = self._open(request)
            try:
                response.read()
            finally:
                response.close()
        return HTTPResponse(response.status_code, lower_keys(response.headers), response.content)

    def stream(self, request: HTTPRequest) -> HTTPXStream:
        with mapped_errors():
            response = self._open(request)
        return HTTPXStream(response)

    def _open(self, request: HTTPRequest) -> httpx.Response:
        """The reply to ``request``, its body not read yet: through the client if there is
        one, else straight to the pool."""
        client = self._client
        if client is not None:
            return client.send(_build(client, request), stream=True)
        return self._pool(request.url).handle_request(self._request(request))

    def _pool(self, url: str) -> httpx.HTTPTransport:
        proxy = self._proxy(url)
        pool = self._pools.get(proxy)
        if pool is None:  # two threads may both get here: one pool is kept, one closed
            made = httpx.HTTPTransport(proxy=proxy)
            pool = self._pools.setdefault(proxy, made)
            if pool is not made:
                made.close()
        return pool

    def _request(self, request: HTTPRequest) -> httpx.Request:
        """``request`` as the pool takes it: what ``httpx.Client.build_request`` would make."""
        headers = client_headers().copy()
        headers.update(request.headers)
        return httpx.Request(
            request.method,
            self._url(request.url),
            headers=headers,
            content=request.body,
            extensions={"timeout": self._timeout(request.timeout)},
        )

    def _timeout(self, timeout: Timeout | None) -> dict[str, Any]:
        found = self._timeouts.get(timeout)
        if found is None:
            found = self._timeouts[timeout] = httpx_timeout(timeout or self.timeout).as_dict()
        return found

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        for pool in self._pools.values():
            pool.close()
        self._pools = {}


@functools.cache
def client_headers() -> httpx.Headers:
    """The headers an ``httpx.Client`` puts on every request (its user agent, the encodings
    it decodes), read from one: a client made over a given transport opens nothing."""
    return httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(500))).headers


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
