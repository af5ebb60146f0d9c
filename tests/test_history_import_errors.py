"""Importing a history: a malformed wire message is a ConversionError, worded alike in every format.

``Conversation.from_openai(...)`` and its siblings (each codec's ``decode_messages``) read the
caller's payload through the wire kit's `MessageReader`, so whatever is wrong reads
``"<provider>: message field <path> should be <expected>, got <what>"``, the path inside the
caller's own lists, and nothing escapes as a KeyError, TypeError or AttributeError.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentloop import Conversation, Image, Message, Text, Thinking, ToolCall, ToolResult
from agentloop.errors import ConversionError, ResponseFormatError
from agentloop.providers import anthropic, bedrock, cohere, gemini, openai_chat, openai_responses
from agentloop.providers.anthropic.reply import decode_reply as anthropic_reply
from agentloop.providers.gemini.reply import decode_reply as gemini_reply
from agentloop.providers.openai_chat.reply import decode_reply as chat_reply
from agentloop.providers.wire_fields import MalformedField

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201ffa0c6a1e60000000049454e44ae426082"
)

#: Each format's import, taking its wire payload as one value (a tuple for two arguments).
Import = Callable[[Any], list[Message]]
IMPORTS: dict[str, Import] = {
    "openai": lambda p: Conversation.from_openai(p).messages,
    "openai-responses": lambda p: Conversation.from_openai_responses(p).messages,
    "anthropic": lambda p: Conversation.from_anthropic(*p).messages,
    "gemini": lambda p: Conversation.from_gemini(*p).messages,
    "bedrock": lambda p: bedrock.decode_messages(*p),
    "cohere": cohere.decode_messages,
}


def _user(*blocks: Any, role: str = "user") -> list[dict[str, Any]]:
    return [{"role": role, "content": list(blocks)}]


def _gemini(*parts: Any, role: str = "user") -> tuple[None, list[dict[str, Any]]]:
    return None, [{"role": role, "parts": list(parts)}]


CASES: list[tuple[str, Any, str]] = [
    # -- openai (Chat Completions) --
    ("openai", {"role": "user"}, "messages should be a list of message objects, got an object"),
    ("openai", [None], "messages[0] should be an object, got null"),
    (
        "openai",
        [{"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": [{"id": "c"}]}],
        "messages[1].tool_calls[0].function should be an object, got nothing (the field is "
        "missing)",
    ),
    (
        "openai",
        [
            {
                "role": "assistant",
                "tool_calls": [{"id": "a", "function": {"name": "f", "arguments": "{}"}}],
            },
            {"role": "user", "content": "x"},
            {"role": "user", "content": "y"},
            {
                "role": "assistant",
                "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": 5}}],
            },
        ],
        "messages[3].tool_calls[0].function.arguments should be a string or an object, got an "
        "integer (5)",
    ),
    ("openai", [{"role": 7}], "messages[0].role should be 'user', 'assistant', 'system', "),
    # -- openai-responses --
    ("openai-responses", 5, "input should be a string or a list of items, got an integer (5)"),
    ("openai-responses", [[]], "input[0] should be an object, got a list"),
    (
        "openai-responses",
        [{"type": "function_call", "call_id": "c", "name": "f", "arguments": None}],
        "input[0].arguments should be a string, got null",
    ),
    (
        "openai-responses",
        [{"role": "user", "content": [{"type": "input_text", "text": ["x"]}]}],
        "input[0].content[0].text should be a string, got a list",
    ),
    # -- anthropic --
    ("anthropic", (None, "hi"), "messages should be a list of turns, got a string ('hi')"),
    ("anthropic", (7, []), "system should be a string or a list of text blocks, got an integer"),
    (
        "anthropic",
        (None, _user({"type": "tool_result", "tool_use_id": "t", "is_error": 1})),
        "messages[0].content[0].is_error should be a boolean, got an integer (1)",
    ),
    (
        "anthropic",
        (
            None,
            _user({"type": "tool_use", "id": "t", "name": "f", "input": "{}"}, role="assistant"),
        ),
        "messages[0].content[0].input should be an object, got a string ('{}')",
    ),
    # -- gemini --
    ("gemini", (None, "hi"), "contents should be a list of contents, got a string ('hi')"),
    (
        "gemini",
        _gemini({"functionCall": {"name": "f", "args": "x"}}, role="model"),
        "contents[0].parts[0].functionCall.args should be an object, got a string ('x')",
    ),
    (
        "gemini",
        _gemini({"functionResponse": {"name": "f"}}),
        "contents[0].parts[0].functionResponse.response should be an object, got nothing",
    ),
    (
        "gemini",
        _gemini({"functionCall": {"name": "f"}}),
        "contents[0].parts[0].functionCall: a functionCall in a user content",
    ),
    # -- bedrock --
    ("bedrock", (None, {}), "messages should be a list of turns, got an object"),
    ("bedrock", ("Be brief", []), "system should be a list, got a string ('Be brief')"),
    (
        "bedrock",
        (None, _user({"toolUse": {"toolUseId": "t", "name": 3, "input": {}}}, role="assistant")),
        "messages[0].content[0].toolUse.name should be a string, got an integer (3)",
    ),
    (
        "bedrock",
        (None, _user({"toolResult": {"toolUseId": "t", "content": [{"video": {}}]}})),
        "messages[0].content[0].toolResult.content[0] should be a text, json, image or "
        "document block (in a tool result), got an object",
    ),
    (
        "bedrock",
        (None, _user({"image": {"format": "png", "source": {}}})),
        "messages[0].content[0].image.source should be an object holding bytes or an "
        "s3Location, got an object",
    ),
    # -- cohere --
    ("cohere", "hi", "messages should be a list of message objects, got a string ('hi')"),
    (
        "cohere",
        [{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f"}}]}],
        None,  # a call without arguments is a call with none: no error
    ),
    (
        "cohere",
        [{"role": "assistant", "tool_calls": [{"id": "c", "function": {"arguments": "{}"}}]}],
        "messages[0].tool_calls[0].function.name should be a string, got nothing (the field is "
        "missing)",
    ),
    (
        "cohere",
        [{"role": "tool", "tool_call_id": "c", "content": [{"type": "image_url"}]}],
        "messages[0].content[0].type should be 'text' or 'document' (in a tool result), got a "
        "string ('image_url')",
    ),
]


@pytest.mark.parametrize(("provider", "payload", "says"), CASES)
def test_a_malformed_field_is_a_conversion_error_naming_provider_and_path(
    provider: str, payload: Any, says: str | None
) -> None:
    if says is None:
        assert IMPORTS[provider](payload)
        return
    with pytest.raises(ConversionError) as info:
        IMPORTS[provider](payload)
    assert str(info.value).startswith(f"{provider}: message field {says}")
    assert info.value.provider == provider
    assert not isinstance(info.value, ResponseFormatError)  # the caller's input, not a reply


def test_a_wrong_field_keeps_its_parts_for_code_that_reads_them() -> None:
    with pytest.raises(MalformedField) as info:
        Conversation.from_openai([{"role": "tool", "tool_call_id": 9, "content": "x"}])
    assert (info.value.path, info.value.expected, info.value.got) == (
        "messages[0].tool_call_id",
        "a string",
        "an integer (9)",
    )


def test_a_reply_decoded_by_the_same_decoders_names_a_reply_field() -> None:
    """A reply's content goes through the message decoders: its wrong field is worded as a
    reply field, a ResponseFormatError with the reply's own path."""
    body = {"content": [{"type": "tool_use", "id": "t", "name": "f", "input": "{}"}]}
    with pytest.raises(ResponseFormatError) as info:
        anthropic_reply(body)
    assert str(info.value) == (
        "anthropic: reply field content[0].input should be an object, got a string ('{}')"
    )
    call = {"id": "c", "function": {"name": "f", "arguments": 5}}
    body = {"choices": [{"message": {"role": "assistant", "tool_calls": [call]}}]}
    with pytest.raises(ResponseFormatError) as info:
        chat_reply(body, "groq")
    assert str(info.value) == (
        "groq: reply field choices[0].message.tool_calls[0].function.arguments should be a "
        "string or an object, got an integer (5)"
    )


def test_a_reply_content_the_neutral_model_cannot_hold_still_reads_as_reply_content() -> None:
    part = {"inlineData": {"mimeType": "image/png", "data": "!!"}}
    body = {"candidates": [{"content": {"role": "model", "parts": [part]}}]}
    with pytest.raises(ResponseFormatError) as info:
        gemini_reply(body)
    assert str(info.value) == (
        "gemini: reply content: message field candidates[0].content.parts[0].inlineData.data: "
        "Invalid base64 data: Only base64 data is allowed"
    )


# -- property: garbage in, ConversionError (or messages) out -----------------------------------


def _history(provider: str) -> list[Message]:
    """A history using each kind of part the format carries."""
    signed = provider not in ("openai", "cohere")
    thinking = Thinking("hm", signature="sig" if signed else None, provider=provider)
    attachments = [] if provider == "cohere" else [Image(PNG)]
    return [
        Message.system("Be brief"),
        Message.user("hi").add(Image(PNG)),
        Message("assistant", [thinking, Text("ok"), ToolCall("f", {"a": 1}, "c1")]),
        Message("tool", [ToolResult("f", "out", "c1", attachments=attachments)]),
        Message.assistant("done"),
    ]


def _wire(provider: str) -> Any:
    """The format's wire payload for `_history`, in the shape `IMPORTS` takes."""
    history = _history(provider)
    if provider == "openai":
        return openai_chat.encode_messages(history)
    if provider == "openai-responses":
        return openai_responses.encode_messages(history)
    if provider == "cohere":
        return cohere.encode_messages(history)
    codec = {"anthropic": anthropic, "gemini": gemini, "bedrock": bedrock}[provider]
    return codec.encode_messages(history)


WORDS = ["", "x", "text", "user", "assistant", "model", "tool", "system", "function", "image"]
WORDS += ["document", "tool_result", "tool_use", "thinking", "base64", "url", "file", "png"]
WORDS += ["data:", "data:image/png;base64,!!", "data:image/png;base64,iVBO", "https://x/a.png"]
WORDS += ["gs://b/o", "{", "{}", '{"a": 1}', "input_text", "input_image", "function_call"]
SCALARS = st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False)
SCALARS |= st.sampled_from(WORDS) | st.text(max_size=5)
GARBAGE = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(WORDS), inner),
    max_leaves=8,
)


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    places = [path]
    if isinstance(value, dict):
        for key, inner in value.items():
            places += _places(inner, (*path, key))
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            places += _places(inner, (*path, index))
    return places


def _replaced(payload: Any, path: tuple[Any, ...], new: Any, delete: bool) -> Any:
    if not path:
        return new
    payload = copy.deepcopy(payload)
    payload = list(payload) if isinstance(payload, tuple) else payload
    holder = payload
    for key in path[:-1]:
        holder = holder[key]
    if delete and isinstance(holder, dict):
        del holder[path[-1]]
    else:
        holder[path[-1]] = new
    return payload


def _only_conversion_errors(provider: str, payload: Any) -> None:
    try:
        IMPORTS[provider](payload)
    except ConversionError as exc:
        error = exc  # anything else fails the test as it escapes
    else:
        return
    assert str(error).startswith(f"{provider}: message field "), str(error)
    assert error.provider == provider


WIRES = {provider: _wire(provider) for provider in IMPORTS}


@settings(max_examples=300, deadline=None)
@given(
    provider=st.sampled_from(sorted(IMPORTS)),
    place=st.integers(min_value=0),
    new=GARBAGE,
    delete=st.booleans(),
)
def test_a_valid_history_with_any_field_garbled_imports_or_raises_conversion_error(
    provider: str, place: int, new: Any, delete: bool
) -> None:
    wire = WIRES[provider]
    places = _places(wire)
    path = places[place % len(places)]
    if isinstance(wire, tuple) and not path:
        path = (place % len(wire),)  # the tuple is the argument list, not part of the payload
    _only_conversion_errors(provider, _replaced(wire, path, new, delete))


@settings(max_examples=200, deadline=None)
@given(provider=st.sampled_from(sorted(IMPORTS)), first=GARBAGE, second=GARBAGE)
def test_random_garbage_imports_or_raises_conversion_error(
    provider: str, first: Any, second: Any
) -> None:
    payload = (first, second) if isinstance(WIRES[provider], tuple) else second
    _only_conversion_errors(provider, payload)


def test_every_format_round_trips_the_history_the_properties_garble() -> None:
    """The properties start from a payload each format imports cleanly."""
    for provider, wire in WIRES.items():
        assert IMPORTS[provider](copy.deepcopy(wire)), provider
