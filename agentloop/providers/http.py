"""`HTTPModel`: a model served over HTTP, where the codecs meet a transport.

A provider subclasses `HTTPModel` and writes only pure functions: how a
[`Request`][agentloop.Request] becomes an `HTTPCall`, how a reply body
becomes a [`Reply`][agentloop.Reply], and how server-sent events become
deltas (a `StreamDecoder`). This class does the rest, once, for sync and
async alike: it fetches the media the codec inlines (`agentloop.providers.media_fetch`),
encodes the call to bytes, sends it through a transport
(`agentloop.providers.transport`: httpx blocking, aiohttp async), retries
under the one policy (`agentloop.providers.retry`), reads the event stream
(`agentloop.providers.sse`), turns failures into typed errors with keys
redacted, and logs each request (`agentloop.providers.request_log`).

It is built in layers, one concept each: `agentloop.providers.http_base` (endpoint, keys,
headers, transports), `agentloop.providers.http_send` (sending under the retries, the typed
errors), `agentloop.providers.http_stream` (streamed calls); this module adds what a codec
writes, the calls a chain makes and the media fetched before them. The names a provider
imports from here stay here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from agentloop.media import Media
from agentloop.providers.base import Reply, Request, StreamEvent
from agentloop.providers.http_auth import Secret, legacy_endpoint
from agentloop.providers.http_base import MAX_BACKOFF
from agentloop.providers.http_call import HTTPCall, StreamDecoder
from agentloop.providers.http_errors import classify, parse_error_body, parse_retry_after
from agentloop.providers.http_stream import HTTPStreamer
from agentloop.providers.media_fetch import afetch, fetch
from agentloop.providers.retry import MAX_RETRY_AFTER
from agentloop.providers.transport import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT
from agentloop.token_count import CountCall, TokenCount

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_READ_TIMEOUT",
    "MAX_BACKOFF",
    "MAX_RETRY_AFTER",
    "HTTPCall",
    "HTTPModel",
    "Secret",
    "StreamDecoder",
    "classify",
    "parse_error_body",
    "parse_retry_after",
]


class HTTPModel(HTTPStreamer):
    """A model served over HTTP. Subclasses name their `Endpoint` and write the pure methods.

    ``endpoint=`` serves the same wire format from another place (an OpenAI-compatible host);
    ``transport=`` / ``async_transport=`` replace the default transports (httpx
    blocking, aiohttp async); ``http_client=`` / ``async_http_client=`` give httpx
    clients to use instead (with their own timeouts and settings).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "endpoint", None) is None:
            cls.endpoint = legacy_endpoint(cls)

    # -- what a provider writes (pure) -------------------------------------------

    def encode(self, request: Request, *, stream: bool) -> HTTPCall:
        raise NotImplementedError  # pragma: no cover - every provider overrides it

    def decode(self, body: Any) -> Reply:
        raise NotImplementedError  # pragma: no cover - every provider overrides it

    def media_to_fetch(self, request: Request) -> list[Media]:
        """The parts of ``request`` holding only a URL that `encode` sends as bytes (pure).

        Every method that sends fetches them first, through the model's transport, so
        `encode` never does I/O. None by default: a format that takes every URL as a URL.
        """
        return []

    # -- blocking ----------------------------------------------------------------

    def complete(self, request: Request) -> Reply:
        self._fetch_media(request)
        return self.decode(self._post(self.encode(request, stream=False)))

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        self._fetch_media(request)
        yield from self._stream(self.encode(request, stream=True))

    def _fetch_media(self, request: Request) -> None:
        """Fetch what `encode` needs as bytes, blocking (`media_fetch.fetch`)."""
        fetch(self.transport, self.media_to_fetch(request), self.max_media_bytes, self)

    # -- async -------------------------------------------------------------------

    async def acomplete(self, request: Request) -> Reply:
        await self._afetch_media(request)
        return self.decode(await self._apost(self.encode(request, stream=False)))

    async def astream(self, request: Request) -> AsyncIterator[StreamEvent]:
        await self._afetch_media(request)
        async for event in self._astream(self.encode(request, stream=True)):
            yield event

    async def _afetch_media(self, request: Request) -> None:
        """`_fetch_media` through the async transport: the event loop keeps running."""
        media = self.media_to_fetch(request)
        if media:  # most requests: no coroutine for nothing
            await afetch(self.async_transport, media, self.max_media_bytes, self)

    # -- token counts ------------------------------------------------------------

    def count_call(self, request: Request) -> CountCall | None:
        """The provider's token-counting request for ``request`` (pure), or None when it has
        no such endpoint: then the count is `count_locally`'s."""
        return None

    def count_locally(self, request: Request) -> TokenCount:
        """The count of a provider without a counting endpoint: the estimate."""
        return super().count_request(request)

    def count_request(self, request: Request) -> TokenCount:
        self._fetch_media(request)  # a counting request is encoded as the request itself
        call = self.count_call(request)
        if call is None:
            return self.count_locally(request)
        headers = self.request_headers() if call.headers is None else call.headers
        return call.result(self._post(HTTPCall(call.url, call.body, headers)), self.provider)

    async def acount_request(self, request: Request) -> TokenCount:
        await self._afetch_media(request)
        call = self.count_call(request)
        if call is None:
            return await super().acount_request(request)
        headers = self.request_headers() if call.headers is None else call.headers
        reply = await self._apost(HTTPCall(call.url, call.body, headers))
        return call.result(reply, self.provider)
