"""OpenAI Responses converter: service rules, media, errors, round trips, recorded requests."""

from __future__ import annotations

import base64
from typing import Any

import cassettes
import pytest
import report
import respx
from hypothesis import given, settings
from strategies import conversations

from agentloop import (
    Conversation,
    ConversionError,
    File,
    Image,
    Message,
    Text,
    Thinking,
    ToolCall,
    ToolResult,
)
from agentloop.errors import MediaError
from agentloop.media import decode_base64
from agentloop.providers.anthropic.format import ANTHROPIC
from agentloop.providers.openai_responses import decode_messages, encode_messages
from agentloop.providers.openai_responses.fields import OPENAI_RESPONSES

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
PDF = b"%PDF-1.4\n%%EOF"
MP3 = b"ID3\x03\x00\x00\x00"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def only_item(message: Message) -> dict[str, Any]:
    """The single input item ``message`` encodes to."""
    items = encode_messages([message])
    assert len(items) == 1
    return items[0]


def round_trip(messages: list[Message]) -> list[Message]:
    return decode_messages(encode_messages(messages))


def weather_call(call_id: str = "call_1") -> ToolCall:
    return ToolCall("get_weather", {"city": "Paris"}, call_id)


# -- system prompt and plain input ----------------------------------------------------------


def test_system_message_becomes_a_system_role_item() -> None:
    items = encode_messages([Message.system("Be brief"), Message.user("hi")])
    assert items == [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "hi"}]


def test_instructions_become_a_leading_system_message() -> None:
    messages = decode_messages([{"role": "user", "content": "hi"}], instructions="Be brief")
    assert messages == [Message.system("Be brief"), Message.user("hi")]


def test_empty_instructions_add_no_system_message() -> None:
    assert decode_messages("hi", instructions="") == [Message.user("hi")]


def test_a_plain_string_input_is_one_user_message() -> None:
    assert decode_messages("What is 2+2?") == [Message.user("What is 2+2?")]


def test_developer_role_is_a_system_message_that_exports_as_developer() -> None:
    item = {"role": "developer", "content": "Answer in French"}
    [message] = decode_messages([item])
    assert message.role == "system"
    assert message.text == "Answer in French"
    assert encode_messages([message]) == [item]


# -- tool calls and results: function_call / function_call_output keyed by call_id -------


def test_tool_call_is_a_function_call_item_with_json_arguments() -> None:
    items = encode_messages([Message.assistant(tool_calls=[weather_call()])])
    assert items == [
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city":"Paris"}',
        }
    ]


def test_tool_result_is_a_function_call_output_keyed_by_call_id() -> None:
    items = encode_messages([Message.tool(ToolResult("get_weather", "Sunny", "call_1"))])
    assert items == [{"type": "function_call_output", "call_id": "call_1", "output": "Sunny"}]


def test_results_of_parallel_calls_are_one_output_item_each_and_decode_as_one_message() -> None:
    calls = [weather_call("call_1"), weather_call("call_2")]
    results = [
        ToolResult("get_weather", "Sunny", "call_1"),
        ToolResult("get_weather", "Rain", "call_2"),
    ]
    messages = [
        Message.user("Weather?"),
        Message.assistant(tool_calls=calls),
        Message.tool(*results),
    ]
    items = encode_messages(messages)
    assert [item.get("type") for item in items] == [
        None,
        "function_call",
        "function_call",
        "function_call_output",
        "function_call_output",
    ]
    assert round_trip(messages) == messages


def test_reasoning_text_and_calls_in_a_row_form_one_assistant_message() -> None:
    items = [
        {"role": "user", "content": "Weather?"},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "enc"},
        {"role": "assistant", "content": "Let me check."},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
    ]
    messages = decode_messages(items)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert [type(p) for p in messages[1].parts] == [Thinking, Text, ToolCall]


def test_tool_result_name_is_recovered_from_the_function_call() -> None:
    items = [
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "Sunny"},
    ]
    assert decode_messages(items)[1].tool_results[0].name == "get_weather"


def test_tool_result_without_a_matching_call_is_kept_with_an_empty_name() -> None:
    [message] = decode_messages([{"type": "function_call_output", "call_id": "c9", "output": "x"}])
    assert message.parts == [ToolResult("", "x", "c9")]


def test_failed_tool_result_sends_its_text_since_the_format_has_no_error_flag() -> None:
    item = only_item(Message.tool(ToolResult("f", "ValueError: bad", "c1", is_error=True)))
    assert item == {"type": "function_call_output", "call_id": "c1", "output": "ValueError: bad"}


def test_tool_result_image_goes_in_a_list_output_after_the_text() -> None:
    result = ToolResult("screenshot", "Here it is", "c1", attachments=[Image(PNG)])
    item = only_item(Message.tool(result))
    assert item["output"] == [
        {"type": "input_text", "text": "Here it is"},
        {"type": "input_image", "image_url": f"data:image/png;base64,{b64(PNG)}"},
    ]
    turn = [Message.assistant(tool_calls=[ToolCall("screenshot", {}, "c1")]), Message.tool(result)]
    assert round_trip(turn) == turn


def test_tool_result_with_only_an_image_has_no_empty_text_entry() -> None:
    item = only_item(Message.tool(ToolResult("f", "", "c1", attachments=[Image(PNG)])))
    assert [entry["type"] for entry in item["output"]] == ["input_image"]


def test_tool_output_list_with_only_text_round_trips_as_a_list() -> None:
    item = {
        "type": "function_call_output",
        "call_id": "c1",
        "output": [{"type": "input_text", "text": "ok"}],
    }
    assert encode_messages(decode_messages([item])) == [item]


def test_tool_output_with_several_texts_joins_them_with_newlines() -> None:
    output = [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}]
    item = {"type": "function_call_output", "call_id": "c1", "output": output}
    assert decode_messages([item])[0].tool_results[0].output == "a\nb"


def test_function_call_id_and_null_status_round_trip() -> None:
    item = {
        "type": "function_call",
        "call_id": "call_1",
        "name": "f",
        "arguments": "{}",
        "id": "fc_1",
        "status": None,
    }
    [message] = decode_messages([item])
    assert message.tool_calls[0].extra == {OPENAI_RESPONSES: {"id": "fc_1", "status": None}}
    assert encode_messages([message]) == [item]


def test_arguments_keep_their_exact_spelling() -> None:
    item = {"type": "function_call", "call_id": "c1", "name": "f", "arguments": '{"a": 1}'}
    [message] = decode_messages([item])
    assert message.tool_calls[0].arguments == {"a": 1}
    assert encode_messages([message]) == [item]


def test_arguments_edited_after_import_are_sent_as_edited() -> None:
    [message] = decode_messages(
        [{"type": "function_call", "call_id": "c1", "name": "f", "arguments": '{"a": 1}'}]
    )
    message.tool_calls[0].arguments["a"] = 2
    assert encode_messages([message])[0]["arguments"] == '{"a":2}'


def test_arguments_that_are_not_a_json_object_are_kept_raw() -> None:
    item = {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "not json"}
    [message] = decode_messages([item])
    call = message.tool_calls[0]
    assert (call.arguments, call.raw_arguments) == ({}, "not json")
    assert encode_messages([message]) == [item]


# -- thinking (reasoning items) ---------------------------------------------------------------


def test_own_thinking_is_sent_back_as_a_reasoning_item_with_encrypted_content() -> None:
    thinking = Thinking("Checking the weather", "enc123", OPENAI_RESPONSES)
    item = only_item(Message.assistant().add(thinking))
    assert item == {
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "Checking the weather"}],
        "encrypted_content": "enc123",
    }


def test_reasoning_item_imports_with_its_id_and_round_trips() -> None:
    item = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "enc"}
    [message] = decode_messages([item])
    assert message.parts == [
        Thinking("", "enc", OPENAI_RESPONSES, extra={OPENAI_RESPONSES: {"id": "rs_1"}})
    ]
    assert encode_messages([message]) == [item]


def test_reasoning_summary_of_several_entries_round_trips() -> None:
    summary = [{"type": "summary_text", "text": "one"}, {"type": "summary_text", "text": "two"}]
    item = {"type": "reasoning", "id": "rs_1", "summary": summary}
    [message] = decode_messages([item])
    assert isinstance(message.parts[0], Thinking)
    assert message.parts[0].text == "one\n\ntwo"
    assert encode_messages([message]) == [item]


def test_thinking_from_another_provider_is_left_out_not_turned_into_text() -> None:
    message = Message.assistant("Sunny").add(Thinking("secret plan", "sig", ANTHROPIC))
    items = encode_messages([message])
    assert items == [{"role": "assistant", "content": "Sunny"}]


# -- assistant message items ------------------------------------------------------------------


def test_assistant_message_with_empty_string_content_round_trips() -> None:
    items = [{"role": "user", "content": "hi"}, {"content": "", "role": "assistant"}]
    assert encode_messages(decode_messages(items)) == items


def test_output_message_item_keeps_id_status_and_annotations() -> None:
    item = {
        "type": "message",
        "id": "msg_1",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Paris", "annotations": []}],
    }
    assert encode_messages(decode_messages([item])) == [item]


def test_two_assistant_message_items_in_a_row_stay_two_items() -> None:
    items = [{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}]
    [message] = decode_messages(items)
    assert message.text == "ab"
    assert encode_messages([message]) == items


def test_refusal_content_round_trips() -> None:
    item = {"role": "assistant", "content": [{"type": "refusal", "refusal": "I can't help"}]}
    [message] = decode_messages([item])
    assert message.text == "I can't help"
    assert encode_messages([message]) == [item]


def test_single_text_given_as_a_list_stays_a_list() -> None:
    item = {"role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    assert encode_messages(decode_messages([item])) == [item]


# -- media ------------------------------------------------------------------------------------


def test_image_url_is_passed_through_without_download() -> None:
    with respx.mock:  # any HTTP request would fail: no route is mocked
        item = only_item(Message.user("Look").add_image("https://example.com/cat.png"))
    assert item["content"][1] == {"type": "input_image", "image_url": "https://example.com/cat.png"}


def test_image_bytes_are_sent_as_a_base64_data_url() -> None:
    item = only_item(Message.user("Look").add_image(PNG))
    assert item["content"][1]["image_url"] == f"data:image/png;base64,{b64(PNG)}"


def test_image_data_url_imports_as_bytes_with_its_declared_type() -> None:
    url = f"data:image/png;base64,{b64(PNG)}"
    item = {"role": "user", "content": [{"type": "input_image", "image_url": url}]}
    [message] = decode_messages([item])
    assert message.parts == [Image(data=PNG, media_type="image/png")]
    assert encode_messages([message]) == [item]


def test_image_detail_round_trips() -> None:
    image = Image("https://example.com/cat.png", detail="high")
    item = only_item(Message("user", [image]))
    assert item["content"][0]["detail"] == "high"
    assert round_trip([Message("user", [image])]) == [Message("user", [image])]


def test_gcs_image_url_raises_naming_the_provider() -> None:
    with pytest.raises(ConversionError, match="http") as info:
        encode_messages([Message.user().add_image("gs://bucket/cat.png")])
    assert info.value.provider == OPENAI_RESPONSES


def test_pdf_bytes_are_file_data_with_the_filename() -> None:
    item = only_item(Message.user().add_file(PDF, filename="report.pdf"))
    assert item["content"] == [
        {
            "type": "input_file",
            "file_data": f"data:application/pdf;base64,{b64(PDF)}",
            "filename": "report.pdf",
        }
    ]


def test_pdf_url_is_passed_through_as_file_url_without_download() -> None:
    with respx.mock:
        item = only_item(Message.user().add_file("https://example.com/report.pdf"))
    assert item["content"] == [{"type": "input_file", "file_url": "https://example.com/report.pdf"}]


def test_pdf_data_url_imports_as_bytes_and_round_trips() -> None:
    part = {
        "type": "input_file",
        "file_data": f"data:application/pdf;base64,{b64(PDF)}",
        "filename": "a.pdf",
    }
    [message] = decode_messages([{"role": "user", "content": [part]}])
    assert message.parts == [File(PDF, "a.pdf", media_type="application/pdf")]
    assert encode_messages([message])[0]["content"] == [part]


def test_other_document_files_are_sent_as_input_file_with_their_type() -> None:
    csv = b"a,b\n1,2\n"
    item = only_item(Message.user().add_file(csv, filename="t.csv"))
    assert item["content"][0]["file_data"] == f"data:text/csv;base64,{b64(csv)}"


def test_uploaded_file_id_is_kept_and_round_trips() -> None:
    part = {"type": "input_file", "file_id": "file-abc", "filename": "notes.pdf"}
    [message] = decode_messages([{"role": "user", "content": [part]}])
    [file] = message.parts
    assert isinstance(file, File)
    assert file.extra == {OPENAI_RESPONSES: {"file_id": "file-abc"}}
    assert encode_messages([message])[0]["content"] == [part]


def test_an_uploaded_file_reference_cannot_be_read_for_another_provider() -> None:
    file = File(extra={OPENAI_RESPONSES: {"file_id": "file-abc"}})
    with pytest.raises(MediaError, match="file-abc"):
        file.read()


def test_image_file_id_round_trips() -> None:
    part = {"type": "input_image", "file_id": "file-img", "detail": "low"}
    item = {"role": "user", "content": [part]}
    assert encode_messages(decode_messages([item])) == [item]


@pytest.mark.parametrize("source", [MP3, "https://example.com/talk.mp3"])
def test_audio_file_raises_naming_provider_and_part_type(source: bytes | str) -> None:
    with pytest.raises(ConversionError, match="audio/mpeg File") as info:
        encode_messages([Message.user().add_file(source)])
    assert info.value.provider == OPENAI_RESPONSES


# -- parts in the wrong place -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "part_type"),
    [
        (Message("user", [ToolResult("f", "x", "c1")]), "ToolResult"),
        (Message("user", [weather_call()]), "ToolCall"),
        (Message("assistant", [Image(PNG)]), "Image"),
        (Message("assistant", [ToolResult("f", "x", "c1")]), "ToolResult"),
        (Message("tool", [Text("x")]), "Text"),
        (Message("system", [Thinking("t", "s", OPENAI_RESPONSES)]), "Thinking"),
    ],
)
def test_a_part_the_role_cannot_carry_raises_naming_the_part_type(
    message: Message, part_type: str
) -> None:
    with pytest.raises(ConversionError, match=part_type) as info:
        encode_messages([message])
    assert info.value.provider == OPENAI_RESPONSES


# -- malformed payloads -----------------------------------------------------------------------


def _call(**fields: Any) -> dict[str, Any]:
    return {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}", **fields}


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        (
            {"role": "user", "content": "x"},
            "input should be a string or a list of items, got an object",
        ),
        ([["not", "a", "dict"]], "input[0] should be an object, got a list"),
        (
            [{"role": "user"}],
            "input[0].content should be a string or a list of content parts, got nothing (the "
            "field is missing)",
        ),
        (
            [{"role": "user", "content": 5}],
            "input[0].content should be a string or a list of content parts, got an integer (5)",
        ),
        (
            [{"role": "robot", "content": "x"}],
            "input[0].role should be 'user', 'system', 'developer' or 'assistant', got a string "
            "('robot')",
        ),
        (
            [{"role": "user", "content": [{"text": "x"}]}],
            "input[0].content[0].type should be a string, got nothing (the field is missing)",
        ),
        (
            [{"role": "user", "content": [{"type": "input_text", "text": 3}]}],
            "input[0].content[0].text should be a string, got an integer (3)",
        ),
        (
            [{"role": "user", "content": [{"type": "input_audio"}]}],
            "input[0].content[0].type should be 'input_text', 'input_image' or 'input_file', got a "
            "string ('input",
        ),
        (
            [{"role": "user", "content": [{"type": "input_image"}]}],
            "input[0].content[0].image_url should be a string (or a file_id beside it), got "
            "nothing (the field is",
        ),
        (
            [{"role": "user", "content": [{"type": "input_image", "image_url": "data:x"}]}],
            "input[0].content[0].image_url: Malformed data URL (no comma): data:x...",
        ),
        (
            [{"role": "user", "content": [{"type": "input_file", "file_data": "JVBE"}]}],
            "input[0].content[0].file_data should be a data: URL (data:<type>;base64,...), got a "
            "string ('JVBE')",
        ),
        (
            [{"role": "user", "content": [{"type": "input_file"}]}],
            "input[0].content[0]: it needs a file_data, file_url or file_id",
        ),
        (
            [{"role": "assistant", "content": [{"type": "input_image", "image_url": "https://x"}]}],
            "input[0].content[0].type should be 'output_text' or 'refusal' (in assistant content), "
            "got a string (",
        ),
        ([_call(call_id=None)], "input[0].call_id should be a string, got null"),
        ([_call(name=7)], "input[0].name should be a string, got an integer (7)"),
        ([_call(arguments={"a": 1})], "input[0].arguments should be a string, got an object"),
        (
            [{"type": "function_call_output", "call_id": "c1"}],
            "input[0].output should be a string or a list of content parts, got nothing (the field "
            "is missing)",
        ),
        (
            [{"type": "function_call_output", "call_id": "c1", "output": 1}],
            "input[0].output should be a string or a list of content parts, got an integer (1)",
        ),
        (
            [{"type": "reasoning", "summary": "x"}],
            "input[0].summary should be a list, got a string ('x')",
        ),
        (
            [{"type": "reasoning", "summary": [{"type": "summary_text"}]}],
            "input[0].summary[0].text should be a string, got nothing (the field is missing)",
        ),
        (
            [{"type": "item_reference", "id": "x"}],
            "input[0].type should be an item's type, a non-empty string other than "
            "'item_reference' (which names ",
        ),
    ],
)
def test_malformed_payload_raises_conversion_error_naming_the_field(
    payload: Any, says: str
) -> None:
    with pytest.raises(ConversionError) as info:
        decode_messages(payload)
    assert str(info.value).startswith(f"openai-responses: message field {says}")
    assert info.value.provider == OPENAI_RESPONSES


def test_instructions_that_are_not_a_string_raise() -> None:
    with pytest.raises(ConversionError, match="instructions"):
        decode_messages("hi", instructions=["Be brief"])  # type: ignore[arg-type]


def test_encoding_something_that_is_not_a_message_raises() -> None:
    with pytest.raises(ConversionError, match=r"messages\[0\]"):
        encode_messages([{"role": "user", "content": "hi"}])  # type: ignore[list-item]


# -- Conversation wiring and round trips -------------------------------------------------


def test_conversation_converts_both_ways() -> None:
    conversation = Conversation.system("Be brief").add(Message.user("hi"))
    items = conversation.to_openai_responses()
    assert items == [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "hi"}]
    assert Conversation.from_openai_responses(items) == conversation


def without_error_flags(messages: list[Message]) -> list[Message]:
    """What a round trip yields: the Responses API has no error flag on a function_call_output
    (the error is in the output text), so ``is_error`` comes back False."""
    return [
        Message(
            m.role,
            [
                ToolResult(p.name, p.output, p.tool_call_id, attachments=p.attachments)
                if isinstance(p, ToolResult)
                else p
                for p in m.parts
            ],
        )
        for m in messages
    ]


@settings(max_examples=150, deadline=None)
@given(conversations(OPENAI_RESPONSES))
def test_random_conversations_survive_a_round_trip(messages: list[Message]) -> None:
    assert round_trip(messages) == without_error_flags(messages)


@settings(max_examples=150, deadline=None)
@given(conversations(ANTHROPIC))
def test_foreign_thinking_is_left_out_of_random_conversations(messages: list[Message]) -> None:
    without_thinking = [
        Message(m.role, [p for p in m.parts if not isinstance(p, Thinking)]) for m in messages
    ]
    assert round_trip(messages) == without_error_flags(without_thinking)


# -- the oracle: recorded requests ----------------------------------------------------------


def canonical(value: Any) -> Any:
    """Recorded items compared with exported ones. Keys are order-insensitive (dict equality);
    a base64 data URL is compared as its media type and the bytes it encodes. Nothing else is
    normalised: ids, null fields, string-vs-list content and argument spelling must match."""
    if isinstance(value, dict):
        return {key: canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    if isinstance(value, str) and value.startswith("data:") and ";base64," in value:
        header, payload = value.split(",", 1)
        return (header, decode_base64(payload))
    return value


def recorded_requests() -> list[cassettes.Interaction]:
    return [
        it
        for it in cassettes.all_interactions()
        if it.method == "POST" and it.uri.endswith("/v1/responses")
    ]


def expected_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The recorded input as items; instructions come back as a leading system item."""
    instructions, given_input = body.get("instructions"), body["input"]
    items = (
        [{"role": "user", "content": given_input}] if isinstance(given_input, str) else given_input
    )
    return ([{"role": "system", "content": instructions}] if instructions else []) + items


def test_every_recorded_responses_request_round_trips() -> None:
    cassettes.require()
    recorded = recorded_requests()
    checked = 0
    for interaction in recorded:
        body = interaction.request_json()
        neutral = decode_messages(body["input"], body.get("instructions"))
        assert all(r.name for m in neutral for r in m.tool_results), interaction.id
        encoded = encode_messages(neutral)
        assert canonical(encoded) == canonical(expected_items(body)), interaction.id
        checked += 1
    report.count("openai-responses requests round-tripped", checked)
    assert checked == len(recorded)
    assert checked > 0


def test_recorded_reasoning_follow_up_decodes_into_neutral_turns() -> None:
    cassettes.require()
    [follow_up] = [
        it
        for it in recorded_requests()
        if it.file.endswith("responses_tool_call_and_result_reasoning.yaml") and it.index == 1
    ]
    user, assistant, tool = decode_messages(follow_up.request_json()["input"])
    assert (user.role, assistant.role, tool.role) == ("user", "assistant", "tool")
    thinking, call = assistant.parts
    assert isinstance(thinking, Thinking)
    assert thinking.provider == OPENAI_RESPONSES
    assert thinking.signature
    assert thinking.extra[OPENAI_RESPONSES]["id"].startswith("rs_")
    assert call == ToolCall(
        "get_weather",
        {"city": "Paris"},
        "call_E4xGYcmG4CvUzTabsGjXo6ba",
        extra={OPENAI_RESPONSES: {"id": "fc_00bc57bdb9540c4a00697bc1f59a688197b4e0ec95cbf520b1"}},
    )
    assert tool.parts == [
        ToolResult("get_weather", "Sunny, 22C in Paris", "call_E4xGYcmG4CvUzTabsGjXo6ba")
    ]
