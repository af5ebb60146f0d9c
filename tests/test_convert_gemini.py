"""Gemini ``generateContent``: neutral messages <-> ``(systemInstruction, contents)``."""

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

from agentloop import (
    Conversation,
    ConversionError,
    File,
    Image,
    MediaError,
    Message,
    Text,
    Thinking,
    ToolCall,
    ToolResult,
)
from agentloop.media import decode_base64
from agentloop.providers.anthropic.format import ANTHROPIC
from agentloop.providers.gemini import decode_messages, encode_messages
from agentloop.providers.gemini.format import GEMINI
from agentloop.providers.gemini.messages import media_to_fetch
from agentloop.providers.openai_chat.messages import OPENAI

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
PDF = b"%PDF-1.4\n" + b"\x00" * 8
MP3 = b"ID3\x03\x00" + b"\x00" * 8


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def contents_of(*messages: Message) -> list[dict[str, Any]]:
    return encode_messages(list(messages))[1]


def only_part(*messages: Message) -> dict[str, Any]:
    (content,) = contents_of(*messages)
    (part,) = content["parts"]
    return part


def round_trip(messages: list[Message]) -> list[Message]:
    return decode_messages(*encode_messages(messages))


def weather_call(call_id: str = "call_1") -> ToolCall:
    return ToolCall("get_weather", {"city": "Paris"}, call_id)


# -- service rules --------------------------------------------------------------------


def test_system_message_becomes_system_instruction() -> None:
    system, contents = Conversation.system("Be brief").add(Message.user("hi")).to_gemini()
    assert system == {"parts": [{"text": "Be brief"}]}
    assert contents == [{"role": "user", "parts": [{"text": "hi"}]}]


def test_no_system_message_gives_no_system_instruction() -> None:
    assert encode_messages([Message.user("hi")])[0] is None


def test_later_system_messages_are_hoisted_into_system_instruction_in_order() -> None:
    system, contents = encode_messages(
        [Message.system("one"), Message.user("hi"), Message.system("two")]
    )
    assert system == {"parts": [{"text": "one"}, {"text": "two"}]}
    assert [c["role"] for c in contents] == ["user"]


def test_assistant_messages_use_the_model_role() -> None:
    contents = contents_of(Message.user("hi"), Message.assistant("hello"))
    assert [c["role"] for c in contents] == ["user", "model"]


def test_tool_call_becomes_function_call_with_its_id() -> None:
    part = only_part(Message.assistant(tool_calls=[weather_call()]))
    assert part == {
        "functionCall": {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}
    }


def test_function_response_names_the_function_and_wraps_output_in_an_object() -> None:
    part = only_part(Message.tool(ToolResult("get_weather", "Sunny", "call_1")))
    assert part == {
        "functionResponse": {"name": "get_weather", "response": {"result": "Sunny"}, "id": "call_1"}
    }


def test_tool_result_without_name_takes_the_name_of_its_call() -> None:
    contents = contents_of(
        Message.assistant(tool_calls=[weather_call()]),
        Message.tool(ToolResult("", "Sunny", "call_1")),
    )
    assert contents[1]["parts"][0]["functionResponse"]["name"] == "get_weather"


def test_tool_result_whose_function_name_is_unknown_is_refused() -> None:
    with pytest.raises(ConversionError, match="function name"):
        contents_of(Message.tool(ToolResult("", "Sunny", "call_9")))


def test_failed_tool_result_goes_under_the_error_key() -> None:
    part = only_part(Message.tool(ToolResult("f", "boom", "c", is_error=True)))
    assert part["functionResponse"]["response"] == {"error": "boom"}


def test_results_of_parallel_calls_share_the_user_turn_after_the_calls() -> None:
    calls = [weather_call("a"), ToolCall("get_time", {}, "b")]
    contents = contents_of(
        Message.user("go"),
        Message.assistant(tool_calls=calls),
        Message.tool(ToolResult("get_weather", "Sunny", "a")),
        Message.tool(ToolResult("get_time", "noon", "b")),
        Message.user("thanks"),
    )
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    assert [next(iter(p)) for p in contents[2]["parts"]] == [
        "functionResponse",
        "functionResponse",
        "text",
    ]


def test_consecutive_user_messages_merge_into_one_turn() -> None:
    contents = contents_of(Message.user("a"), Message.user("b"))
    assert contents == [{"role": "user", "parts": [{"text": "a"}, {"text": "b"}]}]


def test_a_user_turn_splits_back_into_tool_results_then_user_text() -> None:
    messages = [
        Message.assistant(tool_calls=[weather_call()]),
        Message.tool(ToolResult("get_weather", "Sunny", "call_1")),
        Message.user("thanks"),
    ]
    assert round_trip(messages) == messages


def test_tool_result_images_go_inside_the_function_response() -> None:
    result = ToolResult("shot", "see image", "c", attachments=[Image(PNG)])
    body = only_part(Message.tool(result))["functionResponse"]
    assert body["parts"] == [{"inlineData": {"mimeType": "image/png", "data": b64(PNG)}}]
    assert round_trip([Message.tool(result)]) == [Message.tool(result)]


def test_tool_result_attachment_name_is_sent_as_display_name() -> None:
    result = ToolResult("read", "the file", "c", attachments=[File(PDF, "a.pdf")])
    body = only_part(Message.tool(result))["functionResponse"]
    assert body["parts"][0]["inlineData"]["displayName"] == "a.pdf"
    assert round_trip([Message.tool(result)]) == [Message.tool(result)]


def test_gemini_thinking_is_sent_back_as_a_thought_part_with_its_signature() -> None:
    part = only_part(Message("assistant", [Thinking("hmm", "c2ln", GEMINI)]))
    assert part == {"text": "hmm", "thought": True, "thoughtSignature": "c2ln"}


@pytest.mark.parametrize("provider", [ANTHROPIC, OPENAI, None])
def test_thinking_from_another_provider_is_left_out(provider: str | None) -> None:
    message = Message("assistant", [Thinking("hmm", "sig", provider), Text("answer")])
    assert only_part(message) == {"text": "answer"}


def test_assistant_turn_holding_only_foreign_thinking_is_left_out() -> None:
    contents = contents_of(
        Message.user("a"), Message("assistant", [Thinking("x", None, OPENAI)]), Message.user("b")
    )
    assert contents == [{"role": "user", "parts": [{"text": "a"}, {"text": "b"}]}]


# -- media ----------------------------------------------------------------------------


def test_image_bytes_are_inlined() -> None:
    part = only_part(Message.user().add_image(PNG))
    assert part == {"inlineData": {"mimeType": "image/png", "data": b64(PNG)}}


def test_image_url_is_passed_as_file_data() -> None:
    part = only_part(Message.user().add_image("https://example.com/cat.png"))
    assert part == {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/cat.png"}}


def test_image_data_url_is_inlined() -> None:
    part = only_part(Message.user().add_image(f"data:image/png;base64,{b64(PNG)}"))
    assert part == {"inlineData": {"mimeType": "image/png", "data": b64(PNG)}}


def test_pdf_bytes_are_inlined() -> None:
    part = only_part(Message.user(file=File(PDF, "report.pdf")))
    assert part == {"inlineData": {"mimeType": "application/pdf", "data": b64(PDF)}}


def test_pdf_url_is_passed_as_file_data() -> None:
    part = only_part(Message.user(file="https://example.com/report.pdf"))
    assert part == {
        "fileData": {"mimeType": "application/pdf", "fileUri": "https://example.com/report.pdf"}
    }


def test_cloud_storage_uri_with_known_type_is_passed_as_file_data() -> None:
    part = only_part(Message.user(file=File("gs://bucket/talk.mp3")))
    assert part == {"fileData": {"mimeType": "audio/mpeg", "fileUri": "gs://bucket/talk.mp3"}}


def test_audio_bytes_are_inlined() -> None:
    part = only_part(Message.user(file=File(MP3)))
    assert part == {"inlineData": {"mimeType": "audio/mpeg", "data": b64(MP3)}}


@respx.mock
def test_url_of_unknown_type_is_downloaded_and_inlined() -> None:
    respx.get("https://example.com/picture").mock(
        return_value=httpx.Response(200, content=PNG, headers={"content-type": "image/png"})
    )
    message = Message.user().add_image("https://example.com/picture")
    assert media_to_fetch([message]) == [message.parts[0]]
    _, [content] = Conversation([message]).to_gemini()  # the converter downloads first
    assert content["parts"] == [{"inlineData": {"mimeType": "image/png", "data": b64(PNG)}}]
    assert media_to_fetch([message]) == []  # the bytes are kept on the part


@respx.mock
def test_tool_result_image_url_is_downloaded_because_function_responses_take_no_urls() -> None:
    respx.get("https://example.com/shot.png").mock(return_value=httpx.Response(200, content=PNG))
    result = ToolResult("shot", "done", "c", attachments=[Image("https://example.com/shot.png")])
    assert media_to_fetch([Message.tool(result)]) == result.attachments
    _, [content] = Conversation([Message.tool(result)]).to_gemini()
    body = content["parts"][0]["functionResponse"]
    assert body["parts"] == [{"inlineData": {"mimeType": "image/png", "data": b64(PNG)}}]


def test_the_codec_never_downloads_a_url_it_must_inline() -> None:
    no_route = respx.mock()  # any HTTP request would fail: no route is mocked
    with no_route, pytest.raises(MediaError, match=r"example\.com/picture has no bytes yet"):
        contents_of(Message.user().add_image("https://example.com/picture"))


def test_cloud_storage_uri_of_unknown_type_is_refused() -> None:
    with pytest.raises(ConversionError, match=r"gs://bucket/blob.*media type"):
        contents_of(Message.user(file=File("gs://bucket/blob")))


def test_file_bytes_of_unknown_type_are_refused() -> None:
    with pytest.raises(ConversionError, match="no media type") as info:
        contents_of(Message.user(file=File(b"just some bytes")))
    assert info.value.provider == GEMINI


def test_user_file_names_are_not_sent() -> None:
    part = only_part(Message.user(file=File(PDF, "secret-name.pdf")))
    assert "secret-name" not in json.dumps(part)


# -- parts Gemini cannot carry ---------------------------------------------------------


def test_image_in_a_system_message_is_refused_naming_the_part() -> None:
    with pytest.raises(ConversionError, match=r"Gemini.*text only.*Image"):
        encode_messages([Message("system", [Image(PNG)])])


def test_tool_call_in_a_user_message_is_refused() -> None:
    with pytest.raises(ConversionError, match=r"Gemini.*ToolCall in a user message"):
        encode_messages([Message("user", [weather_call()])])


def test_tool_result_in_an_assistant_message_is_refused() -> None:
    with pytest.raises(ConversionError, match=r"Gemini.*ToolResult in an assistant message"):
        encode_messages([Message("assistant", [ToolResult("f", "x", "c")])])


# -- import -----------------------------------------------------------------------------


def test_snake_case_fields_from_the_python_sdk_are_accepted() -> None:
    contents = [
        {"role": "user", "parts": [{"inline_data": {"mime_type": "image/png", "data": b64(PNG)}}]},
        {
            "role": "model",
            "parts": [
                {
                    "function_call": {"name": "f", "args": {"a": 1}, "id": "c"},
                    "thought_signature": "sig",
                }
            ],
        },
        {
            "role": "user",
            "parts": [{"function_response": {"name": "f", "response": {}, "id": "c"}}],
        },
        {
            "role": "user",
            "parts": [{"file_data": {"mime_type": "application/pdf", "file_uri": "gs://b/x"}}],
        },
    ]
    user, assistant, tool, user2 = decode_messages(None, contents)
    assert user.parts == [Image(data=PNG, media_type="image/png")]
    assert assistant.parts == [
        ToolCall("f", {"a": 1}, "c", extra={GEMINI: {"thoughtSignature": "sig"}})
    ]
    assert tool.tool_results[0].tool_call_id == "c"
    assert user2.parts == [File(url="gs://b/x", media_type="application/pdf")]


def test_base64url_inline_data_is_accepted() -> None:
    data = b"\xfb\xff\xfe" * 4
    raw = base64.urlsafe_b64encode(data).decode()
    assert "-" in raw or "_" in raw
    content = {"role": "user", "parts": [{"inlineData": {"mimeType": "audio/wav", "data": raw}}]}
    (message,) = decode_messages(None, [content])
    assert message.parts == [File(data=data, media_type="audio/wav")]


def test_calls_without_ids_get_stable_unique_ids_paired_with_their_responses() -> None:
    contents = [
        {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}] * 2},
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "f", "response": {"result": r}}}
                for r in ("one", "two")
            ],
        },
    ]
    first = decode_messages(None, contents)
    calls, results = first[0].tool_calls, first[1].tool_results
    assert len({c.tool_call_id for c in calls}) == 2
    assert [r.tool_call_id for r in results] == [c.tool_call_id for c in calls]
    assert decode_messages(None, contents) == first
    assert encode_messages(first)[1] == contents


def test_response_key_other_than_result_is_kept() -> None:
    part = {"functionResponse": {"name": "f", "response": {"return_value": "cars"}, "id": "c"}}
    (message,) = decode_messages(None, [{"role": "user", "parts": [part]}])
    assert message.tool_results[0].output == "cars"
    assert encode_messages([message])[1][0]["parts"] == [part]


def test_structured_response_is_kept_as_json_text_and_exported_unchanged() -> None:
    response = {"temperature": 21, "unit": "C"}
    part = {"functionResponse": {"name": "f", "response": response, "id": "c"}}
    (message,) = decode_messages(None, [{"role": "user", "parts": [part]}])
    assert json.loads(message.tool_results[0].output) == response
    assert encode_messages([message])[1][0]["parts"] == [part]


def test_error_response_imports_as_a_failed_tool_result() -> None:
    part = {"functionResponse": {"name": "f", "response": {"error": "boom"}, "id": "c"}}
    (message,) = decode_messages(None, [{"role": "user", "parts": [part]}])
    assert message.tool_results[0].is_error
    assert message.tool_results[0].output == "boom"


def test_thought_parts_import_as_gemini_thinking() -> None:
    content = {"role": "model", "parts": [
        {"text": "**Plan**", "thought": True, "thoughtSignature": "c2ln"},
        {"text": "Hi", "thoughtSignature": "dGV4dA=="},
    ]}  # fmt: skip
    (message,) = decode_messages(None, [content])
    assert message.parts == [
        Thinking("**Plan**", "c2ln", GEMINI),
        Text("Hi", {GEMINI: {"thoughtSignature": "dGV4dA=="}}),
    ]
    assert encode_messages([message])[1] == [content]


def test_signature_only_part_survives_the_round_trip() -> None:
    content = {"role": "model", "parts": [{"text": "Hi"}, {"thoughtSignature": "c2ln"}]}
    messages = decode_messages(None, [content])
    assert isinstance(messages[0].parts[1], Thinking)
    assert encode_messages(messages)[1] == [content]


def test_unknown_part_fields_are_kept() -> None:
    content = {"role": "user", "parts": [{
        "fileData": {"mimeType": "video/mp4", "fileUri": "gs://b/v.mp4"},
        "videoMetadata": {"startOffset": "10s"},
    }]}  # fmt: skip
    assert encode_messages(decode_messages(None, [content]))[1] == [content]


def test_system_instruction_role_is_kept() -> None:
    system = {"parts": [{"text": "Be brief"}], "role": "user"}
    assert encode_messages(decode_messages(system, []))[0] == system


@pytest.mark.parametrize(
    ("system", "contents", "says"),
    [
        (None, {"role": "user"}, "contents should be a list of contents, got an object"),
        (None, ["hi"], "contents[0] should be an object, got a string ('hi')"),
        (
            None,
            [{"role": "user"}],
            "contents[0].parts should be a list, got nothing (the field is missing)",
        ),
        (
            None,
            [{"role": "system", "parts": []}],
            "contents[0].role should be 'user' or 'model', got a string ('system')",
        ),
        (
            None,
            [{"role": "user", "parts": [], "x": 1}],
            "contents[0]: it has unknown fields ['x']; a content has role and parts",
        ),
        (
            None,
            [{"parts": [{"somethingElse": {}}]}],
            "contents[0].parts[0]: it has none of text, inlineData, fileData, functionCall, "
            "functionResponse (key",
        ),
        (
            None,
            [{"parts": [{"text": 3}]}],
            "contents[0].parts[0].text should be a string, got an integer (3)",
        ),
        (
            None,
            [{"parts": [{"text": "a", "inlineData": {}}]}],
            "contents[0].parts[0]: it holds several data fields ['text', 'inlineData']; a part "
            "holds one",
        ),
        (
            None,
            [{"parts": [{"inlineData": {"data": "AAAA"}}]}],
            "contents[0].parts[0].inlineData.mimeType should be a string, got null",
        ),
        (
            None,
            [{"parts": [{"inlineData": {"mimeType": "image/png"}}]}],
            "contents[0].parts[0].inlineData.data should be a string, got nothing (the field is "
            "missing)",
        ),
        (
            None,
            [{"parts": [{"inlineData": {"mimeType": "image/png", "data": "@@@"}}]}],
            "contents[0].parts[0].inlineData.data: Invalid base64 data: Only base64 data is "
            "allowed",
        ),
        (
            None,
            [{"parts": [{"fileData": {"mimeType": "image/png"}}]}],
            "contents[0].parts[0].fileData.fileUri should be a string, got nothing (the field is "
            "missing)",
        ),
        (
            None,
            [{"role": "model", "parts": [{"functionCall": {"args": {}}}]}],
            "contents[0].parts[0].functionCall.name should be a string, got nothing (the field is "
            "missing)",
        ),
        (
            None,
            [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": [1]}}]}],
            "contents[0].parts[0].functionCall.args should be an object, got a list",
        ),
        (
            None,
            [{"parts": [{"functionResponse": {"name": "f", "response": "ok"}}]}],
            "contents[0].parts[0].functionResponse.response should be an object, got a string "
            "('ok')",
        ),
        (
            None,
            [{"parts": [{"functionResponse": {"response": {}}}]}],
            "contents[0].parts[0].functionResponse.name should be a string, got nothing (the field "
            "is missing)",
        ),
        (
            None,
            [{"parts": [{"functionCall": {"name": "f"}}]}],
            "contents[0].parts[0].functionCall: a functionCall in a user content; only the model "
            "makes calls",
        ),
        (
            None,
            [{"role": "model", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}],
            "contents[0].parts[0].functionResponse: a functionResponse in a model content; it "
            "belongs to a user c",
        ),
        (
            {"parts": "Be brief"},
            [],
            "systemInstruction.parts should be a list, got a string ('Be brief')",
        ),
        (
            {"parts": [{"inlineData": {}}]},
            [],
            "systemInstruction.parts[0].text should be a string, got nothing (the field is "
            "missing)",
        ),
    ],
)
def test_malformed_payloads_raise_conversion_errors_naming_the_field(
    system: Any, contents: Any, says: str
) -> None:
    with pytest.raises(ConversionError) as info:
        decode_messages(system, contents)
    assert str(info.value).startswith(f"gemini: message field {says}")
    assert info.value.provider == GEMINI


# -- properties ---------------------------------------------------------------------------


def gemini_normal_form(messages: list[Message]) -> list[Message]:
    """What a Gemini round trip gives back for well-formed neutral messages.

    - every system message's parts end up in one leading system message
      (``systemInstruction`` is a single content);
    - consecutive messages of the same role are merged (Gemini wants user and
      model turns to alternate; a user content splits back into runs of tool
      results and of other parts, so tool + user stay two messages);
    - user files lose their filename (Gemini's blob has no name outside tool
      results).
    """
    system = [p for m in messages if m.role == "system" for p in m.parts]
    out = [Message("system", system)] if any(m.role == "system" for m in messages) else []
    for message in messages:
        if message.role == "system":
            continue
        parts = [_without_filename(p) for p in message.parts]
        if out and out[-1].role == message.role:
            out[-1].parts.extend(parts)
        else:
            out.append(Message(message.role, parts))
    return out


def _without_filename(part: Any) -> Any:
    if isinstance(part, File):
        return File(data=part.data, url=part.url, media_type=part.media_type, extra=part.extra)
    return part


@settings(max_examples=150, deadline=None)
@given(strategies.conversations(GEMINI))
def test_random_conversations_survive_gemini_round_trip(messages: list[Message]) -> None:
    assert round_trip(messages) == gemini_normal_form(messages)


@settings(max_examples=60, deadline=None)  # a simpler property; keeps the suite fast
@given(strategies.conversations(GEMINI), st.sampled_from([ANTHROPIC, OPENAI, None]))
def test_foreign_thinking_never_reaches_the_wire(messages: list[Message], other: Any) -> None:
    with_foreign = [
        Message(m.role, [Thinking("secret", "sig", other), *m.parts])
        if m.role == "assistant"
        else m
        for m in messages
    ]
    assert encode_messages(with_foreign) == encode_messages(messages)


# -- the real-world oracle -------------------------------------------------------------------


def is_gemini_request(interaction: cassettes.Interaction) -> bool:
    uri = interaction.uri
    generates = ":generateContent" in uri or ":streamGenerateContent" in uri
    return interaction.method == "POST" and generates


def camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word.title() for word in rest)


def canonical_part(part: dict[str, Any]) -> dict[str, Any]:
    """A wire part with the differences Gemini itself ignores taken out.

    - snake_case field names (SDK requests) become camelCase, but only Gemini's
      own field names: function ``args`` and ``response`` objects are user data
      and stay exactly as recorded;
    - ``inlineData.data`` is compared as bytes (SDK requests send base64url,
      export writes standard base64).
    """
    out: dict[str, Any] = {}
    for key, value in part.items():
        key = camel(key)
        if key in ("inlineData", "fileData", "functionCall", "functionResponse"):
            value = {camel(k): v for k, v in value.items()}
        if key == "inlineData":
            value["data"] = decode_base64(value["data"])
        if key == "functionResponse" and "parts" in value:
            value["parts"] = [canonical_part(p) for p in value["parts"]]
        out[key] = value
    return out


def canonical_request(system: Any, contents: list[dict[str, Any]]) -> Any:
    def content(c: dict[str, Any]) -> dict[str, Any]:
        return {**c, "parts": [canonical_part(p) for p in c["parts"]]}

    return (None if system is None else content(system), [content(c) for c in contents])


def test_every_recorded_gemini_request_round_trips() -> None:
    cassettes.require()
    recorded = [i for i in cassettes.all_interactions() if is_gemini_request(i)]
    checked = 0
    for interaction in recorded:
        body = interaction.request_json()
        system, contents = body.get("systemInstruction"), body["contents"]
        exported = encode_messages(decode_messages(system, contents))
        expected = canonical_request(system, contents)
        assert canonical_request(*exported) == expected, interaction.id
        checked += 1
    report.count("gemini requests round-tripped", checked)
    assert checked == len(recorded)
    assert checked > 0
