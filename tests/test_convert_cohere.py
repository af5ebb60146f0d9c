"""Cohere v2 Chat's converter and request encoder on plain data (no network).

Wire -> neutral -> wire is lossless for every shape the API documents (content as a string
or as blocks, images, reasoning, the tool plan, citations, tool results as blocks); the
neutral model's edits win over kept fields; what Cohere cannot carry is a ConversionError.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentloop import File, Image, Message, Request, Text, Thinking, ToolCall, ToolResult
from agentloop.errors import ConversionError, InvalidOptionError, ResponseFormatError
from agentloop.providers.cohere import decode_messages, encode_messages
from agentloop.providers.cohere.reply import decode_reply, decode_usage
from agentloop.providers.cohere.request import encode_request
from agentloop.tools import Tool

PNG_URL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQ"
    "DwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
CITATION = {
    "start": 0,
    "end": 5,
    "text": "Sunny",
    "type": "TEXT_CONTENT",
    "content_index": 1,
    "sources": [
        {
            "type": "document",
            "id": "doc:0",
            "document": {"title": "Forecast", "url": "https://example.org/f", "snippet": "Sun."},
        }
    ],
}
HISTORY: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {"role": "system", "content": [{"type": "text", "text": "Really."}]},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is this?"},
            {
                "type": "image_url",
                "image_url": {"url": "https://example.org/cat.png", "detail": "low"},
            },
            {"type": "image_url", "image_url": {"url": PNG_URL}},
        ],
    },
    {
        "role": "assistant",
        "tool_plan": "Look it up.",
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "look", "arguments": '{"q":"cat"}'},
            },
            {"id": "c2", "type": "function", "function": {"name": "look", "arguments": "not json"}},
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "A cat."},
    {
        "role": "tool",
        "tool_call_id": "c2",
        "content": [
            {"type": "text", "text": "Also:"},
            {
                "type": "document",
                "document": {"data": {"title": "Cats", "snippet": "Cats purr."}, "id": "d"},
            },
        ],
    },
    {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "It is a cat."},
            {"type": "text", "text": "Sunny cat."},
        ],
        "citations": [CITATION],
    },
    {"role": "assistant", "content": "Plainly a string."},
    {"role": "user", "content": "Thanks."},
]


def test_a_history_goes_back_exactly_as_it_came() -> None:
    messages = decode_messages(HISTORY)
    assert [m.role for m in messages] == [
        "system",
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "assistant",
        "user",
    ]
    assert encode_messages(messages) == HISTORY
    # and through the neutral model's own persistence
    restored = [Message.from_dict(json.loads(json.dumps(m.to_dict()))) for m in messages]
    assert encode_messages(restored) == HISTORY


def test_what_the_neutral_model_reads() -> None:
    messages = decode_messages(HISTORY)
    user = messages[2]
    assert isinstance(user.parts[1], Image)
    assert user.parts[1].detail == "low"
    assert isinstance(user.parts[2], Image)
    assert user.parts[2].data is not None
    plan, good, bad = messages[3].parts
    assert isinstance(plan, Thinking)
    assert plan.provider == "cohere"
    assert plan.text == "Look it up."
    assert isinstance(good, ToolCall)
    assert good.arguments == {"q": "cat"}
    assert isinstance(bad, ToolCall)
    assert bad.raw_arguments == "not json"
    first, second = messages[4].parts
    assert isinstance(first, ToolResult)
    assert first.name == "look"
    assert first.output == "A cat."
    assert isinstance(second, ToolResult)
    assert second.output == 'Also:\n{"title": "Cats", "snippet": "Cats purr."}'
    thinking, text = messages[5].parts
    assert isinstance(thinking, Thinking)
    assert thinking.text == "It is a cat."
    assert isinstance(text, Text)
    (citation,) = text.citations
    assert (citation.url, citation.title, citation.cited_text) == (
        "https://example.org/f",
        "Forecast",
        "Sun.",
    )


def test_an_edited_tool_output_goes_as_text_and_edits_win() -> None:
    messages = decode_messages(HISTORY)
    result = messages[4].parts[1]
    assert isinstance(result, ToolResult)
    result.output = "Changed."
    call = messages[3].parts[1]
    assert isinstance(call, ToolCall)
    call.tool_call_id = "c9"
    sent = encode_messages(messages)
    assert sent[5] == {"role": "tool", "tool_call_id": "c2", "content": "Changed."}
    assert sent[3]["tool_calls"][0]["id"] == "c9"


def test_other_formats_reasoning_is_left_out_and_cohere_cannot_carry_files() -> None:
    foreign = Message(
        "assistant", [Thinking("hm", signature="s", provider="anthropic"), Text("Hi")]
    )
    assert encode_messages([foreign]) == [
        {"role": "assistant", "content": [{"type": "text", "text": "Hi"}]}
    ]
    with pytest.raises(ConversionError, match="Cohere: cannot carry a file"):
        encode_messages([Message.user("Read").add(File(b"%PDF-1.4", "a.pdf"))])
    with_image = ToolResult("look", "x", "c1", attachments=[Image(PNG_URL)])
    with pytest.raises(ConversionError, match="attachments"):
        encode_messages([Message("tool", [with_image])])
    with pytest.raises(
        ConversionError,
        match=r"^cohere: message field messages\[0\]\.role should be 'user', 'system', "
        r"'assistant' or 'tool', got a string \('robot'\)$",
    ):
        decode_messages([{"role": "robot", "content": "x"}])


def weather(city: str) -> str:
    "The weather."
    return city


def tally(counts: dict[str, int]) -> int:
    "Sum."
    return 0


def body(options: dict[str, Any], tools: tuple[Tool, ...] = (), **kwargs: Any) -> dict[str, Any]:
    request = Request([Message.user("Hi")], tools, options, **kwargs)
    return encode_request(request, options, model="command-a-03-2025", stream=False)


def test_the_neutral_options_take_cohere_names() -> None:
    sent = body(
        {
            "max_tokens": 9,
            "temperature": 0.2,
            "top_p": 0.5,
            "stop": "END",
            "seed": 3,
            "thinking_budget": 0,
        }
    )
    assert {k: sent[k] for k in ("max_tokens", "temperature", "p", "stop_sequences", "seed")} == {
        "max_tokens": 9,
        "temperature": 0.2,
        "p": 0.5,
        "stop_sequences": ["END"],
        "seed": 3,
    }
    assert sent["thinking"] == {"type": "disabled"}
    assert body({"thinking_budget": 512})["thinking"] == {"type": "enabled", "token_budget": 512}
    with pytest.raises(InvalidOptionError, match=r"Cohere takes p from 0\.01 to 0\.99"):
        body({"top_p": 1.0})


def test_tool_choice_and_strict_tools() -> None:
    tools = (Tool.function(weather), Tool.function(tally))
    assert body({"tool_choice": "required"}, tools)["tool_choice"] == "REQUIRED"
    assert body({"tool_choice": "none"}, tools)["tool_choice"] == "NONE"
    assert "tool_choice" not in body({"tool_choice": "auto"}, tools)
    named = body({"tool_choice": "tally"}, tools)
    assert [t["function"]["name"] for t in named["tools"]] == ["tally"]
    assert named["tool_choice"] == "REQUIRED"
    assert body({"strict_tools": True}, tools[:1])["strict_tools"] is True
    assert "strict_tools" not in body({"strict_tools": "auto"}, tools)  # tally has no form
    with pytest.raises(InvalidOptionError, match="the tool 'tally'"):
        body({"strict_tools": True}, tools)


def test_a_schema_is_json_object_mode() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    sent = body({}, schema=schema)
    assert sent["response_format"] == {"type": "json_object", "json_schema": schema}


def test_a_malformed_reply_is_a_response_format_error_naming_the_field() -> None:
    with pytest.raises(ResponseFormatError, match=r"usage\.tokens\.input_tokens"):
        decode_usage({"tokens": {"input_tokens": "3"}})
    with pytest.raises(ResponseFormatError, match="reply field message"):
        decode_reply({"finish_reason": "COMPLETE"})
    with pytest.raises(ResponseFormatError, match="cohere"):
        decode_reply({"message": {"content": [{"type": "audio"}]}})
    usage = decode_usage(
        {"tokens": {"input_tokens": 5.0, "output_tokens": 2.0}, "cached_tokens": 1.0}
    )
    assert (usage.input_tokens, usage.output_tokens, usage.cached_input_tokens) == (5, 2, 1)
    reply = decode_reply({"message": {"content": []}, "finish_reason": "SOMETHING_NEW"})
    assert reply.finish_reason == "something_new"
