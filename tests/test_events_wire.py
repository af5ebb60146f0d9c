"""The event stream of a chain on each wire format, over real HTTP to a local server shaped
like the provider: two model calls with two parallel tool calls each, then the answer;
streamed and not, sync and async. Streamed calls also show each tool call as the model
writes it, and its argument fragments add up to the arguments the call ends with.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import bedrock_wire
import pytest
from anthropic_wire import SSE as ANTHROPIC_SSE
from anthropic_wire import message_body, sse_body, tool_use
from anthropic_wire import model as anthropic_model
from anthropic_wire import text as anthropic_text
from gemini_replies import SSE as GEMINI_SSE
from gemini_replies import gemini, sse
from gemini_replies import reply as gemini_reply
from gemini_replies import text as gemini_text
from local_server import LocalServer
from openai_chat_wire import SSE as CHAT_SSE
from openai_chat_wire import as_stream, completion, http_client, tool_call
from responses_events import SSE_HEADERS, event_stream, function_call, message
from responses_events import reply as responses_reply

from agentloop import Model
from agentloop.events import (
    ChainFinished,
    ChainStarted,
    Event,
    ModelCallFinished,
    ModelCallStarted,
    TextDelta,
    ToolArgumentsDelta,
    ToolCallReady,
    ToolCallStarted,
    ToolFinished,
    ToolRunning,
)
from agentloop.providers.anthropic import AnthropicModel
from agentloop.providers.openai_chat import OpenAIChatModel
from agentloop.providers.openai_responses import create as create_responses

Call = tuple[str, dict[str, Any], str]  # name, arguments, id
STEPS: list[list[Call]] = [
    [("get_weather", {"city": "Paris"}, "c1"), ("get_time", {"zone": "Europe/Paris"}, "c2")],
    [("get_weather", {"city": 'Rome, "Italy"'}, "c3"), ("get_time", {"zone": "CET"}, "c4")],
]
ANSWER = "Sunny in both, and it is noon."


def get_weather(city: str) -> str:
    "Get the current weather for a city."
    return f"Sunny in {city}"


def get_time(zone: str) -> str:
    "The time in a time zone."
    return f"12:00 in {zone}"


# -- each format: a model on the local server, and its replies (streamed or not) --------


def chat_script(server: LocalServer, stream: bool) -> Model:
    bodies = [completion(None, tool_calls=[tool_call(*c) for c in step]) for step in STEPS]
    for body in [*bodies, completion(ANSWER)]:
        server.reply(as_stream(body), headers=CHAT_SSE) if stream else server.reply(body)
    return OpenAIChatModel(
        "gpt-4o",
        api_key="sk-test",
        base_url=f"{server.url}/v1",
        retry_backoff=0,
        http_client=http_client(),
    )


def anthropic_script(server: LocalServer, stream: bool) -> Model:
    for step in STEPS:
        content = [tool_use(call_id, name, args) for name, args, call_id in step]
        if stream:
            server.reply(sse_body(content, "tool_use"), headers=ANTHROPIC_SSE)
        else:
            server.reply(message_body(content, "tool_use"))
    final = [anthropic_text(ANSWER)]
    server.reply(sse_body(final), headers=ANTHROPIC_SSE) if stream else server.reply(
        message_body(final)
    )
    model: AnthropicModel = anthropic_model(server)
    return model


def responses_script(server: LocalServer, stream: bool) -> Model:
    bodies = [responses_reply(*(function_call(*c) for c in step)) for step in STEPS]
    for body in [*bodies, responses_reply(message(ANSWER, "msg_9"))]:
        server.reply(event_stream(body), headers=SSE_HEADERS) if stream else server.reply(body)
    return create_responses("gpt-5-mini", api_key="sk-test", base_url=f"{server.url}/v1")


def gemini_call(name: str, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    return {"functionCall": {"name": name, "args": args, "id": call_id}}


def gemini_script(server: LocalServer, stream: bool) -> Model:
    for step in STEPS:
        body = gemini_reply(*(gemini_call(*c) for c in step))
        server.reply(sse(body), headers=GEMINI_SSE) if stream else server.reply(body)
    if stream:
        half = len(ANSWER) // 2
        chunks = [gemini_reply(gemini_text(ANSWER[:half]), finish=None)]
        chunks.append(gemini_reply(gemini_text(ANSWER[half:])))
        server.reply(sse(*chunks), headers=GEMINI_SSE)
    else:
        server.reply(gemini_reply(gemini_text(ANSWER)))
    return gemini(server)


def bedrock_script(server: LocalServer, stream: bool) -> Model:
    bodies = [
        bedrock_wire.reply([bedrock_wire.tool_use(i, n, a) for n, a, i in step], "tool_use")
        for step in STEPS
    ]
    replies = [*bodies, bedrock_wire.reply([{"text": ANSWER}])]
    service = bedrock_wire.BedrockService(server.url, replies, bedrock_wire.BEARER)
    server.responder = service.respond  # ConverseStream frames for converse-stream, else JSON
    return bedrock_wire.model(server, api_key=bedrock_wire.BEARER)


FORMATS: dict[str, Callable[[LocalServer, bool], Model]] = {
    "openai-chat": chat_script,
    "anthropic": anthropic_script,
    "openai-responses": responses_script,
    "gemini": gemini_script,
    "bedrock": bedrock_script,
}


# -- what the events must say -------------------------------------------------------------


def outline(events: list[Event]) -> list[str]:
    """The events as short lines, runs of one kind of delta for one call folded into one line,
    and each batch of tool runs sorted (parallel calls finish in any order)."""
    lines: list[str] = []
    for event in events:
        match event:
            case ToolCallStarted(tool_call_id=call_id, name=name):
                line = f"started {call_id} {name}"
            case ToolArgumentsDelta(tool_call_id=call_id):
                line = f"arguments {call_id}"
            case ToolCallReady(call=call) | ToolRunning(call=call) | ToolFinished(call=call):
                line = f"{type(event).__name__} {call.tool_call_id}"
            case _:
                line = type(event).__name__
        if not lines or lines[-1] != line:
            lines.append(line)
    out: list[str] = []
    batch: list[str] = []
    for line in [*lines, ""]:
        if line.startswith(("ToolRunning", "ToolFinished")):
            batch.append(line)
            continue
        out.extend(sorted(batch))
        batch = []
        if line:
            out.append(line)
    return out


def expected(stream: bool) -> list[str]:
    lines = ["ChainStarted"]
    for step in STEPS:
        lines.append("ModelCallStarted")
        if stream:
            for name, _, call_id in step:
                lines += [f"started {call_id} {name}", f"arguments {call_id}"]
        lines.append("ModelCallFinished")
        lines += [f"ToolCallReady {call_id}" for _, _, call_id in step]
        runs = [
            f"{kind} {call_id}" for kind in ("ToolRunning", "ToolFinished") for *_, call_id in step
        ]
        lines += sorted(runs)
    lines += ["ModelCallStarted", *(["TextDelta"] if stream else []), "ModelCallFinished"]
    return [*lines, "ChainFinished"]


def check(events: list[Event], stream: bool) -> None:
    assert outline(events) == expected(stream)
    assert len({e.run_id for e in events}) == 1
    times = [e.time for e in events]
    assert all(t > 0 for t in times)
    # Each tool ran before it finished, and says how long it took.
    for finished in (e for e in events if isinstance(e, ToolFinished)):
        assert finished.started is not None
        assert finished.duration >= 0
        assert not finished.is_error
        tool = {"get_weather": get_weather, "get_time": get_time}[finished.call.name]
        assert finished.result.output == tool(**finished.call.arguments)
    ready = {e.call.tool_call_id: e.call for e in events if isinstance(e, ToolCallReady)}
    assert {i: (c.name, c.arguments) for i, c in ready.items()} == {
        call_id: (name, args) for step in STEPS for name, args, call_id in step
    }
    if stream:
        fragments: dict[str, str] = {}
        for event in events:
            if isinstance(event, ToolArgumentsDelta):
                fragments[event.tool_call_id] = (
                    fragments.get(event.tool_call_id, "") + event.fragment
                )
        assert {i: json.loads(text) for i, text in fragments.items()} == {
            i: c.arguments for i, c in ready.items()
        }
        text = "".join(e.text for e in events if isinstance(e, TextDelta))
        assert text == ANSWER
    calls = [e for e in events if isinstance(e, ModelCallFinished)]
    assert [c.number for c in calls] == [1, 2, 3]
    assert all(c.error is None and c.usage.input_tokens > 0 and c.duration >= 0 for c in calls)
    assert [c.finish_reason for c in calls] == ["tool_calls", "tool_calls", "stop"]
    started = [e for e in events if isinstance(e, ModelCallStarted)]
    assert all(s.request.stream is stream for s in started)
    first, last = events[0], events[-1]
    assert isinstance(first, ChainStarted)
    assert isinstance(last, ChainFinished)
    assert last.model_calls == 3
    assert last.error is None
    assert last.paused == []
    assert first.provider == last.model.split("/")[0] == calls[0].provider


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
@pytest.mark.parametrize("wire", FORMATS)
def test_the_events_of_a_chain_sync(local_server: LocalServer, wire: str, stream: bool) -> None:
    model = FORMATS[wire](local_server, stream)
    if stream:
        response = model.chain("Weather and time?", tools=[get_weather, get_time], stream=True)
        events = list(response.events())
        assert response.text() == ANSWER
    else:  # a sync response waits for its reader only when streamed: an observer reads these
        conversation = model.conversation(tools=[get_weather, get_time])
        events = []
        conversation.on_event.append(events.append)
        assert conversation.chain("Weather and time?").text() == ANSWER
    check(events, stream)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
@pytest.mark.parametrize("wire", FORMATS)
def test_the_events_of_a_chain_async(local_server: LocalServer, wire: str, stream: bool) -> None:
    async def run() -> list[Event]:
        model = FORMATS[wire](local_server, stream).to_async()
        response = model.chain("Weather and time?", tools=[get_weather, get_time], stream=stream)
        events = [event async for event in response.events()]
        assert (await response).text() == ANSWER
        return events

    check(asyncio.run(run()), stream)


@pytest.mark.parametrize("wire", FORMATS)
def test_iterating_the_text_is_unchanged_while_an_observer_reads_events(
    local_server: LocalServer, wire: str
) -> None:
    model = FORMATS[wire](local_server, True)
    conversation = model.conversation(tools=[get_weather, get_time])
    seen: list[Event] = []
    conversation.on_event.append(seen.append)
    chunks = list(conversation.chain("Weather and time?", stream=True))
    assert "".join(chunks) == ANSWER
    assert all(isinstance(c, str) for c in chunks)
    assert chunks == [e.text for e in seen if isinstance(e, TextDelta)]
    check(seen, True)


def test_a_gemini_call_without_an_id_is_shown_with_the_id_it_ends_with(
    local_server: LocalServer,
) -> None:
    body = gemini_reply({"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}})
    local_server.reply(sse(body), headers=GEMINI_SSE)
    response = gemini(local_server).prompt("Weather?", tools=[get_weather], stream=True)
    events = list(response.events())
    (started,) = [e for e in events if isinstance(e, ToolCallStarted)]
    (ready,) = [e for e in events if isinstance(e, ToolCallReady)]
    assert started.tool_call_id == ready.call.tool_call_id == response.tool_calls()[0].tool_call_id
    assert started.tool_call_id.startswith("gemini_")


def test_a_chat_call_streamed_without_an_id_keeps_the_one_it_was_shown_with(
    local_server: LocalServer,
) -> None:
    body = completion(None, tool_calls=[tool_call("get_weather", {"city": "Oslo"}, "")])
    local_server.reply(as_stream(body), headers=CHAT_SSE)
    model = OpenAIChatModel(
        "gpt-4o", api_key="sk-test", base_url=f"{local_server.url}/v1", http_client=http_client()
    )
    response = model.prompt("Weather?", tools=[get_weather], stream=True)
    events = list(response.events())
    (started,) = [e for e in events if isinstance(e, ToolCallStarted)]
    assert started.tool_call_id.startswith("call_")
    assert started.tool_call_id == response.tool_calls()[0].tool_call_id
