"""Anthropic Messages converter: service rules, media, errors, round trips, recorded requests."""

from __future__ import annotations

import base64
from typing import Any

import cassettes
import httpx
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
from agentloop.media import decode_base64
from agentloop.messages import ProviderPart
from agentloop.providers.anthropic import decode_messages, encode_messages
from agentloop.providers.anthropic.format import ANTHROPIC
from agentloop.providers.anthropic.messages import media_to_fetch
from agentloop.providers.gemini.format import GEMINI
from agentloop.providers.openai_chat.messages import OPENAI

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
PDF = b"%PDF-1.4\n%%EOF"
MP3 = b"ID3\x03\x00\x00\x00"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def user_content(message: Message) -> list[dict[str, Any]]:
    """The content blocks of the single wire message ``message`` encodes to."""
    _, wire = encode_messages([message])
    assert len(wire) == 1
    content: list[dict[str, Any]] = wire[0]["content"]
    return content


def round_trip(messages: list[Message]) -> list[Message]:
    return decode_messages(*encode_messages(messages))


def weather_call(call_id: str = "toolu_1") -> ToolCall:
    return ToolCall("get_weather", {"city": "Paris"}, call_id)


# -- system prompt --------------------------------------------------------------


def test_plain_system_message_becomes_the_system_string() -> None:
    system, wire = encode_messages([Message.system("Be brief"), Message.user("hi")])
    assert system == "Be brief"
    assert wire == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


def test_no_system_message_gives_no_system() -> None:
    assert encode_messages([Message.user("hi")])[0] is None


def test_system_with_cache_control_is_a_list_of_text_blocks_and_round_trips() -> None:
    cached = {"type": "text", "text": "long rules", "cache_control": {"type": "ephemeral"}}
    messages = decode_messages([cached], [{"role": "user", "content": "hi"}])
    assert messages[0] == Message(
        "system", [Text("long rules", {ANTHROPIC: {"cache_control": {"type": "ephemeral"}}})]
    )
    assert encode_messages(messages)[0] == [cached]


def test_a_later_system_message_is_hoisted_into_the_system_prompt() -> None:
    system, wire = encode_messages(
        [Message.system("first"), Message.user("hi"), Message.system("second")]
    )
    assert system == [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}]
    assert [m["role"] for m in wire] == ["user"]


def test_system_prompt_takes_only_text() -> None:
    with pytest.raises(ConversionError, match=r"Anthropic.*system.*Image"):
        encode_messages([Message("system", [Image(PNG)])])


# -- alternation and tool results -------------------------------------------------


def test_tool_results_come_first_in_the_user_message_that_follows() -> None:
    messages = [
        Message.user("weather?"),
        Message.assistant(tool_calls=[weather_call()]),
        Message.tool(ToolResult("get_weather", "Sunny", "toolu_1")),
        Message.user("and tomorrow?"),
    ]
    _, wire = encode_messages(messages)
    assert [m["role"] for m in wire] == ["user", "assistant", "user"]
    assert wire[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny"},
        {"type": "text", "text": "and tomorrow?"},
    ]


def test_tool_results_go_before_user_text_even_when_given_after_it() -> None:
    messages = [
        Message.assistant(tool_calls=[weather_call()]),
        Message.user("note"),
        Message.tool(ToolResult("get_weather", "Sunny", "toolu_1")),
    ]
    _, wire = encode_messages(messages)
    assert [b["type"] for b in wire[1]["content"]] == ["tool_result", "text"]


def test_consecutive_same_role_messages_are_merged() -> None:
    _, wire = encode_messages([Message.user("a"), Message.user("b"), Message.assistant("c")])
    assert wire == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "c"}]},
    ]


def test_results_of_parallel_calls_share_one_user_message() -> None:
    calls = [weather_call("toolu_1"), weather_call("toolu_2")]
    messages = [
        Message.assistant(tool_calls=calls),
        Message.tool(ToolResult("get_weather", "Sunny", "toolu_1")),
        Message.tool(ToolResult("get_weather", "Rain", "toolu_2")),
    ]
    _, wire = encode_messages(messages)
    assert [b["tool_use_id"] for b in wire[1]["content"]] == ["toolu_1", "toolu_2"]


def test_import_splits_tool_results_from_the_rest_of_a_user_message() -> None:
    wire = [
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "done"},
                {"type": "text", "text": "thanks"},
            ],
        },
    ]
    messages = decode_messages(None, wire)
    assert [m.role for m in messages] == ["assistant", "tool", "user"]
    assert messages[2].parts == [Text("thanks")]


def test_tool_result_name_is_recovered_from_the_tool_use_id() -> None:
    wire = [
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "x"}]},
    ]
    assert decode_messages(None, wire)[1].parts == [ToolResult("f", "x", "t1")]


def test_tool_result_without_a_matching_tool_use_has_an_empty_name() -> None:
    wire = [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t9"}]}]
    assert decode_messages(None, wire)[0].parts == [ToolResult("", "", "t9")]


def test_failed_tool_result_is_marked_is_error() -> None:
    result = ToolResult("f", "boom", "t1", is_error=True)
    assert user_content(Message.tool(result))[0]["is_error"] is True


def test_explicit_is_error_false_survives_a_round_trip_and_absent_stays_absent() -> None:
    explicit = {"type": "tool_result", "tool_use_id": "t1", "content": "ok", "is_error": False}
    absent = {"type": "tool_result", "tool_use_id": "t2", "content": "ok"}
    wire = [{"role": "user", "content": [explicit, absent]}]
    assert encode_messages(decode_messages(None, wire))[1] == wire


def test_tool_result_image_goes_inside_the_tool_result_content() -> None:
    result = ToolResult("snap", "here", "t1", attachments=[Image(PNG)])
    assert user_content(Message.tool(result))[0]["content"] == [
        {"type": "text", "text": "here"},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": b64(PNG)},
        },
    ]


def test_tool_result_pdf_goes_inside_the_tool_result_content_as_a_document() -> None:
    result = ToolResult("fetch", "", "t1", attachments=[File(PDF, "a.pdf")])
    [document] = user_content(Message.tool(result))[0]["content"]
    assert document["type"] == "document"
    assert document["title"] == "a.pdf"


def test_text_block_extras_inside_tool_result_content_round_trip() -> None:
    text = {"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}
    block = {"type": "tool_result", "tool_use_id": "t1", "content": [text]}
    wire = [{"role": "user", "content": [block]}]
    assert encode_messages(decode_messages(None, wire))[1] == wire


def test_tool_call_arguments_are_the_input_object() -> None:
    _, wire = encode_messages([Message.assistant(tool_calls=[weather_call()])])
    assert wire[0]["content"] == [
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
    ]


def test_unparseable_arguments_from_another_provider_are_sent_as_an_empty_input() -> None:
    call = ToolCall("f", {}, "t1", raw_arguments="{not json")
    _, wire = encode_messages([Message.assistant(tool_calls=[call])])
    assert wire[0]["content"][0]["input"] == {}


def test_cache_control_on_a_tool_use_block_round_trips() -> None:
    block = {"type": "tool_use", "id": "t", "name": "f", "input": {}, "cache_control": {"a": 1}}
    wire = [{"role": "assistant", "content": [block]}]
    assert encode_messages(decode_messages(None, wire))[1] == wire


# -- thinking ---------------------------------------------------------------------


def test_anthropic_thinking_is_sent_back_with_its_signature() -> None:
    thinking = Thinking("hmm", signature="sig", provider=ANTHROPIC)
    _, wire = encode_messages([Message("assistant", [thinking, Text("hi")])])
    assert wire[0]["content"][0] == {"type": "thinking", "thinking": "hmm", "signature": "sig"}


def test_redacted_thinking_round_trips_as_a_redacted_thinking_part() -> None:
    wire = [{"role": "assistant", "content": [{"type": "redacted_thinking", "data": "EnCr"}]}]
    messages = decode_messages(None, wire)
    assert messages[0].parts == [Thinking("", "EnCr", ANTHROPIC, redacted=True)]
    assert encode_messages(messages)[1] == wire


def test_redacted_thinking_without_data_cannot_be_sent() -> None:
    message = Message("assistant", [Thinking("", provider=ANTHROPIC, redacted=True)])
    with pytest.raises(ConversionError, match="redacted"):
        encode_messages([message])


@pytest.mark.parametrize("provider", [OPENAI, GEMINI, None])
def test_thinking_from_another_provider_is_left_out_not_turned_into_text(
    provider: str | None,
) -> None:
    message = Message("assistant", [Thinking("secret", "sig", provider), Text("hi")])
    _, wire = encode_messages([Message.user("q"), message])
    assert wire[1]["content"] == [{"type": "text", "text": "hi"}]


def test_a_message_left_empty_by_foreign_thinking_is_not_sent() -> None:
    message = Message("assistant", [Thinking("secret", "sig", OPENAI)])
    assert encode_messages([Message.user("q"), message])[1] == [
        {"role": "user", "content": [{"type": "text", "text": "q"}]}
    ]


# -- media ------------------------------------------------------------------------


@respx.mock
def test_image_url_is_passed_through_without_download() -> None:
    [_, block] = user_content(Message.user("look").add_image("https://example.com/cat.png"))
    assert block == {
        "type": "image",
        "source": {"type": "url", "url": "https://example.com/cat.png"},
    }


def test_image_bytes_are_sent_as_base64() -> None:
    [block] = user_content(Message.user().add_image(PNG))
    assert block["source"] == {"type": "base64", "media_type": "image/png", "data": b64(PNG)}


def test_image_data_url_is_sent_as_base64_with_its_declared_type() -> None:
    gif = b"GIF89a\x01\x00"
    [block] = user_content(Message.user().add_image(f"data:image/gif;base64,{b64(gif)}"))
    assert block["source"] == {"type": "base64", "media_type": "image/gif", "data": b64(gif)}


def test_image_of_a_type_anthropic_rejects_raises_naming_the_type() -> None:
    with pytest.raises(ConversionError, match=r"Anthropic.*image/bmp") as info:
        encode_messages([Message.user().add_image(b"BM" + b"\x00" * 8)])
    assert info.value.provider == ANTHROPIC


def test_pdf_bytes_are_a_base64_document_titled_with_the_filename() -> None:
    [block] = user_content(Message.user().add_file(PDF, filename="Q4.pdf"))
    assert block == {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": b64(PDF)},
        "title": "Q4.pdf",
    }


@respx.mock
def test_pdf_url_is_passed_through_without_download() -> None:
    [block] = user_content(Message.user().add_file("https://example.com/report.pdf"))
    assert block == {
        "type": "document",
        "source": {"type": "url", "url": "https://example.com/report.pdf"},
    }


def test_pdf_data_url_is_a_base64_document() -> None:
    [block] = user_content(Message.user().add_file(f"data:application/pdf;base64,{b64(PDF)}"))
    assert block["source"] == {"type": "base64", "media_type": "application/pdf", "data": b64(PDF)}


def test_text_file_is_a_plain_text_document() -> None:
    [block] = user_content(Message.user().add_file(File(b"# Notes", "notes.md")))
    assert block["source"] == {"type": "text", "media_type": "text/plain", "data": "# Notes"}


@respx.mock
def test_text_file_url_is_downloaded_and_inlined() -> None:
    respx.get("https://example.com/notes.txt").mock(return_value=httpx.Response(200, text="hi"))
    message = Message.user().add_file("https://example.com/notes.txt")
    assert media_to_fetch([message]) == message.parts
    _, [wire] = Conversation([message]).to_anthropic()  # the converter downloads first
    [block] = wire["content"]
    assert block["source"] == {"type": "text", "media_type": "text/plain", "data": "hi"}


def test_images_and_pdfs_by_url_are_never_fetched() -> None:
    message = Message.user().add_image("https://example.com/cat.png")
    message.add_file("https://example.com/report.pdf").add_file("https://example.com/blob")
    assert media_to_fetch([message]) == []


def test_text_file_that_is_not_utf8_raises() -> None:
    with pytest.raises(ConversionError, match="UTF-8"):
        encode_messages([Message.user().add_file(File(b"\xff\xfe\x00", "a.txt"))])


def test_image_given_as_a_file_is_sent_as_an_image() -> None:
    [block] = user_content(Message.user().add_file(File(PNG, "pic.png")))
    assert block["type"] == "image"


@pytest.mark.parametrize(
    ("file", "media_type"),
    [
        (File(MP3, "song.mp3"), "audio/mpeg"),
        (File("https://example.com/clip.mp4"), "video/mp4"),
        (File(b"PK\x03\x04zip", "a.zip"), "application/zip"),
    ],
    ids=["audio", "video-url", "zip"],
)
@respx.mock
def test_a_file_anthropic_cannot_take_raises_naming_provider_and_type(
    file: File, media_type: str
) -> None:
    with pytest.raises(ConversionError, match=f"Anthropic.*File.*{media_type}") as info:
        encode_messages([Message.user("listen").add_file(file)])
    assert info.value.provider == ANTHROPIC


def test_image_in_an_assistant_message_raises() -> None:
    with pytest.raises(ConversionError, match=r"Anthropic.*Image.*assistant"):
        encode_messages([Message("assistant", [Image(PNG)])])


def test_document_extras_and_title_round_trip() -> None:
    block = {
        "type": "document",
        "source": {"type": "url", "url": "https://example.com/a.pdf"},
        "title": "A",
        "context": "annual report",
        "citations": {"enabled": True},
    }
    wire = [{"role": "user", "content": [block]}]
    messages = decode_messages(None, wire)
    assert messages[0].parts[0] == File(
        url="https://example.com/a.pdf",
        media_type="application/pdf",
        filename="A",
        extra={ANTHROPIC: {"context": "annual report", "citations": {"enabled": True}}},
    )
    assert encode_messages(messages)[1] == wire


def test_files_api_reference_round_trips() -> None:
    source = {"type": "file", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"}
    wire = [{"role": "user", "content": [{"type": "document", "source": source}]}]
    assert encode_messages(decode_messages(None, wire))[1] == wire


def test_a_file_stored_by_another_provider_raises() -> None:
    stored = File(extra={OPENAI: {"file_id": "file-abc"}})
    with pytest.raises(ConversionError, match=r"Anthropic.*File.*openai"):
        encode_messages([Message.user("read").add_file(stored)])


# -- malformed payloads -------------------------------------------------------------


def _user(*blocks: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(blocks)}]


@pytest.mark.parametrize(
    ("system", "messages", "says"),
    [
        (None, {"role": "user"}, "messages should be a list of turns, got an object"),
        (None, ["hi"], "messages[0] should be an object, got a string ('hi')"),
        (
            None,
            [{"content": "hi"}],
            "messages[0].role should be 'user' or 'assistant', got nothing (the field is missing)",
        ),
        (
            None,
            [{"role": "user", "content": 3}],
            "messages[0].content should be a string or a list of blocks, got an integer (3)",
        ),
        (
            None,
            _user({"text": "no type"}),
            "messages[0].content[0].type should be a string, got nothing (the field is missing)",
        ),
        (
            None,
            _user({"type": "image"}),
            "messages[0].content[0].source should be an object, got nothing (the field is missing)",
        ),
        (
            None,
            _user({"type": "image", "source": {"type": "url"}}),
            "messages[0].content[0].source.url should be a string, got nothing (the field is "
            "missing)",
        ),
        (
            None,
            _user({"type": "image", "source": {"type": "file"}}),
            "messages[0].content[0].source.file_id should be a string, got nothing (the field is "
            "missing)",
        ),
        (
            None,
            _user({"type": "image", "source": {"type": "x"}}),
            "messages[0].content[0].source.type should be 'file', 'base64', 'url' or 'text', got a "
            "string ('x')",
        ),
        (
            None,
            _user({"type": "image", "source": {"type": "base64", "media_type": "image/png"}}),
            "messages[0].content[0].source.data should be a string, got nothing (the field is "
            "missing)",
        ),
        (
            None,
            _user({"type": "image", "source": {"type": "base64", "media_type": "x", "data": "!"}}),
            "messages[0].content[0].source.data: Invalid base64 data: Only base64 data is allowed",
        ),
        (
            None,
            _user({"type": "tool_result"}),
            "messages[0].content[0].tool_use_id should be a string, got nothing (the field is "
            "missing)",
        ),
        (
            None,
            _user({"type": "tool_result", "tool_use_id": "t", "is_error": "no"}),
            "messages[0].content[0].is_error should be a boolean, got a string ('no')",
        ),
        (
            None,
            _user({"type": "tool_result", "tool_use_id": "t", "content": 5}),
            "messages[0].content[0].content should be a string or a list of blocks, got an integer "
            "(5)",
        ),
        (
            None,
            _user({"type": "audio"}),
            "messages[0].content[0].type should be 'text', 'image', 'document' or 'tool_result' "
            "(in a user turn),",
        ),
        (
            None,
            [{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f"}]}],
            "messages[0].content[0].input should be an object, got nothing (the field is missing)",
        ),
        (
            None,
            [{"role": "assistant", "content": [{"type": "thinking", "thinking": 1}]}],
            "messages[0].content[0].thinking should be a string, got an integer (1)",
        ),
        (42, [], "system should be a string or a list of text blocks, got an integer (42)"),
        ([{"type": "image"}], [], "system[0].type should be 'text', got a string ('image')"),
        (
            None,
            _user({"type": "text", "text": None}),
            "messages[0].content[0].text should be a string, got null",
        ),
    ],
)
def test_malformed_payload_raises_conversion_error_naming_the_field(
    system: Any, messages: Any, says: str
) -> None:
    with pytest.raises(ConversionError) as info:
        decode_messages(system, messages)
    assert str(info.value).startswith(f"anthropic: message field {says}")
    assert info.value.provider == ANTHROPIC


def test_an_assistant_block_type_this_codec_does_not_know_is_kept_as_received() -> None:
    block = {"type": "container_upload", "file_id": "file_1"}
    messages = [{"role": "assistant", "content": [{"type": "text", "text": "hi"}, block]}]
    decoded = decode_messages(None, messages)
    part = decoded[0].parts[1]
    assert isinstance(part, ProviderPart)
    assert (part.provider, part.kind, part.payload) == (ANTHROPIC, "container_upload", block)
    assert encode_messages(decoded) == (None, messages)
    assert decoded[0].text == "hi"


# -- Conversation wiring and round trips -------------------------------------------------


def test_conversation_converts_both_ways() -> None:
    conversation = Conversation.system("Be brief").add(Message.user("hi"))
    system, messages = conversation.to_anthropic()
    assert system == "Be brief"
    assert Conversation.from_anthropic(system, messages) == conversation


def merge_same_roles(messages: list[Message]) -> list[Message]:
    """What a round trip yields: Anthropic alternates roles, so consecutive messages of one
    role come back as one message with their parts in order."""
    merged: list[Message] = []
    for message in messages:
        if merged and merged[-1].role == message.role:
            merged[-1] = Message(message.role, [*merged[-1].parts, *message.parts])
        else:
            merged.append(Message(message.role, list(message.parts)))
    return merged


@settings(max_examples=150, deadline=None)
@given(conversations(ANTHROPIC))
def test_random_conversations_survive_a_round_trip(messages: list[Message]) -> None:
    assert round_trip(messages) == merge_same_roles(messages)


@settings(max_examples=150, deadline=None)
@given(conversations(GEMINI))
def test_foreign_thinking_is_left_out_of_random_conversations(messages: list[Message]) -> None:
    without_thinking = [
        Message(m.role, [p for p in m.parts if not isinstance(p, Thinking)]) for m in messages
    ]
    assert round_trip(messages) == merge_same_roles(without_thinking)


# -- the oracle: recorded requests ----------------------------------------------------------


def canonical_content(content: Any) -> Any:
    """A plain string is the same content as one text block."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [canonical_block(block) for block in content]


def canonical_block(block: dict[str, Any]) -> dict[str, Any]:
    """Null-valued optional fields are absent; base64 is compared as the bytes it encodes."""
    out = {k: v for k, v in block.items() if v is not None}
    if out.get("type") == "tool_result" and "content" in out:
        out["content"] = canonical_content(out["content"])
    source = out.get("source")
    if isinstance(source, dict) and source.get("type") == "base64":
        out["source"] = {**source, "data": decode_base64(source["data"])}
    return out


def canonical_request(system: Any, messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "system": None if system is None else canonical_content(system),
        "messages": [{**m, "content": canonical_content(m["content"])} for m in messages],
    }


def recorded_requests() -> list[cassettes.Interaction]:
    return [
        it
        for it in cassettes.all_interactions()
        if it.file.startswith("anthropic/") and it.method == "POST" and "/v1/messages" in it.uri
    ]


def test_every_recorded_anthropic_request_round_trips() -> None:
    cassettes.require()
    recorded = recorded_requests()
    checked = 0
    for interaction in recorded:
        body = interaction.request_json()
        system, messages = body.get("system"), body["messages"]
        neutral = decode_messages(system, messages)
        assert all(r.name for m in neutral for r in m.tool_results), interaction.id
        encoded = encode_messages(neutral)
        assert canonical_request(*encoded) == canonical_request(system, messages), interaction.id
        checked += 1
    report.count("anthropic requests round-tripped", checked)
    assert checked == len(recorded)
    assert checked > 0
