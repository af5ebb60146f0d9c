"""Bedrock Converse messages: neutral -> wire -> neutral loses nothing, and the wire's own
blocks come back as they went.

The recorded requests round-trip in `test_provider_bedrock.py` (decoded, sent, compared with
what was recorded); here a conversation holding every part Converse can carry goes out and
back, and what it cannot carry is refused or rendered, as the other formats do.
"""

from __future__ import annotations

import pytest

from agentloop import (
    ConversionError,
    File,
    Image,
    Message,
    ProviderPart,
    Text,
    Thinking,
    ToolCall,
    ToolResult,
)
from agentloop.providers.bedrock import decode_messages, encode_messages
from agentloop.providers.bedrock.messages import document_name, media_to_fetch

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4ef0000000049454e44ae426082"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CACHE_POINT = {"cachePoint": {"type": "default"}}


def conversation() -> list[Message]:
    return [
        Message.system("Be brief."),
        Message(
            "user",
            [
                Text("Look at these."),
                Image(PNG),
                File(PDF, "Q4 report"),
                Image(url="s3://bucket/cat.png", media_type="image/png"),
                ProviderPart("bedrock", "cachePoint", CACHE_POINT),
            ],
        ),
        Message(
            "assistant",
            [
                Thinking("Two tools.", "c2lnbmF0dXJl", "bedrock"),
                Thinking("", "cmVkYWN0ZWQ=", "bedrock", redacted=True),
                Text("Checking."),
                ToolCall("weather", {"city": "Paris"}, "t1"),
                ToolCall("chart", {}, "t2"),
            ],
        ),
        Message.tool(
            ToolResult("weather", "Sunny", "t1"),
            ToolResult("chart", "", "t2", is_error=False, attachments=[Image(PNG)]),
        ),
        Message.user("And tomorrow?"),
    ]


def test_every_part_converse_carries_goes_out_and_back() -> None:
    original = conversation()
    system, wire = encode_messages(original)
    assert system == [{"text": "Be brief."}]
    assert [m["role"] for m in wire] == ["user", "assistant", "user"]
    user = wire[0]["content"]
    assert user[1] == {
        "image": {
            "format": "png",
            "source": {
                "bytes": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP4//8/"
                "AAX+Av6n1qTvAAAAAElFTkSuQmCC"
            },
        }
    }
    assert user[2]["document"]["name"] == "Q4 report"
    assert user[3] == {
        "image": {"format": "png", "source": {"s3Location": {"uri": "s3://bucket/cat.png"}}}
    }
    assert user[4] == CACHE_POINT
    assert wire[1]["content"][:2] == [
        {
            "reasoningContent": {
                "reasoningText": {"text": "Two tools.", "signature": "c2lnbmF0dXJl"}
            }
        },
        {"reasoningContent": {"redactedContent": "cmVkYWN0ZWQ="}},
    ]
    results = wire[2]["content"]
    assert [list(block) for block in results] == [["toolResult"], ["toolResult"], ["text"]]
    assert results[1]["toolResult"]["content"][0]["image"]["format"] == "png"
    back = decode_messages(system, wire)
    assert back == original
    assert encode_messages(back) == (system, wire)


def test_an_error_result_and_a_json_result_keep_their_shape() -> None:
    wire = [
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "a", "name": "f", "input": {}}}],
        },
        {
            "role": "user",
            "content": [
                {
                    "toolResult": {
                        "toolUseId": "a",
                        "content": [{"json": {"n": 1}}],
                        "status": "success",
                    }
                },
                {"text": "Go on."},
            ],
        },
    ]
    messages = decode_messages(None, wire)
    assert [m.role for m in messages] == ["assistant", "tool", "user"]
    (result,) = messages[1].parts
    assert isinstance(result, ToolResult)
    assert (result.name, result.output, result.is_error) == ("f", '{"n": 1}', False)
    assert encode_messages(messages)[1] == wire
    result.output = "not JSON any more"  # an edit: sent as the text it now is
    sent = encode_messages(messages)[1][1]["content"][0]["toolResult"]
    assert sent == {
        "toolUseId": "a",
        "content": [{"text": "not JSON any more"}],
        "status": "success",
    }
    failed = encode_messages(
        [messages[0], Message.tool(ToolResult("f", "boom", "a", is_error=True))]
    )
    assert failed[1][1]["content"][0]["toolResult"]["status"] == "error"


def test_another_formats_reasoning_is_dropped_and_its_results_rendered() -> None:
    messages = [
        Message.user("Search."),
        Message(
            "assistant",
            [
                Thinking("hmm", "sig", "anthropic"),
                ProviderPart("anthropic", "server_tool_use", {"type": "server_tool_use"}),
                ProviderPart("anthropic", "web_search_tool_result", {}, text="Result: sunny"),
                Text("Sunny."),
            ],
        ),
    ]
    _, wire = encode_messages(messages)
    assert wire[1]["content"] == [{"text": "Result: sunny"}, {"text": "Sunny."}]


def test_what_converse_cannot_carry_is_refused_by_message() -> None:
    with pytest.raises(ConversionError, match=r"message 0 \(user\): a ToolCall part cannot go"):
        encode_messages([Message("user", [ToolCall("f", {}, "a")])])
    with pytest.raises(ConversionError, match="cannot take a File of audio/wav"):
        encode_messages([Message.user("Hear").add(File(b"RIFF0000WAVE", media_type="audio/wav"))])
    with pytest.raises(ConversionError, match=r"cannot fetch gs://b/x\.png"):
        encode_messages(
            [Message.user("See").add(Image(url="gs://b/x.png", media_type="image/png"))]
        )
    with pytest.raises(
        ConversionError,
        match=r"^bedrock: message field messages\[0\]\.role should be 'user' or 'assistant', "
        r"got a string \('system'\)$",
    ):
        decode_messages(None, [{"role": "system", "content": []}])


def test_http_media_are_fetched_before_encoding_and_names_fit_converse() -> None:
    messages = [Message.user("See").add(Image("https://example.com/cat.png"))]
    assert [m.url for m in media_to_fetch(messages)] == ["https://example.com/cat.png"]
    assert [document_name(n) for n in ("report.pdf", "Q4_Report (v2).pdf", None, "数据.csv")] == [
        "report pdf",
        "Q4 Report (v2) pdf",
        "document",
        "csv",
    ]
