"""The log of a model's HTTP requests, on the ``agentloop.providers.request_log`` logger.

- INFO: one line per request sent (each retry is one): provider, model, status
  (or the error), duration, attempt; the same fields are on the record
  (``record.status``...) for structured handlers.
- DEBUG: the request (method, URL, headers, body) and the reply's body or
  events, with the API key and every credential header masked.

The library adds no handler: unconfigured, Python shows nothing below WARNING.
Nothing is formatted unless its level is enabled, so the log costs a level
check per request when off.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from agentloop.errors import ProviderError
from agentloop.providers.redaction import redact, redacted_headers
from agentloop.providers.sse import ServerSentEvent
from agentloop.providers.transport import HTTPRequest

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class RequestLog:
    """The log lines of one model call: its request, sent once per attempt."""

    provider: str
    model: str
    wire: HTTPRequest
    #: The values to mask given the headers sent (worked out only when a line shows them).
    masked: Callable[[Mapping[str, str]], tuple[str, ...]]

    def secrets(self) -> tuple[str, ...]:
        return self.masked(self.wire.headers)

    def sending(self) -> float:
        """Log the request at DEBUG; returns the start time of this attempt."""
        if logger.isEnabledFor(logging.DEBUG):
            secrets = self.secrets()
            logger.debug(
                "%s %s: %s %s headers=%s body=%s",
                self.provider,
                self.model,
                self.wire.method,
                self.wire.url,
                redacted_headers(self.wire.headers, secrets),
                redact(self.wire.body.decode("utf-8", "replace"), secrets),
            )
        return time.perf_counter()

    def received(
        self,
        status: int | None,
        attempt: int,
        started: float,
        body: bytes | None = None,
        failure: ProviderError | None = None,
    ) -> None:
        """The INFO line of one attempt (``failure``: the error it ended in, if no reply)."""
        if not logger.isEnabledFor(logging.INFO):
            return
        duration = time.perf_counter() - started
        outcome = str(status) if failure is None else f"{type(failure).__name__}: {failure}"
        logger.info(
            "%s %s: %s in %.3f s (attempt %d)",
            self.provider,
            self.model,
            outcome,
            duration,
            attempt,
            extra={
                "provider": self.provider,
                "model": self.model,
                "status": status,
                "duration": duration,
                "attempt": attempt,
            },
        )
        if body is not None and logger.isEnabledFor(logging.DEBUG):
            text = redact(body.decode("utf-8", "replace"), self.secrets())
            logger.debug("%s %s: reply body=%s", self.provider, self.model, text)

    def broken(self, reason: Exception) -> None:
        logger.info("%s %s: the stream broke off: %s", self.provider, self.model, reason)

    def events(self, events: Iterable[ServerSentEvent]) -> Iterable[ServerSentEvent]:
        """``events``, each logged at DEBUG as it passes (as they are, when DEBUG is off)."""
        if not logger.isEnabledFor(logging.DEBUG):
            return events
        return self._logged(events)

    def _logged(self, events: Iterable[ServerSentEvent]) -> Iterator[ServerSentEvent]:
        for event in events:
            self.event(event)
            yield event

    async def aevents(
        self, events: AsyncIterator[ServerSentEvent]
    ) -> AsyncIterator[ServerSentEvent]:
        debug = logger.isEnabledFor(logging.DEBUG)
        async for event in events:
            if debug:
                self.event(event)
            yield event

    def event(self, event: ServerSentEvent) -> None:
        data = redact(event.data, self.secrets())
        logger.debug("%s %s: event %s: %s", self.provider, self.model, event.event, data)
