"""The one retry policy: what is retried, how long it waits, how often, and what it logs.

The waits are recorded, not slept (``asyncio.sleep`` and ``time.sleep`` are replaced),
so the tests check the policy's arithmetic without timing anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from agentloop.errors import (
    AuthenticationError,
    BadRequestError,
    ProviderConnectionError,
    ProviderError,
    RateLimitError,
    ServerError,
)
from agentloop.providers import retry
from agentloop.providers.retry import MAX_RETRY_AFTER, RetryPolicy


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The seconds each retry waited, in order (nothing sleeps)."""
    recorded: list[float] = []

    async def asleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(retry.asyncio, "sleep", asleep)
    monkeypatch.setattr(retry.time, "sleep", recorded.append)
    return recorded


def failing(*errors: Exception) -> Callable[[int], str]:
    """An attempt that raises ``errors`` in turn, then answers with its attempt number."""
    queue = list(errors)

    def attempt(number: int) -> str:
        if queue:
            raise queue.pop(0)
        return f"answered at attempt {number}"

    return attempt


def server_error(retry_after: float | None = None) -> ServerError:
    return ServerError("busy", provider="p", status=503, retry_after=retry_after)


def test_a_success_is_returned_without_waiting(waits: list[float]) -> None:
    assert RetryPolicy(3).call("m", failing()) == "answered at attempt 1"
    assert waits == []


def test_retryable_errors_are_retried_until_an_answer(waits: list[float]) -> None:
    policy = RetryPolicy(3, retry_backoff=0)
    attempt = failing(server_error(), ProviderConnectionError("down", provider="p"))
    assert policy.call("m", attempt) == "answered at attempt 3"
    assert waits == [0.0, 0.0]


def test_max_attempts_counts_every_request_and_the_last_error_is_raised(
    waits: list[float],
) -> None:
    errors = [server_error(), server_error(), RateLimitError("slow", provider="p", status=429)]
    with pytest.raises(RateLimitError):
        RetryPolicy(3, retry_backoff=0).call("m", failing(*errors, server_error()))
    assert len(waits) == 2  # three attempts, two waits between them


@pytest.mark.parametrize(
    "error",
    [
        BadRequestError("bad", provider="p", status=400),
        AuthenticationError("key", provider="p", status=401),
        ValueError("not a provider error"),
    ],
)
def test_errors_a_retry_cannot_fix_are_raised_at_once(waits: list[float], error: Exception) -> None:
    with pytest.raises(type(error)):
        RetryPolicy(5).call("m", failing(error))
    assert waits == []


def test_retry_after_is_honoured_and_capped(waits: list[float]) -> None:
    attempt = failing(server_error(retry_after=2.5), server_error(retry_after=3600))
    RetryPolicy(3, retry_backoff=1).call("m", attempt)
    assert waits == [2.5, MAX_RETRY_AFTER]


def test_the_backoff_doubles_with_jitter_up_to_its_cap() -> None:
    policy = RetryPolicy(10, retry_backoff=1.0, max_backoff=8.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (6, 8.0)]:
        wait = policy.wait(attempt, server_error())
        assert ceiling / 2 <= wait <= ceiling
    assert RetryPolicy(3, retry_backoff=0).wait(1, server_error()) == 0.0


async def test_async_calls_follow_the_same_policy(waits: list[float]) -> None:
    async def attempt(number: int) -> int:
        if number < 3:
            raise server_error(retry_after=0.25)
        return number

    assert await RetryPolicy(5).acall("m", attempt) == 3
    assert waits == [0.25, 0.25]


async def test_a_batchs_429s_pause_the_limiter_instead_of_waiting_alone(
    waits: list[float],
) -> None:
    paused: list[float | None] = []
    limited = [RateLimitError("slow", provider="p", status=429, retry_after=s) for s in (7, 9)]

    async def attempt(number: int) -> str:
        raise limited[number - 1]

    with pytest.raises(RateLimitError):
        await RetryPolicy(2, retry_backoff=5).acall("m", attempt, on_rate_limit=paused.append)
    assert paused == [7, 9]  # the last attempt's 429 pauses the others too
    assert waits == [0.0]  # the limiter's pause is the wait


def test_each_retry_is_a_warning_with_its_wait_and_reason(
    waits: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="agentloop")
    RetryPolicy(3).call("openai/gpt-x", failing(server_error(1.5), server_error(0.5)))
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert messages == [
        "openai/gpt-x: retrying in 1.50 s (attempt 1 of 3 failed): ServerError: p 503: busy",
        "openai/gpt-x: retrying in 0.50 s (attempt 2 of 3 failed): ServerError: p 503: busy",
    ]


def test_only_provider_errors_marked_retryable_are_retried() -> None:
    assert retry.retryable(server_error())
    assert not retry.retryable(ProviderError("?", provider="p"))
    assert not retry.retryable(KeyError("x"))
