"""The neutral message model: builders from API.md, reading helpers, lossless serialization."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import FORMATS, conversations

from agentloop import (
    Conversation,
    File,
    Image,
    Message,
    SerializationError,
    Text,
    Thinking,
    ToolCall,
    ToolResult,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 8
PDF = b"%PDF-1.4\n%%EOF"


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    (tmp_path / "image.jpg").write_bytes(PNG)
    (tmp_path / "document.pdf").write_bytes(PDF)
    (tmp_path / "report.pdf").write_bytes(PDF)
    return tmp_path


def test_api_md_builder_examples(media_dir: Path) -> None:
    prompt = Conversation.system("You are a helpful assistant.").add(
        Message.user("What's in this image?").add_image(media_dir / "image.jpg")
    )
    assert [m.role for m in prompt.messages] == ["system", "user"]
    assert isinstance(prompt.messages[1].parts[1], Image)

    conv = Conversation.user("Please summarize this document", file=media_dir / "document.pdf")
    conv.messages[0].parts.append(File(media_dir / "report.pdf", filename="Q4_Report.pdf"))
    files = [p for p in conv.messages[0].parts if isinstance(p, File)]
    assert [f.filename for f in files] == ["document.pdf", "Q4_Report.pdf"]

    conv = (
        Conversation.system("You are a math tutor.")
        .add(Conversation.user("What is 2+2?"))
        .add(Conversation.assistant("2+2 equals 4."))
    )
    assert [(m.role, m.text) for m in conv.messages] == [
        ("system", "You are a math tutor."),
        ("user", "What is 2+2?"),
        ("assistant", "2+2 equals 4."),
    ]


def test_user_builder_takes_image_and_file_lists() -> None:
    message = Message.user("two", image=[PNG, PNG], file=File(PDF, "a.pdf"))
    assert [type(p).__name__ for p in message.parts] == ["Text", "Image", "Image", "File"]


def test_add_image_accepts_every_source_kind() -> None:
    message = (
        Message.user("look")
        .add_image(PNG)
        .add_image("https://example.com/a.png")
        .add_image("data:image/png;base64,iVBORw0KGgo=")
        .add_image(Image(PNG))
    )
    assert len(message.parts) == 5


def test_add_guesses_image_or_file() -> None:
    message = Message.user().add(PNG).add(PDF)
    assert [type(p).__name__ for p in message.parts] == ["Image", "File"]


def test_unknown_role_is_rejected() -> None:
    with pytest.raises(ValueError, match="role must be one of"):
        Message("robot", [])  # type: ignore[arg-type]


def test_add_rejects_other_types() -> None:
    with pytest.raises(TypeError, match="Message or a Conversation"):
        Conversation().add("hello")  # type: ignore[arg-type]


def test_reading_helpers() -> None:
    call = ToolCall("upper", {"text": "x"}, "c1")
    message = Message.assistant("Sure.", tool_calls=[call])
    assert message.text == "Sure."
    assert message.tool_calls == [call]
    assert call.id == "c1"
    tool_message = Message.tool(ToolResult("upper", "X", "c1"))
    assert tool_message.tool_results[0].output == "X"


def test_tool_call_arguments_json() -> None:
    assert ToolCall("f", {"a": 1}, "1").arguments_json() == '{"a":1}'
    assert ToolCall("f", {}, "1", raw_arguments="{oops").arguments_json() == "{oops"


def test_every_part_survives_to_dict_and_json() -> None:
    conv = Conversation(
        [
            Message.system("sys"),
            Message.user("hi", image=PNG, file=File(PDF, "x.pdf")),
            Message(
                "assistant",
                [
                    Thinking("hmm", signature="sig", provider="anthropic"),
                    Text("calling", extra={"gemini": {"thoughtSignature": "abc"}}),
                    ToolCall("f", {"a": [1, {"b": None}]}, "c1"),
                    ToolCall("g", {}, "c2", raw_arguments="not json"),
                ],
            ),
            Message(
                "tool",
                [
                    ToolResult("f", "done", "c1", attachments=[Image(PNG)]),
                    ToolResult("g", "bad", "c2", is_error=True),
                ],
            ),
        ]
    )
    payload = json.dumps(conv.to_dict())
    assert Conversation.from_dict(json.loads(payload)) == conv


def test_exception_is_kept_but_not_serialized() -> None:
    result = ToolResult("f", "ValueError: no", "c1", is_error=True, exception=ValueError("no"))
    data = result.to_dict()
    assert "exception" not in json.dumps(data)
    rebuilt = Message.from_dict(Message.tool(result).to_dict()).parts[0]
    assert isinstance(rebuilt, ToolResult)
    assert rebuilt.exception is None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "needs a 'messages' list"),
        ({"messages": [{"parts": []}]}, "needs a 'role'"),
        ({"messages": [{"role": "user", "parts": [{"type": "video"}]}]}, "Unknown part type"),
        ({"messages": [{"role": "user", "parts": [{"type": "text"}]}]}, "missing the field 'text'"),
        ({"messages": [{"role": "alien", "parts": []}]}, "role must be one of"),
        ({"messages": [{"role": "user", "parts": "x"}]}, "must be a list"),
    ],
)
def test_bad_dicts_raise_serialization_errors(payload: dict, message: str) -> None:
    with pytest.raises(SerializationError, match=message):
        Conversation.from_dict(payload)


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_random_conversations_survive_to_dict(fmt: str, data: st.DataObject) -> None:
    messages = data.draw(conversations(fmt))
    conv = Conversation(messages)
    assert Conversation.from_dict(json.loads(json.dumps(conv.to_dict()))) == conv
