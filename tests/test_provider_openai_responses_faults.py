"""OpenAI Responses provider under faults: retries, HTTP errors, broken streams, bad replies.

Everything runs against a real local HTTP server, except the fuzz tests, which feed
mutated recorded replies through the same parsing steps in memory (to stay fast).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from local_server import LocalServer
from responses_events import (
    SSE_HEADERS,
    event_stream,
    function_call,
    message,
    reasoning,
    reply,
    sse,
)

import agentloop
from agentloop import StreamIncomplete
from agentloop.providers.openai_responses import OpenAIResponsesModel, create

PROVIDER = "openai-responses"


def served(server: LocalServer, **kwargs: Any) -> OpenAIResponsesModel:
    return create(
        "gpt-4.1", api_key="sk-test", base_url=f"{server.url}/v1", retry_backoff=0, **kwargs
    )


def error_body(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def consume(response: Any, chunks: list[str] | None = None) -> None:
    """Read a streamed response to the end; ``chunks`` keeps what arrived before an error."""
    for chunk in response:
        if chunks is not None:
            chunks.append(chunk)


# -- retries ----------------------------------------------------------------------------


def test_a_429_waits_for_retry_after_then_succeeds(local_server: LocalServer) -> None:
    limited = error_body("Rate limit reached for gpt-4.1", "requests", "rate_limit_exceeded")
    local_server.reply(limited, status=429, headers={"retry-after": "0.3"})
    local_server.reply(reply(message("ok")))
    started = time.perf_counter()
    assert served(local_server).prompt("x").text() == "ok"
    assert time.perf_counter() - started >= 0.3
    assert len(local_server.requests) == 2


@pytest.mark.parametrize("status", [500, 503, 529])
@pytest.mark.parametrize("stream", [False, True])
def test_server_failures_are_retried_then_succeed(
    local_server: LocalServer, status: int, stream: bool
) -> None:
    local_server.reply(error_body("The server is overloaded", "server_error"), status=status)
    if stream:
        local_server.reply(event_stream(reply(message("ok"))), headers=SSE_HEADERS)
    else:
        local_server.reply(reply(message("ok")))
    assert served(local_server).prompt("x", stream=stream).text() == "ok"
    assert len(local_server.requests) == 2


def test_exhausted_retries_raise_the_last_typed_error(local_server: LocalServer) -> None:
    local_server.reply(error_body("boom", "server_error"), status=500)
    with pytest.raises(agentloop.ServerError) as info:
        served(local_server, max_retries=2).prompt("x")
    assert len(local_server.requests) == 3
    assert (info.value.status, info.value.provider) == (500, PROVIDER)


def test_a_401_is_not_retried_and_names_the_key_variable(local_server: LocalServer) -> None:
    body = error_body(
        "Incorrect API key provided: sk-test.", "invalid_request_error", "invalid_api_key"
    )
    local_server.reply(body, status=401)
    with pytest.raises(agentloop.AuthenticationError, match="OPENAI_API_KEY"):
        served(local_server).prompt("x")
    assert len(local_server.requests) == 1


def test_a_404_names_the_model(local_server: LocalServer) -> None:
    body = error_body(
        "The model `gpt-4.1` does not exist", "invalid_request_error", "model_not_found"
    )
    local_server.reply(body, status=404)
    with pytest.raises(agentloop.ModelNotFoundError, match=r"gpt-4\.1"):
        served(local_server).prompt("x")


def test_a_too_long_input_is_a_context_error(local_server: LocalServer) -> None:
    body = error_body(
        "Your input exceeds the context window of this model.",
        "invalid_request_error",
        "context_length_exceeded",
    )
    local_server.reply(body, status=400)
    with pytest.raises(agentloop.ContextTooLongError):
        served(local_server).prompt("x")


def test_a_body_that_is_not_json_is_a_response_format_error(local_server: LocalServer) -> None:
    local_server.reply('{"id": "resp_1", "output": [', headers={"content-type": "application/json"})
    with pytest.raises(agentloop.ResponseFormatError) as info:
        served(local_server).prompt("x")
    assert info.value.provider == PROVIDER


# -- broken streams ---------------------------------------------------------------------


def test_a_dropped_connection_mid_stream_keeps_the_partial_text(local_server: LocalServer) -> None:
    stream = event_stream(reply(message("Hello brave new world")))
    cut = stream.index("event:", stream.index('"delta": "o br'))  # after the second delta
    local_server.reply(stream, headers=SSE_HEADERS, truncate_at=cut, promise_more=True)
    chunks: list[str] = []
    with pytest.raises(StreamIncomplete) as info:
        consume(served(local_server).prompt("x", stream=True), chunks)
    assert info.value.partial_text == "Hello br"
    assert chunks == ["Hell", "o br"]


def test_a_stream_ending_before_response_completed_is_incomplete(local_server: LocalServer) -> None:
    stream = event_stream(reply(message("Hello world")))
    local_server.reply(
        stream[: stream.index("event: response.output_item.done")], headers=SSE_HEADERS
    )
    with pytest.raises(StreamIncomplete) as info:
        consume(served(local_server).prompt("x", stream=True))
    assert info.value.partial_text == "Hello world"
    assert info.value.provider == PROVIDER


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("server_error", agentloop.ServerError),
        ("rate_limit_exceeded", agentloop.RateLimitError),
        ("invalid_prompt", agentloop.BadRequestError),
    ],
)
def test_a_response_failed_event_raises_the_typed_error(
    local_server: LocalServer, code: str, error: type[Exception]
) -> None:
    failed = {**reply(), "status": "failed", "error": {"code": code, "message": "it broke"}}
    stream = sse("response.output_text.delta", {"output_index": 0, "delta": "Hi"})
    stream += sse("response.failed", {"response": failed})
    local_server.reply(stream, headers=SSE_HEADERS)
    with pytest.raises(error, match="it broke") as info:
        consume(served(local_server).prompt("x", stream=True))
    assert info.value.error_type == code  # type: ignore[attr-defined]


def test_an_error_event_raises_the_typed_error(local_server: LocalServer) -> None:
    stream = sse("error", {"code": "rate_limit_exceeded", "message": "slow down", "param": None})
    local_server.reply(stream, headers=SSE_HEADERS)
    with pytest.raises(agentloop.RateLimitError, match="slow down"):
        consume(served(local_server).prompt("x", stream=True))


def test_an_incomplete_response_ends_the_stream_with_a_length_finish(
    local_server: LocalServer,
) -> None:
    cut_short = {
        **reply(message("Once upon")),
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
    }
    stream = event_stream(cut_short).replace("response.completed", "response.incomplete")
    local_server.reply(stream, headers=SSE_HEADERS)
    response = served(local_server).prompt("x", stream=True, max_tokens=3)
    assert "".join(response) == "Once upon"
    assert response.finish_reason == "length"


def test_a_failed_response_body_raises_the_typed_error(local_server: LocalServer) -> None:
    failed = {**reply(), "status": "failed", "error": {"code": "server_error", "message": "oops"}}
    local_server.reply(failed)
    with pytest.raises(agentloop.ServerError, match="oops"):
        served(local_server, max_retries=0).prompt("x")


def test_parallel_calls_are_assembled_from_their_own_argument_deltas(
    local_server: LocalServer,
) -> None:
    def added(index: int, call_id: str) -> str:
        item = {**function_call("add", {}, call_id), "arguments": "", "status": "in_progress"}
        return sse("response.output_item.added", {"output_index": index, "item": item})

    def delta(index: int, text: str) -> str:
        return sse("response.function_call_arguments.delta", {"output_index": index, "delta": text})

    # Interleaved deltas, no output_item.done, and a final response without its output.
    stream = added(0, "c1") + added(1, "c2")
    stream += (
        delta(0, '{"a": ') + delta(1, '{"a": 3, ') + delta(0, '1, "b": 2}') + delta(1, '"b": 4}')
    )
    stream += sse("response.completed", {"response": reply()})
    local_server.reply(stream, headers=SSE_HEADERS)
    response = served(local_server).prompt("x", stream=True)
    assert list(response) == []
    assert [(c.tool_call_id, c.arguments) for c in response.tool_calls()] == [
        ("c1", {"a": 1, "b": 2}),
        ("c2", {"a": 3, "b": 4}),
    ]
    assert response.finish_reason == "tool_calls"


def test_reasoning_summaries_stream_as_thinking_and_end_as_one_thinking_part(
    local_server: LocalServer,
) -> None:
    item = {
        **reasoning("", "enc"),
        "summary": [
            {"type": "summary_text", "text": "First idea."},
            {"type": "summary_text", "text": "Second idea."},
        ],
    }
    local_server.reply(event_stream(reply(item, message("Done"))), headers=SSE_HEADERS)
    model = served(local_server)
    events = list(model.stream(agentloop.Request([agentloop.Message.user("x")])))
    thinking = "".join(
        e.text for e in events if isinstance(e, agentloop.Delta) and e.kind == "thinking"
    )
    final = events[-1]
    assert isinstance(final, agentloop.Reply)
    (part,) = [p for p in final.message.parts if isinstance(p, agentloop.Thinking)]
    assert thinking == part.text == "First idea.\n\nSecond idea."
    assert part.signature == "enc"


async def test_async_calls_retry_and_stream(local_server: LocalServer) -> None:
    local_server.reply(error_body("busy", "server_error"), status=503)
    local_server.reply(reply(message("ok")))
    model = served(local_server).to_async()
    assert (await model.prompt("x")).text() == "ok"
    local_server.reply(event_stream(reply(message("streamed ok"))), headers=SSE_HEADERS)
    chunks = [c async for c in model.prompt("x", stream=True)]
    assert "".join(chunks) == "streamed ok"


async def test_async_streams_that_break_keep_the_partial_text(local_server: LocalServer) -> None:
    stream = event_stream(reply(message("Hello world")))
    local_server.reply(stream[: stream.index("event: response.completed")], headers=SSE_HEADERS)
    model = served(local_server).to_async()
    with pytest.raises(StreamIncomplete) as info:
        async for _ in model.prompt("x", stream=True):
            pass
    assert info.value.partial_text == "Hello world"


def test_error_bodies_keep_what_the_server_said(local_server: LocalServer) -> None:
    body = error_body("Invalid 'temperature'", "invalid_request_error", "decimal_below_min_value")
    local_server.reply(body, status=400)
    with pytest.raises(agentloop.BadRequestError) as info:
        # extra_body: sent unchecked (temperature=-1 is refused before any request).
        served(local_server).prompt("x", extra_body={"temperature": -1})
    assert json.loads(info.value.body or "") == body
    assert info.value.error_type == "invalid_request_error"
