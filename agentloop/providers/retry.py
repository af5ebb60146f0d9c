"""The one retry policy, for a model's own requests and for every call of a batch (tenacity).

What is retried: a `ProviderError` whose ``retryable`` is set, that is
408, 409, 429, 5xx and 529 replies, timeouts and connection failures; never
400, 401, 403, 404 or 422 (a retry cannot fix them), and never anything that
is not a provider error. How long to wait: the ``retry-after`` the provider
sent (capped at `MAX_RETRY_AFTER`), else an exponential backoff with jitter
(``retry_backoff`` x 2^(attempt - 1), capped at ``max_backoff``, drawn between
half of that and all of it, so that retries do not stampede).

A model (`HTTPModel`) retries with ``max_attempts = max_retries + 1`` and an
8-second cap. A batch (`agentloop.batch.calls`) turns the model's own retries
off and retries each call itself under its rate limiter: ``max_attempts``
counts every request sent, and a 429 pauses the whole batch
(``on_rate_limit``) instead of waiting alone.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
)

from agentloop.errors import ProviderError, RateLimitError

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: The longest wait a ``retry-after`` header (or a backoff) can impose on one retry (seconds).
MAX_RETRY_AFTER = 60.0

#: Called as each retry is decided, with the call's name, the number of the attempt that
#: failed, the wait before the next and the error (already masked), in the thread or task
#: making the call. `agentloop.tracing` registers here to show retries on their spans.
retry_observers: list[Callable[[str, int, float, BaseException], object]] = []


def retryable(error: BaseException) -> bool:
    """Whether sending the same request again may succeed."""
    return isinstance(error, ProviderError) and error.retryable


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``max_attempts`` requests in all (the first included), each within ``request_timeout``
    seconds (None: only the transport's timeouts), ``retry_backoff`` the backoff's base."""

    max_attempts: int = 5
    request_timeout: float | None = None
    retry_backoff: float = 1.0
    max_backoff: float = MAX_RETRY_AFTER

    def wait(self, attempt: int, error: BaseException | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (from 1)."""
        if isinstance(error, ProviderError) and error.retry_after is not None:
            return min(max(error.retry_after, 0.0), MAX_RETRY_AFTER)
        if self.retry_backoff <= 0:
            return 0.0
        ceiling = min(self.retry_backoff * 2 ** (attempt - 1), self.max_backoff)
        return random.uniform(ceiling / 2, ceiling)

    def call(self, name: str, attempt: Callable[[int], T]) -> T:
        """``attempt(n)`` for n = 1, 2... until it succeeds, fails for good or runs out of
        attempts (the last error is raised). ``name`` (a model id) labels the log lines."""
        try:
            return attempt(1)
        except Exception as error:
            wait = self._after_first(name, error, None)
            if wait is None:
                raise
        time.sleep(wait)
        for try_ in Retrying(**self._settings(name, None)):
            with try_:
                return attempt(try_.retry_state.attempt_number + 1)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def acall(
        self,
        name: str,
        attempt: Callable[[int], Awaitable[T]],
        *,
        on_rate_limit: Callable[[float | None], object] | None = None,
    ) -> T:
        """`call` for coroutines. With ``on_rate_limit``, a 429 calls it with its
        ``retry-after`` (a batch pauses everyone there) and the retry itself waits no more."""
        try:
            return await attempt(1)
        except Exception as error:
            wait = self._after_first(name, error, on_rate_limit)
            if wait is None:
                raise
        await asyncio.sleep(wait)
        async for try_ in AsyncRetrying(**self._settings(name, on_rate_limit)):
            with try_:
                return await attempt(try_.retry_state.attempt_number + 1)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    # The first attempt runs outside tenacity: its loop builds some forty objects in
    # reference cycles per call, which only the garbage collector frees, and a batch of
    # thousands of calls in flight then spent more time collecting than sending. Tenacity
    # takes over from the second attempt, so a retry is decided by the same rules.

    def _after_first(
        self,
        name: str,
        error: Exception,
        on_rate_limit: Callable[[float | None], object] | None,
    ) -> float | None:
        """After attempt 1 failed: the wait before attempt 2, or None not to retry."""
        if not retryable(error):
            return None
        _rate_limited(error, on_rate_limit)
        if self.max_attempts < 2:
            return None
        wait = self._wait(1, error, on_rate_limit)
        self._log_retry(name, 1, wait, error)
        return wait

    def _wait(
        self,
        attempt: int,
        error: BaseException | None,
        on_rate_limit: Callable[[float | None], object] | None,
    ) -> float:
        if on_rate_limit is not None and isinstance(error, RateLimitError):
            return 0.0  # the rate limiter's pause is the wait
        return self.wait(attempt, error)

    def _log_retry(self, name: str, attempt: int, wait: float, error: BaseException) -> None:
        logger.warning(
            "%s: retrying in %.2f s (attempt %d of %d failed): %s: %s",
            name,
            wait,
            attempt,
            self.max_attempts,
            type(error).__name__,
            error,
        )
        for observer in retry_observers:
            observer(name, attempt, wait, error)

    def _settings(
        self, name: str, on_rate_limit: Callable[[float | None], object] | None
    ) -> dict[str, Any]:
        """Tenacity's settings for attempts 2 to ``max_attempts`` (its attempt 1 is our 2)."""

        def failed(state: RetryCallState) -> BaseException | None:
            return state.outcome.exception() if state.outcome else None

        def wait(state: RetryCallState) -> float:
            return self._wait(state.attempt_number + 1, failed(state), on_rate_limit)

        def after(state: RetryCallState) -> None:
            # After every failed attempt, the last one too: a 429 pauses the batch
            # even when this call has no attempt left.
            _rate_limited(failed(state), on_rate_limit)

        def before_sleep(state: RetryCallState) -> None:
            wait_for = state.next_action.sleep if state.next_action else 0.0
            error = failed(state)
            if error is not None:
                self._log_retry(name, state.attempt_number + 1, wait_for, error)

        return {
            "stop": stop_after_attempt(self.max_attempts - 1),
            "retry": retry_if_exception(retryable),
            "wait": wait,
            "after": after,
            "before_sleep": before_sleep,
            "reraise": True,
        }


def _rate_limited(
    error: BaseException | None, on_rate_limit: Callable[[float | None], object] | None
) -> None:
    if on_rate_limit is not None and isinstance(error, RateLimitError):
        on_rate_limit(error.retry_after)
