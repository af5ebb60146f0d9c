"""``approve_all=True``: the chain asks ``approve`` about every call, with the events, the
pause and the refusals of tools marked ``requires_approval``."""

from __future__ import annotations

import asyncio

import agentloop
from agentloop import PauseChain, TestModel, ToolCall
from agentloop.events import ApprovalDecided, ApprovalRequested, Event, ToolFinished


def upper(text: str) -> str:
    "Upper-case the text."
    return text.upper()


def lower(text: str) -> str:
    "Lower-case the text."
    return text.lower()


def decided(events: list[Event]) -> dict[str, bool]:
    return {e.call.name: e.approved for e in events if isinstance(e, ApprovalDecided)}


def requested(events: list[Event]) -> list[str]:
    return sorted(e.call.name for e in events if isinstance(e, ApprovalRequested))


def outputs(events: list[Event]) -> dict[str, str]:
    return {e.call.name: e.result.output for e in events if isinstance(e, ToolFinished)}


def approve_upper(tool: agentloop.Tool, call: ToolCall) -> bool:
    return tool.name == "upper"


def test_every_call_is_asked_about_and_a_denied_one_is_refused() -> None:
    conversation = TestModel().conversation(
        tools=[upper, lower], approve=approve_upper, approve_all=True
    )
    events = list(conversation.chain("go: Ab", stream=True).events())
    assert requested(events) == ["lower", "upper"]
    assert decided(events) == {"upper": True, "lower": False}
    assert outputs(events)["upper"] == "AB"
    assert outputs(events)["lower"] == "The user did not approve this call to 'lower'."


def test_async_chains_ask_about_every_call_too() -> None:
    async def run() -> list[Event]:
        conversation = (
            TestModel()
            .to_async()
            .conversation(tools=[upper, lower], approve=approve_upper, approve_all=True)
        )
        return [event async for event in conversation.chain("go: Ab").events()]

    events = asyncio.run(run())
    assert requested(events) == ["lower", "upper"]
    assert decided(events) == {"upper": True, "lower": False}
    assert outputs(events)["upper"] == "AB"


def test_without_approve_all_only_tools_that_require_approval_are_asked_about() -> None:
    conversation = TestModel().conversation(tools=[upper], approve=approve_upper)
    events = list(conversation.chain("go: a", stream=True).events())
    assert requested(events) == []
    assert outputs(events) == {"upper": "A"}


def test_an_approver_that_pauses_pauses_the_chain_until_resumed() -> None:
    def ask(tool: agentloop.Tool, call: ToolCall) -> bool:
        raise PauseChain("ask the user")

    conversation = TestModel().conversation(tools=[upper], approve=ask, approve_all=True)
    paused = conversation.chain("go: a")
    assert paused.state is not None
    (call,) = paused.state.pending
    resumed = conversation.resume(paused.state, {call.tool_call_id: True}, stream=True)
    events = list(resumed.events())
    assert decided(events) == {"upper": True}
    assert outputs(events) == {"upper": "A"}


def test_a_reason_from_the_approver_is_what_the_model_is_told() -> None:
    conversation = TestModel().conversation(
        tools=[upper], approve=lambda tool, call: "not now", approve_all=True
    )
    events = list(conversation.chain("go: a", stream=True).events())
    (event,) = [e for e in events if isinstance(e, ApprovalDecided)]
    assert (event.approved, event.reason) == (False, "not now")
    assert outputs(events) == {"upper": "not now"}


def test_without_an_approver_every_call_is_refused_and_the_model_told_why() -> None:
    response = TestModel().conversation(tools=[upper], approve_all=True).chain("go: a")
    (result,) = response.tool_results()
    assert "needs approval (approve_all) and no approver is configured" in result.output
