"""Message items: the caller keeps the message list and passes it to every prompt.

``messages.extend(response.messages())`` after each call keeps the complete
exchange (tool calls and their results) in the caller's list, and a tool call
left without a result, wherever it sits in a history given, is settled before
the request goes out: through the same hooks and approval as any call, exactly
once, its results placed right after the assistant message that made it. No
request ever carries an orphan call: on every wire format, over real HTTP, the
requests are checked against the rules the provider enforces.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anthropic_wire
import gemini_replies
import openai_chat_wire
import pytest
import responses_events
import wire_rules
from local_server import LocalServer

from agentloop import FunctionModel, Message, Model, Request, ToolCall, ToolResult
from agentloop.providers.openai_chat import OpenAIChatModel
from agentloop.providers.openai_responses import OpenAIResponsesModel


class Weather:
    """A tool that counts its runs, so a test can tell a call ran exactly once."""

    def __init__(self) -> None:
        self.runs: list[str] = []

    def __call__(self, city: str) -> str:
        "The weather in a city."
        self.runs.append(city)
        return f"sunny in {city}"


def weather_tool() -> tuple[Weather, Any]:
    weather = Weather()

    def weather_fn(city: str) -> str:
        "The weather in a city."
        return weather(city)

    weather_fn.__name__ = "weather"
    return weather, weather_fn


# -- offline: what each call adds, and where results go -------------------------------


def scripted(*turns: Any) -> tuple[FunctionModel, list[Request]]:
    """A model answering each request with the next turn; it records what it was sent."""
    seen: list[Request] = []
    queue = list(turns)

    def play(request: Request) -> Any:
        seen.append(request)
        return queue.pop(0)

    return FunctionModel(play), seen


def roles(messages: list[Message]) -> list[str]:
    return [m.role for m in messages]


def test_a_prompt_response_adds_its_assistant_message() -> None:
    model, _ = scripted([ToolCall("weather", {"city": "Paris"}, "c1")])
    _, weather = weather_tool()
    response = model.prompt(messages=[Message.user("Weather?")], tools=[weather])
    assert roles(response.messages()) == ["assistant"]
    assert response.messages()[0].tool_calls[0].tool_call_id == "c1"
    assert response.to_message() is response.messages()[0]


def test_an_orphan_call_is_settled_once_with_its_result_right_after_it() -> None:
    model, seen = scripted([ToolCall("weather", {"city": "Paris"}, "c1")], "Rome too.", "Bye.")
    counter, weather = weather_tool()
    before: list[str] = []
    messages = [Message.user("Weather in Paris?")]
    first = model.prompt(messages=messages, tools=[weather])
    messages.extend(first.messages())
    messages.append(Message.user("And Rome?"))

    second = model.prompt(
        messages=messages,
        tools=[weather],
        before_call=lambda tool, call: before.append(call.tool_call_id),
    )
    assert roles(seen[1].messages) == ["user", "assistant", "tool", "user"]
    assert seen[1].messages[2].tool_results[0].output == "sunny in Paris"
    assert roles(second.messages()) == ["tool", "assistant"]
    assert before == ["c1"]  # through the hooks

    messages.extend(second.messages())  # the result lands after the user turn here...
    messages.append(Message.user("Thanks"))
    model.prompt(messages=messages, tools=[weather])
    # ...and is sent right after its call, not run a second time.
    assert roles(seen[2].messages) == ["user", "assistant", "tool", "user", "assistant", "user"]
    assert counter.runs == ["Paris"]


def test_the_callers_list_is_never_changed() -> None:
    model, _ = scripted("ok")
    _, weather = weather_tool()
    messages = [
        Message.user("Weather?"),
        Message.assistant(tool_calls=[ToolCall("weather", {"city": "Oslo"}, "c1")]),
        Message.user("Well?"),
    ]
    snapshot = list(messages)
    model.prompt(messages=messages, tools=[weather])
    assert messages == snapshot


def test_a_chain_gives_every_message_after_the_prompt() -> None:
    model, _ = scripted([ToolCall("weather", {"city": "Paris"}, "c1")], "Sunny.")
    _, weather = weather_tool()
    chain = model.chain(messages=[Message.user("Weather?")], tools=[weather])
    assert roles(chain.messages()) == ["assistant", "tool", "assistant"]
    assert chain.messages()[-1] is chain.to_message()
    assert [roles(r.messages()) for r in chain.responses] == [["assistant", "tool"], ["assistant"]]


def test_a_chain_over_a_list_with_an_orphan_gives_the_settled_results_first() -> None:
    model, seen = scripted("Both sunny.")
    counter, weather = weather_tool()
    messages = [
        Message.user("Weather in Paris?"),
        Message.assistant(tool_calls=[ToolCall("weather", {"city": "Paris"}, "c1")]),
        Message.user("Rome?"),
    ]
    chain = model.chain(messages=messages, tools=[weather])
    assert roles(chain.messages()) == ["tool", "assistant"]
    assert roles(seen[0].messages) == ["user", "assistant", "tool", "user"]
    assert counter.runs == ["Paris"]


def test_orphans_of_several_assistant_messages_each_get_their_results() -> None:
    model, seen = scripted("ok")
    counter, weather = weather_tool()
    messages = [
        Message.user("a"),
        Message.assistant(tool_calls=[ToolCall("weather", {"city": "Oslo"}, "c1")]),
        Message.user("b"),
        Message.assistant(
            tool_calls=[
                ToolCall("weather", {"city": "Rome"}, "c2"),
                ToolCall("weather", {"city": "Lima"}, "c3"),
            ]
        ),
        Message.tool(ToolResult("weather", "rainy in Rome", "c2")),
        Message.user("c"),
    ]
    response = model.prompt(messages=messages, tools=[weather])
    sent = seen[0].messages
    assert roles(sent) == ["user", "assistant", "tool", "user", "assistant", "tool", "user"]
    assert [r.tool_call_id for r in sent[5].tool_results] == ["c2", "c3"]  # merged, in call order
    assert sorted(counter.runs) == ["Lima", "Oslo"]
    assert [[r.tool_call_id for r in m.tool_results] for m in response.messages()[:-1]] == [
        ["c1"],
        ["c3"],
    ]


def test_a_denied_orphan_is_answered_with_the_refusal_and_not_run() -> None:
    model, seen = scripted("ok")
    counter, weather = weather_tool()

    def deny(tool: Any, call: ToolCall) -> None:
        from agentloop import CancelToolCall

        raise CancelToolCall("not now")

    messages = [
        Message.user("a"),
        Message.assistant(tool_calls=[ToolCall("weather", {"city": "Oslo"}, "c1")]),
        Message.user("b"),
    ]
    model.prompt(messages=messages, tools=[weather], before_call=deny)
    assert seen[0].messages[2].tool_results[0].output == "not now"
    assert counter.runs == []


# -- over real HTTP, on every wire format ---------------------------------------------------


@dataclass
class Wire:
    name: str
    model: Callable[[LocalServer], Model]
    call_reply: Callable[[str], dict[str, Any]]
    text_reply: Callable[[str], dict[str, Any]]
    rules: Callable[[dict[str, Any]], list[str]]


WIRES = [
    Wire(
        "openai-chat",
        lambda s: OpenAIChatModel("gpt-4.1-mini", base_url=s.url, api_key="sk-1", retry_backoff=0),
        lambda i: openai_chat_wire.completion(
            tool_calls=[openai_chat_wire.tool_call("weather", {"city": "Paris"}, i)]
        ),
        lambda text: openai_chat_wire.completion(text),
        wire_rules.openai_chat,
    ),
    Wire(
        "openai-responses",
        lambda s: OpenAIResponsesModel(
            "gpt-4.1-mini", base_url=s.url, api_key="sk-1", retry_backoff=0
        ),
        lambda i: responses_events.reply(
            responses_events.function_call("weather", {"city": "Paris"}, i)
        ),
        lambda text: responses_events.reply(responses_events.message(text)),
        wire_rules.openai_responses,
    ),
    Wire(
        "anthropic",
        anthropic_wire.model,
        lambda i: anthropic_wire.message_body(
            [anthropic_wire.tool_use(i, "weather", {"city": "Paris"})]
        ),
        lambda text: anthropic_wire.message_body([anthropic_wire.text(text)]),
        wire_rules.anthropic,
    ),
    Wire(
        "gemini",
        gemini_replies.gemini,
        lambda i: gemini_replies.reply(gemini_replies.call("weather", {"city": "Paris"})),
        lambda text: gemini_replies.reply(gemini_replies.text(text)),
        wire_rules.gemini,
    ),
]


@pytest.fixture
def server() -> Any:
    local = LocalServer()
    local.start()
    yield local
    local.stop()


@pytest.mark.parametrize("wire", WIRES, ids=lambda w: w.name)
def test_the_message_items_loop_sends_complete_histories(wire: Wire, server: LocalServer) -> None:
    server.reply(wire.call_reply("call_1"))
    server.reply(wire.text_reply("Sunny in Paris; Rome next?"))
    server.reply(wire.call_reply("call_2"))
    server.reply(wire.text_reply("Sunny."))
    server.reply(wire.text_reply("Bye."))
    model = wire.model(server)
    counter, weather = weather_tool()
    messages: list[Message] = []
    turns = [("prompt", "Weather in Paris?"), ("prompt", "And Rome?"), ("chain", "Once more")]
    turns.append(("prompt", "Thanks"))
    for kind, text in turns:
        messages.append(Message.user(text))
        call = model.prompt if kind == "prompt" else model.chain
        response = call(messages=messages, tools=[weather], system="Be brief.")
        messages.extend(response.messages())

    bodies = [r.json() for r in server.requests]
    assert len(bodies) == 5
    for body in bodies:
        assert wire.rules(body) == [], body
    assert counter.runs == ["Paris", "Paris"]  # each call ran exactly once
    assert roles(messages) == [
        "user",
        "assistant",
        "user",
        "tool",
        "assistant",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
    ]
