"""One turn at a time: a conversation refuses a second turn while one is running.

Two turns interleaving in one history (two threads, two tasks, a prompt while a
stream is half read) would put calls and results out of step; the second turn
gets a clear ConversationBusyError and the history stays valid.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from agentloop import ConversationBusyError, FunctionModel, Request, ToolCall
from agentloop.history import unanswered_calls


def upper(text: str) -> str:
    "Upper."
    return text.upper()


def test_a_second_thread_is_refused_while_the_first_turn_runs() -> None:
    inside = threading.Event()
    release = threading.Event()

    def play(request: Request) -> Any:
        if request.messages[-1].role == "tool":
            return "done"
        inside.set()
        assert release.wait(10)  # bounded: the test never hangs
        return ToolCall("upper", {"text": "a"}, "")

    conversation = FunctionModel(play).conversation(tools=[upper])
    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(conversation.chain("one").text()))
    first.start()
    assert inside.wait(10)
    with pytest.raises(ConversationBusyError, match="still answering an earlier prompt"):
        conversation.chain("two")
    release.set()
    first.join(10)
    assert results == ["done"]
    assert [m.role for m in conversation.messages] == ["user", "assistant", "tool", "assistant"]
    assert unanswered_calls(conversation.messages) == []
    assert conversation.chain("three").text() == "done"  # free again once the turn ended


async def test_a_second_task_is_refused_while_the_first_turn_runs() -> None:
    inside = asyncio.Event()
    release = asyncio.Event()

    async def play(request: Request) -> Any:
        inside.set()
        await asyncio.wait_for(release.wait(), 10)
        return "hi"

    conversation = FunctionModel(play).to_async().conversation()
    first = asyncio.ensure_future(conversation.prompt("one"))
    await asyncio.wait_for(inside.wait(), 10)
    with pytest.raises(ConversationBusyError):
        await conversation.prompt("two")
    release.set()
    assert (await first).text() == "hi"
    assert [m.role for m in conversation.messages] == ["user", "assistant"]


def test_a_half_read_stream_holds_the_conversation_until_it_ends() -> None:
    def play(request: Request) -> Any:
        yield "a"
        yield "b"

    conversation = FunctionModel(play).conversation()
    stream = iter(conversation.prompt("one", stream=True))
    assert next(stream) == "a"
    with pytest.raises(ConversationBusyError):
        conversation.prompt("two")
    assert list(stream) == ["b"]
    assert conversation.prompt("three").text() == "ab"


def test_a_stream_never_read_does_not_block_the_next_prompt() -> None:
    conversation = FunctionModel(lambda request: "hi").conversation()
    conversation.prompt("never read", stream=True)
    assert conversation.prompt("next").text() == "hi"


def test_an_abandoned_stream_frees_the_conversation() -> None:
    def play(request: Request) -> Any:
        yield "a"
        yield "b"

    conversation = FunctionModel(play).conversation()
    for _chunk in conversation.prompt("one", stream=True):
        break  # the loop drops the iterator: the run ends there
    assert conversation.prompt("two").text() == "ab"
