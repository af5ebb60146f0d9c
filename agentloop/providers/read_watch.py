"""One timer for the read timeouts of every exchange in flight on an event loop.

A read timeout bounds the wait between two reads of a reply. aiohttp keeps it with a
timer rescheduled at each read: two or more per request, and with hundreds of requests
in flight the loop's timer heap fills with cancelled ten-minute handles. Measured on
5,000 requests, 500 at once (docs/providers.md#the-read-timeout), that costs 20 to 28 µs
of CPU per request, a sixth of aiohttp's own. Here each exchange registers instead (a set
entry), and one timer ticks every tenth of the read timeout while any is in flight: an
exchange whose reply has not grown since its last byte for the read timeout is
timed out, at most a tenth late, never early.

`AiohttpTransport` watches the replies it reads whole this way; streams, whose chunks
come far apart by design, keep aiohttp's own per-read timer.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Protocol

#: The shortest tick: read timeouts of less than ten times this are checked this often.
SHORTEST_TICK = 0.01


class Progress(Protocol):
    """What shows a reply growing: aiohttp's ``StreamReader`` counts the bytes it got."""

    total_bytes: int


class ReadWatch:
    """The read timeouts of one event loop's exchanges, kept by one timer.

    ``with watch.exchange(read) as exchange:`` around an exchange; once the reply's
    headers are in, ``exchange.reply = response.content``, so that every byte after
    them counts as a read. An exchange quiet for ``read`` seconds is cancelled, and
    leaves its ``with`` as `TimeoutError` (a cancellation from anywhere else stays one).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._watched: set[Exchange] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._tick = 0.0

    def exchange(self, read: float | None) -> Exchange:
        """The watch over one exchange, quiet for at most ``read`` seconds (None: forever)."""
        return Exchange(self, read)

    @property
    def in_flight(self) -> int:
        """Exchanges being watched now."""
        return len(self._watched)

    @property
    def ticking(self) -> bool:
        """Whether the timer runs (only while some exchange is in flight)."""
        return self._timer is not None

    def _add(self, exchange: Exchange, read: float) -> None:
        self._watched.add(exchange)
        tick = max(read / 10, SHORTEST_TICK)
        if self._timer is None or tick < self._tick:
            # The first in flight, or a shorter timeout than any so far: tick at its pace.
            if self._timer is not None:
                self._timer.cancel()
            self._tick = tick
            self._timer = self._loop.call_later(tick, self._check)

    def _discard(self, exchange: Exchange) -> None:
        self._watched.discard(exchange)
        if not self._watched and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        now = self._loop.time()
        for exchange in [e for e in self._watched if e.quiet_too_long(now)]:
            self._watched.discard(exchange)
            exchange.expire()
        if self._watched:
            self._timer = self._loop.call_later(self._tick, self._check)
        else:
            self._timer = None


class Exchange:
    """One exchange under a `ReadWatch` (a plain context manager: a batch makes thousands)."""

    __slots__ = (
        "_cancelling",
        "_expired",
        "_quiet_since",
        "_read",
        "_seen",
        "_task",
        "_watch",
        "reply",
    )

    def __init__(self, watch: ReadWatch, read: float | None) -> None:
        self._watch = watch
        self._read = read
        self._task: asyncio.Task[object] | None = None
        self._cancelling = 0
        self._expired = False
        self._seen = -1  # bytes of the reply seen at the last check; -1: no headers yet
        self._quiet_since = 0.0
        #: The reply's body as it arrives, once its headers are in.
        self.reply: Progress | None = None

    @property
    def watched(self) -> bool:
        """Whether this exchange's read timeout is kept here (it needs a task to cancel)."""
        return self._task is not None

    def __enter__(self) -> Exchange:
        if self._read is not None and (task := asyncio.current_task()) is not None:
            self._task, self._cancelling = task, task.cancelling()
            self._quiet_since = self._watch._loop.time()
            self._watch._add(self, self._read)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, _: TracebackType | None
    ) -> None:
        if self._task is None:
            return
        self._watch._discard(self)
        ours = self._expired and kind is not None and issubclass(kind, asyncio.CancelledError)
        # Unless the task was cancelled from elsewhere too (as asyncio.timeout decides).
        if ours and self._task.uncancel() <= self._cancelling:
            raise TimeoutError(f"no data for {self._read:g} s") from exc

    def quiet_too_long(self, now: float) -> bool:
        # getattr: no reply yet, or one without the count, shows no progress (never an
        # error in the timer, which would stop it for every exchange)
        seen = getattr(self.reply, "total_bytes", -1)
        if seen != self._seen:
            self._seen, self._quiet_since = seen, now
            return False
        return self._read is not None and now - self._quiet_since >= self._read

    def expire(self) -> None:
        self._expired = True
        if self._task is not None:
            self._task.cancel()
