"""The chain: the tool loop, hooks, approval, concurrency, limits, streaming (sync side).

Every behaviour here is driven through the public API with offline models;
tests/test_chain_async.py checks the same behaviours through the async API.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest

import agentloop
from agentloop import (
    CancelToolCall,
    ChainLimitExceeded,
    FunctionModel,
    Message,
    Request,
    TestModel,
    Tool,
    ToolCall,
    ToolResult,
)


def upper(text: str) -> str:
    "Convert text to upper case."
    return text.upper()


def calls_then_answer(*calls: ToolCall, answer: str = "done") -> FunctionModel:
    """A model that makes ``calls`` on its first turn, then answers with the results."""

    def play(request: Request) -> Any:
        last = request.messages[-1]
        if last.role == "tool":
            outputs = [r.output for r in last.tool_results]
            return f"{answer}: {', '.join(outputs)}"
        return list(calls)

    return FunctionModel(play)


# -- the loop ---------------------------------------------------------------------


def test_chain_runs_the_tool_and_returns_the_final_answer() -> None:
    model = calls_then_answer(ToolCall("upper", {"text": "panda"}, "c1"))
    response = model.conversation(tools=[upper]).chain("Convert panda to uppercase")
    assert response.text() == "done: PANDA"
    assert len(response.responses) == 2
    assert response.tool_results()[0].output == "PANDA"


def test_conversation_keeps_every_message_of_the_chain() -> None:
    model = calls_then_answer(ToolCall("upper", {"text": "a"}, "c1"))
    conversation = model.conversation(system="be brief", tools=[upper])
    conversation.chain("go")
    assert [m.role for m in conversation.messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    assert conversation.responses[0].tool_results[0].output == "A"


def test_test_model_calls_every_tool_once_then_summarises() -> None:
    def count(n: int) -> int:
        "Count."
        return n + 1

    response = TestModel().chain("go", tools=[upper, count])
    assert json.loads(response.text()) == {"upper": "HELLO", "count": "3"}
    assert {c.name for c in response.tool_calls()} == {"upper", "count"}


def test_usage_is_summed_over_the_chain() -> None:
    response = TestModel().chain("go", tools=[upper])
    parts = [r.usage() for r in response.responses]
    assert response.usage().input_tokens == sum(u.input_tokens for u in parts)
    assert response.usage().total_tokens == sum(u.total_tokens for u in parts)


def test_prompt_does_not_run_tools_but_the_next_prompt_settles_them_first() -> None:
    ran: list[str] = []

    def record(text: str) -> str:
        "Record."
        ran.append(text)
        return "ok"

    model = calls_then_answer(ToolCall("record", {"text": "x"}, "c1"))
    conversation = model.conversation(tools=[record])
    first = conversation.prompt("hi")
    assert first.tool_calls()[0].name == "record"
    assert ran == []
    second = conversation.prompt("and now?")
    assert ran == ["x"]
    roles = [m.role for m in conversation.messages]
    assert roles == ["user", "assistant", "tool", "user", "assistant"]
    assert first.tool_results[0].output == "ok"
    assert second.prompt.prompt == "and now?"


def test_response_reply_runs_pending_calls_through_the_hooks() -> None:
    seen: list[str] = []
    model = calls_then_answer(ToolCall("upper", {"text": "q"}, "c1"))
    conversation = model.conversation(
        tools=[upper], before_call=lambda tool, call: seen.append(call.name)
    )
    first = conversation.prompt("hi")
    follow_up = first.reply("more")
    assert seen == ["upper"]
    assert follow_up.conversation is conversation
    assert follow_up.prompt.prompt == "more"


def test_api_md_prompt_surface() -> None:
    model = FunctionModel(lambda request: f"echo {request.last_user_text}")
    conversation = model.conversation(system="sys")
    r1 = conversation.prompt("What is the capital of France?")
    r2 = conversation.prompt("And Germany?")
    assert conversation.responses == [r1, r2]
    assert r2.prompt.prompt == "And Germany?"
    assert r2.conversation is conversation
    assert r2.text() == "echo And Germany?"
    assert r2.usage().total_tokens == r2.usage().input_tokens + r2.usage().output_tokens
    assert r2.tool_calls() == []
    sent = r2.request.messages if r2.request else []
    assert [m.text for m in sent] == ["sys", r1.prompt.prompt, r1.text(), "And Germany?"]


def test_message_items_style_keeps_the_callers_list() -> None:
    model = FunctionModel(lambda request: f"{len(request.messages)} messages")
    messages: list[Message] = []
    for text in ["one", "two"]:
        messages.append(Message.user(text))
        response = model.prompt(messages=messages, system="Be creative.")
        messages.append(response.to_message())
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[-1].text == "4 messages"  # system + 3 of ours


def test_streaming_yields_the_text_of_every_step() -> None:
    def play(request: Request) -> Any:
        if request.messages[-1].role == "tool":
            yield "The answer "
            yield "is A."
        else:
            yield "Let me check. "
            yield ToolCall("upper", {"text": "a"}, "")

    conversation = FunctionModel(play).conversation(tools=[upper])
    chunks = list(conversation.chain("go", stream=True))
    assert chunks == ["Let me check. ", "The answer ", "is A."]
    assert conversation.responses[-1].text() == "The answer is A."


def test_streamed_prompt_is_lazy_until_iterated() -> None:
    calls: list[int] = []

    def play(request: Request) -> Any:
        calls.append(1)
        yield "a"
        yield "b"

    response = FunctionModel(play).prompt("x", stream=True)
    assert calls == []
    assert "".join(response) == "ab"
    assert response.text() == "ab"


def test_a_model_function_may_return_a_message_with_thinking() -> None:
    reply = Message("assistant", [agentloop.Thinking("hmm"), agentloop.Text("hi")])
    response = FunctionModel(lambda request: reply).prompt("x")
    assert response.text() == "hi"
    assert response.to_message() is reply


# -- hooks ------------------------------------------------------------------------


def test_before_and_after_hooks_see_every_call() -> None:
    log: list[tuple[str, Any]] = []

    def before(tool: Tool | None, call: ToolCall) -> None:
        log.append(("before", tool.name if tool else None))

    def after(tool: Tool | None, call: ToolCall, result: ToolResult) -> None:
        log.append(("after", result.output))

    model = calls_then_answer(ToolCall("upper", {"text": "x"}, "c1"))
    model.conversation(tools=[upper], before_call=before, after_call=after).chain("go")
    assert log == [("before", "upper"), ("after", "X")]


def test_before_call_may_edit_arguments_and_they_are_revalidated() -> None:
    def shout(tool: Tool | None, call: ToolCall) -> None:
        call.arguments["text"] = call.arguments["text"] + "!"

    model = calls_then_answer(ToolCall("upper", {"text": "x"}, "c1"))
    response = model.conversation(tools=[upper], before_call=shout).chain("go")
    assert response.text() == "done: X!"

    def break_it(tool: Tool | None, call: ToolCall) -> None:
        call.arguments["text"] = 42

    model = calls_then_answer(ToolCall("upper", {"text": "x"}, "c1"))
    response = model.conversation(tools=[upper], before_call=break_it).chain("go")
    result = response.tool_results()[0]
    assert result.is_error
    assert "text" in result.output


def test_cancel_tool_call_tells_the_model_and_the_tool_never_runs() -> None:
    ran: list[str] = []

    def delete_everything() -> str:
        "Delete everything."
        ran.append("boom")
        return "deleted"

    def guard(tool: Tool | None, call: ToolCall) -> None:
        if call.name == "delete_everything":
            raise CancelToolCall("not allowed")

    after: list[ToolResult] = []
    model = calls_then_answer(ToolCall("delete_everything", {}, "c1"))
    conversation = model.conversation(
        tools=[delete_everything],
        before_call=guard,
        after_call=lambda tool, call, result: after.append(result),
    )
    response = conversation.chain("go")
    assert ran == []
    assert response.text() == "done: not allowed"
    assert after[0].is_error


def test_after_call_may_replace_the_output() -> None:
    def redact(tool: Tool | None, call: ToolCall, result: ToolResult) -> None:
        result.output = "[redacted]"

    model = calls_then_answer(ToolCall("upper", {"text": "secret"}, "c1"))
    response = model.conversation(tools=[upper], after_call=redact).chain("go")
    assert response.text() == "done: [redacted]"


def test_hooks_can_be_overridden_per_chain_call() -> None:
    seen: list[str] = []
    model = calls_then_answer(ToolCall("upper", {"text": "x"}, "c1"))
    conversation = model.conversation(
        tools=[upper], before_call=lambda tool, call: seen.append("conversation")
    )
    conversation.chain("go", before_call=lambda tool, call: seen.append("override"))
    assert seen == ["override"]


def test_async_hooks_work_in_a_sync_chain() -> None:
    seen: list[str] = []

    async def before(tool: Tool | None, call: ToolCall) -> None:
        await asyncio.sleep(0)
        seen.append(call.name)

    model = calls_then_answer(ToolCall("upper", {"text": "x"}, "c1"))
    model.conversation(tools=[upper], before_call=before).chain("go")
    assert seen == ["upper"]


def test_unknown_tool_reaches_the_hook_as_none_and_the_model_as_an_error() -> None:
    tools_seen: list[Tool | None] = []
    model = calls_then_answer(ToolCall("no_such_tool", {}, "c1"))
    response = model.conversation(
        tools=[upper], before_call=lambda tool, call: tools_seen.append(tool)
    ).chain("go")
    assert tools_seen == [None]
    result = response.tool_results()[0]
    assert result.is_error
    assert "Unknown tool 'no_such_tool'" in result.output
    assert "upper" in result.output


# -- approval ---------------------------------------------------------------------


@agentloop.tool(requires_approval=True)
def transfer(amount: int) -> str:
    "Transfer money."
    return f"sent {amount}"


def test_approval_fails_closed_without_an_approver() -> None:
    model = calls_then_answer(ToolCall("transfer", {"amount": 5}, "c1"))
    response = model.conversation(tools=[transfer]).chain("go")
    result = response.tool_results()[0]
    assert result.is_error
    assert "requires approval" in result.output


def test_approval_refused_and_granted() -> None:
    model = calls_then_answer(ToolCall("transfer", {"amount": 5}, "c1"))
    refused = model.conversation(tools=[transfer], approve=lambda tool, call: False).chain("go")
    assert "did not approve" in refused.tool_results()[0].output

    model = calls_then_answer(ToolCall("transfer", {"amount": 5}, "c1"))
    granted = model.conversation(tools=[transfer], approve=lambda tool, call: True).chain("go")
    assert granted.text() == "done: sent 5"


def test_approve_must_return_true_exactly() -> None:
    model = calls_then_answer(ToolCall("transfer", {"amount": 5}, "c1"))
    response = model.conversation(tools=[transfer], approve=lambda tool, call: "yes").chain("go")
    assert response.tool_results()[0].is_error


# -- several calls at once ------------------------------------------------------------


def test_parallel_sync_tools_run_concurrently_and_keep_the_models_order() -> None:
    def slow(n: int) -> str:
        "Sleep."
        time.sleep(0.3 if n != 0 else 0.35)
        return str(n)

    calls = [ToolCall("slow", {"n": n}, f"c{n}") for n in range(4)]
    model = calls_then_answer(*calls)
    started = time.perf_counter()
    response = model.conversation(tools=[slow]).chain("go")
    elapsed = time.perf_counter() - started
    assert elapsed < 0.9
    assert response.text() == "done: 0, 1, 2, 3"


def test_async_tools_in_a_sync_chain_run_concurrently() -> None:
    async def slow(n: int) -> str:
        "Sleep."
        await asyncio.sleep(0.3)
        return str(n)

    calls = [ToolCall("slow", {"n": n}, f"c{n}") for n in range(4)]
    started = time.perf_counter()
    response = calls_then_answer(*calls).conversation(tools=[slow]).chain("go")
    assert time.perf_counter() - started < 0.9
    assert response.text() == "done: 0, 1, 2, 3"


def test_sequential_tools_run_alone() -> None:
    active = 0
    overlaps: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> str:
        "Work."
        nonlocal active
        with lock:
            active += 1
            overlaps.append(active)
        time.sleep(0.05)
        with lock:
            active -= 1
        return str(n)

    @agentloop.tool(sequential=True)
    def exclusive(n: int) -> str:
        "Exclusive."
        return work(n)

    calls = [
        ToolCall("work", {"n": 0}, "a"),
        ToolCall("exclusive", {"n": 1}, "b"),
        ToolCall("work", {"n": 2}, "c"),
        ToolCall("work", {"n": 3}, "d"),
    ]
    response = calls_then_answer(*calls).conversation(tools=[work, exclusive]).chain("go")
    assert response.text() == "done: 0, 1, 2, 3"
    assert overlaps[1] == 1  # exclusive ran with nothing beside it
    assert max(overlaps) == 2  # the last two work calls ran together


def test_async_tool_works_when_the_caller_runs_an_event_loop() -> None:
    async def fetch(n: int) -> str:
        "Fetch."
        await asyncio.sleep(0)
        return f"got {n}"

    async def notebook_cell() -> str:
        model = calls_then_answer(ToolCall("fetch", {"n": 1}, "c1"))
        return model.conversation(tools=[fetch]).chain("go").text()

    assert asyncio.run(notebook_cell()) == "done: got 1"


# -- bad model output and limits ------------------------------------------------------


def test_malformed_arguments_come_back_as_an_error_the_model_can_fix() -> None:
    attempts: list[str] = []

    def play(request: Request) -> Any:
        last = request.messages[-1]
        if last.role == "tool":
            attempts.append(last.tool_results[0].output)
            if len(attempts) == 1:
                return ToolCall("upper", {"text": "fixed"}, "c2")
            return "ok"
        return ToolCall("upper", {}, "c1", raw_arguments='{"text": ')

    response = FunctionModel(play).conversation(tools=[upper]).chain("go")
    assert response.text() == "ok"
    assert "JSON" in attempts[0] or "json" in attempts[0]
    assert attempts[1] == "FIXED"


def test_a_model_that_keeps_failing_is_stopped_by_the_retry_budget() -> None:
    model = FunctionModel(lambda request: ToolCall("upper", {"wrong": 1}, ""))
    with pytest.raises(agentloop.ToolRetriesExceeded, match="upper"):
        model.conversation(tools=[upper]).chain("go")


def test_chain_limit_stops_a_runaway_loop_keeping_every_response() -> None:
    model = FunctionModel(lambda request: ToolCall("upper", {"text": "x"}, ""))
    conversation = model.conversation(tools=[upper], chain_limit=3)
    with pytest.raises(ChainLimitExceeded) as info:
        conversation.chain("go")
    assert len(info.value.responses) == 3
    assert len(conversation.responses) == 3


def test_a_chain_ending_on_exactly_the_last_allowed_call_succeeds() -> None:
    model = calls_then_answer(ToolCall("upper", {"text": "x"}, "c1"))
    response = model.conversation(tools=[upper], chain_limit=2).chain("go")
    assert response.text() == "done: X"


def test_tool_exceptions_are_reported_redacted_or_raised() -> None:
    def boom() -> str:
        "Fail."
        raise ValueError("disk on fire")

    def run(mode: Any) -> ToolResult:
        model = calls_then_answer(ToolCall("boom", {}, "c1"))
        return model.conversation(tools=[boom], tool_errors=mode).chain("go").tool_results()[0]

    reported = run("report")
    assert reported.output == "ValueError: disk on fire"
    assert isinstance(reported.exception, ValueError)
    assert "disk" not in run("redact").output
    with pytest.raises(ValueError, match="disk on fire"):
        run("raise")


def test_tool_error_is_the_deliberate_way_to_tell_the_model() -> None:
    def lookup(city: str) -> str:
        "Look up."
        raise agentloop.ToolError(f"I only know London, not {city}")

    model = calls_then_answer(ToolCall("lookup", {"city": "Londos"}, "c1"))
    response = model.conversation(tools=[lookup]).chain("go")
    assert response.text() == "done: I only know London, not Londos"


# -- switching and toolboxes --------------------------------------------------------------


def test_switching_model_mid_conversation_keeps_the_history() -> None:
    conversation = calls_then_answer(ToolCall("upper", {"text": "x"}, "c1")).conversation(
        tools=[upper]
    )
    conversation.chain("go")
    seen: list[list[str]] = []

    def second(request: Request) -> str:
        seen.append([m.role for m in request.messages])
        return "hello from the other model"

    conversation.model = FunctionModel(second)
    assert conversation.prompt("next").text() == "hello from the other model"
    assert seen == [["user", "assistant", "tool", "assistant", "user"]]


class Memory(agentloop.Toolbox):
    "Remembers values."

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.prepared_count = 0

    async def prepare(self) -> None:
        self.prepared_count += 1
        self.add_tool(self._size, name="Memory_size")

    def _size(self) -> int:
        "How many values."
        return len(self.values)

    def set(self, key: str, value: str) -> str:
        "Set a value by key."
        self.values[key] = value
        return "ok"

    def get(self, key: str) -> str:
        "Get a value by key."
        return self.values[key]


def test_toolbox_state_lives_across_turns_and_prepare_runs_once() -> None:
    memory = Memory()
    offered: list[list[str]] = []

    def play(request: Request) -> Any:
        offered.append([t.name for t in request.tools])
        last = request.messages[-1]
        if last.role == "tool":
            return last.tool_results[0].output
        if "remember" in last.text:
            return ToolCall("Memory_set", {"key": "k", "value": "v"}, "")
        return ToolCall("Memory_get", {"key": "k"}, "")

    conversation = FunctionModel(play).conversation(tools=[memory])
    conversation.chain("remember this")
    assert conversation.chain("what was it?").text() == "v"
    assert memory.prepared_count == 1
    assert "Memory_size" in offered[0]
    conversation.close()


def test_streamed_chains_run_the_hooks_too() -> None:
    seen: list[str] = []

    def play(request: Request) -> Any:
        if request.messages[-1].role == "tool":
            yield "ok"
        else:
            yield ToolCall("upper", {"text": "a"}, "")

    conversation = FunctionModel(play).conversation(
        tools=[upper],
        before_call=lambda tool, call: seen.append("before"),
        after_call=lambda tool, call, result: seen.append(result.output),
    )
    assert "".join(conversation.chain("go", stream=True)) == "ok"
    assert seen == ["before", "A"]


def test_a_broken_stream_keeps_its_partial_text_on_the_response() -> None:
    def play(request: Request) -> Any:
        if request.messages[-1].role == "tool":
            yield "The answer is"
            raise agentloop.StreamIncomplete("cut", partial_text="The answer is")
        yield ToolCall("upper", {"text": "a"}, "")

    response = FunctionModel(play).conversation(tools=[upper]).chain("go", stream=True)
    chunks: list[str] = []
    with pytest.raises(agentloop.StreamIncomplete):
        chunks.extend(response)
    assert chunks == ["The answer is"]
    assert response.partial_text == "The answer is"
    assert len(response.responses) == 1  # the completed first step is kept
