"""The one rule for kept provider fields, on every codec: what the neutral model says wins.

A field the neutral model has no place for is kept in ``extra[format]`` and written back; when
a kept field names a key the encoder writes from the neutral model (a stale copy, or one set
by hand), the neutral value is sent and the kept one only fills keys left out. Nested objects
follow the same rule.
"""

from __future__ import annotations

from agentloop import Message, Text, ToolCall, ToolResult
from agentloop.providers.anthropic.messages import encode_messages as to_anthropic
from agentloop.providers.gemini.messages import encode_messages as to_gemini
from agentloop.providers.openai_chat.messages import decode_messages as from_openai
from agentloop.providers.openai_chat.messages import encode_messages as to_openai
from agentloop.providers.openai_responses.messages import encode_messages as to_responses
from agentloop.providers.wire_fields import with_kept

CALL_ID = "call_edited"


def _call(format_: str, kept: dict[str, object]) -> Message:
    call = ToolCall("weather", {"city": "Paris"}, CALL_ID, extra={format_: kept})
    return Message("assistant", [call])


def test_with_kept_fills_only_missing_keys_nested_alike() -> None:
    built = {"id": "new", "function": {"name": "f"}}
    kept = {"id": "old", "index": 0, "function": {"name": "stale", "strict": True}}
    assert with_kept(built, kept) == {
        "id": "new",
        "function": {"name": "f", "strict": True},
        "index": 0,
    }
    assert with_kept({"a": 1}, None) == {"a": 1}


def test_with_kept_copies_kept_values() -> None:
    kept = {"meta": {"n": [1]}}
    built = with_kept({}, kept)
    built["meta"]["n"].append(2)
    assert kept == {"meta": {"n": [1]}}


def test_openai_chat_neutral_fields_win_over_kept_ones() -> None:
    kept = {"id": "call_stale", "index": 3, "function": {"name": "stale", "x_note": "kept"}}
    (wire,) = to_openai([_call("openai", kept)])
    (call,) = wire["tool_calls"]
    assert call["id"] == CALL_ID
    assert call["function"]["name"] == "weather"
    assert call["function"]["x_note"] == "kept"
    assert call["index"] == 3
    # a kept role never turns a system message into something else...
    (system,) = to_openai([Message("system", [Text("rules")], {"openai": {"role": "user"}})])
    assert system["role"] == "system"
    # ...but OpenAI's "developer", kept from the wire, goes back as it came
    assert to_openai(from_openai([{"role": "developer", "content": "rules"}])) == [
        {"role": "developer", "content": "rules"}
    ]


def test_openai_chat_a_results_own_kept_fields_win_over_its_messages() -> None:
    result = ToolResult("weather", "sunny", CALL_ID, extra={"openai": {"name": "own"}})
    message = Message("tool", [result], {"openai": {"name": "message's", "x": 1}})
    (wire,) = to_openai([message])
    assert (wire["name"], wire["x"], wire["tool_call_id"]) == ("own", 1, CALL_ID)


def test_openai_responses_neutral_fields_win_over_kept_ones() -> None:
    kept = {"call_id": "call_stale", "name": "stale", "status": "completed"}
    (item,) = to_responses([_call("openai-responses", kept)])
    assert (item["call_id"], item["name"], item["status"]) == (CALL_ID, "weather", "completed")


def test_anthropic_neutral_fields_win_over_kept_ones() -> None:
    kept = {"id": "toolu_stale", "name": "stale", "input": {"city": "Rome"}, "x_note": "kept"}
    _, wire = to_anthropic([Message("user", [Text("hi")]), _call("anthropic", kept)])
    (block,) = wire[1]["content"]
    assert (block["id"], block["name"], block["input"]) == (CALL_ID, "weather", {"city": "Paris"})
    assert block["x_note"] == "kept"
    text = Text("new", extra={"anthropic": {"text": "stale", "cache_control": {"type": "x"}}})
    message = Message("user", [text], {"anthropic": {"role": "assistant", "x_meta": 1}})
    _, (wire_message,) = to_anthropic([message])
    assert (wire_message["role"], wire_message["x_meta"]) == ("user", 1)
    assert wire_message["content"] == [
        {"type": "text", "text": "new", "cache_control": {"type": "x"}}
    ]


def test_gemini_neutral_fields_win_over_kept_ones() -> None:
    kept = {"inner": {"name": "stale", "id": "stale", "x_note": "kept"}}
    text = Text("new", extra={"gemini": {"fields": {"text": "stale", "x_part": 1}}})
    _, contents = to_gemini([Message("user", [text]), _call("gemini", kept)])
    assert contents[0]["parts"] == [{"text": "new", "x_part": 1}]
    (part,) = contents[1]["parts"]
    assert part["functionCall"] == {
        "name": "weather",
        "args": {"city": "Paris"},
        "id": CALL_ID,
        "x_note": "kept",
    }
