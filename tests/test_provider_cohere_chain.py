"""Cohere end to end: tool chains and errors against a local server shaped as Cohere's v2 Chat.

The server answers ``POST /v2/chat`` as the service does, JSON or named server-sent events
(`cohere_wire.sse`), and refuses a request without the bearer key.
"""

from __future__ import annotations

import json
from typing import Any

import cohere_wire
import pytest
from cohere_wire import KEY, MODEL, call, reply
from local_server import LocalServer, Recorded, Scripted
from weather_chain import run_chain

import agentloop
from agentloop import Thinking
from agentloop.errors import MissingKeyError
from agentloop.providers.cohere import CohereModel

PLAN = "I will look up the weather in Paris."
CITATION = {
    "start": 9,
    "end": 14,
    "text": "sunny",
    "type": "TEXT_CONTENT",
    "sources": [
        {"type": "tool", "id": "get_weather_1:0", "tool_output": {"content": "Sunny, 22C in Paris"}}
    ],
}


class CohereService:
    """Answers each request with the next reply, streamed when the body asks."""

    def __init__(self, *replies: dict[str, Any]) -> None:
        self.replies = list(replies)

    def respond(self, request: Recorded) -> Scripted:
        if request.path != "/v2/chat":
            return Scripted(404, b'{"message": "not found"}')
        headers = {name.lower(): value for name, value in request.headers.items()}
        if headers.get("authorization") != f"Bearer {KEY}":
            return Scripted(401, b'{"id": "x", "message": "invalid api token"}')
        body = self.replies.pop(0)
        if request.json()["stream"]:
            return Scripted(
                200, cohere_wire.sse(body).encode(), {"content-type": "text/event-stream"}
            )
        return Scripted(200, json.dumps(body).encode(), {"content-type": "application/json"})


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_tool_chain_runs(local_server: LocalServer, stream: bool, use_async: bool) -> None:
    first = reply(
        plan=PLAN,
        calls=[call("get_weather_1", "get_weather", {"city": "Paris"})],
        finish="TOOL_CALL",
        tokens=(100, 10),
    )
    final = reply("It is sunny in Paris.", tokens=(200, 20), citations=[CITATION])
    local_server.responder = CohereService(first, final).respond
    model = agentloop.get_model(f"cohere/{MODEL}", base_url=local_server.url, api_key=KEY)
    response, chunks = run_chain(model, stream=stream, use_async=use_async)
    assert response.text() == "It is sunny in Paris."
    if stream:
        assert "".join(chunks) == "It is sunny in Paris."
    opening, follow_up = (r.json() for r in local_server.requests)
    assert opening["model"] == MODEL
    assert opening["stream"] is stream
    assert opening["tools"][0]["function"]["name"] == "get_weather"
    question, assistant, result = follow_up["messages"]
    assert question == {"role": "user", "content": "Weather in Paris?"}
    assert assistant == {
        "role": "assistant",
        "tool_plan": PLAN,
        "tool_calls": first["message"]["tool_calls"],
    }
    assert result == {
        "role": "tool",
        "tool_call_id": "get_weather_1",
        "content": "Sunny, 22C in Paris",
    }
    total = response.usage()
    assert (total.input_tokens, total.output_tokens) == (300, 30)
    answer = response.messages()[-1]
    assert answer.parts[0].citations[0].cited_text == "Sunny, 22C in Paris"
    model.close()


def test_the_plan_is_streamed_as_thinking_and_calls_as_they_are_written(
    local_server: LocalServer,
) -> None:
    first = reply(
        plan=PLAN, calls=[call("c1", "get_weather", {"city": "Paris"})], finish="TOOL_CALL"
    )
    local_server.responder = CohereService(first).respond
    model = CohereModel(MODEL, base_url=local_server.url, api_key=KEY)
    events = list(model.stream(agentloop.Request([agentloop.Message.user("Hi")], stream=True)))
    deltas = events[:-1]
    assert "".join(d.text for d in deltas if d.kind == "thinking") == PLAN
    assert [(d.kind, d.text) for d in deltas if d.kind == "tool_call"] == [
        ("tool_call", "get_weather")
    ]
    pieces = "".join(d.text for d in deltas if d.kind == "arguments")
    assert json.loads(pieces) == {"city": "Paris"}
    final = events[-1]
    assert isinstance(final.message.parts[0], Thinking)
    assert final.finish_reason == "tool_calls"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, agentloop.AuthenticationError),
        (498, agentloop.AuthenticationError),
        (404, agentloop.ModelNotFoundError),
        (429, agentloop.RateLimitError),
        (400, agentloop.BadRequestError),
        (500, agentloop.ServerError),
    ],
)
def test_cohere_errors_are_typed(local_server: LocalServer, status: int, error: type) -> None:
    body = {"id": "e1", "message": f"refused with {status}"}
    local_server.reply(body, status=status, headers={"retry-after": "0"})
    model = CohereModel(MODEL, base_url=local_server.url, api_key=KEY, max_retries=0)
    with pytest.raises(error) as info:
        model.prompt("Hi")
    assert f"refused with {status}" in str(info.value)
    assert info.value.provider == "cohere"
    assert KEY not in str(info.value)


def test_the_key_and_base_url_come_from_cohere_sdk_variables(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CO_API_KEY", raising=False)
    monkeypatch.delenv("COHERE_API_KEY", raising=False)
    monkeypatch.delenv("CO_API_URL", raising=False)
    with pytest.raises(MissingKeyError, match="CO_API_KEY or COHERE_API_KEY"):
        agentloop.get_model(f"cohere/{MODEL}").prompt("Hi")
    monkeypatch.setenv("COHERE_API_KEY", KEY)
    monkeypatch.setenv("CO_API_URL", local_server.url)
    local_server.responder = CohereService(reply("Hello.")).respond
    model = agentloop.get_model(f"cohere/{MODEL}")
    assert model.prompt("Hi").text() == "Hello."
    assert model.url() == f"{local_server.url}/v2/chat"


def test_a_misspelt_model_keyword_is_refused() -> None:
    with pytest.raises(agentloop.UnknownOptionError, match="api_key"):
        agentloop.get_model(f"cohere/{MODEL}", apikey=KEY)


def test_a_stream_cut_short_keeps_its_text_and_a_bad_event_is_named(
    local_server: LocalServer,
) -> None:
    whole = cohere_wire.sse(reply("It is sunny in Paris."))
    cut = whole[: whole.index("event: message-end")]
    local_server.reply(cut, headers={"content-type": "text/event-stream"})
    model = CohereModel(MODEL, base_url=local_server.url, api_key=KEY, max_retries=0)
    with pytest.raises(agentloop.errors.StreamIncomplete) as info:
        list(model.prompt("Hi", stream=True))
    assert info.value.partial_text == "It is sunny in Paris."
    assert "message-end" in str(info.value)
    broken = whole.replace('{"text": "It is sunn"}', '{"text": 7}', 1)
    assert broken != whole
    local_server.reply(broken, headers={"content-type": "text/event-stream"})
    with pytest.raises(agentloop.ResponseFormatError, match=r"content-delta\.delta\.message"):
        list(model.prompt("Hi", stream=True))
