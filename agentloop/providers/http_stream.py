"""`HTTPStreamer`, the third layer of `HTTPModel`: a streamed call, from the first byte to
the decoder's reply.

The call is sent under the retries (`agentloop.providers.http_send`), its body read as
events as the chunks arrive (server-sent events, or a format's own framing:
`stream_framing`), or whole when the server did not stream (`events_from_body`), each event
fed to the codec's `StreamDecoder`; a stream broken off is a `StreamIncomplete` with the
text received so far.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterable

from agentloop.errors import ResponseFormatError, StreamIncomplete
from agentloop.providers.base import StreamEvent
from agentloop.providers.http_call import HTTPCall, StreamDecoder, wire_request
from agentloop.providers.http_send import HTTPSender
from agentloop.providers.redaction import redact_error
from agentloop.providers.request_log import RequestLog
from agentloop.providers.sse import (
    EventFraming,
    EventParser,
    ServerSentEvent,
    aiter_events,
    iter_events,
)
from agentloop.providers.transport import (
    AsyncResponseStream,
    HTTPRequest,
    ResponseStream,
    TransportError,
)


class HTTPStreamer(HTTPSender):
    """The streamed calls of an `HTTPModel` (see there)."""

    def stream_decoder(self) -> StreamDecoder:
        raise NotImplementedError  # pragma: no cover - every provider overrides it

    def stream_framing(self, content_type: str) -> EventFraming | None:
        """How a streamed body of ``content_type`` is read into events as its chunks arrive:
        server-sent events (``sse.EventParser``) for ``text/event-stream``, else None (the body
        is then read whole, `events_from_body`). A format whose stream has another framing
        returns its own parser (Bedrock: the AWS event-stream's binary frames)."""
        return EventParser() if "text/event-stream" in content_type else None

    def events_from_body(self, content_type: str, body: bytes) -> Iterable[ServerSentEvent] | None:
        """Events from a streamed reply that is not ``text/event-stream`` (read whole).

        None, the default, means the provider never streams that way and the body is a
        [`ResponseFormatError`][agentloop.errors.ResponseFormatError]. Gemini overrides it: without
        ``alt=sse`` its stream is one JSON array.
        """
        return None

    # -- blocking ----------------------------------------------------------------

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

    # -- async -------------------------------------------------------------------

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

    # -- errors ------------------------------------------------------------------

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

    def _broken_stream(self, exc: Exception, decoder: StreamDecoder) -> StreamIncomplete:
        return StreamIncomplete(
            f"the stream broke off: {exc}",
            provider=self.provider,
            partial_text=decoder.partial_text,
        )
