"""Hostile replies on all four formats, over a real local server: nothing crashes a chain,
nothing poisons a conversation.

A reply that cannot be read (nested 100,000 deep, a huge integer in its own JSON) is a typed
ResponseFormatError, streamed or not. Tool arguments that cannot be read or sent again (too
deep, a huge integer, NaN, Infinity, a lone surrogate) are refused to the model as an error
result, and the chain goes on. Lone surrogates in text are mended. After each of them, the
same conversation sends a next request a strict server accepts, and its history encodes in
every format.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anthropic_wire
import gemini_replies
import pytest
import responses_events
from hostile import ARGUMENTS, DEEP, HUGE_INTEGER, VERY_DEEP, Payload, assert_sendable, strict_json
from local_server import LocalServer
from openai_chat_wire import as_stream, completion

from agentloop import Conversation, ResponseFormatError, ToolCall, ToolResult
from agentloop.providers.anthropic import AnthropicModel
from agentloop.providers.http import HTTPModel
from agentloop.providers.openai_chat import OpenAIChatModel
from agentloop.providers.openai_responses import create as create_responses

SSE = {"content-type": "text/event-stream; charset=utf-8"}
JSON = {"content-type": "application/json"}
_ARGS = "\u2063arguments\u2063"  # where the argument text goes in a reply built as a dict


def inline(body: Any, arguments: str) -> str:
    """``body`` as JSON text with the arguments object written in as raw JSON text."""
    return json.dumps(body).replace(json.dumps(_ARGS), arguments, 1)


@dataclass(frozen=True)
class Format:
    """How one wire format says things, for a scripted server."""

    name: str
    model: Callable[[LocalServer], HTTPModel]
    #: A reply body holding text, and one holding a call to ``weather`` with argument text.
    text_body: Callable[[str], Any]
    call_body: Callable[[str], str]
    #: The same as event streams.
    text_stream: Callable[[str], str]
    call_stream: Callable[[str], str]
    #: Whether streamed arguments arrive as text (else as JSON objects inside the events).
    streams_argument_text: bool
    #: Whether a reply body holds the arguments as text (else as a JSON object).
    body_argument_text: bool
    #: A reply body with an extra field holding ``raw`` (JSON text) where the codec keeps it.
    kept_field_body: Callable[[str], str]


# -- OpenAI Chat Completions ------------------------------------------------------------


def _chat_model(server: LocalServer) -> HTTPModel:
    return OpenAIChatModel(
        "gpt-4o", api_key="sk-test", base_url=f"{server.url}/v1", retry_backoff=0, max_retries=0
    )


def _chat_call(arguments: str) -> dict[str, Any]:
    function = {"name": "weather", "arguments": arguments}
    return completion(None, tool_calls=[{"id": "c1", "type": "function", "function": function}])


CHAT = Format(
    "openai",
    _chat_model,
    text_body=completion,
    call_body=lambda arguments: json.dumps(_chat_call(arguments)),
    text_stream=lambda text: as_stream(completion(text)),
    call_stream=lambda arguments: as_stream(_chat_call(arguments)),
    streams_argument_text=True,
    body_argument_text=True,
    kept_field_body=lambda raw: inline(completion("hi", x_kept=_ARGS), raw),
)


# -- OpenAI Responses --------------------------------------------------------------------


def _responses_model(server: LocalServer) -> HTTPModel:
    return create_responses(
        "gpt-5-mini", api_key="sk-test", base_url=f"{server.url}/v1", retry_backoff=0
    )


def _responses_call(arguments: str) -> dict[str, Any]:
    call = responses_events.function_call("weather", {}, "c1")
    return responses_events.reply({**call, "arguments": arguments})


def _responses_text(text: str) -> dict[str, Any]:
    return responses_events.reply(responses_events.message(text))


RESPONSES = Format(
    "openai-responses",
    _responses_model,
    text_body=_responses_text,
    call_body=lambda arguments: json.dumps(_responses_call(arguments)),
    text_stream=lambda text: responses_events.event_stream(_responses_text(text)),
    call_stream=lambda arguments: responses_events.event_stream(_responses_call(arguments)),
    streams_argument_text=True,
    body_argument_text=True,
    kept_field_body=lambda raw: inline(
        responses_events.reply({**responses_events.message("hi"), "x_kept": _ARGS}), raw
    ),
)


# -- Anthropic -----------------------------------------------------------------------------


def _anthropic_model(server: LocalServer) -> HTTPModel:
    return AnthropicModel(
        "claude-test", base_url=server.url, api_key="sk-ant-test", retry_backoff=0, max_retries=0
    )


def _anthropic_call_stream(arguments: str) -> str:
    """A tool call streamed as Anthropic does: the argument text in ``partial_json`` pieces."""
    event = anthropic_wire.event
    start = anthropic_wire.message_body([], None)  # type: ignore[arg-type]
    block = {"type": "tool_use", "id": "c1", "name": "weather", "input": {}}
    pieces = [arguments[i : i + 4000] for i in range(0, len(arguments), 4000)]
    return "".join(
        [
            event("message_start", message=start),
            event("content_block_start", index=0, content_block=block),
            *(
                event(
                    "content_block_delta",
                    index=0,
                    delta={"type": "input_json_delta", "partial_json": piece},
                )
                for piece in pieces
            ),
            event("content_block_stop", index=0),
            event("message_delta", delta={"stop_reason": "tool_use"}, usage={"output_tokens": 3}),
            event("message_stop"),
        ]
    )


ANTHROPIC = Format(
    "anthropic",
    _anthropic_model,
    text_body=lambda text: anthropic_wire.message_body([anthropic_wire.text(text)]),
    call_body=lambda arguments: inline(
        anthropic_wire.message_body([anthropic_wire.tool_use("c1", "weather", _ARGS)], "tool_use"),  # type: ignore[arg-type]
        arguments,
    ),
    text_stream=lambda text: anthropic_wire.sse_body([anthropic_wire.text(text)]),
    call_stream=_anthropic_call_stream,
    streams_argument_text=True,
    body_argument_text=False,
    kept_field_body=lambda raw: inline(
        anthropic_wire.message_body([{**anthropic_wire.text("hi"), "x_kept": _ARGS}]), raw
    ),
)


# -- Gemini --------------------------------------------------------------------------------


def _gemini_call(arguments: str) -> str:
    return inline(gemini_replies.reply(gemini_replies.call("weather", _ARGS)), arguments)  # type: ignore[arg-type]


GEMINI = Format(
    "gemini",
    lambda server: gemini_replies.gemini(server, max_retries=0),
    text_body=lambda text: gemini_replies.reply(gemini_replies.text(text)),
    call_body=_gemini_call,
    text_stream=lambda text: gemini_replies.sse(gemini_replies.reply(gemini_replies.text(text))),
    call_stream=lambda arguments: f"data: {_gemini_call(arguments)}\r\n\r\n",
    streams_argument_text=False,
    body_argument_text=False,
    kept_field_body=lambda raw: inline(
        gemini_replies.reply(gemini_replies.text("hi", x_kept=_ARGS)), raw
    ),
)

FORMATS = [CHAT, RESPONSES, ANTHROPIC, GEMINI]
STREAMED = [pytest.param(False, id="body"), pytest.param(True, id="stream")]
BY_NAME = {"ids": lambda f: f.name}


def serve(server: LocalServer, body: Any, *, streamed: bool) -> None:
    """One scripted answer: ``body`` is a dict or JSON text, or an event stream when streamed.

    Text is sent as UTF-8 with any lone surrogate written as its escape, as a server would.
    """
    if isinstance(body, dict):
        server.reply(body)
        return
    payload = body.encode("utf-8", "backslashreplace")
    server.reply(payload, headers=SSE if streamed else JSON)


def answer(fmt: Format, server: LocalServer, text: str, *, streamed: bool) -> None:
    serve(server, fmt.text_stream(text) if streamed else fmt.text_body(text), streamed=streamed)


def finished(response: Any) -> list[str]:
    """Read a response to the end (streamed or not); the text chunks that arrived."""
    chunks = list(response)
    response.text()
    return chunks


def assert_next_request_is_sendable(
    fmt: Format, server: LocalServer, conversation: Conversation, *, streamed: bool
) -> None:
    """The conversation goes on, and everything it ever sent was strict JSON."""
    answer(fmt, server, "again", streamed=streamed)
    response = conversation.prompt("once more?", stream=streamed)
    finished(response)
    assert response.text() == "again"
    for request in server.requests:
        strict_json(request.body)
    assert_sendable(conversation.messages)


# -- a reply that cannot be read -------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS, **BY_NAME)
@pytest.mark.parametrize("streamed", STREAMED)
@pytest.mark.parametrize("nested", [VERY_DEEP, DEEP], ids=["100000-deep", "600-deep"])
def test_a_reply_nested_deep_is_a_format_error(
    local_server: LocalServer, fmt: Format, streamed: bool, nested: str
) -> None:
    body = fmt.kept_field_body(nested)
    serve(local_server, f"data: {body}\n\n" if streamed else body, streamed=streamed)
    conversation = fmt.model(local_server).conversation()
    try:
        with pytest.raises(ResponseFormatError, match="nested deeper than 128 levels") as info:
            finished(conversation.prompt("hi", stream=streamed))
    except RecursionError:  # pragma: no cover - until the transport reads bodies with it
        pytest.fail("providers/http.py must read reply bodies with wire_json.load_reply")
    assert info.value.provider == fmt.model(local_server).provider
    assert_next_request_is_sendable(fmt, local_server, conversation, streamed=streamed)


@pytest.mark.parametrize("fmt", FORMATS, **BY_NAME)
@pytest.mark.parametrize("streamed", STREAMED)
def test_a_huge_integer_in_a_reply_is_a_format_error(
    local_server: LocalServer, fmt: Format, streamed: bool
) -> None:
    body = fmt.kept_field_body(HUGE_INTEGER)
    serve(local_server, f"data: {body}\n\n" if streamed else body, streamed=streamed)
    conversation = fmt.model(local_server).conversation()
    with pytest.raises(ResponseFormatError, match="integer of more than 4300 digits"):
        finished(conversation.prompt("hi", stream=streamed))
    assert_next_request_is_sendable(fmt, local_server, conversation, streamed=streamed)


# -- a field of the wrong type: one wording on every format ---------------------------------

_CHAT_BODY = '{"choices": [{"index": 0, "message": %s, "finish_reason": %s}], "usage": %s}'
_ANTHROPIC_BODY = '{"type": "message", "role": "assistant", "content": %s, "stop_reason": %s}'
WRONG_TYPES = [
    # (format, streamed, what the server sends, the one wording naming the JSON path)
    (
        CHAT,
        False,
        _CHAT_BODY % ('"hi"', '"stop"', "null"),
        "choices[0].message should be an object, got a string ('hi')",
    ),
    (
        CHAT,
        False,
        _CHAT_BODY % ('{"content": "hi"}', "7", "null"),
        "choices[0].finish_reason should be a string, got an integer (7)",
    ),
    (
        CHAT,
        False,
        _CHAT_BODY % ('{"content": "hi"}', '"stop"', '{"prompt_tokens": "9"}'),
        "usage.prompt_tokens should be an integer, got a string ('9')",
    ),
    (
        CHAT,
        True,
        'data: {"choices": [{"index": 0, "delta": {"content": 5}}]}\n\n',
        "chunks[0].choices[0].delta.content should be a string, got an integer (5)",
    ),
    (
        CHAT,
        True,
        'data: {"choices": [{"index": 0, "delta": {"tool_calls": '
        '[{"index": 0, "function": "f"}]}}]}\n\n',
        "chunks[0].choices[0].delta.tool_calls[0].function should be an object, got a string ('f')",
    ),
    (
        RESPONSES,
        False,
        '{"status": "completed", "output": {}}',
        "output should be a list, got an object",
    ),
    (
        RESPONSES,
        False,
        '{"status": "completed", "output": [], "usage": {"input_tokens": -1, "output_tokens": 0}}',
        "usage.input_tokens should be a token count, got an integer (-1)",
    ),
    (
        RESPONSES,
        True,
        "event: response.output_text.delta\n"
        'data: {"type": "response.output_text.delta", "output_index": 0, "delta": 7}\n\n',
        "response.output_text.delta.delta should be a string, got an integer (7)",
    ),
    (
        ANTHROPIC,
        False,
        _ANTHROPIC_BODY % ('"hi"', '"end_turn"'),
        "content should be a list, got a string ('hi')",
    ),
    (
        ANTHROPIC,
        False,
        _ANTHROPIC_BODY % ("[]", "1"),
        "stop_reason should be a string, got an integer (1)",
    ),
    (
        ANTHROPIC,
        True,
        "event: content_block_start\n"
        'data: {"type": "content_block_start", "index": "0", '
        '"content_block": {"type": "text", "text": ""}}\n\n',
        "content_block_start.index should be an integer, got a string ('0')",
    ),
    (
        GEMINI,
        False,
        '{"candidates": [{"content": {"parts": []}}], "modelVersion": 3}',
        "modelVersion should be a string, got an integer (3)",
    ),
    (
        GEMINI,
        False,
        '{"candidates": [{}], "usageMetadata": {"promptTokenCount": true}}',
        "usageMetadata.promptTokenCount should be an integer, got a boolean (true)",
    ),
    (
        GEMINI,
        True,
        'data: {"candidates": [{"content": {"parts": "hi"}}]}\n\n',
        "chunks[0].candidates[0].content.parts should be a list, got a string ('hi')",
    ),
]


@pytest.mark.parametrize(
    ("fmt", "streamed", "body", "wording"),
    WRONG_TYPES,
    ids=[f"{f.name}-{'stream' if s else 'body'}-{i}" for i, (f, s, _, _) in enumerate(WRONG_TYPES)],
)
def test_a_field_of_the_wrong_type_is_named_in_one_wording(
    local_server: LocalServer, fmt: Format, streamed: bool, body: str, wording: str
) -> None:
    serve(local_server, body, streamed=streamed)
    conversation = fmt.model(local_server).conversation()
    with pytest.raises(ResponseFormatError) as info:
        finished(conversation.prompt("hi", stream=streamed))
    provider = fmt.model(local_server).provider
    assert str(info.value) == f"{provider}: reply field {wording}"
    assert info.value.provider == provider
    assert_next_request_is_sendable(fmt, local_server, conversation, streamed=streamed)


# -- values that read but could not be sent again ------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "streamed"),
    # A streamed reply's kept fields go through the same decoding as a body's; Gemini's
    # events are whole replies, so its stream is worth its own case.
    [*((fmt, False) for fmt in FORMATS), (GEMINI, True)],
    ids=[*(fmt.name for fmt in FORMATS), "gemini-stream"],
)
@pytest.mark.parametrize(
    "raw",
    ["NaN", "-Infinity", "1e400", '"\\udcff"', '{"\\udcff": [NaN]}'],
    ids=["nan", "infinity", "overflow", "lone-surrogate", "surrogate-key"],
)
def test_unsendable_values_in_kept_fields_are_mended(
    local_server: LocalServer, fmt: Format, streamed: bool, raw: str
) -> None:
    body = fmt.kept_field_body(raw)
    serve(local_server, f"data: {body}\n\n" if streamed else body, streamed=streamed)
    conversation = fmt.model(local_server).conversation()
    response = conversation.prompt("hi", stream=streamed)
    finished(response)
    assert response.text() == "hi"
    assert_next_request_is_sendable(fmt, local_server, conversation, streamed=streamed)


@pytest.mark.parametrize("fmt", FORMATS, **BY_NAME)
@pytest.mark.parametrize("streamed", STREAMED)
def test_lone_surrogates_in_text_are_replaced(
    local_server: LocalServer, fmt: Format, streamed: bool
) -> None:
    serve_text = fmt.text_stream if streamed else fmt.text_body
    # A pair cut in two by the server (a halve per event) would become two U+FFFD when
    # streamed: each event is read on its own.
    body = serve_text("caf\udcff, \U0001f600 and \ud83d")
    if isinstance(body, dict):
        body = json.dumps(body)
    serve(local_server, body, streamed=streamed)
    conversation = fmt.model(local_server).conversation()
    response = conversation.prompt("hi", stream=streamed)
    chunks = finished(response)
    assert response.text() == "caf\ufffd, \U0001f600 and \ufffd"
    if streamed:  # what is shown as it arrives is the same text, already mended
        assert "".join(chunks) == response.text()
    assert_next_request_is_sendable(fmt, local_server, conversation, streamed=streamed)


# -- tool arguments ----------------------------------------------------------------------------


def refused_as_a_result(fmt: Format, payload: Payload, streamed: bool) -> bool:
    """Whether the arguments are refused to the model (else the reply cannot be read)."""
    as_text = fmt.streams_argument_text if streamed else fmt.body_argument_text
    return as_text or not payload.breaks_the_reply


@pytest.mark.parametrize("fmt", FORMATS, **BY_NAME)
@pytest.mark.parametrize("streamed", STREAMED)
@pytest.mark.parametrize("payload", ARGUMENTS, ids=lambda p: p.name)
def test_unreadable_tool_arguments_are_refused_to_the_model(
    local_server: LocalServer, fmt: Format, streamed: bool, payload: Payload
) -> None:
    ran: list[Any] = []

    def weather(city: str) -> str:
        """The weather in a city."""
        ran.append(city)
        return "sunny"

    serve_call = fmt.call_stream if streamed else fmt.call_body
    serve(local_server, serve_call(payload.arguments), streamed=streamed)
    answer(fmt, local_server, "done", streamed=streamed)
    conversation = fmt.model(local_server).conversation(tools=[weather])
    if not refused_as_a_result(fmt, payload, streamed):
        try:
            with pytest.raises(ResponseFormatError) as info:
                finished(conversation.chain("weather?", stream=streamed))
        except RecursionError:  # pragma: no cover - until the transport reads bodies with it
            pytest.fail("providers/http.py must read reply bodies with wire_json.load_reply")
        assert info.value.provider == fmt.model(local_server).provider
        local_server.script.clear()
    else:
        response = conversation.chain("weather?", stream=streamed)
        finished(response)
        assert response.text() == "done"
        assert ran == []
        call, result = _the_call_and_result(conversation)
        assert call.raw_arguments is not None
        assert call.arguments == {}
        assert result.is_error
        assert "the arguments are not valid JSON (" in result.output
    assert_next_request_is_sendable(fmt, local_server, conversation, streamed=streamed)


def test_the_model_is_told_why_its_arguments_were_refused(local_server: LocalServer) -> None:
    def weather(city: str) -> str:
        """The weather in a city."""
        return "sunny"

    lines = []
    for payload in ARGUMENTS:
        serve(local_server, CHAT.call_body(payload.arguments), streamed=False)
        answer(CHAT, local_server, "done", streamed=False)
        conversation = CHAT.model(local_server).conversation(tools=[weather])
        conversation.chain("weather?").text()
        lines.append(_the_call_and_result(conversation)[1].output.splitlines()[1])
    assert [line[: line.index("; you sent")] for line in lines] == [
        "- the arguments are not valid JSON (nested deeper than 128 levels)",
        "- the arguments are not valid JSON (an integer of more than 4300 digits)",
        "- the arguments are not valid JSON (a lone surrogate '\\udcff', which is not a "
        "Unicode character)",
        "- the arguments are not valid JSON (NaN, a number JSON cannot carry)",
        "- the arguments are not valid JSON (-Infinity, a number JSON cannot carry)",
        "- the arguments are not valid JSON (Infinity, a number JSON cannot carry)",
    ]


def test_a_call_the_model_sends_again_correctly_runs(local_server: LocalServer) -> None:
    ran: list[str] = []

    def weather(city: str) -> str:
        """The weather in a city."""
        ran.append(city)
        return "sunny"

    serve(local_server, CHAT.call_body('{"city": NaN}'), streamed=False)
    serve(local_server, CHAT.call_body('{"city": "Paris"}'), streamed=False)
    answer(CHAT, local_server, "sunny in Paris", streamed=False)
    conversation = CHAT.model(local_server).conversation(tools=[weather])
    assert conversation.chain("weather?").text() == "sunny in Paris"
    assert ran == ["Paris"]
    assert_next_request_is_sendable(CHAT, local_server, conversation, streamed=False)


def _the_call_and_result(conversation: Conversation) -> tuple[ToolCall, ToolResult]:
    calls = [c for m in conversation.messages for c in m.tool_calls]
    results = [r for m in conversation.messages for r in m.tool_results]
    assert len(calls) == len(results) == 1
    return calls[0], results[0]
