"""The event loop a batch makes for itself: uvloop's where installed, asyncio's on request."""

from __future__ import annotations

import asyncio

import pytest
from fast_server import FastServer

import agentloop
from agentloop import FunctionModel, LLMClient, Request
from agentloop.batch.event_loop import LOOP_VARIABLE
from agentloop.batch.runner import STARTED_AT_ONCE

uvloop = pytest.importorskip("uvloop")


def loops_seen(client_model: agentloop.Model | None = None) -> set[str]:
    seen: set[str] = set()

    def answer(request: Request) -> str:
        seen.add(type(asyncio.get_running_loop()).__module__.split(".")[0])
        return "ok"

    # A FunctionModel answers on the batch's loop (it is not blocking I/O).
    model = client_model or FunctionModel(answer)
    results = LLMClient(model, progress=False).process_prompts_sync(["a", "b"])
    assert [r.completion for r in results] == ["ok", "ok"]
    return seen


def test_a_batch_runs_on_uvloop_when_it_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LOOP_VARIABLE, raising=False)
    assert loops_seen() == {"uvloop"}


def test_the_variable_keeps_the_standard_library_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOOP_VARIABLE, "asyncio")
    assert loops_seen() == {"asyncio"}


def test_an_http_batch_on_uvloop_answers_every_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LOOP_VARIABLE, raising=False)
    with FastServer() as server:
        model = agentloop.get_model("openai-compatible/fast", base_url=server.base_url)
        prompts = [f"prompt {i}" for i in range(50)]
        results = LLMClient(model, max_concurrent_requests=10, progress=False).process_prompts_sync(
            prompts
        )
    assert [r.completion for r in results] == [f"echo: prompt {i}" for i in range(50)]


async def test_a_batch_from_a_running_loop_stays_on_that_loop() -> None:
    seen: set[str] = set()

    def answer(request: Request) -> str:
        seen.add(type(asyncio.get_running_loop()).__module__.split(".")[0])
        return "ok"

    results = await LLMClient(FunctionModel(answer), progress=False).process_prompts_async(["a"])
    assert results[0].completion == "ok"
    assert seen == {"asyncio"}


def test_the_first_requests_leave_before_every_worker_has_started() -> None:
    # Started all at once, all 500 workers would take their first step (encode, connect)
    # before any request left, and the loop would then idle until replies came.
    started: list[int] = []
    begun_when_first_sent: list[int] = []

    async def answer(request: Request) -> str:
        started.append(1)
        for _ in range(3):  # a request's few turns of the loop: connect, write
            await asyncio.sleep(0)
        if not begun_when_first_sent:
            begun_when_first_sent.append(len(started))
        return "ok"

    client = LLMClient(FunctionModel(answer), max_concurrent_requests=500, progress=False)
    results = client.process_prompts_sync([f"p{i}" for i in range(500)])
    assert [r.completion for r in results] == ["ok"] * 500
    assert begun_when_first_sent[0] <= 4 * STARTED_AT_ONCE < 500
