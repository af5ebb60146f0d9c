"""Rate limits: never above the configured rate over any sliding window, close to it, and one
pause for everyone on a 429. Measured on 1-second windows so the tests take seconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence

import pytest
from fast_server import Answer, FastServer

import agentloop
from agentloop import LLMClient
from agentloop.batch.limits import PACING_HEADROOM, Budget, RateLimiter, RequestTooLargeError
from agentloop.errors import RateLimitError


@pytest.fixture
def server() -> Iterator[FastServer]:
    with FastServer() as running:
        yield running


def most_in_any_window(times: Sequence[float], window: float) -> int:
    """The largest number of ``times`` inside one half-open window ``[t, t + window)``."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_a_rate_limited_batch_is_never_faster_than_its_limit_end_to_end(
    server: FastServer,
) -> None:
    # 1,200 a minute over a 1-second window: at most 20 requests in any second, so 30
    # requests cannot all be sent in under a second. Only this lower bound is checked
    # here: how evenly requests arrive at a server depends on a loaded machine's
    # scheduling (the limiter's own admissions are checked exactly in the next test,
    # and benchmarks/batch_throughput.py measures the achieved rate at the server).
    model = agentloop.get_model("openai-compatible/fast", base_url=server.base_url)
    client = LLMClient(model, max_requests_per_minute=1200, window_seconds=1.0)

    started = time.monotonic()
    results = client.process_prompts_sync([str(i) for i in range(30)])
    elapsed = time.monotonic() - started

    assert all(r.ok for r in results)
    assert len(server.arrivals) == 30
    assert elapsed >= 1.0


async def test_the_limiter_never_admits_more_than_the_window_allows() -> None:
    # Exact, on the limiter's own clock, for each budget alone (so neither hides the other):
    # 20 requests per 1-second window, and 1,000 tokens per 1-second window.
    by_requests = RateLimiter(1200, None, window=1.0)
    by_tokens = RateLimiter(None, 60_000, window=1.0)
    starts: list[float] = []
    spent: list[tuple[float, int]] = []

    async def request() -> None:
        ticket = await by_requests.acquire(1)
        assert ticket.request is not None
        starts.append(ticket.request.time)

    async def tokens(amount: int) -> None:
        ticket = await by_tokens.acquire(amount)
        assert ticket.tokens is not None
        spent.append((ticket.tokens.time, amount))

    await asyncio.gather(
        *(request() for _ in range(25)),
        *(tokens(150 if i % 3 else 40) for i in range(12)),
    )

    assert 18 <= most_in_any_window(starts, 1.0) <= 20  # all the window allows, never more
    for t, _ in spent:
        assert sum(amount for s, amount in spent if t <= s < t + 1.0) <= 1000


async def test_token_estimates_are_settled_to_the_reported_usage() -> None:
    limiter = RateLimiter(None, 60_000, window=1.0)  # 1,000 tokens a second
    assert limiter.tokens is not None
    ticket = await limiter.acquire(900)
    assert limiter.tokens.used(time.monotonic()) == 900

    limiter.settle(ticket, 100)  # the call really cost 100

    assert limiter.tokens.used(time.monotonic()) == 100
    started = time.monotonic()
    await limiter.acquire(800)  # fits at once now that the estimate is settled...
    assert time.monotonic() - started < 0.2  # ...where 900 + 800 would have waited ~0.7 s


def test_a_budget_paces_starts_evenly_a_little_under_the_limit() -> None:
    budget = Budget(limit=10, window=1.0)
    interval = 1 / (10 * (1 - PACING_HEADROOM))  # 99% of 10 a second
    budget.charge(100.0, 1)

    assert budget.delay(100.0, 1) == pytest.approx(interval)  # no burst at the start
    assert budget.delay(100.0 + interval, 1) == 0


def test_a_late_start_is_made_up_but_nothing_starts_ahead_of_the_schedule() -> None:
    budget = Budget(limit=10, window=1.0)
    interval = 1 / budget.rate
    budget.charge(0.0, 1)
    budget.charge(interval + 0.05, 1)  # 50 ms late (a busy event loop)

    # The third start keeps the schedule (2 intervals after the first), not 1 after the second.
    assert budget.delay(2 * interval, 1) == 0
    budget.charge(2 * interval, 1)
    assert budget.delay(2 * interval, 1) == pytest.approx(interval)  # never ahead of it


def test_after_an_idle_spell_the_schedule_starts_again_from_now() -> None:
    budget = Budget(limit=10, window=1.0)
    budget.charge(0.0, 1)
    budget.charge(30.0, 1)  # long after: the idle time is not credit for a burst

    assert budget.delay(30.0, 1) == pytest.approx(1 / budget.rate - budget.catch_up)


def test_a_call_larger_than_the_whole_token_budget_fails_alone() -> None:
    client = LLMClient(
        agentloop.FunctionModel(lambda request: "ok"),
        max_tokens_per_minute=60_000,
        window_seconds=1.0,  # 1,000 tokens per window
    )

    small, huge = client.process_prompts_sync(["hi", "word " * 5000])

    assert small.completion == "ok"
    assert isinstance(huge.error, RequestTooLargeError)
    assert "max_tokens_per_minute=60000" in str(huge.error)


def test_a_429_pauses_every_prompt_for_its_retry_after(server: FastServer) -> None:
    answered = {"count": 0}

    def first_is_rate_limited(body: dict[str, object]) -> Answer | None:
        answered["count"] += 1
        if answered["count"] == 1:
            return Answer(429, {"error": {"message": "slow down"}}, {"retry-after": "0.5"})
        return None

    server.respond = first_is_rate_limited
    model = agentloop.get_model("openai-compatible/fast", base_url=server.base_url)
    # 20 a second: without the pause the next requests would follow every 50 ms.
    client = LLMClient(model, max_requests_per_minute=1200, window_seconds=1.0)

    results = client.process_prompts_sync([str(i) for i in range(5)])

    assert all(r.ok for r in results)
    first, second = sorted(server.arrivals)[:2]
    assert second - first >= 0.48  # nobody was sent during the retry-after
    assert sum(r.attempts for r in results) == 6


def test_429s_without_retry_after_back_off_exponentially_and_together() -> None:
    clock = {"now": 0.0}
    limiter = RateLimiter(retry_backoff=1.0, clock=lambda: clock["now"])

    assert limiter.back_off(None) == 1.0
    assert limiter.back_off(None) == 1.0  # a call already in flight: same pause, no doubling
    clock["now"] = 1.5
    assert limiter.back_off(None) == 2.0  # the pause was not enough: double it
    assert limiter.back_off(120.0) == 60.0  # retry-after is honoured, capped at a minute
    assert limiter.paused_until == 61.5


def test_a_share_divides_the_limits() -> None:
    limiter = RateLimiter(1200, 90_000, window=1.0)

    share = limiter.share(3)

    assert (share.requests_per_minute, share.tokens_per_minute) == (400, 30_000)
    assert share.window == 1.0


def test_rate_limit_errors_from_a_function_model_pause_the_batch_too() -> None:
    calls = {"n": 0}

    def limited(request: agentloop.Request) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RateLimitError("429", provider="fn", status=429, retry_after=0.2)
        return "ok"

    client = LLMClient(agentloop.FunctionModel(limited), max_concurrent_requests=1)
    started = time.monotonic()

    results = client.process_prompts_sync(["a", "b"])

    assert [r.completion for r in results] == ["ok", "ok"]
    assert time.monotonic() - started >= 0.2


def test_a_call_takes_a_free_ticket_only_when_nothing_could_make_it_wait() -> None:
    now = [100.0]
    unlimited = RateLimiter(clock=lambda: now[0])
    ticket = unlimited.free_ticket(7)
    assert ticket is not None
    assert (ticket.request, ticket.tokens) == (None, None)
    unlimited.back_off(5.0)  # a 429: everyone waits, so the call goes through acquire()
    assert unlimited.free_ticket(7) is None
    now[0] += 5.0
    assert unlimited.free_ticket(7) is not None
    assert RateLimiter(600, None, clock=lambda: now[0]).free_ticket(1) is None
    assert RateLimiter(None, 60_000, clock=lambda: now[0]).free_ticket(1) is None
