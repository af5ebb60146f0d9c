"""Mistakes in using the chain fail where they are made, saying what to fix."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentloop import (
    FunctionModel,
    Message,
    PauseChain,
    Request,
    TestModel,
    ToolCall,
    register_model,
)


def upper(text: str) -> str:
    "Convert text to upper case."
    return text.upper()


def calls_then_answer() -> FunctionModel:
    def play(request: Request) -> Any:
        if request.messages[-1].role == "tool":
            return "done"
        return [ToolCall("upper", {"text": "a"}, "c1")]

    return FunctionModel(play)


# -- chain_limit ---------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -5])
def test_a_chain_limit_below_one_is_refused_at_the_call(bad: int) -> None:
    model = TestModel()
    with pytest.raises(ValueError, match="chain_limit must be at least 1"):
        model.chain("go", tools=[upper], chain_limit=bad)
    with pytest.raises(ValueError, match="chain_limit"):
        model.conversation(chain_limit=bad)
    conversation = model.conversation()
    with pytest.raises(ValueError, match="chain_limit"):
        conversation.chain_limit = bad


@pytest.mark.parametrize("bad", ["3", 2.5, True, None])
def test_a_chain_limit_that_is_not_an_int_is_a_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match="chain_limit must be a positive int"):
        TestModel().conversation(chain_limit=bad)


def test_nothing_is_sent_when_the_chain_limit_is_wrong() -> None:
    sent: list[Request] = []
    model = FunctionModel(lambda request: sent.append(request) or "hi")
    with pytest.raises(ValueError):
        model.chain("go", chain_limit=0)
    assert sent == []


# -- exceptions raised by hooks ---------------------------------------------------------


@pytest.mark.parametrize("hook", ["before_call", "after_call", "approve"])
def test_an_exception_from_a_hook_names_the_hook_and_the_call(hook: str) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("hook bug")

    def needs_approval(text: str) -> str:
        "Upper, once approved."
        return text.upper()

    from agentloop import Tool

    tool = Tool.function(needs_approval, name="upper", requires_approval=True)
    conversation = calls_then_answer().conversation(tools=[tool], approve=lambda t, c: True)
    with pytest.raises(RuntimeError, match="hook bug") as caught:
        conversation.chain("go", **{hook: broken})
    assert f"Raised by the {hook} hook for the tool call 'upper' (id 'c1')" in (
        caught.value.__notes__
    )
    # The conversation is still usable: the next chain settles the call and goes on.
    assert conversation.chain("again").text() == "done"


# -- prompt() settles pending calls through the hooks it is given ------------------------


def test_prompt_takes_hooks_for_the_calls_it_settles() -> None:
    seen: list[str] = []
    model = calls_then_answer()
    history = [
        Message.user("go"),
        Message.assistant(tool_calls=[ToolCall("upper", {"text": "a"}, "c1")]),
    ]
    response = model.prompt(
        messages=history,
        tools=[upper],
        after_call=lambda tool, call, result: seen.append(result.output),
    )
    assert seen == ["A"]
    assert response.text() == "done"
    assert "before_call" not in (response.request.options if response.request else {})


# -- resuming in a fresh conversation ----------------------------------------------------


def test_a_fresh_conversation_resumes_with_its_own_model() -> None:
    # A FunctionModel is not in the registry: the state's model name cannot be looked up.
    model = calls_then_answer()

    def pause(tool: Any, call: ToolCall) -> None:
        raise PauseChain("ask the user")

    paused = model.conversation(tools=[upper], before_call=pause).chain("go")
    assert paused.state is not None
    saved = json.loads(json.dumps(paused.state.to_dict()))

    fresh = model.conversation(tools=[upper])
    from agentloop import ChainState

    state = ChainState.from_dict(saved)
    done = fresh.resume(state, {c.tool_call_id: True for c in state.pending})
    assert done.text() == "done"
    assert fresh.model is model


def test_a_registered_custom_model_is_found_by_name_when_resuming_without_one() -> None:
    register_model("scripted-for-resume", lambda name, **kw: calls_then_answer())
    model = calls_then_answer()
    model.model_id = "scripted-for-resume"

    def pause(tool: Any, call: ToolCall) -> None:
        raise PauseChain()

    paused = model.conversation(tools=[upper], before_call=pause).chain("go")
    assert paused.state is not None
    from agentloop import Conversation

    fresh = Conversation(tools=[upper])
    done = fresh.resume(paused.state.to_dict(), {"c1": True})
    assert done.text() == "done"


# -- a wrong argument changes nothing ------------------------------------------------------


def test_a_misspelt_option_leaves_the_conversation_as_it_was() -> None:
    from agentloop import UnknownOptionError

    conversation = TestModel().conversation(system="old")
    with pytest.raises(UnknownOptionError, match="did you mean 'temperature'"):
        conversation.prompt("x", system="new", tempreature=1)
    assert [m.text for m in conversation.messages] == ["old"]
    with pytest.raises(ValueError, match="chain_limit"):
        conversation.chain("x", system="new", chain_limit=0)
    assert [m.text for m in conversation.messages] == ["old"]


def test_python_tools_given_to_a_conversation_call_say_where_they_belong() -> None:
    from agentloop import ToolDefinitionError

    conversation = TestModel().conversation()
    with pytest.raises(ToolDefinitionError, match=r"model\.conversation\(tools="):
        conversation.chain("x", tools=[upper])
    assert conversation.messages == []
