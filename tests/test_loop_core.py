"""The sans-I/O core driven by hand: effects out, outcomes in, no model, no threads."""

from __future__ import annotations

from typing import Any

import pytest

from agentloop import Message, Reply, Request, Text, ToolCall, ToolResult
from agentloop.history import unanswered_calls
from agentloop.loop import (
    CallModel,
    CallUser,
    ChainSpec,
    Hooks,
    Outcome,
    RunConcurrently,
    run_chain,
)
from agentloop.tools import RetryBudget, collect_tools


def upper(text: str) -> str:
    "Upper."
    return text.upper()


class Record:
    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.results: list[list[ToolResult]] = []

    def replied(self, request: Request, reply: Reply) -> None:
        self.replies.append(reply)

    def tools_ran(self, messages: list[Message]) -> None:
        self.results.extend(m.tool_results for m in messages)


def assistant(*parts: Any) -> Reply:
    return Reply(Message("assistant", list(parts)))


def test_one_tool_round_as_a_sequence_of_effects() -> None:
    history: list[Message] = []
    record = Record()
    spec = ChainSpec(tools=collect_tools([upper]))
    step = run_chain(history, [Message.user("hi")], spec, RetryBudget(), record)

    effect = next(step)
    assert isinstance(effect, CallModel)
    assert [m.role for m in effect.request.messages] == ["user"]

    effect = step.send(assistant(ToolCall("upper", {"text": "a"}, "c1")))
    assert isinstance(effect, CallUser)  # the tool itself, to be run by a shell
    assert effect.blocking
    effect = step.send(effect.fn(*effect.args))

    assert isinstance(effect, CallModel)
    assert [m.role for m in effect.request.messages] == ["user", "assistant", "tool"]
    with pytest.raises(StopIteration) as stop:
        step.send(assistant(Text("A it is")))
    outcome = stop.value.value
    assert isinstance(outcome, Outcome)
    assert outcome.model_calls == 2
    assert record.results[0][0].output == "A"


def test_several_calls_become_one_concurrent_effect_and_hooks_are_effects_too() -> None:
    seen: list[str] = []
    spec = ChainSpec(
        tools=collect_tools([upper]),
        hooks=Hooks(before_call=lambda tool, call: seen.append(call.tool_call_id)),
    )
    step = run_chain([], [Message.user("hi")], spec, RetryBudget(), Record())
    next(step)
    calls = [ToolCall("upper", {"text": t}, t) for t in "abc"]
    effect = step.send(assistant(*calls))
    assert isinstance(effect, RunConcurrently)
    assert len(effect.steps) == 3
    assert seen == []  # nothing ran yet: the shell decides how and when


def test_prompt_mode_stops_after_one_model_call_leaving_calls_pending() -> None:
    history: list[Message] = []
    spec = ChainSpec(tools=collect_tools([upper]), execute_tools=False)
    step = run_chain(history, [Message.user("hi")], spec, RetryBudget(), Record())
    next(step)
    with pytest.raises(StopIteration):
        step.send(assistant(ToolCall("upper", {"text": "a"}, "c1")))
    assert [c.tool_call_id for c in unanswered_calls(history)] == ["c1"]
