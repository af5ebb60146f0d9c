"""Anthropic Messages when things go wrong: retries, broken streams, malformed replies.

Everything runs against a real local server except the fuzz test, which
feeds mutated recorded replies straight to the pure decoders (thousands of
cases in a second) and then sends a sample of byte-level mutations over HTTP.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

import cassettes
import pytest
from anthropic_wire import (
    SSE,
    message_body,
    model,
    parse_sse,
    recorded,
    sse_body,
    text,
    tool_use,
)
from hostile import assert_shown_text_encodes, inject, inject_event, typed_or_sendable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from local_server import LocalServer

import agentloop
from agentloop import Message, ProviderError, Request, StreamIncomplete
from agentloop.providers.anthropic.reply import decode_reply
from agentloop.providers.anthropic.stream import AnthropicStreamDecoder
from agentloop.providers.sse import ServerSentEvent
from agentloop.providers.wire_json import load_reply

HELLO = Request([Message.user("hi")])


def error_body(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def answer(server: LocalServer, words: str = "ok") -> None:
    server.reply(message_body([text(words)]))


# -- retries -------------------------------------------------------------------------------


def test_429_waits_as_retry_after_says_then_succeeds(local_server: LocalServer) -> None:
    local_server.reply(
        error_body("rate_limit_error", "Number of request tokens has exceeded your limit"),
        status=429,
        headers={"retry-after": "0.3"},
    )
    answer(local_server)
    started = time.perf_counter()
    assert model(local_server).complete(HELLO).message.text == "ok"
    assert time.perf_counter() - started >= 0.3
    assert len(local_server.requests) == 2


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (529, error_body("overloaded_error", "Overloaded")),
        (503, error_body("api_error", "Service unavailable")),
        (500, error_body("api_error", "Internal server error")),
    ],
)
def test_a_transient_failure_is_retried_then_succeeds(
    local_server: LocalServer, status: int, body: dict[str, Any]
) -> None:
    local_server.reply(body, status=status)
    answer(local_server)
    assert model(local_server).complete(HELLO).message.text == "ok"
    assert len(local_server.requests) == 2


def test_529_overloaded_exhausts_the_retries_as_an_overloaded_error(
    local_server: LocalServer,
) -> None:
    local_server.reply(error_body("overloaded_error", "Overloaded"), status=529)
    with pytest.raises(agentloop.OverloadedError) as info:
        model(local_server, max_retries=2).complete(HELLO)
    assert len(local_server.requests) == 3
    assert info.value.error_type == "overloaded_error"
    assert info.value.provider == "anthropic"


def test_a_streamed_request_refused_before_any_event_is_retried(
    local_server: LocalServer,
) -> None:
    local_server.reply(error_body("overloaded_error", "Overloaded"), status=529)
    local_server.reply(sse_body([text("Hello there")]), headers=SSE)
    assert "".join(model(local_server).prompt("hi", stream=True)) == "Hello there"
    assert len(local_server.requests) == 2


@pytest.mark.parametrize(
    ("status", "kind", "message", "error"),
    [
        (400, "invalid_request_error", "prompt is too long: 210000 tokens", "ContextTooLongError"),
        (401, "authentication_error", "invalid x-api-key", "AuthenticationError"),
        (403, "permission_error", "not allowed", "PermissionDeniedError"),
        (404, "not_found_error", "model: claude-nope", "ModelNotFoundError"),
        (413, "request_too_large", "Request exceeds the maximum size", "BadRequestError"),
    ],
)
def test_client_errors_are_typed_and_never_retried(
    local_server: LocalServer, status: int, kind: str, message: str, error: str
) -> None:
    local_server.reply(error_body(kind, message), status=status)
    with pytest.raises(ProviderError) as info:
        model(local_server).complete(HELLO)
    assert type(info.value).__name__ == error
    assert info.value.error_type == kind
    assert len(local_server.requests) == 1


def test_an_authentication_error_names_the_variable(local_server: LocalServer) -> None:
    local_server.reply(error_body("authentication_error", "invalid x-api-key"), status=401)
    with pytest.raises(agentloop.AuthenticationError, match="ANTHROPIC_API_KEY"):
        model(local_server).complete(HELLO)


# -- broken streams ----------------------------------------------------------------------


def test_a_dropped_connection_mid_stream_keeps_the_partial_text(local_server: LocalServer) -> None:
    body = sse_body([text("Hello there, how are you today?")])
    cut = body.index("message_delta")
    local_server.reply(body[:cut], headers=SSE, promise_more=True)
    chunks: list[str] = []
    with pytest.raises(StreamIncomplete) as info:
        chunks.extend(model(local_server).prompt("hi", stream=True))
    assert info.value.partial_text == "Hello there, how are you today?"
    assert "".join(chunks) == info.value.partial_text


def test_a_truncated_event_stream_is_incomplete_with_the_text_so_far(
    local_server: LocalServer,
) -> None:
    body = sse_body([text("Hello there, how are you today?")])
    local_server.reply(body, headers=SSE, truncate_at=body.index("you tod") + 3)
    with pytest.raises(StreamIncomplete) as info:
        list(model(local_server).prompt("hi", stream=True))
    assert info.value.partial_text == "Hello there, how are "
    assert info.value.provider == "anthropic"


def test_an_overloaded_error_event_mid_stream_is_an_overloaded_error(
    local_server: LocalServer,
) -> None:
    body = sse_body([text("Hello there")])
    body = body[: body.index("event: content_block_stop")]
    body += 'event: error\ndata: {"type": "error", "error": '
    body += '{"type": "overloaded_error", "message": "Overloaded"}}\n\n'
    local_server.reply(body, headers=SSE)
    chunks: list[str] = []
    with pytest.raises(agentloop.OverloadedError) as info:
        chunks.extend(model(local_server).prompt("hi", stream=True))
    assert "".join(chunks) == "Hello there"
    assert info.value.error_type == "overloaded_error"
    assert len(local_server.requests) == 1  # text already reached the caller: no replay


def test_a_tool_call_cut_off_mid_arguments_keeps_the_raw_text(local_server: LocalServer) -> None:
    body = sse_body([tool_use("toolu_1", "add", {"a": 1, "b": 2})], stop_reason="max_tokens")
    events = [e for e in body.split("\n\n") if '"partial_json": "2}"' not in e]
    local_server.reply("\n\n".join(events), headers=SSE)
    reply = list(model(local_server).stream(HELLO))[-1]
    assert isinstance(reply, agentloop.Reply)
    (call,) = reply.message.tool_calls
    assert call.arguments == {}
    assert call.raw_arguments == '{"a": 1, "b": '
    assert reply.finish_reason == "length"


def test_a_reply_that_is_not_json_is_a_response_format_error(local_server: LocalServer) -> None:
    local_server.reply("<html>Bad gateway</html>", headers={"content-type": "text/html"})
    with pytest.raises(agentloop.ResponseFormatError):
        model(local_server).complete(HELLO)


def test_a_reply_missing_its_content_names_the_field(local_server: LocalServer) -> None:
    body = message_body([text("x")])
    del body["content"]
    local_server.reply(body)
    with pytest.raises(agentloop.ResponseFormatError, match="content") as info:
        model(local_server).complete(HELLO)
    assert info.value.provider == "anthropic"


def test_a_tool_call_without_an_id_names_the_field(local_server: LocalServer) -> None:
    local_server.reply(message_body([{"type": "tool_use", "name": "add", "input": {}}]))
    with pytest.raises(agentloop.ResponseFormatError, match=r"content\[0\]\.id"):
        model(local_server).complete(HELLO)


def test_a_wrongly_typed_token_count_names_the_field(local_server: LocalServer) -> None:
    local_server.reply(
        message_body([text("x")], tokens={"input_tokens": "ten", "output_tokens": 1})
    )
    with pytest.raises(agentloop.ResponseFormatError, match=r"usage\.input_tokens"):
        model(local_server).complete(HELLO)


# -- fuzz: mutated recorded replies --------------------------------------------------------


def recorded_bodies(streamed: bool) -> list[str]:
    return [
        it.response_body.decode()
        for it in recorded()
        if it.status == 200 and bool(it.request_json().get("stream")) == streamed
    ]


JSON_BODIES = recorded_bodies(streamed=False) or [json.dumps(message_body([text("hi")]))]
SSE_BODIES = recorded_bodies(streamed=True) or [sse_body([text("hi")])]


def mutate(value: Any, rng: random.Random) -> Any:
    """``value`` with one random change somewhere: a key deleted, a value retyped."""
    if isinstance(value, dict) and value and rng.random() < 0.7:
        key = rng.choice(list(value))
        if rng.random() < 0.3:
            return {k: v for k, v in value.items() if k != key}
        return {**value, key: mutate(value[key], rng)}
    if isinstance(value, list) and value and rng.random() < 0.7:
        index = rng.randrange(len(value))
        if rng.random() < 0.3:
            return value[:index] + value[index + 1 :]
        return [*value[:index], mutate(value[index], rng), *value[index + 1 :]]
    return rng.choice([None, 0, -1, 1.5, True, "", "x", [], {}, [1], {"type": "text"}])


def assert_only_typed_errors(work: Any) -> None:
    """Runs ``work``: it may succeed or raise a typed error naming Anthropic, nothing else."""
    error: ProviderError | None = None
    try:
        work()
    except ProviderError as exc:
        error = exc
    assert error is None or error.provider == "anthropic"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.sampled_from(JSON_BODIES),
    seed=st.integers(0, 2**32),
    cut=st.integers(0, 10**6),
    truncate=st.booleans(),
)
def test_mutated_reply_bodies_raise_only_typed_errors(
    body: str, seed: int, cut: int, truncate: bool
) -> None:
    rng = random.Random(seed)
    if truncate:
        text_body = body[: cut % max(len(body), 1)]
        assert_only_typed_errors(lambda: decode_reply(_loads(text_body)))
    else:
        mutated = json.loads(body)
        for _ in range(rng.randint(1, 3)):
            mutated = mutate(mutated, rng)
        assert_only_typed_errors(lambda: decode_reply(mutated))


def _loads(text_body: str) -> Any:
    return load_reply(text_body, provider="anthropic")  # as the transport reads a body


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.sampled_from(JSON_BODIES), seed=st.integers(0, 2**32))
def test_hostile_values_in_reply_bodies_are_typed_or_sendable(body: str, seed: int) -> None:
    text_body = inject(json.loads(body), random.Random(seed))
    typed_or_sendable(lambda: decode_reply(_loads(text_body)), "anthropic")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.sampled_from(SSE_BODIES), seed=st.integers(0, 2**32))
def test_hostile_values_in_event_streams_are_typed_or_sendable(body: str, seed: int) -> None:
    events = parse_sse(body)
    datas = inject_event([event.data for event in events], random.Random(seed))

    def decode() -> agentloop.Reply:
        decoder = AnthropicStreamDecoder()
        for event, data in zip(events, datas, strict=True):
            assert_shown_text_encodes(decoder.feed(ServerSentEvent(event.event, data)))
        return decoder.finish()

    typed_or_sendable(decode, "anthropic")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.sampled_from(SSE_BODIES),
    seed=st.integers(0, 2**32),
    operation=st.sampled_from(["mutate", "drop", "shuffle", "swap", "garble"]),
)
def test_mutated_event_streams_raise_only_typed_errors(
    body: str, seed: int, operation: str
) -> None:
    rng = random.Random(seed)
    events = parse_sse(body)
    index = rng.randrange(len(events))
    if operation == "mutate":
        data = mutate(json.loads(events[index].data), rng)
        events[index] = ServerSentEvent(events[index].event, json.dumps(data))
    elif operation == "drop":
        del events[index]
    elif operation == "shuffle":
        rng.shuffle(events)
    elif operation == "swap":
        other = rng.randrange(len(events))
        events[index], events[other] = events[other], events[index]
    else:
        data = events[index].data
        events[index] = ServerSentEvent(events[index].event, data[: rng.randrange(len(data))])

    def decode() -> None:
        decoder = AnthropicStreamDecoder()
        for item in events:
            list(decoder.feed(item))
        decoder.finish()

    assert_only_typed_errors(decode)


def test_byte_level_damage_over_http_raises_only_typed_errors(local_server: LocalServer) -> None:
    cassettes.require()
    rng = random.Random(5)
    claude = model(local_server, max_retries=0)
    for _ in range(12):
        body = rng.choice(SSE_BODIES).encode()
        start = rng.randrange(len(body))
        damaged = body[:start] + bytes(rng.randrange(256) for _ in range(8)) + body[start + 8 :]
        local_server.reply(damaged, headers=SSE, truncate_at=rng.randrange(len(damaged)))
        assert_only_typed_errors(lambda: list(claude.stream(HELLO)))
