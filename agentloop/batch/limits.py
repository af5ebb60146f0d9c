"""The shared rate limiter: requests and tokens per minute, and one pause for everyone on a 429.

Every model call of a batch (each step of each chain, each retry) asks the one
`RateLimiter` of its client before it is sent, so a single budget covers
all the work in flight. Each budget holds two guarantees:

- **never above the limit**: an exact log of what was charged in the last
  ``window`` seconds; a call waits until the oldest charges have aged out
  of the window if it would not fit;
- **spread, not bursts**: starts are paced at 99% of the limit's rate (a
  call that costs ``c`` pushes the next start back by ``c / rate``), so a
  60,000-requests-a-minute limit sends about one request a millisecond rather
  than 60,000 at once, which providers that enforce limits over shorter
  windows would refuse. The 1% left is for network jitter: the provider counts
  arrivals, not our starts. A start that came late because the event loop was
  busy is made up by the next ones (up to 100 ms' worth), never by starting
  ahead of the schedule.

Tokens are charged at the estimate (`agentloop.tokens`) and
settled to the usage the provider reports once the reply arrives. A 429 pauses
every caller until its ``retry-after`` has passed (or an exponential backoff
when the provider gave none).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from agentloop.errors import AgentloopError
from agentloop.providers.retry import MAX_RETRY_AFTER

#: The share of a limit left unused by the pacing (the window's log still allows all of it).
PACING_HEADROOM = 0.01
#: Float slack when comparing amounts (tokens are integers, the window sums are floats).
_EPSILON = 1e-9


class RequestTooLargeError(AgentloopError, ValueError):
    """One call needs more tokens than the whole ``max_tokens_per_minute`` allows.

    It could never be sent within the limit (and the provider would refuse it),
    so the prompt fails with this error instead of waiting forever.
    """


@dataclass(slots=True)
class Charge:
    """What one call was charged in one budget, at ``time``."""

    time: float
    amount: float
    #: False once the charge has aged out of the window.
    live: bool = True


class Budget:
    """At most ``limit`` units (requests or tokens) in any ``window`` seconds, paced evenly."""

    def __init__(self, limit: float, window: float) -> None:
        if limit <= 0 or window <= 0:
            raise ValueError(
                f"a rate limit needs a positive limit and window, not {limit}/{window}"
            )
        self.limit = limit
        self.window = window
        #: Starts are paced a little under the limit: what arrives at the provider is
        #: what we sent plus network jitter, and the provider counts arrivals.
        self.rate = limit / window * (1 - PACING_HEADROOM)
        #: How late a start may be and still be made up for (see `charge`).
        self.catch_up = min(0.1, window / 10)
        self._log: deque[Charge] = deque()
        self._in_window = 0.0
        self._next_start = -math.inf

    def delay(self, now: float, amount: float) -> float:
        """Seconds to wait before ``amount`` may be charged at ``now`` (0: at once)."""
        self._expire(now)
        wait = max(0.0, self._next_start - now)
        excess = self._in_window + amount - self.limit
        if excess > _EPSILON:
            freed = 0.0
            for charge in self._log:
                freed += charge.amount
                if freed >= excess - _EPSILON:
                    return max(wait, charge.time + self.window - now)
        return wait

    def charge(self, now: float, amount: float) -> Charge:
        charge = Charge(now, amount)
        self._log.append(charge)
        self._in_window += amount
        # The schedule moves on from where it was, not from now: a start that came a
        # little late (a busy event loop) is made up by the next ones, never by
        # starting ahead of the schedule. Only a start later than ``catch_up``
        # (after an idle spell) moves the schedule itself.
        anchor = (
            now if self._next_start == -math.inf else max(self._next_start, now - self.catch_up)
        )
        self._next_start = anchor + amount / self.rate
        return charge

    def settle(self, charge: Charge, actual: float) -> None:
        """Replace an estimate by what the call really cost (pacing moves with it)."""
        difference = actual - charge.amount
        charge.amount = actual
        if charge.live:
            self._in_window += difference
        self._next_start += difference / self.rate

    def used(self, now: float) -> float:
        """What was charged in the window ending at ``now``."""
        self._expire(now)
        return self._in_window

    def _expire(self, now: float) -> None:
        horizon = now - self.window
        while self._log and self._log[0].time <= horizon:
            charge = self._log.popleft()
            charge.live = False
            self._in_window -= charge.amount
        if not self._log:
            self._in_window = 0.0  # no float drift left behind


@dataclass(slots=True)
class Ticket:
    """The charges of one call, to settle once its usage is known."""

    request: Charge | None
    tokens: Charge | None
    estimate: int


class RateLimiter:
    """One budget for every call of a client: requests and tokens per minute, global backoff.

    ``window`` (seconds) is the sliding window the limits are enforced over;
    the limits stay per minute and are scaled to it (600 a minute over a
    1-second window is 10 a second). Short windows are for tests.
    """

    def __init__(
        self,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        *,
        window: float = 60.0,
        retry_backoff: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        scale = window / 60.0
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.window = window
        if requests_per_minute and requests_per_minute * scale < 1:
            raise ValueError(
                f"max_requests_per_minute={requests_per_minute:g} allows less than one request "
                f"in a {window:g} s window: use a longer window"
            )
        self.requests = Budget(requests_per_minute * scale, window) if requests_per_minute else None
        self.tokens = Budget(tokens_per_minute * scale, window) if tokens_per_minute else None
        self.retry_backoff = retry_backoff
        self.clock = clock
        self.paused_until = -math.inf
        self._streak = 0
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    @property
    def limited(self) -> bool:
        return self.requests is not None or self.tokens is not None

    def share(self, parts: int) -> RateLimiter:
        """A limiter with ``1/parts`` of these limits (one worker's share)."""
        return RateLimiter(
            self.requests_per_minute / parts if self.requests_per_minute else None,
            self.tokens_per_minute / parts if self.tokens_per_minute else None,
            window=self.window,
            retry_backoff=self.retry_backoff,
            clock=self.clock,
        )

    def free_ticket(self, tokens: int) -> Ticket | None:
        """The ticket of a call that need not wait (no limit set, no 429 pause), else None
        (then `acquire`). A plain call: without limits a batch's calls pass here, and
        `acquire`, a coroutine, would cost each of them one for nothing."""
        if self.requests is None and self.tokens is None and self.clock() >= self.paused_until:
            return Ticket(None, None, tokens)
        return None

    async def acquire(self, tokens: int) -> Ticket:
        """Wait until a call estimated at ``tokens`` fits every budget, then charge it."""
        if self.tokens is not None and tokens > self.tokens.limit:
            raise RequestTooLargeError(
                f"This call needs about {tokens} tokens, more than the whole budget of "
                f"{self.tokens.limit:g} tokens per {self.window:g} s "
                f"(max_tokens_per_minute={self.tokens_per_minute:g}); "
                "shorten the prompt, lower max_tokens or raise the limit"
            )
        if not self.limited and self.clock() >= self.paused_until:
            return Ticket(None, None, tokens)  # nothing to wait for: skip the queue
        # One waiter at a time, first come first served: the lock's queue is the
        # order calls go out in, and a waiter that wakes re-checks everything
        # (a 429 may have paused everyone while it slept).
        async with self._loop_lock():
            while True:
                now = self.clock()
                wait = self._wait(now, tokens)
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            return Ticket(
                self.requests.charge(now, 1) if self.requests is not None else None,
                self.tokens.charge(now, tokens) if self.tokens is not None else None,
                tokens,
            )

    def _wait(self, now: float, tokens: int) -> float:
        wait = self.paused_until - now
        if self.requests is not None:
            wait = max(wait, self.requests.delay(now, 1))
        if self.tokens is not None:
            wait = max(wait, self.tokens.delay(now, tokens))
        return wait

    def settle(self, ticket: Ticket, actual_tokens: int) -> None:
        """The call finished: replace the token estimate by the reported usage."""
        if self.tokens is not None and ticket.tokens is not None and actual_tokens > 0:
            self.tokens.settle(ticket.tokens, actual_tokens)
        self._streak = 0

    def back_off(self, retry_after: float | None) -> float:
        """A 429: pause every caller. Returns the pause, in seconds.

        ``retry_after`` (capped at a minute) wins; without one the pause doubles
        with each 429 that arrives after the previous pause ended (429s of calls
        that were already in flight together count once).
        """
        now = self.clock()
        if now >= self.paused_until:
            self._streak += 1
        if retry_after is not None:
            pause = min(max(retry_after, 0.0), MAX_RETRY_AFTER)
        else:
            pause = min(self.retry_backoff * 2 ** (self._streak - 1), MAX_RETRY_AFTER)
        self.paused_until = max(self.paused_until, now + pause)
        return pause

    def _loop_lock(self) -> asyncio.Lock:
        # asyncio locks belong to one event loop; a client reused from another
        # loop (successive process_prompts_sync calls) gets a fresh lock, while
        # the budgets, which are plain time arithmetic, carry over.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock = asyncio.Lock()
            self._lock_loop = loop
        return self._lock
