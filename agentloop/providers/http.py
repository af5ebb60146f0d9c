"""`HTTPModel`: a model served over HTTP, where the codecs meet a transport.

A provider subclasses `HTTPModel` and writes only pure functions: how a
[`Request`][agentloop.Request] becomes an `HTTPCall`, how a reply body
becomes a [`Reply`][agentloop.Reply], and how server-sent events become
deltas (a `StreamDecoder`). This class does the rest, once, for sync and
async alike: it encodes the call to bytes, sends it through a transport
(`agentloop.providers.transport`: httpx blocking, aiohttp async), retries
under the one policy (`agentloop.providers.retry`), reads the event stream
(`agentloop.providers.sse`), turns failures into typed errors with keys
redacted, and logs each request (`agentloop.providers.request_log`).
"""

from __future__ import annotations

import copy
import os
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
)
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Self, TypeVar

from agentloop.downloads import MAX_DOWNLOAD_BYTES
from agentloop.errors import (
    AuthenticationError,
    MissingKeyError,
    ModelNotFoundError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    ResponseFormatError,
    StreamIncomplete,
)
from agentloop.media import Media
from agentloop.model import Model
from agentloop.providers.authenticator import Authenticator
from agentloop.providers.base import Reply, Request, StreamEvent
from agentloop.providers.endpoints import Endpoint
from agentloop.providers.http_call import HTTPCall, StreamDecoder, wire_request
from agentloop.providers.http_errors import classify, parse_error_body, parse_retry_after
from agentloop.providers.media_fetch import afetch, fetch
from agentloop.providers.redaction import redact, redact_error, secrets_of
from agentloop.providers.request_log import RequestLog
from agentloop.providers.retry import MAX_RETRY_AFTER, RetryPolicy
from agentloop.providers.sse import (
    EventFraming,
    EventParser,
    ServerSentEvent,
    aiter_events,
    iter_events,
)
from agentloop.providers.transport import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    AsyncResponseStream,
    AsyncTransport,
    HTTPRequest,
    HTTPResponse,
    ResponseStream,
    Timeout,
    Transport,
    TransportError,
    TransportTimeout,
)
from agentloop.providers.wire_json import load_reply
from agentloop.token_count import CountCall, TokenCount

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_READ_TIMEOUT",
    "MAX_RETRY_AFTER",
    "HTTPCall",
    "HTTPModel",
    "Secret",
    "StreamDecoder",
    "classify",
    "parse_error_body",
    "parse_retry_after",
]

T = TypeVar("T")
#: The longest backoff between a model's own retries (a batch waits up to a minute).
MAX_BACKOFF = 8.0


class Secret:
    """Holds an API key so that no repr, ``vars()`` dump or log line can show it."""

    __slots__ = ("value",)

    def __init__(self, value: str | None) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret('********')" if self.value else "Secret(None)"


def _legacy_endpoint(cls: type) -> Endpoint:
    """The endpoint of a subclass written before endpoints, from its class constants
    (``provider``, ``key_env``, ``base_url_env``, ``default_base_url``, ``requires_key``),
    so that it keeps working unchanged."""

    def constant(name: str, kind: type, default: Any) -> Any:
        value = getattr(cls, name, default)
        return value if isinstance(value, kind) else default  # a property: not set there

    return Endpoint(
        constant("provider", str, cls.__name__.lower()),
        "custom",
        constant("default_base_url", str, ""),
        "",
        key_env=tuple(constant("key_env", tuple, ())),
        base_url_env=constant("base_url_env", str, None),
        requires_key=constant("requires_key", bool, True),
    )


class HTTPModel(Model):
    """A model served over HTTP. Subclasses name their `Endpoint` and write the pure methods.

    ``endpoint=`` serves the same wire format from another place (an OpenAI-compatible host);
    ``transport=`` / ``async_transport=`` replace the default transports (httpx
    blocking, aiohttp async); ``http_client=`` / ``async_http_client=`` give httpx
    clients to use instead (with their own timeouts and settings).
    """

    #: Where the model is served: URL, auth, key and base-URL variables, quirks. Each
    #: subclass names its own; ``endpoint=`` replaces it for one model.
    endpoint: Endpoint
    #: The most bytes fetched from a media URL the wire format cannot take (its bytes are
    #: sent instead); past it the request fails with `MediaTooLargeError`.
    max_media_bytes: int = MAX_DOWNLOAD_BYTES
    #: Credential headers fetched for each request as it is sent (a cloud's short-lived
    #: tokens: `providers/authenticator.py`); None: only the endpoint's key header.
    authenticator: Authenticator | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "endpoint", None) is None:
            cls.endpoint = _legacy_endpoint(cls)

    def __init__(
        self,
        model_name: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_READ_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_retries: int = 2,
        retry_backoff: float = 0.5,
        options: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        transport: Transport | None = None,
        async_transport: AsyncTransport | None = None,
        endpoint: Endpoint | None = None,
    ) -> None:
        if endpoint is not None:
            self.endpoint = endpoint
        self.model_name = model_name
        self.model_id = f"{self.provider}/{model_name}"
        self.base_url = (base_url or self.configured_base_url()).rstrip("/")
        self.timeout = Timeout(timeout, connect_timeout)
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        #: Default options sent with every request (per-call options win), over the endpoint's.
        self.options = {**self.endpoint.options, **(options or {})}
        self.extra_headers = dict(headers or {})
        self._api_key = Secret(api_key)
        over_clients = self._over_clients(http_client, async_http_client)
        self._transport = transport or over_clients[0]
        self._async_transport = async_transport or over_clients[1]

    # -- the endpoint ------------------------------------------------------------------

    @property
    def provider(self) -> str:
        """The endpoint's name: in errors, logs and ``model_id`` (``"groq"``)."""
        return self.endpoint.name

    @property
    def key_env(self) -> tuple[str, ...]:
        return self.endpoint.key_env

    @property
    def requires_key(self) -> bool:
        return self.endpoint.requires_key

    def configured_base_url(self) -> str:
        """The base URL when ``base_url=`` is not given: the endpoint's variable, else its
        default."""
        variable = self.endpoint.base_url_env
        return (os.environ.get(variable) if variable else None) or self.endpoint.base_url

    def url(self, *, stream: bool = False) -> str:
        """Where a request goes: the base URL and the endpoint's path."""
        return self.endpoint.url(self.base_url, model=self.model_name)

    def request_headers(self) -> dict[str, str]:
        """The endpoint's headers, its auth header with the key, then ``headers=``.

        The caller's headers win, and a credential header given there under any case
        (``Authorization``) replaces the endpoint's rather than travelling beside it.
        """
        given = {name.lower() for name in self.extra_headers}
        auth = self.endpoint.auth_headers(self.api_key() if self.endpoint.auth != "none" else None)
        auth = {name: value for name, value in auth.items() if name not in given}
        return {**self.endpoint.headers, **auth, **self.extra_headers}

    # -- what a provider writes (pure) -----------------------------------------

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

    def stream_decoder(self) -> StreamDecoder:
        raise NotImplementedError  # pragma: no cover - every provider overrides it

    def stream_framing(self, content_type: str) -> EventFraming | None:
        """How a streamed body of ``content_type`` is read into events as its chunks arrive:
        server-sent events (``sse.EventParser``) for ``text/event-stream``, else None (the body
        is then read whole, `events_from_body`). A format whose stream has another framing
        returns its own parser (Bedrock: the AWS event-stream's binary frames)."""
        return EventParser() if "text/event-stream" in content_type else None

    def sign(self, request: HTTPRequest) -> HTTPRequest:
        """The request as sent, after the codec encoded it: the model's last word on its
        headers, over the exact body bytes (AWS SigV4 signs them). As it is, by default."""
        return request

    def events_from_body(self, content_type: str, body: bytes) -> Iterable[ServerSentEvent] | None:
        """Events from a streamed reply that is not ``text/event-stream`` (read whole).

        None, the default, means the provider never streams that way and the body is a
        [`ResponseFormatError`][agentloop.errors.ResponseFormatError]. Gemini overrides it: without
        ``alt=sse`` its stream is one JSON array.
        """
        return None

    def error_from_response(
        self, status: int, text: str, headers: Mapping[str, str]
    ) -> ProviderError:
        """The typed error for an HTTP failure (a pure function of what was received).

        ``text`` arrives with keys already masked; providers override this to read
        more from their own error shape, and `http_error` is what calls it.
        """
        error_type, message = parse_error_body(text)
        kind = classify(status, error_type, message)
        if kind is AuthenticationError and self.key_env:
            message = f"{message} (check {' or '.join(self.key_env)}, or pass api_key=)"
        if kind is ModelNotFoundError:
            message = f"{message} (model {self.model_name!r})"
        return kind(
            message or f"HTTP {status}",
            provider=self.provider,
            status=status,
            error_type=error_type,
            body=text[:2000],
            retry_after=parse_retry_after(headers),
        )

    # -- keys ------------------------------------------------------------------------

    def api_key(self) -> str | None:
        """The key: the ``api_key=`` argument, else the environment. Never logged."""
        if self._api_key.value:
            return self._api_key.value
        for name in self.key_env:
            if os.environ.get(name):
                return os.environ[name]
        if self.requires_key:
            names = " or ".join(self.key_env) or "an API key"
            raise MissingKeyError(
                f"No API key for {self.provider}: set {names} or pass api_key= to get_model()"
            )
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.model_id!r} at {self.base_url}>"

    # -- transports --------------------------------------------------------------------

    @property
    def transport(self) -> Transport:
        """The blocking transport: httpx unless another was given (made on first use)."""
        if self._transport is None:
            from agentloop.providers.httpx_transport import HTTPXTransport

            self._transport = HTTPXTransport(timeout=self.timeout)
        return self._transport

    @property
    def async_transport(self) -> AsyncTransport:
        """The async transport: aiohttp unless another was given (made on first use)."""
        if self._async_transport is None:
            from agentloop.providers.aiohttp_transport import AiohttpTransport

            self._async_transport = AiohttpTransport(timeout=self.timeout)
        return self._async_transport

    @property
    def client(self) -> httpx.Client:
        """The ``httpx.Client`` of the blocking transport, when it is the httpx one."""
        from agentloop.providers.httpx_transport import HTTPXTransport

        transport = self.transport
        if not isinstance(transport, HTTPXTransport):
            raise TypeError(f"{self!r} sends through {type(transport).__name__}, not httpx")
        return transport.client

    def with_transports(
        self,
        transport: Transport | None = None,
        async_transport: AsyncTransport | None = None,
        *,
        max_retries: int | None = None,
    ) -> Self:
        """A copy of this model sending through these transports (None: its own, made on
        first use). The original keeps its transports and settings. A copy with none
        holds no sockets or locks, so it can be pickled to another process."""
        copied = copy.copy(self)
        copied._transport = transport
        copied._async_transport = async_transport
        if max_retries is not None:
            copied.max_retries = max_retries
        return copied

    def with_clients(
        self,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        *,
        max_retries: int | None = None,
    ) -> Self:
        """`with_transports` for httpx clients (None: a default transport, made on first use)."""
        over_clients = self._over_clients(http_client, async_http_client)
        return self.with_transports(*over_clients, max_retries=max_retries)

    def _over_clients(
        self, http_client: httpx.Client | None, async_http_client: httpx.AsyncClient | None
    ) -> tuple[Transport | None, AsyncTransport | None]:
        if http_client is None and async_http_client is None:
            return None, None  # no httpx import for nothing
        from agentloop.providers.httpx_transport import over_clients

        return over_clients(http_client, async_http_client, self.timeout)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    async def aclose(self) -> None:
        if self._async_transport is not None:
            await self._async_transport.aclose()

    def retry_policy(self) -> RetryPolicy:
        """The model's own retries: ``max_retries`` after the first request."""
        return RetryPolicy(self.max_retries + 1, None, self.retry_backoff, MAX_BACKOFF)

    # -- blocking ----------------------------------------------------------------------

    def complete(self, request: Request) -> Reply:
        self._fetch_media(request)
        return self.decode(self._post(self.encode(request, stream=False)))

    def _fetch_media(self, request: Request) -> None:
        """Fetch what `encode` needs as bytes, blocking (`media_fetch.fetch`)."""
        fetch(self.transport, self.media_to_fetch(request), self.max_media_bytes, self)

    async def _afetch_media(self, request: Request) -> None:
        """`_fetch_media` through the async transport: the event loop keeps running."""
        await afetch(self.async_transport, self.media_to_fetch(request), self.max_media_bytes, self)

    def _post(self, call: HTTPCall) -> Any:
        """Send ``call`` under the retries and return the reply's JSON."""
        log = self._log(self._authorized(wire_request(call)))
        response = self._retrying(lambda attempt: self._send(log, attempt))
        return self._json(response.status, response.body, log.wire)

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        self._fetch_media(request)
        yield from self._stream(self.encode(request, stream=True))

    def _stream(self, call: HTTPCall) -> Generator[StreamEvent, None, None]:
        """Send a streamed ``call`` under the retries and decode its events."""
        log = self._log(self._authorized(wire_request(call)))
        response = self._retrying(lambda attempt: self._open(log, attempt))
        decoder = self.stream_decoder()
        try:
            for event in log.events(self._events(response, log.wire)):
                yield from decoder.feed(event)
        except TransportError as exc:
            log.broken(exc)
            raise self._broken_stream(exc, decoder) from exc
        finally:
            response.close()
        yield decoder.finish()

    def _retrying(self, attempt: Callable[[int], T]) -> T:
        if self.max_retries <= 0:
            return attempt(1)  # a batch's copy: the batch retries
        return self.retry_policy().call(self.model_id, attempt)

    def _checked(
        self, response: HTTPResponse, log: RequestLog, attempt: int, started: float
    ) -> HTTPResponse:
        """Log a response; an HTTP failure becomes the typed error, key masked."""
        if response.status >= 400:
            status, headers = response.status, response.headers
            raise self._status_error(status, headers, response.body, log, attempt, started)
        log.received(response.status, attempt, started, response.body)
        return response

    def _send(self, log: RequestLog, attempt: int) -> HTTPResponse:
        started = log.sending()
        try:
            response = self.transport.send(log.wire)
        except TransportError as exc:
            raise self._network_error(exc, log, attempt, started) from exc
        return self._checked(response, log, attempt, started)

    def _open(self, log: RequestLog, attempt: int) -> ResponseStream:
        started = log.sending()
        try:
            response = self.transport.stream(log.wire)
        except TransportError as exc:
            raise self._network_error(exc, log, attempt, started) from exc
        if response.status < 400:
            log.received(response.status, attempt, started)
            return response
        try:
            body = response.read()
        except TransportError:
            body = b""
        finally:
            response.close()
        raise self._status_error(response.status, response.headers, body, log, attempt, started)

    def _events(self, response: ResponseStream, wire: HTTPRequest) -> Iterable[ServerSentEvent]:
        content_type = response.headers.get("content-type", "")
        framing = self.stream_framing(content_type)
        if framing is not None:
            return iter_events(response.iter_bytes(), framing)
        return self._body_events(response.status, content_type, response.read(), wire)

    # -- token counts ------------------------------------------------------------------

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

    def post_json(self, url: str, body: dict[str, Any]) -> Any:
        """POST ``body`` to ``url`` with the model's headers and key, under its retries, and
        return the reply's JSON; a failure is the same typed error as a completion's."""
        return self._post(HTTPCall(url, body, self.request_headers()))

    async def apost_json(self, url: str, body: dict[str, Any]) -> Any:
        """`post_json`, awaitable."""
        return await self._apost(HTTPCall(url, body, self.request_headers()))

    def delete(self, url: str) -> None:
        """DELETE ``url`` with the model's headers and key, under its retries (a resource the
        model made on the provider, such as a Gemini context cache); a failure is the same
        typed error as a completion's."""
        log = self._log(self._authorized(HTTPRequest("DELETE", url, self.request_headers())))
        self._retrying(lambda attempt: self._send(log, attempt))

    async def adelete(self, url: str) -> None:
        """`delete`, awaitable."""
        wire = await self._aauthorized(HTTPRequest("DELETE", url, self.request_headers()))
        log = self._log(wire)
        await self._aretrying(log, self._asend)

    # -- async -------------------------------------------------------------------------

    async def acomplete(self, request: Request) -> Reply:
        await self._afetch_media(request)
        return self.decode(await self._apost(self.encode(request, stream=False)))

    async def _apost(self, call: HTTPCall) -> Any:
        """`_post`, awaitable."""
        log = self._log(await self._aauthorized(wire_request(call)))
        response: HTTPResponse = await (
            self._asend(log, 1)  # a batch's copy (the batch retries): no coroutine between
            if self.max_retries <= 0
            else self._aretrying(log, self._asend)
        )
        return self._json(response.status, response.body, log.wire)

    async def astream(self, request: Request) -> AsyncIterator[StreamEvent]:
        await self._afetch_media(request)
        async for event in self._astream(self.encode(request, stream=True)):
            yield event

    async def _astream(self, call: HTTPCall) -> AsyncGenerator[StreamEvent, None]:
        """`_stream`, awaitable."""
        log = self._log(await self._aauthorized(wire_request(call)))
        response: AsyncResponseStream = await self._aretrying(log, self._aopen)
        decoder = self.stream_decoder()
        try:
            async for event in log.aevents(self._aevents(response, log.wire)):
                for delta in decoder.feed(event):
                    yield delta
        except TransportError as exc:
            log.broken(exc)
            raise self._broken_stream(exc, decoder) from exc
        finally:
            await response.aclose()
        yield decoder.finish()

    async def _aretrying(
        self, log: RequestLog, send: Callable[[RequestLog, int], Awaitable[T]]
    ) -> T:
        if self.max_retries <= 0:
            return await send(log, 1)  # a batch's copy: the batch retries
        return await self.retry_policy().acall(self.model_id, lambda n: send(log, n))

    async def _asend(self, log: RequestLog, attempt: int) -> HTTPResponse:
        started = log.sending()
        try:
            response = await self.async_transport.send(log.wire)
        except TransportError as exc:
            raise self._network_error(exc, log, attempt, started) from exc
        return self._checked(response, log, attempt, started)

    async def _aopen(self, log: RequestLog, attempt: int) -> AsyncResponseStream:
        started = log.sending()
        try:
            response = await self.async_transport.stream(log.wire)
        except TransportError as exc:
            raise self._network_error(exc, log, attempt, started) from exc
        if response.status < 400:
            log.received(response.status, attempt, started)
            return response
        try:
            body = await response.read()
        except TransportError:
            body = b""
        finally:
            await response.aclose()
        raise self._status_error(response.status, response.headers, body, log, attempt, started)

    async def _aevents(
        self, response: AsyncResponseStream, wire: HTTPRequest
    ) -> AsyncIterator[ServerSentEvent]:
        content_type = response.headers.get("content-type", "")
        framing = self.stream_framing(content_type)
        if framing is not None:
            async for event in aiter_events(response.aiter_bytes(), framing):
                yield event
            return
        body = await response.read()
        for event in self._body_events(response.status, content_type, body, wire):
            yield event

    # -- errors ------------------------------------------------------------------------

    def http_error(
        self,
        status: int,
        text: str,
        headers: Mapping[str, str],
        sent: Mapping[str, str] | None = None,
    ) -> ProviderError:
        """The typed error for an HTTP failure, the one place such errors are made.

        The API key and the credential headers ``sent`` (the model's own when None)
        are masked in the text before `error_from_response` reads it, and in the
        error it returns: a server that echoes request headers cannot leak them.
        """
        secrets = self.secrets_to_mask(sent)
        error = self.error_from_response(status, redact(text, secrets), headers)
        return redact_error(error, secrets)

    def secrets_to_mask(self, sent: Mapping[str, str] | None = None) -> tuple[str, ...]:
        """The key, and the credentials among the model's headers and those ``sent``."""
        headers = {**self.extra_headers, **(sent or {})}
        try:
            key = self.api_key()
        except MissingKeyError:
            key = None
        fetched = self.authenticator.secrets() if self.authenticator is not None else ()
        return secrets_of(headers, [key, *fetched])

    def _json(self, status: int, body: bytes, wire: HTTPRequest) -> Any:
        """A reply body's JSON, read under the wire kit's limits (`load_reply`)."""
        try:
            return load_reply(body, provider=self.provider, status=status)
        except ResponseFormatError as error:
            raise redact_error(error, self.secrets_to_mask(wire.headers)) from None

    def _body_events(
        self, status: int, content_type: str, body: bytes, wire: HTTPRequest
    ) -> Iterable[ServerSentEvent]:
        """A streamed body that is not an event stream: the provider's own framing, or an error."""
        events = self.events_from_body(content_type, body)
        if events is not None:
            return events
        text = body.decode("utf-8", "replace")
        error = ResponseFormatError(
            f"expected an event stream, got {content_type or 'no content type'}: {text[:200]!r}",
            provider=self.provider,
            status=status,
            body=text[:2000],
        )
        raise redact_error(error, self.secrets_to_mask(wire.headers))

    def _network_error(
        self, exc: TransportError, log: RequestLog, attempt: int, started: float
    ) -> ProviderError:
        error: ProviderError
        if isinstance(exc, TransportTimeout):
            error = ProviderTimeoutError(
                f"no answer from {self.base_url} in time ({exc})", provider=self.provider
            )
        else:
            error = ProviderConnectionError(
                f"could not reach {self.base_url}: {exc}", provider=self.provider
            )
        error = redact_error(error, self.secrets_to_mask(log.wire.headers))
        log.received(None, attempt, started, failure=error)
        return error

    def _status_error(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        log: RequestLog,
        attempt: int,
        started: float,
    ) -> ProviderError:
        """The error for a stream that opened with a failure status (its body read whole)."""
        log.received(status, attempt, started, body)
        return self.http_error(status, body.decode("utf-8", "replace"), headers, log.wire.headers)

    def _authorized(self, wire: HTTPRequest) -> HTTPRequest:
        """``wire`` with the authenticator's headers (a header the caller gave wins)."""
        if self.authenticator is None:
            return wire
        return _with_auth(wire, self.authenticator.headers(wire))

    async def _aauthorized(self, wire: HTTPRequest) -> HTTPRequest:
        """`_authorized`, awaitable."""
        if self.authenticator is None:
            return wire
        return _with_auth(wire, await self.authenticator.aheaders(wire))

    def _log(self, wire: HTTPRequest) -> RequestLog:
        # Signed here, once per request (its retries included): every request the model
        # makes passes through, and the log shows the headers that were sent, masked.
        return RequestLog(self.provider, self.model_name, self.sign(wire), self.secrets_to_mask)

    def _broken_stream(self, exc: Exception, decoder: StreamDecoder) -> StreamIncomplete:
        return StreamIncomplete(
            f"the stream broke off: {exc}",
            provider=self.provider,
            partial_text=decoder.partial_text,
        )


def _with_auth(wire: HTTPRequest, auth: Mapping[str, str]) -> HTTPRequest:
    given = {name.lower() for name in wire.headers}
    added = {name: value for name, value in auth.items() if name.lower() not in given}
    return replace(wire, headers={**wire.headers, **added}) if added else wire
