"""The OpenAI Chat Completions message converter: rules, media, errors, round trips, recordings."""

from __future__ import annotations

import base64
import json
from typing import Any

import cassettes
import httpx
import pytest
import report
import respx
import strategies
from hypothesis import given, settings
from hypothesis import strategies as st

from agentloop import Conversation, File, Image, Message, Text, Thinking, ToolCall, ToolResult
from agentloop.errors import ConversionError, MediaFetchError
from agentloop.media import decode_base64
from agentloop.providers.anthropic.format import ANTHROPIC
from agentloop.providers.gemini.format import GEMINI
from agentloop.providers.openai_chat import attachment_marker, decode_messages, encode_messages
from agentloop.providers.openai_chat.messages import OPENAI, media_to_fetch
from agentloop.providers.openai_responses.fields import OPENAI_RESPONSES

PNG = strategies.PNG + b"pixels"
PDF = strategies.PDF + b"pages"
WAV = b"RIFF\x00\x00\x00\x00WAVEfmt "


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def call(name: str = "get_weather", call_id: str = "call_1", **arguments: Any) -> ToolCall:
    return ToolCall(name, arguments or {"city": "Paris"}, call_id)


def _wire_call(name: str, call_id: str, arguments: Any = "{}") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def round_trip(messages: list[Message]) -> list[Message]:
    return decode_messages(encode_messages(messages))


# -- service rules -----------------------------------------------------------------------------


def test_each_tool_result_is_its_own_tool_message_right_after_the_calls() -> None:
    calls = [call("a", "call_a"), call("b", "call_b")]
    wire = encode_messages(
        [
            Message.assistant(tool_calls=calls),
            Message.tool(ToolResult("a", "one", "call_a"), ToolResult("b", "two", "call_b")),
        ]
    )
    assert [m["role"] for m in wire] == ["assistant", "tool", "tool"]
    assert wire[1] == {"role": "tool", "tool_call_id": "call_a", "content": "one"}
    assert wire[2] == {"role": "tool", "tool_call_id": "call_b", "content": "two"}


def test_consecutive_tool_messages_decode_into_one_tool_message_named_after_the_calls() -> None:
    wire = [
        {"role": "assistant", "tool_calls": [_wire_call("a", "call_a"), _wire_call("b", "call_b")]},
        {"role": "tool", "tool_call_id": "call_b", "content": "two"},
        {"role": "tool", "tool_call_id": "call_a", "content": "one"},
    ]
    messages = decode_messages(wire)
    assert len(messages) == 2
    assert messages[1].parts == [ToolResult("b", "two", "call_b"), ToolResult("a", "one", "call_a")]


def test_assistant_with_only_tool_calls_sends_no_content() -> None:
    wire = encode_messages([Message.assistant(tool_calls=[call()])])
    assert "content" not in wire[0]
    assert wire[0]["tool_calls"] == [_wire_call("get_weather", "call_1", '{"city":"Paris"}')]


def test_assistant_content_null_decodes_to_no_text() -> None:
    wire = [{"role": "assistant", "content": None, "tool_calls": [_wire_call("f", "c")]}]
    assert decode_messages(wire)[0].parts == [ToolCall("f", {}, "c")]


def test_assistant_text_and_tool_calls_travel_together() -> None:
    message = Message.assistant("Let me check.", tool_calls=[call()])
    wire = encode_messages([message])
    assert wire[0]["content"] == "Let me check."
    assert round_trip([message]) == [message]


def test_empty_assistant_text_survives_as_an_empty_string() -> None:
    message = Message("assistant", [Text(""), call()])
    assert encode_messages([message])[0]["content"] == ""
    assert round_trip([message]) == [message]


def test_user_string_content_is_one_text_part() -> None:
    assert decode_messages([{"role": "user", "content": "hi"}]) == [Message.user("hi")]
    assert encode_messages([Message.user("hi")]) == [{"role": "user", "content": "hi"}]


def test_several_texts_are_sent_as_a_list_of_parts() -> None:
    message = Message("user", [Text("a"), Text("b")])
    wire = encode_messages([message])
    assert wire[0]["content"] == [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    assert round_trip([message]) == [message]


def test_system_message_round_trips() -> None:
    assert encode_messages([Message.system("Be brief")]) == [
        {"role": "system", "content": "Be brief"}
    ]
    assert round_trip([Message.system("Be brief")]) == [Message.system("Be brief")]


def test_developer_role_is_a_system_message_sent_back_as_developer() -> None:
    wire = [{"role": "developer", "content": "Be brief"}]
    messages = decode_messages(wire)
    assert messages[0].role == "system"
    assert messages[0].text == "Be brief"
    assert encode_messages(messages) == wire


def test_tool_result_error_flag_is_not_on_the_wire_the_output_text_is() -> None:
    result = ToolResult("f", "Error: no such city", "c", is_error=True)
    assert encode_messages([Message.tool(result)]) == [
        {"role": "tool", "tool_call_id": "c", "content": "Error: no such city"}
    ]


def test_tool_message_with_a_list_of_text_parts_joins_them() -> None:
    wire = [
        {"role": "tool", "tool_call_id": "c", "content": [{"type": "text", "text": "a"}] * 2},
    ]
    assert decode_messages(wire)[0].parts == [ToolResult("", "aa", "c")]


def test_tool_result_for_an_unknown_call_keeps_the_name_the_sender_gave() -> None:
    wire = [{"role": "tool", "tool_call_id": "c", "content": "x", "name": "lookup"}]
    result = decode_messages(wire)[0].parts[0]
    assert isinstance(result, ToolResult)
    assert result.name == "lookup"
    assert encode_messages(decode_messages(wire)) == wire


# -- tool calls ----------------------------------------------------------------------------------


def test_arguments_that_are_not_a_json_object_are_kept_verbatim() -> None:
    for text in ("[1, 2]", "{not json", ""):
        parsed = decode_messages(
            [{"role": "assistant", "tool_calls": [_wire_call("f", "c", text)]}]
        )
        tool_call = parsed[0].parts[0]
        assert isinstance(tool_call, ToolCall)
        assert (tool_call.arguments, tool_call.raw_arguments) == ({}, text)
        assert encode_messages(parsed)[0]["tool_calls"][0]["function"]["arguments"] == text


def test_empty_tool_call_ids_survive_and_pair_results_in_order() -> None:
    wire = [
        {"role": "assistant", "tool_calls": [_wire_call("a", ""), _wire_call("b", "")]},
        {"role": "tool", "tool_call_id": "", "content": "one"},
        {"role": "tool", "tool_call_id": "", "content": "two"},
    ]
    messages = decode_messages(wire)
    assert messages[1].parts == [ToolResult("a", "one", ""), ToolResult("b", "two", "")]
    assert encode_messages(messages) == wire


def test_arguments_that_are_not_json_serializable_raise_conversion_error() -> None:
    bad = ToolCall("f", {"when": object()}, "c")
    with pytest.raises(ConversionError, match="arguments of tool call 'f'"):
        encode_messages([Message.assistant(tool_calls=[bad])])


# -- tool result attachments ---------------------------------------------------------------------


def _tool_turn(*attachments: Image | File) -> list[Message]:
    return [
        Message.assistant(tool_calls=[call("shot", "call_a"), call("read", "call_b")]),
        Message.tool(
            ToolResult("shot", "see image", "call_a", attachments=list(attachments)),
            ToolResult("read", "done", "call_b"),
        ),
    ]


def test_tool_result_image_goes_in_a_user_message_after_the_tool_messages() -> None:
    wire = encode_messages(_tool_turn(Image(PNG)))
    assert [m["role"] for m in wire] == ["assistant", "tool", "tool", "user"]
    assert wire[3]["content"] == [
        {"type": "text", "text": attachment_marker("call_a")},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(PNG)}"}},
    ]


def test_tool_result_attachments_round_trip() -> None:
    turn = _tool_turn(Image(PNG), File(PDF, "report.pdf"))
    assert round_trip(turn) == turn


def test_a_real_user_message_after_tool_messages_is_not_taken_for_attachments() -> None:
    turn = _tool_turn()
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(PNG)}"}}
    for content in (
        [{"type": "text", "text": "What is in this?"}, image],
        [{"type": "text", "text": attachment_marker("call_unknown")}, image],
        [{"type": "text", "text": attachment_marker("call_a")}],  # a marker without media
        [image, {"type": "text", "text": attachment_marker("call_a")}, image],
        [{"type": "text", "text": 'Tool call "\\q" returned these attachments:'}, image],
    ):
        messages = decode_messages([*encode_messages(turn), {"role": "user", "content": content}])
        assert messages[:2] == turn
        assert messages[2].role == "user"


# -- media -----------------------------------------------------------------------------------------


def test_image_bytes_are_sent_as_a_data_url() -> None:
    wire = encode_messages([Message.user("look").add_image(PNG)])
    assert wire[0]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": f"data:image/png;base64,{b64(PNG)}"},
    }


def test_image_url_is_passed_through_with_its_detail() -> None:
    image = Image("https://example.com/cat.png", detail="low")
    wire = encode_messages([Message("user", [image])])
    assert wire[0]["content"] == [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}}
    ]
    assert round_trip([Message("user", [image])]) == [Message("user", [image])]


def test_image_data_url_decodes_to_bytes() -> None:
    url = f"data:image/png;base64,{b64(PNG)}"
    wire = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]
    image = decode_messages(wire)[0].parts[0]
    assert isinstance(image, Image)
    assert (image.data, image.media_type, image.url) == (PNG, "image/png", None)


def test_pdf_bytes_are_sent_as_file_data_with_the_filename() -> None:
    wire = encode_messages([Message("user", [File(PDF, "report.pdf")])])
    assert wire[0]["content"] == [
        {
            "type": "file",
            "file": {
                "file_data": f"data:application/pdf;base64,{b64(PDF)}",
                "filename": "report.pdf",
            },
        }
    ]


def test_file_without_a_name_gets_one_because_openai_requires_it() -> None:
    wire = encode_messages([Message("user", [File(PDF)])])
    assert wire[0]["content"][0]["file"]["filename"] == "file.pdf"


def test_other_files_are_sent_as_file_data_with_their_media_type() -> None:
    file = File(b"a,b\n1,2\n", "table.csv")
    wire = encode_messages([Message("user", [file])])
    assert wire[0]["content"][0]["file"]["file_data"].startswith("data:text/csv;base64,")
    assert round_trip([Message("user", [file])]) == [Message("user", [file])]


def test_file_data_as_bare_base64_is_accepted() -> None:
    part = {"type": "file", "file": {"file_data": b64(PDF), "filename": "x.pdf"}}
    file = decode_messages([{"role": "user", "content": [part]}])[0].parts[0]
    assert file == File(PDF, "x.pdf")


@respx.mock
def test_file_url_is_downloaded_and_inlined() -> None:
    route = respx.get("https://example.com/doc.pdf").mock(
        return_value=httpx.Response(200, content=PDF, headers={"content-type": "application/pdf"})
    )
    message = Message("user", [File("https://example.com/doc.pdf")])
    assert media_to_fetch([message]) == message.parts
    wire = Conversation([message]).to_openai()  # the converter downloads first
    assert route.called
    assert wire[0]["content"][0]["file"] == {
        "file_data": f"data:application/pdf;base64,{b64(PDF)}",
        "filename": "doc.pdf",
    }


@respx.mock
def test_file_url_that_cannot_be_downloaded_raises_media_error_naming_it() -> None:
    respx.get("https://example.com/gone.pdf").mock(return_value=httpx.Response(404))
    with pytest.raises(MediaFetchError, match=r"gone\.pdf.*HTTP 404") as info:
        Conversation([Message("user", [File("https://example.com/gone.pdf")])]).to_openai()
    assert info.value.status == 404


def test_image_urls_go_by_url_and_are_never_fetched() -> None:
    message = Message("user", [Image("https://example.com/cat.png"), File(PDF, "a.pdf")])
    assert media_to_fetch([message]) == []


def test_cloud_storage_url_raises_conversion_error() -> None:
    with pytest.raises(ConversionError, match=r"gs://bucket/doc\.pdf"):
        encode_messages([Message("user", [File("gs://bucket/doc.pdf")])])


@pytest.mark.parametrize(
    ("media_type", "wire_format"), [("audio/wav", "wav"), ("audio/mpeg", "mp3")]
)
def test_audio_is_sent_as_input_audio(media_type: str, wire_format: str) -> None:
    audio = File(data=WAV, media_type=media_type)
    wire = encode_messages([Message("user", [audio])])
    assert wire[0]["content"] == [
        {"type": "input_audio", "input_audio": {"data": b64(WAV), "format": wire_format}}
    ]
    assert round_trip([Message("user", [audio])]) == [Message("user", [audio])]


# -- thinking --------------------------------------------------------------------------------------


def test_reasoning_field_decodes_to_openai_thinking_and_back() -> None:
    wire = [{"role": "assistant", "content": "Paris.", "reasoning": "The capital..."}]
    messages = decode_messages(wire)
    assert messages[0].parts == [Thinking("The capital...", provider=OPENAI), Text("Paris.")]
    assert encode_messages(messages) == wire


def test_reasoning_content_field_name_is_remembered() -> None:
    wire = [{"role": "assistant", "content": "Paris.", "reasoning_content": "Hmm"}]
    thinking = decode_messages(wire)[0].parts[0]
    assert thinking == Thinking(
        "Hmm", provider=OPENAI, extra={OPENAI: {"field": "reasoning_content"}}
    )
    assert encode_messages(decode_messages(wire)) == wire


@pytest.mark.parametrize("provider", [ANTHROPIC, GEMINI, OPENAI_RESPONSES, None])
def test_thinking_from_another_provider_is_left_out(provider: str | None) -> None:
    message = Message("assistant", [Thinking("hmm", "sig", provider), Text("Paris.")])
    assert encode_messages([message]) == [{"role": "assistant", "content": "Paris."}]


def test_two_reasoning_texts_for_one_field_raise_conversion_error() -> None:
    message = Message("assistant", [Thinking("a", provider=OPENAI), Thinking("b", provider=OPENAI)])
    with pytest.raises(ConversionError, match="'reasoning'"):
        encode_messages([message])


# -- provider fields kept in extra -----------------------------------------------------------------


def test_unknown_message_part_and_call_fields_round_trip() -> None:
    google = {"google": {"thought_signature": "AVSo"}}
    wire = [
        {"role": "user", "name": "ann", "content": [{"type": "text", "text": "hi", "x": 1}]},
        {
            "role": "assistant",
            "content": "ok",
            "refusal": None,
            "extra_content": google,
            "tool_calls": [{**_wire_call("f", "c"), "index": 0, "extra_content": google}],
        },
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": "https://a.b/c.png", "y": 2}}],
        },
    ]
    messages = decode_messages(wire)
    assert messages[0].extra == {OPENAI: {"name": "ann"}}
    assert messages[1].extra == {OPENAI: {"refusal": None, "extra_content": google}}
    assert messages[1].tool_calls[0].extra == {OPENAI: {"index": 0, "extra_content": google}}
    assert encode_messages(messages) == wire


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "role"),
    [
        (Image(PNG), "assistant"),
        (Image(PNG), "system"),
        (Text("x"), "tool"),
        (ToolResult("f", "x", "c"), "user"),
        (ToolCall("f", {}, "c"), "user"),
        (Thinking("x", provider=OPENAI), "user"),
    ],
)
def test_a_part_chat_cannot_carry_raises_conversion_error_naming_it(part: Any, role: Any) -> None:
    with pytest.raises(ConversionError, match=type(part).__name__) as info:
        encode_messages([Message(role, [part])])
    assert info.value.provider == OPENAI
    assert "OpenAI Chat Completions" in str(info.value)


_CALL_0 = "messages[0].tool_calls[0]"


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        (
            {"role": "user", "content": "x"},
            "messages should be a list of message objects, got an object",
        ),
        (["hello"], "messages[0] should be an object, got a string ('hello')"),
        (
            [{"content": "x"}],
            "messages[0].role should be 'user', 'assistant', 'system', 'developer' or 'tool', "
            "got nothing (the field is missing)",
        ),
        (
            [{"role": "function", "content": "x"}],
            "messages[0].role should be 'user', 'assistant', "
            "'system', 'developer' or 'tool', got a string ('function')",
        ),
        (
            [{"role": "user", "content": 3}],
            "messages[0].content should be a string or a list of parts, got an integer (3)",
        ),
        (
            [{"role": "assistant", "content": 1}],
            "messages[0].content should be a string, a list of parts or null, got an integer (1)",
        ),
        (
            [{"role": "assistant", "tool_calls": {}}],
            "messages[0].tool_calls should be a list, got an object",
        ),
        (
            [{"role": "assistant", "tool_calls": ["x"]}],
            f"{_CALL_0} should be an object, got a string ('x')",
        ),
        (
            [{"role": "assistant", "tool_calls": [{"id": "c"}]}],
            f"{_CALL_0}.function should be an object, got nothing (the field is missing)",
        ),
        (
            [{"role": "assistant", "tool_calls": [{"function": {}, "id": "c"}]}],
            f"{_CALL_0}.function.name should be a string, got nothing (the field is missing)",
        ),
        (
            [{"role": "assistant", "tool_calls": [{"id": 1, "function": {}}]}],
            f"{_CALL_0}.id should be a string, got an integer (1)",
        ),
        (
            [{"role": "assistant", "tool_calls": [_wire_call("f", "c", 5)]}],
            f"{_CALL_0}.function.arguments should be a string or an object, got an integer (5)",
        ),
        (
            [{"role": "assistant", "tool_calls": [{"type": "custom", "id": "c"}]}],
            f"{_CALL_0}.type should be 'function', got a string ('custom')",
        ),
        (
            [{"role": "tool", "content": "x"}],
            "messages[0].tool_call_id should be a string, got nothing (the field is missing)",
        ),
        (
            [{"role": "tool", "tool_call_id": "c", "content": None}],
            "messages[0].content should be a string or a list of text parts, got null",
        ),
        (
            [{"role": "tool", "tool_call_id": "c", "content": [{"type": "x"}]}],
            "messages[0].content[0] should be a text part (a tool message holds only text), "
            "got an object",
        ),
        (
            [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "u"}}]}],
            "messages[0].content[0] should be a text part (a system message holds only text), "
            "got an object",
        ),
    ],
)
def test_malformed_message_raises_conversion_error_naming_the_field(
    payload: Any, says: str
) -> None:
    with pytest.raises(ConversionError) as info:
        decode_messages(payload)
    assert str(info.value) == f"openai: message field {says}"
    assert info.value.provider == OPENAI


_PART_0 = "messages[0].content[0]"


@pytest.mark.parametrize(
    ("part", "says"),
    [
        (
            {"type": "video_url"},
            f"field {_PART_0}.type should be 'text', 'image_url', 'input_audio' or 'file', "
            "got a string ('video_url')",
        ),
        (
            {"type": "text"},
            f"field {_PART_0}.text should be a string, got nothing (the field is missing)",
        ),
        (
            {"type": "image_url", "image_url": {}},
            f"field {_PART_0}.image_url.url should be a string, got nothing (the field is missing)",
        ),
        (
            {"type": "image_url", "image_url": "u"},
            f"field {_PART_0}.image_url should be an object, got a string ('u')",
        ),
        (
            {"type": "image_url", "image_url": {"url": "data:;base64,!!"}},
            f"field {_PART_0}.image_url: Invalid data URL",
        ),
        ({"type": "file", "file": {"file_data": "!!"}}, f"field {_PART_0}.file: Invalid base64"),
        (
            {"type": "file", "file": {"file_id": "f"}},
            f"field {_PART_0}.file.file_id: references to uploaded files are not supported",
        ),
        (
            {"type": "input_audio", "input_audio": {"data": ""}},
            f"field {_PART_0}.input_audio.format should be a string, got nothing (the field is "
            "missing)",
        ),
    ],
)
def test_malformed_content_part_raises_conversion_error_naming_the_field(
    part: dict[str, Any], says: str
) -> None:
    with pytest.raises(ConversionError) as info:
        decode_messages([{"role": "user", "content": [part]}])
    assert str(info.value).startswith(f"openai: message {says}")
    assert info.value.provider == OPENAI


# -- properties ------------------------------------------------------------------------------------


def _without_error_flags(messages: list[Message]) -> list[Message]:
    """Chat Completions has no error flag for tool results (the output text says it), so the
    round trip is compared with ``is_error`` cleared. Nothing else is normalised."""
    for message in messages:
        for part in message.parts:
            if isinstance(part, ToolResult):
                part.is_error = False
    return messages


@settings(max_examples=150, deadline=None)
@given(strategies.conversations(OPENAI))
def test_conversations_survive_neutral_to_wire_to_neutral(messages: list[Message]) -> None:
    decoded = decode_messages(encode_messages(messages))
    assert decoded == _without_error_flags(messages)


@settings(max_examples=150, deadline=None)
@given(strategies.conversations(OPENAI), st.sampled_from([ANTHROPIC, GEMINI, OPENAI_RESPONSES]))
def test_thinking_from_other_providers_is_left_out_of_any_conversation(
    messages: list[Message], provider: str
) -> None:
    expected = encode_messages(messages)
    for message in messages:
        if message.role == "assistant":
            message.parts.insert(0, Thinking("elsewhere", "sig", provider))
    assert encode_messages(messages) == expected


def test_conversation_methods_use_this_converter() -> None:
    wire = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    assert Conversation.from_openai(wire).to_openai() == wire


# -- the recorded traffic --------------------------------------------------------------------------


def _recorded_requests() -> list[cassettes.Interaction]:
    return [
        it
        for it in cassettes.all_interactions()
        if it.method == "POST" and it.uri.endswith("/chat/completions")
    ]


def canonical(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Recorded and re-encoded messages in a form where only real differences remain.

    - A field set to null is the same as an absent one (``content: null`` next to tool calls).
    - String content is the same as a list holding one text part.
    - A tool message's list of text parts is the same as their joined text.
    - Tool-call arguments compare as parsed JSON (whitespace and key spacing do not matter).
    - A data URL or base64 payload compares as (media type, decoded bytes).
    Dict key order never matters (dicts compare unordered).
    """
    return [_canonical_message(m) for m in messages]


def _canonical_message(message: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in message.items() if v is not None}
    content = out.get("content")
    if isinstance(content, str) and out["role"] != "tool":
        out["content"] = [{"type": "text", "text": content}]
    elif isinstance(content, list) and out["role"] == "tool":
        out["content"] = "".join(part["text"] for part in content)
    elif isinstance(content, list):
        out["content"] = [_canonical_part(part) for part in content]
    out["tool_calls"] = [
        {**c, "function": {**c["function"], "arguments": json.loads(c["function"]["arguments"])}}
        for c in out.get("tool_calls", [])
    ]
    return out


def _canonical_part(part: dict[str, Any]) -> dict[str, Any]:
    part = json.loads(json.dumps(part))
    if part["type"] == "image_url" and part["image_url"]["url"].startswith("data:"):
        part["image_url"]["url"] = _decoded_data_url(part["image_url"]["url"])
    if part["type"] == "file" and "file_data" in part["file"]:
        part["file"]["file_data"] = _decoded_data_url(part["file"]["file_data"])
    if part["type"] == "input_audio":
        part["input_audio"]["data"] = decode_base64(part["input_audio"]["data"])
    return part


def _decoded_data_url(url: str) -> tuple[str | None, bytes]:
    header, _, payload = url.partition(",")
    return (header[5:].split(";")[0] or None, decode_base64(payload))


def test_every_recorded_chat_request_round_trips() -> None:
    cassettes.require()
    recorded = _recorded_requests()
    assert recorded, "no recorded Chat Completions requests found"
    checked, mismatches = 0, []
    for interaction in recorded:
        messages = interaction.request_json()["messages"]
        again = encode_messages(decode_messages(messages))
        if canonical(again) != canonical(messages):
            mismatches.append(interaction.id)
        checked += 1
    report.count("openai chat requests round-tripped", checked)
    assert mismatches == []
    assert checked == len(recorded)


def test_recorded_reply_messages_round_trip_with_their_provider_fields() -> None:
    """Replies carry fields requests rarely do (reasoning, refusal, annotations, Gemini's
    thought signatures, tool-call indexes): decoding and re-encoding gives them back."""
    cassettes.require()
    replies = [
        choice["message"]
        for it in _recorded_requests()
        if it.status == 200 and it.response_body.lstrip().startswith(b"{")
        for choice in it.response_json().get("choices", [])
    ]
    assert replies, "no recorded Chat Completions replies found"
    for message in replies:
        assert canonical(encode_messages(decode_messages([message]))) == canonical([message])
    report.count("openai chat reply messages round-tripped", len(replies))
