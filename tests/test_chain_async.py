"""The same chain through the async API: every call awaitable, streams async-iterable."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import agentloop
from agentloop import (
    CancelToolCall,
    ChainLimitExceeded,
    FunctionModel,
    PauseChain,
    Request,
    Tool,
    ToolCall,
)


def upper(text: str) -> str:
    "Convert text to upper case."
    return text.upper()


def calls_then_answer(*calls: ToolCall) -> agentloop.AsyncModel:
    def play(request: Request) -> Any:
        last = request.messages[-1]
        if last.role == "tool":
            return "done: " + ", ".join(r.output for r in last.tool_results)
        return list(calls)

    return FunctionModel(play).to_async()


async def test_await_prompt_and_chain() -> None:
    model = FunctionModel(lambda request: f"echo {request.last_user_text}").to_async()
    response = await model.prompt("hi")
    assert response.text() == "echo hi"
    chain = await calls_then_answer(ToolCall("upper", {"text": "x"}, "c1")).chain(
        "go", tools=[upper]
    )
    assert chain.text() == "done: X"
    assert len(chain.responses) == 2


async def test_async_conversation_keeps_history() -> None:
    model = FunctionModel(lambda request: f"{len(request.messages)}").to_async()
    conversation = model.conversation(system="sys")
    assert isinstance(conversation, agentloop.AsyncConversation)
    await conversation.prompt("one")
    second = await conversation.prompt("two")
    assert second.text() == "4"
    assert conversation.responses[-1] is second


async def test_async_streaming_yields_chunks_of_every_step() -> None:
    def play(request: Request) -> Any:
        if request.messages[-1].role == "tool":
            yield "final"
        else:
            yield "thinking... "
            yield ToolCall("upper", {"text": "a"}, "")

    conversation = FunctionModel(play).to_async().conversation(tools=[upper])
    chunks = [chunk async for chunk in conversation.chain("go", stream=True)]
    assert chunks == ["thinking... ", "final"]


async def test_a_streamed_async_response_must_be_awaited_or_iterated_before_reading() -> None:
    response = FunctionModel(lambda request: "x").to_async().prompt("go", stream=True)
    with pytest.raises(TypeError, match="await"):
        response.text()
    await response
    assert response.text() == "x"


async def test_a_response_awaited_in_two_places_at_once_fails_in_the_second() -> None:
    release = asyncio.Event()

    async def slow(request: Request) -> str:
        await release.wait()
        return "done"

    response = FunctionModel(slow).to_async().conversation().prompt("hi")
    first = asyncio.ensure_future(_awaited(response))
    await asyncio.sleep(0)  # the first awaits the model now
    with pytest.raises(RuntimeError, match="already"):
        await response
    release.set()
    await first  # the first finishes its model call; the response keeps the failure
    with pytest.raises(RuntimeError, match="already"):
        response.text()


async def _awaited(response: Any) -> Any:
    return await response


async def test_async_hooks_and_cancel() -> None:
    seen: list[str] = []

    async def before(tool: Tool | None, call: ToolCall) -> None:
        seen.append(call.name)
        if call.arguments.get("text") == "forbidden":
            raise CancelToolCall("no")

    model = calls_then_answer(
        ToolCall("upper", {"text": "ok"}, "a"), ToolCall("upper", {"text": "forbidden"}, "b")
    )
    response = await model.conversation(tools=[upper], before_call=before).chain("go")
    assert response.text() == "done: OK, no"
    assert seen == ["upper", "upper"]


async def test_async_tools_run_concurrently() -> None:
    async def slow(n: int) -> str:
        "Sleep."
        await asyncio.sleep(0.3)
        return str(n)

    model = calls_then_answer(*[ToolCall("slow", {"n": n}, f"c{n}") for n in range(4)])
    started = time.perf_counter()
    response = await model.chain("go", tools=[slow])
    assert time.perf_counter() - started < 0.9
    assert response.text() == "done: 0, 1, 2, 3"


async def test_sync_tools_in_an_async_chain_do_not_block_the_event_loop() -> None:
    def blocking(n: int) -> str:
        "Block."
        time.sleep(0.3)
        return str(n)

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        for _ in range(5):
            await asyncio.sleep(0.04)
            ticks += 1

    model = calls_then_answer(*[ToolCall("blocking", {"n": n}, f"c{n}") for n in range(4)])
    started = time.perf_counter()
    response, _ = await asyncio.gather(model.chain("go", tools=[blocking]), ticker())
    assert time.perf_counter() - started < 0.9
    assert ticks == 5
    assert response.text() == "done: 0, 1, 2, 3"


async def test_async_approval_fails_closed_and_limit_applies() -> None:
    @agentloop.tool(requires_approval=True)
    def wire(amount: int) -> str:
        "Wire money."
        return "sent"

    model = calls_then_answer(ToolCall("wire", {"amount": 1}, "c1"))
    response = await model.chain("go", tools=[wire])
    assert "requires approval" in response.tool_results()[0].output

    looping = FunctionModel(lambda request: ToolCall("upper", {"text": "x"}, "")).to_async()
    with pytest.raises(ChainLimitExceeded) as info:
        await looping.conversation(tools=[upper], chain_limit=2).chain("go")
    assert len(info.value.responses) == 2


async def test_async_pause_and_resume() -> None:
    @agentloop.tool(requires_approval=True)
    def wire(amount: int) -> str:
        "Wire money."
        return f"sent {amount}"

    async def ask(tool: Tool, call: ToolCall) -> bool:
        raise PauseChain("ask a human")

    model = calls_then_answer(ToolCall("wire", {"amount": 3}, "c1"))
    conversation = model.conversation(tools=[wire], approve=ask)
    paused = await conversation.chain("go")
    assert paused.state is not None
    resumed = await conversation.resume(paused.state.to_dict(), {"c1": True})
    assert resumed.text() == "done: sent 3"


async def test_async_reply_is_awaitable() -> None:
    model = FunctionModel(lambda request: f"{len(request.messages)} seen").to_async()
    first = await model.prompt("one")
    second = await first.reply("two")
    assert second.text() == "3 seen"


async def test_async_model_from_the_registry() -> None:
    model = agentloop.get_async_model("test")
    response = await model.chain("go", tools=[upper])
    assert response.text() == '{"upper": "HELLO"}'
