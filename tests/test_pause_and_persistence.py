"""Pausing a chain for a human decision, resuming it elsewhere, and persisting history."""

from __future__ import annotations

import json
from typing import Any

import pytest

import agentloop
from agentloop import (
    ChainState,
    Conversation,
    FunctionModel,
    PauseChain,
    Request,
    Response,
    ResumeError,
    Tool,
    ToolCall,
    ToolResult,
)


@agentloop.tool(requires_approval=True)
def transfer(amount: int) -> str:
    "Transfer money."
    return f"sent {amount}"


def lookup(name: str) -> str:
    "Look a name up."
    return f"{name} found"


def answer_with_results(request: Request) -> Any:
    last = request.messages[-1]
    if last.role == "tool":
        return " | ".join(r.output for r in last.tool_results)
    return [
        ToolCall("transfer", {"amount": 10}, "t1"),
        ToolCall("lookup", {"name": "ada"}, "l1"),
        ToolCall("transfer", {"amount": 99}, "t2"),
    ]


def ask_a_human(tool: Tool, call: ToolCall) -> bool:
    raise PauseChain("needs a human")


def test_a_paused_chain_returns_a_state_with_the_pending_calls_and_sibling_results() -> None:
    conversation = FunctionModel(answer_with_results).conversation(
        tools=[transfer, lookup], approve=ask_a_human
    )
    response = conversation.chain("pay")
    assert response.paused
    assert response.state is not None
    assert [c.tool_call_id for c in response.state.pending] == ["t1", "t2"]
    assert [r.output for r in response.state.pause.done] == ["ada found"]
    json.dumps(response.state.to_dict())  # serializable as is


def test_resume_in_another_process_with_approvals_and_denials() -> None:
    conversation = FunctionModel(answer_with_results).conversation(
        tools=[transfer, lookup], approve=ask_a_human
    )
    state = conversation.chain("pay").state
    assert state is not None
    payload = json.dumps(state.to_dict())

    # ... later, elsewhere: rebuild from JSON alone.
    restored = ChainState.from_dict(json.loads(payload))
    fresh = Conversation.from_dict(
        restored.conversation, tools=[transfer, lookup], model=FunctionModel(answer_with_results)
    )
    after: list[str] = []
    fresh.hooks.after_call = lambda tool, call, result: after.append(call.tool_call_id)
    result = fresh.resume(restored, {"t1": True, "t2": "amount too large"})
    assert result.text() == "sent 10 | ada found | amount too large"
    assert after == ["t1", "t2"]  # the sibling's after_call already ran before the pause
    assert [m.role for m in fresh.messages][-2:] == ["tool", "assistant"]


def test_resume_needs_a_decision_for_every_pending_call() -> None:
    conversation = FunctionModel(answer_with_results).conversation(
        tools=[transfer, lookup], approve=ask_a_human
    )
    state = conversation.chain("pay").state
    assert state is not None
    with pytest.raises(ResumeError, match="t2"):
        conversation.resume(state, {"t1": True})


def test_pause_from_before_call_skips_that_hook_on_resume() -> None:
    calls: list[str] = []

    def before(tool: Tool | None, call: ToolCall) -> None:
        calls.append(call.tool_call_id)
        if call.name == "transfer":
            raise PauseChain()

    conversation = FunctionModel(answer_with_results).conversation(
        tools=[transfer, lookup], before_call=before
    )
    state = conversation.chain("pay").state
    assert state is not None
    assert {p.stage for p in state.pause.paused} == {"before_call"}
    calls.clear()
    result = conversation.resume(state, {"t1": True, "t2": False})
    assert calls == []
    assert result.text() == "sent 10 | ada found | The user denied this tool call."


def test_response_round_trips_through_json_and_can_reply() -> None:
    def play(request: Request) -> Any:
        last = request.messages[-1]
        if last.role == "tool":
            return "London is " + last.tool_results[0].output
        if "again" in last.text:
            return f"{len(request.messages)} messages seen"
        return ToolCall("lookup", {"name": "London"}, "c1")

    model = FunctionModel(play, model_id="replay")
    agentloop.register_model("replay", lambda name, **kw: model)
    conversation = agentloop.get_model("replay").conversation(tools=[lookup])
    chain = conversation.chain("where?")
    payload = json.dumps(chain.to_dict())
    assert "api_key" not in payload

    rebuilt = Response.from_dict(json.loads(payload), tools=[lookup])
    assert rebuilt.text() == "London is London found"
    assert rebuilt.prompt.prompt == "where?"
    assert rebuilt.usage() == chain.responses[-1].usage()
    follow = rebuilt.reply("again")
    assert follow.text() == "5 messages seen"


def test_conversation_round_trips_with_tool_calls_and_results() -> None:
    def play(request: Request) -> Any:
        if request.messages[-1].role == "tool":
            return "ok"
        return ToolCall("lookup", {"name": "x"}, "c1")

    conversation = FunctionModel(play).conversation(
        tools=[lookup], system="sys", options={"temperature": 0.5}, chain_limit=7
    )
    conversation.chain("go")
    data = json.loads(json.dumps(conversation.to_dict()))
    assert data["model"] == "function"
    assert data["options"] == {"temperature": 0.5}
    restored = Conversation.from_dict(data, tools=[lookup], model=FunctionModel(play))
    assert restored.messages == conversation.messages
    assert restored.chain_limit == 7
    assert isinstance(restored.messages[3].parts[0], ToolResult)


def test_api_keys_never_reach_a_dict() -> None:
    class KeyedModel(FunctionModel):
        def __init__(self) -> None:
            super().__init__(lambda request: "hi", model_id="keyed")
            self.api_key = "sk-secret"

    response = KeyedModel().prompt("x")
    assert "sk-secret" not in json.dumps(response.to_dict())
    assert "sk-secret" not in json.dumps(response.conversation.to_dict())
