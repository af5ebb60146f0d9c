"""The HTTP transport every provider shares: clients, retries, SSE and error mapping.

A provider subclasses `HTTPModel` and writes only pure functions: how a
[`Request`][agentloop.Request] becomes an `HTTPCall`, how a
reply body becomes a [`Reply`][agentloop.Reply], and how
server-sent events become deltas (a `StreamDecoder`). Sending, retrying,
reading the stream and turning HTTP failures into typed errors happen here,
once, for sync and async alike.
"""

from __future__ import annotations

import copy
import email.utils
import json
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, Self, TypeVar

import httpx
from httpx_sse import EventSource, ServerSentEvent
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from agentloop.errors import (
    AuthenticationError,
    BadRequestError,
    ContextTooLongError,
    MissingKeyError,
    ModelNotFoundError,
    OverloadedError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
    StreamIncomplete,
)
from agentloop.model import Model
from agentloop.providers.base import Delta, Reply, Request, StreamEvent

T = TypeVar("T")

#: The longest wait a ``retry-after`` header can impose on one retry (seconds).
MAX_RETRY_AFTER = 60.0
#: Generous by default: long generations and slow reasoning models take minutes.
DEFAULT_READ_TIMEOUT = 600.0
DEFAULT_CONNECT_TIMEOUT = 10.0

_CONTEXT_HINTS = (
    "context length",
    "context_length",
    "context window",
    "maximum context",
    "prompt is too long",
    "too many tokens",
    "input is too long",
    "exceeds the maximum number of tokens",
)


class Secret:
    """Holds an API key so that no repr, ``vars()`` dump or log line can show it."""

    __slots__ = ("value",)

    def __init__(self, value: str | None) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret('********')" if self.value else "Secret(None)"


@dataclass(slots=True)
class HTTPCall:
    """One HTTP request as data: the provider's encoding, before any I/O."""

    url: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class StreamDecoder(Protocol):
    """Turns one provider's server-sent events into deltas, then a reply (pure, stateful)."""

    #: The text received so far, kept on a [`StreamIncomplete`][agentloop.errors.StreamIncomplete]
    #: if the stream breaks.
    partial_text: str

    def feed(self, event: ServerSentEvent) -> Iterable[Delta]: ...

    def finish(self) -> Reply:
        """The reply, once the stream ended; raises StreamIncomplete if it ended early."""
        ...


class HTTPModel(Model):
    """A model served over HTTP. Subclasses set the class constants and the pure methods."""

    #: Wire-format name used in errors and as the registry prefix ("openai", ...).
    provider: ClassVar[str]
    #: Environment variables holding the API key, in order of preference.
    key_env: ClassVar[tuple[str, ...]] = ()
    #: Environment variable overriding the base URL.
    base_url_env: ClassVar[str | None] = None
    default_base_url: ClassVar[str] = ""
    #: Local servers (Ollama, llama.cpp) need no key.
    requires_key: ClassVar[bool] = True

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
    ) -> None:
        self.model_name = model_name
        self.model_id = f"{self.provider}/{model_name}"
        self.base_url = (
            base_url
            or (os.environ.get(self.base_url_env) if self.base_url_env else None)
            or self.default_base_url
        ).rstrip("/")
        self.timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        #: Default options sent with every request (per-call options win).
        self.options = dict(options or {})
        self.extra_headers = dict(headers or {})
        self._api_key = Secret(api_key)
        self._client = http_client
        self._async_client = async_http_client

    # -- what a provider writes (pure) -----------------------------------------

    def encode(self, request: Request, *, stream: bool) -> HTTPCall:
        raise NotImplementedError  # pragma: no cover - every provider overrides it

    def decode(self, body: Any) -> Reply:
        raise NotImplementedError  # pragma: no cover - every provider overrides it

    def stream_decoder(self) -> StreamDecoder:
        raise NotImplementedError  # pragma: no cover - every provider overrides it

    def events_from_body(self, content_type: str, body: bytes) -> Iterable[ServerSentEvent] | None:
        """Events from a streamed reply that is not ``text/event-stream`` (read whole).

        None, the default, means the provider never streams that way and the body is a
        [`ResponseFormatError`][agentloop.errors.ResponseFormatError]. Gemini overrides it: without
        ``alt=sse`` its stream is one JSON array.
        """
        return None

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

    def with_clients(
        self,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        *,
        max_retries: int | None = None,
    ) -> Self:
        """A copy of this model using the given httpx clients (None: its own, made on first use).

        The original keeps its clients and settings. A copy with no clients holds no
        sockets or locks, so it can be pickled to another process.
        """
        copied = copy.copy(self)
        copied._client = http_client
        copied._async_client = async_http_client
        if max_retries is not None:
            copied.max_retries = max_retries
        return copied

    # -- sync transport --------------------------------------------------------------

    def complete(self, request: Request) -> Reply:
        call = self.encode(request, stream=False)
        response = self._retrying(lambda: self._post(call))
        return self.decode(self._json(response))

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        call = self.encode(request, stream=True)
        response = self._retrying(lambda: self._open_stream(call))
        decoder = self.stream_decoder()
        try:
            for event in self._events(response):
                yield from decoder.feed(event)
        except httpx.HTTPError as exc:
            raise self._broken_stream(exc, decoder) from exc
        finally:
            response.close()
        yield decoder.finish()

    def _post(self, call: HTTPCall) -> httpx.Response:
        try:
            response = self.client.post(call.url, json=call.body, headers=call.headers)
        except httpx.HTTPError as exc:
            raise self._network_error(exc) from exc
        if response.status_code >= 400:
            raise self.error_from_response(response.status_code, response.text, response.headers)
        return response

    def _open_stream(self, call: HTTPCall) -> httpx.Response:
        request = self.client.build_request("POST", call.url, json=call.body, headers=call.headers)
        try:
            response = self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self._network_error(exc) from exc
        if response.status_code >= 400:
            try:
                text = response.read().decode("utf-8", "replace")
            finally:
                response.close()
            raise self.error_from_response(response.status_code, text, response.headers)
        return response

    def _retrying(self, attempt: Callable[[], T]) -> T:
        for try_ in Retrying(**self._retry_policy()):
            with try_:
                return attempt()
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # -- async transport -------------------------------------------------------------

    async def acomplete(self, request: Request) -> Reply:
        call = self.encode(request, stream=False)
        response = await self._aretrying(call, stream=False)
        return self.decode(self._json(response))

    async def astream(self, request: Request) -> AsyncIterator[StreamEvent]:
        call = self.encode(request, stream=True)
        response = await self._aretrying(call, stream=True)
        decoder = self.stream_decoder()
        try:
            async for event in self._aevents(response):
                for delta in decoder.feed(event):
                    yield delta
        except httpx.HTTPError as exc:
            raise self._broken_stream(exc, decoder) from exc
        finally:
            await response.aclose()
        yield decoder.finish()

    async def _aretrying(self, call: HTTPCall, *, stream: bool) -> httpx.Response:
        async for try_ in AsyncRetrying(**self._retry_policy()):
            with try_:
                return await self._asend(call, stream=stream)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _asend(self, call: HTTPCall, *, stream: bool) -> httpx.Response:
        client = self.async_client
        request = client.build_request("POST", call.url, json=call.body, headers=call.headers)
        try:
            response = await client.send(request, stream=stream)
        except httpx.HTTPError as exc:
            raise self._network_error(exc) from exc
        if response.status_code >= 400:
            try:
                text = (await response.aread()).decode("utf-8", "replace")
            finally:
                await response.aclose()
            raise self.error_from_response(response.status_code, text, response.headers)
        return response

    @property
    def async_client(self) -> httpx.AsyncClient:
        if self._async_client is None:
            self._async_client = httpx.AsyncClient(timeout=self.timeout)
        return self._async_client

    async def aclose(self) -> None:
        if self._async_client is not None:
            await self._async_client.aclose()

    # -- shared pieces -----------------------------------------------------------------

    def _retry_policy(self) -> dict[str, Any]:
        backoff = wait_exponential_jitter(multiplier=self.retry_backoff, max=8.0, jitter=0.5)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, ProviderError) and error.retry_after is not None:
                return min(error.retry_after, MAX_RETRY_AFTER)
            return backoff(state) if self.retry_backoff > 0 else 0.0

        return {
            "stop": stop_after_attempt(self.max_retries + 1),
            "retry": retry_if_exception(lambda e: isinstance(e, ProviderError) and e.retryable),
            "wait": wait,
            "reraise": True,
        }

    def _events(self, response: httpx.Response) -> Iterable[ServerSentEvent]:
        if "text/event-stream" in response.headers.get("content-type", ""):
            return EventSource(response).iter_sse()
        return self._body_events(response, response.read())

    async def _aevents(self, response: httpx.Response) -> AsyncIterator[ServerSentEvent]:
        if "text/event-stream" in response.headers.get("content-type", ""):
            async for event in EventSource(response).aiter_sse():
                yield event
            return
        for event in self._body_events(response, await response.aread()):
            yield event

    def _body_events(self, response: httpx.Response, body: bytes) -> Iterable[ServerSentEvent]:
        """A streamed body that is not an event stream: the provider's own framing, or an error."""
        content_type = response.headers.get("content-type", "")
        events = self.events_from_body(content_type, body)
        if events is not None:
            return events
        text = body.decode("utf-8", "replace")
        raise ResponseFormatError(
            f"expected an event stream, got {content_type or 'no content type'}: {text[:200]!r}",
            provider=self.provider,
            status=response.status_code,
            body=text[:2000],
        )

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise ResponseFormatError(
                f"the reply is not valid JSON ({exc}): {response.text[:200]!r}",
                provider=self.provider,
                status=response.status_code,
                body=response.text[:2000],
            ) from None

    def _network_error(self, exc: httpx.HTTPError) -> ProviderError:
        if isinstance(exc, httpx.TimeoutException):
            return ProviderTimeoutError(
                f"no answer from {self.base_url} in time ({type(exc).__name__})",
                provider=self.provider,
            )
        return ProviderConnectionError(
            f"could not reach {self.base_url}: {exc}", provider=self.provider
        )

    def _broken_stream(self, exc: Exception, decoder: StreamDecoder) -> StreamIncomplete:
        return StreamIncomplete(
            f"the stream broke off: {exc}",
            provider=self.provider,
            partial_text=decoder.partial_text,
        )

    def error_from_response(
        self, status: int, text: str, headers: httpx.Headers | dict[str, str]
    ) -> ProviderError:
        """The typed error for an HTTP failure (a pure function of what was received)."""
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


def parse_error_body(text: str) -> tuple[str | None, str]:
    """(error type, message) from an error body in the OpenAI, Anthropic or Google shape."""
    try:
        body = json.loads(text)
    except ValueError:
        return None, text.strip()[:500]
    if isinstance(body, list) and body:
        body = body[0]  # Gemini's streaming endpoint wraps errors in a list
    if not isinstance(body, dict):
        return None, text.strip()[:500]
    error = body.get("error", body)
    if isinstance(error, str):
        return None, error
    if not isinstance(error, dict):
        return None, text.strip()[:500]
    message = str(error.get("message") or "")
    error_type = error.get("type") or error.get("status") or error.get("code")
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("reason"):
            error_type = detail["reason"]  # Gemini's API_KEY_INVALID is more telling
    return (str(error_type) if error_type is not None else None), message


def classify(status: int, error_type: str | None, message: str) -> type[ProviderError]:
    """Which error an HTTP status (and the provider's error type) means."""
    kind = (error_type or "").lower()
    if status == 401 or kind in ("api_key_invalid", "authentication_error", "invalid_api_key"):
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status == 404:
        return ModelNotFoundError
    if status == 429:
        return RateLimitError
    if status == 529 or "overloaded" in kind or (status == 503 and "overload" in message):
        return OverloadedError
    if status in (408, 409) or status >= 500:
        return ServerError
    lowered = message.lower()
    if kind == "context_length_exceeded" or any(h in lowered for h in _CONTEXT_HINTS):
        return ContextTooLongError
    if status in (400, 413, 422):
        return BadRequestError
    return ProviderError


def parse_retry_after(headers: httpx.Headers | dict[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None
