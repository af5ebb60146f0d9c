"""The wire kit's JSON loader: limits, one wording, and messages that can always be sent again."""

from __future__ import annotations

import json

import pytest
from hostile import ARGUMENTS, HUGE_INTEGER, VERY_DEEP

from agentloop import (
    Message,
    ResponseFormatError,
    StructuredOutputError,
    Text,
    Thinking,
    ToolArgumentsError,
    ToolCall,
)
from agentloop.arguments import parse_arguments
from agentloop.providers.wire_json import (
    MAX_DEPTH,
    UnreadableJSON,
    escape_surrogates,
    load_arguments,
    load_json,
    load_reply,
    read_arguments,
    scrub,
    sendable,
)
from agentloop.structured import parse


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# -- reply bodies and events ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (VERY_DEEP.encode(), "nested deeper than 128 levels"),
        (nested(600).encode(), "nested deeper than 128 levels"),
        (f'{{"n": {HUGE_INTEGER}}}'.encode(), "an integer of more than 4300 digits"),
        (b'{"a": ', "Expecting value: line 1 column 7"),
        (b'"\xed\xb3\xbf"', "not UTF-8"),  # a surrogate encoded as if it were a character
    ],
    ids=["very-deep", "deep", "huge-integer", "cut-short", "encoded-surrogate"],
)
def test_an_unreadable_reply_is_a_format_error_naming_the_provider(data: bytes, why: str) -> None:
    with pytest.raises(ResponseFormatError) as info:
        load_reply(data, provider="gemini", status=200)
    error = info.value
    assert error.provider == "gemini"
    assert error.status == 200
    assert str(error).startswith(f"gemini 200: the reply is not valid JSON ({why}")
    assert error.body is not None
    assert len(error.body) <= 2000


def test_an_event_names_itself() -> None:
    with pytest.raises(ResponseFormatError, match=r"^anthropic: event 'ping' is not valid JSON"):
        load_reply(VERY_DEEP, provider="anthropic", what="event 'ping'")


def test_depth_is_limited_at_exactly_max_depth() -> None:
    assert load_json(nested(MAX_DEPTH)) == json.loads(nested(MAX_DEPTH))
    with pytest.raises(UnreadableJSON, match="nested deeper"):
        load_json(nested(MAX_DEPTH + 1))
    many_but_shallow = json.dumps([[1]] * 1000)  # more brackets than the limit, yet shallow
    assert load_json(many_but_shallow) == [[1]] * 1000


def test_values_the_codecs_mend_pass_the_reply_loader() -> None:
    # NaN and lone surrogates fail only the value they are in (sendable), not a whole reply.
    body = load_reply(b'{"a": NaN, "b": "\\udcff"}', provider="openai")
    assert body["b"] == "\udcff"


# -- tool arguments --------------------------------------------------------------------------


def test_each_hostile_argument_text_is_unreadable_with_a_reason() -> None:
    reasons = []
    for payload in ARGUMENTS:
        with pytest.raises(UnreadableJSON) as info:
            load_arguments(payload.arguments)
        reasons.append(str(info.value))
    assert reasons == [
        "nested deeper than 128 levels",
        "an integer of more than 4300 digits",
        "a lone surrogate '\\udcff', which is not a Unicode character",
        "NaN, a number JSON cannot carry",
        "-Infinity, a number JSON cannot carry",
        "Infinity, a number JSON cannot carry",
    ]


def test_a_lone_surrogate_in_a_key_is_unreadable() -> None:
    with pytest.raises(UnreadableJSON, match="lone surrogate"):
        load_arguments('{"\\ud800": 1}')


def test_surrogate_halves_side_by_side_are_one_character() -> None:
    # A pair cut between two stream chunks arrives as two characters of argument text.
    assert load_arguments('{"a": "\ud83d\ude00"}') == {"a": "\U0001f600"}
    assert load_arguments('{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}


def test_read_arguments_keeps_what_cannot_be_read_as_text_that_can_be_sent() -> None:
    assert read_arguments('{"city": "Paris"}') == ({"city": "Paris"}, None)
    assert read_arguments("[1, 2]") == ({}, "[1, 2]")
    assert read_arguments('{"city": NaN}') == ({}, '{"city": NaN}')
    arguments, raw = read_arguments('{"city": "\udcff"}')  # the character itself, not escaped
    assert arguments == {}
    assert raw == '{"city": "\\udcff"}'
    assert raw.encode("utf-8")


@pytest.mark.parametrize("payload", ARGUMENTS, ids=lambda p: p.name)
def test_validation_tells_the_model_why(payload: object) -> None:
    call = ToolCall("weather", {}, "c1", raw_arguments=payload.arguments)  # type: ignore[attr-defined]
    with pytest.raises(ToolArgumentsError) as info:
        parse_arguments(call, {"type": "object", "properties": {"city": {"type": "string"}}})
    assert info.value.problems[0].startswith("the arguments are not valid JSON (")
    str(info.value).encode("utf-8")  # the model can be sent the message


def test_the_message_for_the_model_never_holds_a_lone_surrogate() -> None:
    call = ToolCall("weather", {}, "c1", raw_arguments='["\udcff"')
    with pytest.raises(ToolArgumentsError) as info:
        parse_arguments(call, {"type": "object"})
    assert "\\udcff" in str(info.value)
    str(info.value).encode("utf-8")


def test_structured_output_nested_deep_is_a_structured_output_error() -> None:
    with pytest.raises(StructuredOutputError, match="nested deeper than 128 levels"):
        parse(VERY_DEEP, None)


# -- mending -------------------------------------------------------------------------------


def test_scrub_replaces_lone_surrogates_and_joins_pairs() -> None:
    assert scrub("plain") == "plain"
    assert scrub("caf\u00e9 \U0001f600") == "caf\u00e9 \U0001f600"
    assert scrub("a\udcffb") == "a\ufffdb"
    assert scrub("\ud83d\ude00 \ud83d") == "\U0001f600 \ufffd"


def test_escape_surrogates_writes_json_escapes() -> None:
    assert escape_surrogates('{"a": "\udcff"}') == '{"a": "\\udcff"}'
    assert escape_surrogates("\ud83d\ude00") == "\U0001f600"
    assert escape_surrogates("plain") == "plain"


def test_sendable_refuses_arguments_and_mends_the_rest() -> None:
    call = ToolCall("weather", {"city": float("nan"), "note": "\udcff"}, "c1")
    thinking = Thinking("hm\udcff", signature="sig\udcff", provider="anthropic")
    message = Message(
        "assistant",
        [
            Text("hi\udcff", extra={"openai": {"x": [float("inf"), {"\udcff": "v"}]}}),
            thinking,
            call,
        ],
        extra={"openai": {"score": float("nan")}},
    )
    assert sendable(message) is message
    text, thinking, call = message.parts  # type: ignore[assignment]
    assert text.text == "hi\ufffd"
    assert text.extra == {"openai": {"x": [None, {"\ufffd": "v"}]}}
    assert thinking.text == "hm\ufffd"
    assert thinking.signature == "sig\ufffd"
    assert call.arguments == {}
    assert call.raw_arguments == '{"city": NaN, "note": "\\udcff"}'
    assert message.extra == {"openai": {"score": None}}
    json.dumps(message.to_dict(), ensure_ascii=False, allow_nan=False).encode("utf-8")


def test_sendable_leaves_a_clean_message_as_it_is() -> None:
    extra = {"openai": {"refusal": None}}
    call = ToolCall("weather", {"city": "Paris", "days": [1, 2.5]}, "c1", extra=extra)
    message = Message("assistant", [Text("caf\u00e9"), call])
    before = message.to_dict()
    sendable(message)
    assert message.to_dict() == before
    assert call.extra is extra
