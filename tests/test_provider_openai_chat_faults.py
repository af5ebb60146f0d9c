"""OpenAI Chat Completions when things go wrong: retries, broken streams, malformed replies.

The server is a real local one scripted with OpenAI-shaped bodies; the fuzz
tests mutate recorded replies (and synthetic ones) and check that only
agentloop's typed provider errors ever escape.
"""

from __future__ import annotations

import copy
import json
import random
import time
from collections.abc import Callable
from typing import Any

import pytest
from hostile import assert_shown_text_encodes, inject, inject_event, typed_or_sendable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from local_server import LocalServer
from openai_chat_wire import (
    SSE,
    as_stream,
    chunk,
    completion,
    http_client,
    is_stream,
    recorded_exchanges,
    sse,
    sse_payloads,
    tool_call,
)

import agentloop
from agentloop import ProviderError, Reply, StreamIncomplete
from agentloop.providers.openai_chat import ChatStreamDecoder, OpenAIChatModel, decode_reply
from agentloop.providers.sse import ServerSentEvent
from agentloop.providers.wire_json import load_reply

ERROR = {"error": {"message": "try later", "type": "server_error", "code": None}}


def model(server: LocalServer, **kwargs: Any) -> OpenAIChatModel:
    kwargs.setdefault("retry_backoff", 0)
    kwargs.setdefault("http_client", http_client())
    return OpenAIChatModel("gpt-4o", api_key="sk-test", base_url=f"{server.url}/v1", **kwargs)


def streamed_hello() -> str:
    return sse(
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hello "}),
        chunk({"content": "world"}),
        chunk({}, finish_reason="stop"),
        chunk(usage_={"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}),
    )


# -- retries ---------------------------------------------------------------------------------


def test_a_429_waits_as_long_as_retry_after_says(local_server: LocalServer) -> None:
    local_server.reply(ERROR, status=429, headers={"retry-after": "0.25"})
    local_server.reply(completion("ok"))
    started = time.perf_counter()
    assert model(local_server).prompt("hi").text() == "ok"
    assert time.perf_counter() - started >= 0.25
    assert len(local_server.requests) == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [(529, agentloop.OverloadedError), (503, agentloop.ServerError), (500, agentloop.ServerError)],
)
def test_busy_and_failing_servers_are_typed_and_retried(
    local_server: LocalServer, status: int, error: type[ProviderError]
) -> None:
    local_server.reply(ERROR, status=status).reply(ERROR, status=status).reply(completion("ok"))
    with pytest.raises(error):
        model(local_server, max_retries=0).prompt("hi")
    assert model(local_server).prompt("hi").text() == "ok"
    assert len(local_server.requests) == 3


def test_a_500_before_a_stream_is_retried(local_server: LocalServer) -> None:
    local_server.reply(ERROR, status=500).reply(streamed_hello(), headers=SSE)
    assert list(model(local_server).prompt("hi", stream=True)) == ["Hello ", "world"]
    assert len(local_server.requests) == 2


def test_exhausted_retries_raise_the_last_typed_error(local_server: LocalServer) -> None:
    local_server.reply(ERROR, status=500)
    with pytest.raises(agentloop.ServerError) as info:
        model(local_server, max_retries=2).prompt("hi")
    assert len(local_server.requests) == 3
    assert info.value.status == 500
    assert info.value.provider == "openai"


def test_a_401_is_not_retried_and_names_the_key_variable(local_server: LocalServer) -> None:
    body = {"error": {"message": "Incorrect API key", "type": "invalid_request_error"}}
    local_server.reply(body, status=401)
    with pytest.raises(agentloop.AuthenticationError, match="OPENAI_API_KEY"):
        model(local_server).prompt("hi")
    assert len(local_server.requests) == 1


def test_context_length_exceeded_is_its_own_error(local_server: LocalServer) -> None:
    message = "This model's maximum context length is 128000 tokens."
    body = {"error": {"message": message, "code": "context_length_exceeded"}}
    local_server.reply(body, status=400)
    with pytest.raises(agentloop.ContextTooLongError):
        model(local_server).prompt("hi")


def test_an_error_sent_with_status_200_is_typed(local_server: LocalServer) -> None:
    local_server.reply({"error": {"code": 502, "message": "upstream failed"}})
    with pytest.raises(agentloop.ServerError, match="upstream failed"):
        model(local_server, max_retries=0).prompt("hi")


def test_an_error_event_inside_a_stream_is_typed(local_server: LocalServer) -> None:
    body = sse(chunk({"content": "Hel"}), {"error": {"code": 429, "message": "slow down"}})
    local_server.reply(body, headers=SSE)
    with pytest.raises(agentloop.RateLimitError, match="slow down"):
        list(model(local_server).prompt("hi", stream=True))


# -- broken streams --------------------------------------------------------------------------


def test_a_dropped_connection_mid_stream_keeps_the_partial_text(local_server: LocalServer) -> None:
    body = sse(chunk({"content": "Hello "}), chunk({"content": "wor"}), done=False)
    local_server.reply(body, headers=SSE, promise_more=True)
    chunks: list[str] = []
    with pytest.raises(StreamIncomplete) as info:
        chunks.extend(model(local_server).prompt("hi", stream=True))
    assert chunks == ["Hello ", "wor"]
    assert info.value.partial_text == "Hello wor"
    assert info.value.provider == "openai"


def test_a_truncated_stream_keeps_the_partial_text(local_server: LocalServer) -> None:
    body = streamed_hello()
    cut = body.index("world") + 2  # inside the second chunk's JSON
    local_server.reply(body, headers=SSE, truncate_at=cut)
    with pytest.raises(StreamIncomplete) as info:
        list(model(local_server).prompt("hi", stream=True))
    assert info.value.partial_text == "Hello "


async def test_a_truncated_stream_is_typed_over_async_too(local_server: LocalServer) -> None:
    body = sse(chunk({"content": "Hello "}), done=False)
    local_server.reply(body, headers=SSE)
    response = model(local_server).to_async().prompt("hi", stream=True)
    with pytest.raises(StreamIncomplete) as info:
        await response
    assert info.value.partial_text == "Hello "


def test_a_stream_cut_inside_tool_arguments_is_incomplete(local_server: LocalServer) -> None:
    head = {"index": 0, "id": "call_1", "type": "function"}
    head["function"] = {"name": "lookup", "arguments": '{"ci'}
    local_server.reply(sse(chunk({"tool_calls": [head]}), done=False), headers=SSE)
    with pytest.raises(StreamIncomplete):
        list(model(local_server).prompt("hi", stream=True))


def test_a_json_reply_to_a_stream_request_is_a_format_error(local_server: LocalServer) -> None:
    local_server.reply(completion("not streamed"))
    with pytest.raises(agentloop.ResponseFormatError, match="event stream"):
        list(model(local_server).prompt("hi", stream=True))


# -- malformed replies: only typed errors escape -------------------------------------------------

SYNTHETIC_REPLIES = [
    completion("Paris", reasoning="It is Paris."),
    completion(None, tool_calls=[tool_call("a", {"x": 1}, "c1"), tool_call("b", {}, "c2")]),
    completion("hi", reasoning_content="think", refusal="no"),
]


def recorded_json_replies() -> list[Any]:
    return [
        it.response_json() for it in recorded_exchanges() if it.status == 200 and not is_stream(it)
    ]


def recorded_streams() -> list[list[str]]:
    return [
        sse_payloads(it.response_body)
        for it in recorded_exchanges()
        if it.status == 200 and is_stream(it)
    ]


JSON_CORPUS = SYNTHETIC_REPLIES + recorded_json_replies()
STREAM_CORPUS = [sse_payloads(as_stream(r).encode()) for r in SYNTHETIC_REPLIES]
STREAM_CORPUS += recorded_streams()

ODD_VALUES = [None, 0, -1, 1.5, True, "", "x", [], [None], {}, {"a": None}, "[DONE]"]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside a JSON value, as a path of keys and indexes."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.extend(paths(item, (*prefix, index)))
    return out


def mutate(value: Any, rng: random.Random) -> Any:
    """Delete a key, or swap a value for one of another type, somewhere inside ``value``."""
    value = copy.deepcopy(value)
    path = rng.choice(paths(value)[1:] or [()])
    if not path:
        return rng.choice(ODD_VALUES)
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    if rng.random() < 0.4:
        del parent[path[-1]]
    else:
        parent[path[-1]] = rng.choice(ODD_VALUES)
    return value


def mutated_text(body: Any, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 3)):
        body = mutate(body, rng)
    text = json.dumps(body)
    return text[: rng.randint(0, len(text))] if rng.random() < 0.25 else text


def mutated_stream(payloads: list[str], rng: random.Random) -> list[str]:
    payloads = list(payloads)
    action = rng.choice(["shuffle", "drop", "mutate", "truncate", "garbage"])
    if action == "shuffle":
        rng.shuffle(payloads)
    elif action == "drop" and payloads:
        del payloads[rng.randrange(len(payloads))]
    elif action == "mutate":
        chunks = [i for i, p in enumerate(payloads) if p != "[DONE]"]
        if chunks:
            i = rng.choice(chunks)
            payloads[i] = mutated_text(json.loads(payloads[i]), rng)
    elif action == "truncate":
        payloads = payloads[: rng.randint(0, len(payloads))]
    else:
        payloads.insert(rng.randint(0, len(payloads)), rng.choice(["{", "nope", "[]", "1"]))
    return payloads


def decode_text(text: str) -> Reply:
    return decode_reply(load_reply(text, provider="openai"), "openai")  # as the transport reads


def decode_stream(payloads: list[str]) -> Reply:
    decoder = ChatStreamDecoder("openai")
    for payload in payloads:
        list(decoder.feed(ServerSentEvent(data=payload)))
    return decoder.finish()


def failure(action: Callable[[], object]) -> ProviderError | None:
    """The typed error ``action`` raised, if any; any other exception fails the test."""
    try:
        action()
    except ProviderError as exc:
        return exc
    return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(JSON_CORPUS), st.randoms(use_true_random=False))
def test_mutated_json_replies_raise_only_typed_errors(body: Any, rng: random.Random) -> None:
    text = mutated_text(body, rng)
    error = failure(lambda: decode_text(text))
    assert error is None or (error.provider == "openai" and str(error))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(STREAM_CORPUS), st.randoms(use_true_random=False))
def test_mutated_streams_raise_only_typed_errors(payloads: list[str], rng: random.Random) -> None:
    mutated = mutated_stream(payloads, rng)
    error = failure(lambda: decode_stream(mutated))
    assert error is None or error.provider == "openai"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(JSON_CORPUS), st.randoms(use_true_random=False))
def test_hostile_values_in_json_replies_are_typed_or_sendable(
    body: Any, rng: random.Random
) -> None:
    text = inject(body, rng)
    typed_or_sendable(lambda: decode_text(text), "openai")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(STREAM_CORPUS), st.randoms(use_true_random=False))
def test_hostile_values_in_streams_are_typed_or_sendable(
    payloads: list[str], rng: random.Random
) -> None:
    hostile = inject_event(payloads, rng)
    decoder = ChatStreamDecoder("openai")

    def decode() -> Reply:
        for payload in hostile:
            assert_shown_text_encodes(decoder.feed(ServerSentEvent(data=payload)))
        return decoder.finish()

    typed_or_sendable(decode, "openai")


def test_a_format_error_names_the_field() -> None:
    body = completion("x")
    body["usage"]["prompt_tokens"] = "many"
    with pytest.raises(agentloop.ResponseFormatError, match=r"usage\.prompt_tokens"):
        decode_reply(body, "openai")
    with pytest.raises(agentloop.ResponseFormatError, match="choices"):
        decode_reply({"choices": []}, "openai")
    with pytest.raises(agentloop.ResponseFormatError, match=r"choices\[0\]\.message"):
        decode_reply({"choices": [{"message": {"content": 3}}]}, "openai")


def test_mutated_replies_over_http_raise_only_typed_errors(local_server: LocalServer) -> None:
    rng = random.Random(5)
    typed = 0
    for round_ in range(40):
        streamed = round_ % 2 == 1
        if streamed:
            payloads = mutated_stream(rng.choice(STREAM_CORPUS), rng)
            local_server.reply("".join(f"data: {p}\n\n" for p in payloads), headers=SSE)
        else:
            text = mutated_text(rng.choice(JSON_CORPUS), rng)
            local_server.reply(text, headers={"content-type": "application/json"})
        chat = model(local_server)
        error = failure(lambda: list(chat.prompt("hi", stream=streamed)))  # noqa: B023
        assert error is None or error.provider == "openai"
        typed += error is not None
    assert typed > 0
