"""How a batch sends: private aiohttp pools, one retry policy, and a collector set for the load."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fast_server import Answer, FastServer

import agentloop
from agentloop import LLMClient, Model
from agentloop.batch import calls, collector
from agentloop.batch.collector import (
    BATCH_THRESHOLD,
    MAX_BATCH_THRESHOLD,
    PER_PROMPT_IN_FLIGHT,
    PER_PROMPT_KEPT,
    batch_threshold,
    fewer_collections,
)
from agentloop.providers.aiohttp_transport import AiohttpTransport


@pytest.fixture
def server() -> Iterator[FastServer]:
    with FastServer() as running:
        yield running


def test_a_batch_sends_through_private_pools_and_closes_them(
    server: FastServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[AiohttpTransport] = []
    original = calls.batch_models

    @asynccontextmanager
    async def spying(models: Sequence[Model], connections: int) -> AsyncIterator[list[Model]]:
        async with original(models, connections) as prepared:
            opened.extend(m.async_transport for m in prepared)  # type: ignore[attr-defined]
            yield prepared

    monkeypatch.setattr("agentloop.batch.runner.batch_models", spying)
    model = agentloop.get_model("openai-compatible/fast", base_url=server.base_url)
    client = LLMClient(model, max_concurrent_requests=7)

    results = client.process_prompts_sync(["a", "b", "c"])

    assert [r.completion for r in results] == ["echo: a", "echo: b", "echo: c"]
    [transport] = opened
    assert isinstance(transport, AiohttpTransport)
    assert transport.connections == 7  # one pool as large as the batch's concurrency
    assert transport._session is None  # closed when the batch ended
    assert model._async_transport is None  # type: ignore[attr-defined]  # caller's untouched


def test_an_unreadable_retry_after_in_a_batch_backs_off_as_usual(server: FastServer) -> None:
    failures = iter([True])
    server.respond = lambda body: (
        Answer(503, {"error": {"message": "busy"}}, {"retry-after": "soon"})
        if next(failures, False)
        else None
    )
    model = agentloop.get_model("openai-compatible/fast", base_url=server.base_url)

    [result] = LLMClient(model, retry_backoff=0.001).process_prompts_sync(["x"])

    assert result.completion == "echo: x"
    assert result.attempts == 2


def test_a_429_on_the_last_attempt_still_pauses_the_batch(server: FastServer) -> None:
    server.respond = lambda body: Answer(429, {"error": {"message": "slow"}}, {"retry-after": "7"})
    model = agentloop.get_model("openai-compatible/fast", base_url=server.base_url)
    client = LLMClient(model, max_attempts=1)

    [result] = client.process_prompts_sync(["x"])

    assert isinstance(result.error, agentloop.RateLimitError)
    assert client.limiter.paused_until > 0  # the others would wait its retry-after


@pytest.fixture
def default_threshold() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        yield gc.get_threshold()
    finally:
        gc.set_threshold(*saved)


def test_the_collector_runs_less_often_during_a_batch_only(
    default_threshold: tuple[int, int, int],
) -> None:
    with fewer_collections():
        assert gc.get_threshold() == (BATCH_THRESHOLD, 10, 10)
        with fewer_collections():  # an overlapping batch
            assert gc.get_threshold()[0] == BATCH_THRESHOLD
        assert gc.get_threshold()[0] == BATCH_THRESHOLD  # the first is still running
    assert gc.get_threshold() == default_threshold


def test_the_threshold_grows_with_the_prompts_a_batch_keeps_in_flight_and_answered(
    default_threshold: tuple[int, int, int],
) -> None:
    assert batch_threshold(1) == batch_threshold(64) == BATCH_THRESHOLD
    assert batch_threshold(500) == 500 * PER_PROMPT_IN_FLIGHT
    assert batch_threshold(500, 5000) == 500 * PER_PROMPT_IN_FLIGHT + 5000 * PER_PROMPT_KEPT
    assert batch_threshold(10**6) == batch_threshold(1, 10**6) == MAX_BATCH_THRESHOLD
    with fewer_collections(500):
        assert gc.get_threshold()[0] == batch_threshold(500)
        with fewer_collections(10):  # an overlapping batch keeps the first one's
            assert gc.get_threshold()[0] == batch_threshold(500)
    assert gc.get_threshold() == default_threshold


def test_a_disabled_or_changed_collector_is_left_alone(
    default_threshold: tuple[int, int, int],
) -> None:
    gc.set_threshold(0)
    with fewer_collections():
        assert gc.get_threshold()[0] == 0
    gc.set_threshold(700, 10, 10)
    with fewer_collections():
        gc.set_threshold(5000, 10, 10)  # someone else's choice, made during the batch
    assert gc.get_threshold()[0] == 5000


def in_oldest_generation(thing: object) -> bool:
    return any(o is thing for o in gc.get_objects(generation=2))


def test_what_a_batch_leaves_young_moves_to_the_oldest_generation_unscanned(
    default_threshold: tuple[int, int, int],
) -> None:
    gc.collect()
    collections_before = [g["collections"] for g in gc.get_stats()]
    with fewer_collections():
        results = [[i] for i in range(5000)]  # what a batch hands back
    assert in_oldest_generation(results[-1])
    assert gc.get_count()[0] < 100  # no young collection is due at the next allocation
    assert [g["collections"] for g in gc.get_stats()] == collections_before  # none ran
    assert gc.get_threshold() == default_threshold


def test_objects_someone_froze_stay_frozen(default_threshold: tuple[int, int, int]) -> None:
    gc.collect()
    theirs = [object()]
    gc.freeze()  # a pre-forking server's objects, kept out of every collection
    try:
        frozen = gc.get_freeze_count()
        with fewer_collections():
            ours = [[i] for i in range(100)]
        assert gc.get_freeze_count() == frozen
        assert not in_oldest_generation(ours[-1])  # left young: nothing was moved
    finally:
        gc.unfreeze()
    assert in_oldest_generation(theirs)


def test_a_full_collection_runs_once_a_million_objects_were_moved_unscanned(
    default_threshold: tuple[int, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collector, "MAX_UNSCANNED", 10_000)
    monkeypatch.setattr(collector, "_unscanned", 0)
    gc.collect()
    full = gc.get_stats()[-1]["collections"]
    monkeypatch.setattr(collector, "_full_collections", full)
    with fewer_collections():
        kept = [[i] for i in range(6000)]
    assert gc.get_stats()[-1]["collections"] == full  # moved: 6,000 so far
    with fewer_collections():
        kept += [[i] for i in range(6000)]
    assert gc.get_stats()[-1]["collections"] == full + 1  # 12,000: past the bound
    assert collector._unscanned == 0


def test_a_sync_batch_keeps_the_collector_raised_while_it_makes_its_prompts(
    server: FastServer, default_threshold: tuple[int, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentloop.batch import client as client_module

    seen: list[int] = []
    as_messages = client_module.as_messages

    def recording(prompt: Any, index: int) -> Any:
        seen.append(gc.get_threshold()[0])
        return as_messages(prompt, index)

    monkeypatch.setattr(client_module, "as_messages", recording)
    model = agentloop.get_model("openai-compatible/fast", base_url=server.base_url)

    results = LLMClient(model).process_prompts_sync(["a", "b"])

    assert [r.completion for r in results] == ["echo: a", "echo: b"]
    assert seen == [BATCH_THRESHOLD, BATCH_THRESHOLD]  # 64 at once: the least
    assert gc.get_threshold() == default_threshold


def test_batches_share_one_ssl_context_per_ca_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    import certifi

    from agentloop.providers.aiohttp_transport import default_ssl_context

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    first = default_ssl_context()
    assert default_ssl_context() is first  # loading the CA bundle costs ~20 ms a batch
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())  # another choice, another context
    other = default_ssl_context()
    assert other is not first
    assert default_ssl_context() is other
