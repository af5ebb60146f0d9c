"""Anthropic Messages end to end: a tool chain and structured output against a local server.

The server answers with replies shaped exactly like Anthropic's (JSON bodies,
or the event stream for the same content), and the tests read what the
chain sent back: thinking with its signature, the tool call, the result.
"""

from __future__ import annotations

from typing import Any

import pytest
from anthropic_wire import (
    SSE,
    message_body,
    model,
    sse_body,
    text,
    thinking,
    tool_use,
    usage,
)
from local_server import LocalServer
from pydantic import BaseModel, Field
from weather_chain import run_chain

import agentloop
from agentloop import ConversionError, StructuredOutputError
from agentloop.providers.anthropic.schema import structured_schema


class City(BaseModel):
    name: str
    country: str


FIRST = [
    thinking("The user wants the weather; I should call the tool.", "EqQBCkYIBxgC=="),
    text("Let me check."),
    tool_use("toolu_01", "get_weather", {"city": "Paris"}),
]
FINAL = [text("It is sunny in Paris.")]


def script(server: LocalServer, *replies: tuple[list[dict[str, Any]], str], stream: bool) -> None:
    for n, (content, stop_reason) in enumerate(replies):
        tokens = usage(100 * (n + 1), 10 * (n + 1), cache_read=5)
        if stream:
            server.reply(sse_body(content, stop_reason, tokens), headers=SSE)
        else:
            server.reply(message_body(content, stop_reason, tokens))


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_a_tool_chain_runs_over_the_messages_api(
    local_server: LocalServer, stream: bool, use_async: bool
) -> None:
    script(local_server, (FIRST, "tool_use"), (FINAL, "end_turn"), stream=stream)
    response, chunks = run_chain(model(local_server), stream=stream, use_async=use_async)
    assert response.text() == "It is sunny in Paris."
    if stream:
        assert "".join(chunks) == "Let me check.It is sunny in Paris."
    assert len(local_server.requests) == 2
    first, second = (r.json() for r in local_server.requests)
    assert [first["stream"], second["stream"]] == [stream, stream]
    assert first["tools"] == [
        {
            "name": "get_weather",
            "description": "The current weather in a city.",
            "input_schema": first["tools"][0]["input_schema"],
            "cache_control": {"type": "ephemeral"},  # prompt_cache="auto", the default
        }
    ]
    assert first["tools"][0]["input_schema"]["properties"] == {"city": {"type": "string"}}
    question, assistant, results = second["messages"]
    # the rolling breakpoint moved on: the question is sent unmarked, as it was kept
    assert question == {"role": "user", "content": [text("Weather in Paris?")]}
    assert assistant == {"role": "assistant", "content": FIRST}  # thinking signature intact
    assert results == {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_01",
                "content": "Sunny, 22C in Paris",
                "cache_control": {"type": "ephemeral"},
            }
        ],
    }
    total = response.usage()
    assert (total.input_tokens, total.output_tokens, total.cached_input_tokens) == (310, 30, 10)


def test_thinking_streams_as_thinking_deltas(local_server: LocalServer) -> None:
    local_server.reply(sse_body([thinking("Hmm, Paris.", "sig=="), text("Paris.")]), headers=SSE)
    events = list(model(local_server).stream(agentloop.Request([agentloop.Message.user("?")])))
    deltas = [e for e in events if isinstance(e, agentloop.providers.base.Delta)]
    assert "".join(d.text for d in deltas if d.kind == "thinking") == "Hmm, Paris."
    assert "".join(d.text for d in deltas if d.kind == "text") == "Paris."


def test_parallel_tool_calls_in_one_stream_are_assembled_separately(
    local_server: LocalServer,
) -> None:
    calls = [
        tool_use("toolu_a", "get_weather", {"city": "Paris"}),
        tool_use("toolu_b", "get_weather", {"city": "Rome"}),
    ]
    script(local_server, (calls, "tool_use"), (FINAL, "end_turn"), stream=True)
    response, _ = run_chain(model(local_server), stream=True, use_async=False)
    results = local_server.requests[1].json()["messages"][2]["content"]
    assert [(r["tool_use_id"], r["content"]) for r in results] == [
        ("toolu_a", "Sunny, 22C in Paris"),
        ("toolu_b", "Sunny, 22C in Rome"),
    ]
    assert [c.arguments for c in response.responses[0].tool_calls()] == [
        {"city": "Paris"},
        {"city": "Rome"},
    ]


# -- structured output -------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_structured_output_uses_native_json_schema_and_parses(
    local_server: LocalServer, stream: bool
) -> None:
    script(
        local_server, ([text('{"name": "Paris", "country": "France"}')], "end_turn"), stream=stream
    )
    response = model(local_server).prompt("Capital of France?", schema=City, stream=stream)
    if stream:
        list(response)
    assert response.parsed() == City(name="Paris", country="France")
    output_format = local_server.requests[0].json()["output_config"]["format"]
    assert output_format == {
        "type": "json_schema",
        "schema": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "country": {"type": "string"}},
            "required": ["name", "country"],
            "additionalProperties": False,
        },
    }


def test_in_a_chain_the_schema_shapes_the_final_answer(local_server: LocalServer) -> None:
    answer = [text('{"name": "Paris", "country": "France"}')]
    script(local_server, (FIRST, "tool_use"), (answer, "end_turn"), stream=False)
    response, _ = run_chain(model(local_server), stream=False, use_async=False, schema=City)
    assert response.parsed() == City(name="Paris", country="France")
    # Anthropic applies the format to the text answer only: tool calls stay free.
    assert all("format" in r.json()["output_config"] for r in local_server.requests)


def test_an_answer_that_is_not_json_is_a_structured_output_error(local_server: LocalServer) -> None:
    local_server.reply(message_body([text("Paris, France")], "refusal"))
    response = model(local_server).prompt("Capital?", schema=City)
    with pytest.raises(StructuredOutputError) as info:
        response.parsed()
    assert info.value.text == "Paris, France"
    assert response.finish_reason == "content_filter"


class Order(BaseModel):
    quantity: int = Field(ge=1, le=10)
    code: str = Field(max_length=5, description="Product code")
    items: list[City] = Field(min_length=2)


def test_constraints_the_service_cannot_enforce_move_into_descriptions() -> None:
    schema = structured_schema(agentloop.structured.json_schema(Order))
    quantity = schema["properties"]["quantity"]
    assert {"minimum", "maximum"}.isdisjoint(quantity)
    assert quantity["description"] == "minimum: 1; maximum: 10"
    assert schema["properties"]["code"]["description"] == "Product code (maxLength: 5)"
    assert schema["properties"]["items"]["minItems"] == 1
    assert schema["$defs"]["City"]["additionalProperties"] is False
    assert schema["additionalProperties"] is False


class Tally(BaseModel):
    counts: dict[str, int]


def test_an_object_with_free_form_keys_cannot_be_structured_output() -> None:
    with pytest.raises(ConversionError, match=r"'counts'.*free-form keys") as info:
        structured_schema(agentloop.structured.json_schema(Tally))
    assert info.value.provider == "anthropic"


def test_an_object_schema_without_properties_is_free_form_too() -> None:
    with pytest.raises(ConversionError, match="free-form keys"):
        structured_schema({"type": "object"})
    closed = structured_schema({"type": "object", "properties": {}})
    assert closed == {"type": "object", "properties": {}, "additionalProperties": False}


def test_tuples_unions_and_formats_take_forms_the_service_accepts() -> None:
    properties = {
        "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
        "kind": {"oneOf": [{"type": "string"}, {"type": "null"}]},
        "when": {"type": "string", "format": "date-time"},
        "code": {"type": "string", "format": "isbn"},
    }
    schema = structured_schema({"type": "object", "properties": properties})
    pair = schema["properties"]["pair"]
    assert pair["items"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert pair["description"].startswith("exactly 2 items; items in this order")
    assert schema["properties"]["kind"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert schema["properties"]["when"] == {"type": "string", "format": "date-time"}
    assert schema["properties"]["code"] == {"type": "string", "description": "format: isbn"}
