"""A full tool chain over the Responses API against a local server: sync and async, streamed
and not. The server answers like the API: a reasoning item and a function call first, then
the final message; the second request must carry the whole first turn back, statelessly.
"""

from __future__ import annotations

from typing import Any

import pytest
from local_server import LocalServer
from pydantic import BaseModel
from responses_events import SSE_HEADERS, event_stream, function_call, message, reasoning, reply

from agentloop.providers.openai_responses import OpenAIResponsesModel, create

CALLS: list[str] = []


def get_weather(city: str) -> str:
    "Get the current weather for a city."
    CALLS.append(city)
    return f"Sunny, 22C in {city}"


def served(server: LocalServer) -> OpenAIResponsesModel:
    return create("gpt-5-mini", api_key="sk-test", base_url=f"{server.url}/v1", retry_backoff=0)


def script(server: LocalServer, *, stream: bool, final: str = "It is sunny in Paris.") -> None:
    first = reply(
        reasoning("The user wants weather.", "gAAAA-encrypted"),
        function_call("get_weather", {"city": "Paris"}, "call_1"),
    )
    second = reply(message(final, "msg_2"))
    for body in (first, second):
        if stream:
            server.reply(event_stream(body), headers=SSE_HEADERS)
        else:
            server.reply(body)


def check_second_request(server: LocalServer, *, stream: bool) -> None:
    first, second = (r.json() for r in server.requests)
    assert first["stream"] is stream
    assert second["stream"] is stream
    assert first["input"] == [{"role": "user", "content": "Weather in Paris?"}]
    assert first["tools"][0]["name"] == "get_weather"
    assert second["store"] is False
    assert second["include"] == ["reasoning.encrypted_content"]
    assert second["input"] == [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "The user wants weather."}],
            "encrypted_content": "gAAAA-encrypted",
            "id": "rs_1",
        },
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city": "Paris"}',
            "status": "completed",
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "Sunny, 22C in Paris"},
    ]


@pytest.fixture(autouse=True)
def forget_calls() -> None:
    CALLS.clear()


@pytest.mark.parametrize("stream", [False, True], ids=["json", "event-stream"])
def test_a_sync_chain_runs_the_tool_and_sends_the_turn_back(
    local_server: LocalServer, stream: bool
) -> None:
    script(local_server, stream=stream)
    chain = served(local_server).chain("Weather in Paris?", tools=[get_weather], stream=stream)
    chunks = list(chain) if stream else []
    assert chain.text() == "It is sunny in Paris."
    assert CALLS == ["Paris"]
    if stream:
        assert "".join(chunks) == "It is sunny in Paris."
    check_second_request(local_server, stream=stream)
    usage = chain.usage()
    assert (usage.input_tokens, usage.cached_input_tokens, usage.reasoning_tokens) == (20, 4, 6)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "event-stream"])
async def test_an_async_chain_runs_the_tool_and_sends_the_turn_back(
    local_server: LocalServer, stream: bool
) -> None:
    script(local_server, stream=stream)
    model = served(local_server).to_async()
    chain = model.chain("Weather in Paris?", tools=[get_weather], stream=stream)
    if stream:
        chunks = [chunk async for chunk in chain]
        assert "".join(chunks) == "It is sunny in Paris."
    else:
        await chain
    assert chain.text() == "It is sunny in Paris."
    assert CALLS == ["Paris"]
    check_second_request(local_server, stream=stream)


class Weather(BaseModel):
    city: str
    summary: str


def test_a_chain_with_a_schema_shapes_the_final_answer(local_server: LocalServer) -> None:
    script(local_server, stream=False, final='{"city": "Paris", "summary": "sunny"}')
    chain = served(local_server).chain("Weather in Paris?", tools=[get_weather], schema=Weather)
    assert chain.parsed() == Weather(city="Paris", summary="sunny")
    formats = [r.json()["text"]["format"] for r in local_server.requests]
    assert all(f["name"] == "Weather" and f["strict"] for f in formats)


def test_a_conversation_keeps_the_reasoning_across_prompts(local_server: LocalServer) -> None:
    local_server.reply(reply(reasoning("Greeting.", "enc-1"), message("Hello!")))
    local_server.reply(reply(message("Bye!", "msg_2")))
    conversation = served(local_server).conversation(system="Be brief")
    conversation.prompt("Hi")
    conversation.prompt("Bye")
    second: dict[str, Any] = local_server.requests[1].json()
    assert second["instructions"] == "Be brief"
    kinds = [(i.get("type", "message"), i.get("role")) for i in second["input"]]
    assert kinds == [
        ("message", "user"),
        ("reasoning", None),
        ("message", "assistant"),
        ("message", "user"),
    ]
    assert second["input"][1]["encrypted_content"] == "enc-1"
    assert "id" not in second["input"][2]
