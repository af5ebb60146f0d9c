"""OpenAI Chat Completions, pure parts: options in the request body, and the stream decoder.

No I/O here: ``encode`` is called directly, and the stream decoder is fed
server-sent events by hand, including the shapes compatible servers send.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai_chat_wire import chunk

from agentloop import Message, Reply, Request, StreamIncomplete, Thinking, Tool
from agentloop.providers.openai_chat import (
    ChatStreamDecoder,
    OpenAIChatModel,
    OpenAICompatibleModel,
    encode_messages,
)
from agentloop.providers.sse import ServerSentEvent


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return city


def tally(counts: dict[str, int]) -> int:
    """Add up counts."""
    return sum(counts.values())


WEATHER = Tool.function(get_weather)
TALLY = Tool.function(tally)


def body(
    chat: OpenAIChatModel | None = None,
    *,
    tools: tuple[Tool, ...] = (),
    stream: bool = False,
    **options: Any,
) -> dict[str, Any]:
    chat = chat or OpenAIChatModel("gpt-4o", api_key="k")
    request = Request([Message.user("hi")], tools, options)
    return chat.encode(request, stream=stream).body


# -- options ------------------------------------------------------------------------------------


def test_neutral_options_map_onto_openais_fields() -> None:
    sent = body(
        temperature=0.2, top_p=0.9, seed=7, stop="END", max_tokens=50, reasoning_effort="low"
    )
    assert {k: sent[k] for k in ("temperature", "top_p", "seed", "stop")} == {
        "temperature": 0.2,
        "top_p": 0.9,
        "seed": 7,
        "stop": "END",
    }
    assert sent["max_completion_tokens"] == 50
    assert "max_tokens" not in sent
    assert sent["reasoning_effort"] == "low"


def test_compatible_servers_keep_max_tokens() -> None:
    compatible = OpenAICompatibleModel("llama", base_url="http://h/v1")
    sent = body(compatible, max_tokens=50, stop=("a", "b"))
    assert sent["max_tokens"] == 50
    assert "max_completion_tokens" not in sent
    assert sent["stop"] == ["a", "b"]


def test_a_thinking_budget_cannot_be_expressed() -> None:
    with pytest.raises(ValueError, match="reasoning_effort"):
        body(thinking_budget=1024)


def test_tool_choice_and_parallel_calls() -> None:
    assert body(tools=(WEATHER,), tool_choice="required")["tool_choice"] == "required"
    named = body(tools=(WEATHER,), tool_choice="get_weather", parallel_tool_calls=False)
    assert named["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert named["parallel_tool_calls"] is False


def test_a_tool_choice_naming_no_offered_tool_is_refused() -> None:
    with pytest.raises(ValueError, match="get_weather"):
        body(tools=(WEATHER,), tool_choice="get_time")
    with pytest.raises(ValueError, match="needs tools"):
        body(tool_choice="required")


def test_tool_options_without_tools_that_change_nothing_are_left_out() -> None:
    sent = body(tool_choice="auto", parallel_tool_calls=True)
    assert "tool_choice" not in sent
    assert "parallel_tool_calls" not in sent


def test_other_options_pass_through_and_dicts_merge_with_the_users_winning() -> None:
    sent = body(
        stream=True, service_tier="flex", stream_options={"include_obfuscation": False}, n=1
    )
    assert sent["service_tier"] == "flex"
    assert sent["n"] == 1
    assert sent["stream_options"] == {"include_usage": True, "include_obfuscation": False}


def test_model_options_apply_first_and_call_options_win() -> None:
    chat = OpenAIChatModel("gpt-4o", api_key="k", options={"temperature": 1.0, "seed": 3})
    sent = body(chat, temperature=0.0)
    assert (sent["temperature"], sent["seed"]) == (0.0, 3)


def test_tools_are_functions_with_their_schema() -> None:
    (tool,) = body(tools=(WEATHER,))["tools"]
    assert tool == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city.",
            "parameters": WEATHER.schema(),
        },
    }


def test_strict_tools_are_strict_where_the_schema_allows() -> None:
    weather, counts = body(tools=(WEATHER, TALLY), strict_tools="auto")["tools"]
    assert weather["function"]["strict"] is True
    assert weather["function"]["parameters"]["additionalProperties"] is False
    assert "strict" not in counts["function"]  # dict[str, int] has free-form keys
    assert counts["function"]["parameters"] == TALLY.schema()


def test_a_stream_asks_for_usage() -> None:
    sent = body(stream=True)
    assert (sent["stream"], sent["stream_options"]) == (True, {"include_usage": True})
    assert body()["stream"] is False


def test_a_schema_name_is_made_acceptable() -> None:
    chat = OpenAIChatModel("gpt-4o", api_key="k")
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    request = Request([Message.user("x")], schema=schema, schema_name="list[my thing]")
    sent = chat.encode(request, stream=False).body["response_format"]["json_schema"]
    assert sent["name"] == "list_my_thing_"


def test_custom_headers_are_sent_and_may_replace_authorization() -> None:
    chat = OpenAIChatModel("gpt-4o", api_key="k", headers={"Authorization": "Bearer proxy"})
    call = chat.encode(Request([Message.user("x")]), stream=False)
    assert call.headers == {"Authorization": "Bearer proxy"}


# -- the stream decoder --------------------------------------------------------------------------


def run(*chunks: dict[str, Any] | str) -> tuple[list[Any], Reply]:
    decoder = ChatStreamDecoder("openai")
    deltas: list[Any] = []
    for item in chunks:
        data = item if isinstance(item, str) else json.dumps(item)
        deltas.extend(decoder.feed(ServerSentEvent(data=data)))
    return deltas, decoder.finish()


def call_delta(index: int | None = None, **fields: Any) -> dict[str, Any]:
    function = {k: fields.pop(k) for k in ("name", "arguments") if k in fields}
    delta: dict[str, Any] = {**fields, "function": function}
    if index is not None:
        delta["index"] = index
    return {"tool_calls": [delta]}


def test_interleaved_parallel_calls_are_assembled_by_index() -> None:
    _, reply = run(
        chunk(call_delta(0, id="a", type="function", name="f", arguments="")),
        chunk(call_delta(1, id="b", type="function", name="g", arguments='{"y"')),
        chunk(call_delta(0, arguments='{"x": 1}')),
        chunk(call_delta(1, arguments=": 2}")),
        chunk({}, finish_reason="tool_calls"),
        "[DONE]",
    )
    calls = [(c.tool_call_id, c.name, c.arguments) for c in reply.message.tool_calls]
    assert calls == [("a", "f", {"x": 1}), ("b", "g", {"y": 2})]


def test_whole_calls_without_an_index_are_separate_calls() -> None:
    _, reply = run(
        chunk(call_delta(id="a", name="f", arguments='{"x": 1}')),
        chunk(call_delta(id="b", name="g", arguments="{}")),
        chunk({"content": ""}, finish_reason="stop"),
        "[DONE]",
    )
    assert [c.name for c in reply.message.tool_calls] == ["f", "g"]
    assert reply.finish_reason == "tool_calls"


def test_fragments_without_an_index_continue_the_last_call() -> None:
    _, reply = run(
        chunk(call_delta(id="a", name="f", arguments='{"x"')),
        chunk(call_delta(arguments=": 1}")),
        chunk({}, finish_reason="tool_calls"),
    )
    assert [c.arguments for c in reply.message.tool_calls] == [{"x": 1}]


def test_a_name_repeated_in_every_delta_is_not_doubled() -> None:
    _, reply = run(
        chunk(call_delta(0, id="a", name="f", arguments='{"x"')),
        chunk(call_delta(0, id="a", name="f", arguments=": 1}")),
        chunk({}, finish_reason="tool_calls"),
    )
    (call,) = reply.message.tool_calls
    assert (call.tool_call_id, call.name, call.arguments) == ("a", "f", {"x": 1})


def test_a_call_without_arguments_gets_an_empty_object() -> None:
    _, reply = run(chunk(call_delta(0, id="a", name="now")), chunk({}, finish_reason="stop"))
    assert reply.message.tool_calls[0].arguments == {}


def test_reasoning_fields_stream_as_thinking_and_keep_their_name() -> None:
    deltas, reply = run(
        chunk({"reasoning_content": "Let me "}),
        chunk({"reasoning_content": "see."}),
        chunk({"content": "Yes."}, finish_reason="stop"),
        "[DONE]",
    )
    assert [(d.kind, d.text) for d in deltas] == [
        ("thinking", "Let me "),
        ("thinking", "see."),
        ("text", "Yes."),
    ]
    thinking = reply.message.parts[0]
    assert isinstance(thinking, Thinking)
    assert encode_messages([reply.message])[0]["reasoning_content"] == "Let me see."


def test_a_server_sending_both_reasoning_fields_does_not_double_the_deltas() -> None:
    deltas, _ = run(
        chunk({"reasoning": "Hm.", "reasoning_content": "Hm."}),
        chunk({"content": "Ok"}, finish_reason="stop"),
    )
    assert [d.text for d in deltas if d.kind == "thinking"] == ["Hm."]


def test_usage_arrives_in_a_last_chunk_without_choices() -> None:
    final = chunk(usage_={"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11})
    _, reply = run(chunk({"content": "Hi"}), chunk({}, finish_reason="stop"), final, "[DONE]")
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (9, 2)
    assert reply.model == "gpt-4o-2024-08-06"


def test_a_stream_that_ends_after_finish_reason_without_done_is_complete() -> None:
    _, reply = run(chunk({"content": "Hi"}, finish_reason="stop"))
    assert reply.message.text == "Hi"


def test_a_stream_without_an_end_is_incomplete_and_keeps_its_text() -> None:
    decoder = ChatStreamDecoder("openai")
    list(decoder.feed(ServerSentEvent(data=json.dumps(chunk({"content": "Hel"})))))
    with pytest.raises(StreamIncomplete) as info:
        decoder.finish()
    assert info.value.partial_text == "Hel"


def test_a_streamed_refusal_is_kept_for_the_next_request() -> None:
    _, reply = run(
        chunk({"role": "assistant", "content": None, "refusal": "I can't "}),
        chunk({"refusal": "help with that."}),
        chunk({}, finish_reason="stop"),
    )
    assert reply.message.text == ""
    sent_back = encode_messages([reply.message])[0]
    assert sent_back == {"role": "assistant", "content": "", "refusal": "I can't help with that."}


def test_other_choices_of_an_n_greater_than_one_stream_are_ignored() -> None:
    other = chunk({"content": "B"})
    other["choices"][0]["index"] = 1
    _, reply = run(chunk({"content": "A"}), other, chunk({}, finish_reason="stop"))
    assert reply.message.text == "A"
