"""Gemini when things go wrong: retries, typed errors, broken streams, malformed replies."""

from __future__ import annotations

import json
import random
import time
from functools import partial
from typing import Any

import cassettes
import httpx
import pytest
import report
import respx
from gemini_replies import SSE, call, gemini, reply, sse, text
from hostile import assert_shown_text_encodes, inject_event, typed_or_sendable
from local_server import LocalServer

import agentloop
from agentloop import StreamIncomplete
from agentloop.providers.base import Reply, Request
from agentloop.providers.gemini import GeminiModel
from agentloop.providers.gemini.model import retry_delay
from agentloop.providers.gemini.stream import json_array_events
from agentloop.providers.sse import ServerSentEvent
from agentloop.providers.wire_json import load_reply

HELLO = Request([agentloop.Message.user("hello")])


def google_error(status: int, code: str, message: str, *details: dict[str, Any]) -> dict[str, Any]:
    error: dict[str, Any] = {"code": status, "message": message, "status": code}
    if details:
        error["details"] = list(details)
    return {"error": error}


RESOURCE_EXHAUSTED = google_error(429, "RESOURCE_EXHAUSTED", "Resource exhausted.")


# -- retries ----------------------------------------------------------------------------


def test_a_429_retry_delay_in_the_error_details_is_honoured(local_server: LocalServer) -> None:
    retry_info = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.3s"}
    local_server.reply(
        google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded", retry_info), status=429
    )
    local_server.reply(reply(text("ok")))
    started = time.perf_counter()
    assert gemini(local_server).complete(HELLO).message.text == "ok"
    assert time.perf_counter() - started >= 0.3
    assert len(local_server.requests) == 2


def test_a_429_retry_after_header_is_honoured(local_server: LocalServer) -> None:
    local_server.reply(RESOURCE_EXHAUSTED, status=429, headers={"retry-after": "0.2"})
    local_server.reply(reply(text("ok")))
    started = time.perf_counter()
    assert gemini(local_server).complete(HELLO).message.text == "ok"
    assert time.perf_counter() - started >= 0.2


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
        (529, "UNAVAILABLE", "Overloaded"),
        (500, "INTERNAL", "An internal error has occurred."),
    ],
)
def test_busy_or_failing_servers_are_retried_then_succeed(
    local_server: LocalServer, status: int, code: str, message: str
) -> None:
    local_server.reply(google_error(status, code, message), status=status)
    local_server.reply(reply(text("ok")))
    assert gemini(local_server).complete(HELLO).message.text == "ok"
    assert len(local_server.requests) == 2


def test_an_overloaded_503_is_an_overloaded_error(local_server: LocalServer) -> None:
    local_server.reply(
        google_error(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
        status=503,
    )
    with pytest.raises(agentloop.OverloadedError):
        gemini(local_server, max_retries=0).complete(HELLO)


def test_exhausted_retries_raise_the_rate_limit_error(local_server: LocalServer) -> None:
    local_server.reply(RESOURCE_EXHAUSTED, status=429)
    with pytest.raises(agentloop.RateLimitError) as info:
        gemini(local_server, max_retries=2).complete(HELLO)
    assert len(local_server.requests) == 3
    assert info.value.error_type == "RESOURCE_EXHAUSTED"


def test_a_streamed_request_is_retried_before_the_stream_opens(local_server: LocalServer) -> None:
    local_server.reply(google_error(500, "INTERNAL", "oops"), status=500)
    local_server.reply(sse(reply(text("ok"))), headers=SSE)
    events = list(gemini(local_server).stream(HELLO))
    assert isinstance(events[-1], Reply)
    assert events[-1].message.text == "ok"


# -- typed errors -------------------------------------------------------------------------


def test_an_invalid_key_is_an_authentication_error_naming_the_variables(
    local_server: LocalServer,
) -> None:
    invalid = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
    local_server.reply(
        google_error(400, "INVALID_ARGUMENT", "API key not valid.", invalid), status=400
    )
    with pytest.raises(agentloop.AuthenticationError, match="GEMINI_API_KEY or GOOGLE_API_KEY"):
        gemini(local_server).complete(HELLO)
    assert len(local_server.requests) == 1


def test_an_unknown_model_is_a_model_not_found_error_naming_it(local_server: LocalServer) -> None:
    local_server.reply(google_error(404, "NOT_FOUND", "models/x is not found"), status=404)
    with pytest.raises(agentloop.ModelNotFoundError, match="gemini-9-ultra"):
        gemini(local_server, "gemini-9-ultra").complete(HELLO)


def test_too_many_input_tokens_is_a_context_too_long_error(local_server: LocalServer) -> None:
    message = (
        "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
    )
    local_server.reply(google_error(400, "INVALID_ARGUMENT", message), status=400)
    with pytest.raises(agentloop.ContextTooLongError):
        gemini(local_server).complete(HELLO)


def test_an_error_sent_inside_the_stream_is_typed(local_server: LocalServer) -> None:
    error = google_error(503, "UNAVAILABLE", "The model is overloaded.")
    local_server.reply(sse(reply(text("Hel"), finish=None), error), headers=SSE)
    with pytest.raises(agentloop.OverloadedError):
        list(gemini(local_server).stream(HELLO))


def test_retry_delay_reads_google_rpc_retry_info() -> None:
    body = google_error(429, "RESOURCE_EXHAUSTED", "q", {"retryDelay": "37s"})
    assert retry_delay(json.dumps(body)) == 37.0
    assert retry_delay(json.dumps([body])) == 37.0
    assert retry_delay(json.dumps(RESOURCE_EXHAUSTED)) is None
    assert retry_delay("not json") is None


# -- broken streams -----------------------------------------------------------------------


def test_a_stream_without_a_finish_reason_is_incomplete_and_keeps_the_text(
    local_server: LocalServer,
) -> None:
    local_server.reply(
        sse(reply(text("Hello "), finish=None), reply(text("wor"), finish=None)), headers=SSE
    )
    chunks: list[str] = []

    def consume() -> None:
        chunks.extend(gemini(local_server).prompt("x", stream=True))

    with pytest.raises(StreamIncomplete) as info:
        consume()
    assert chunks == ["Hello ", "wor"]
    assert info.value.partial_text == "Hello wor"
    assert info.value.provider == "gemini"


def test_a_dropped_connection_mid_stream_keeps_the_partial_text(local_server: LocalServer) -> None:
    body = sse(reply(text("Hello "), finish=None), reply(text("world")))
    local_server.reply(body, headers=SSE, promise_more=True)
    with pytest.raises(StreamIncomplete) as info:
        list(gemini(local_server).stream(HELLO))
    assert info.value.partial_text.startswith("Hello")


def test_an_sse_body_cut_mid_event_is_incomplete(local_server: LocalServer) -> None:
    body = sse(reply(text("Hello "), finish=None), reply(text("world")))
    local_server.reply(body, headers=SSE, truncate_at=len(body) - 20)
    with pytest.raises(StreamIncomplete) as info:
        list(gemini(local_server).stream(HELLO))
    assert info.value.partial_text == "Hello "


def test_a_json_array_stream_cut_short_is_incomplete(local_server: LocalServer) -> None:
    body = json.dumps([reply(text("Hello "), finish=None), reply(text("world"))])
    local_server.reply(body[: body.index("world")], headers={"content-type": "application/json"})
    with pytest.raises(StreamIncomplete) as info:
        list(gemini(local_server).stream(HELLO))
    assert info.value.partial_text == "Hello "


async def test_async_streams_break_the_same_way(local_server: LocalServer) -> None:
    local_server.reply(sse(reply(text("Hello "), finish=None)), headers=SSE, promise_more=True)
    with pytest.raises(StreamIncomplete) as info:
        _ = [e async for e in gemini(local_server).astream(HELLO)]
    assert info.value.partial_text == "Hello "


def test_a_stream_body_that_is_neither_sse_nor_json_is_a_response_format_error(
    local_server: LocalServer,
) -> None:
    local_server.reply("<html>proxy error</html>", headers={"content-type": "text/html"})
    with pytest.raises(agentloop.ResponseFormatError, match="expected an event stream"):
        list(gemini(local_server).stream(HELLO))


# -- malformed replies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"candidates": {"0": {}}}, "reply field candidates should be a list, got an object"),
        ({"candidates": [{"content": {"parts": [{"text": 3}]}}]}, "parts[0].text"),
        ({"candidates": [{"content": {"parts": "hi"}}]}, "candidates[0].content.parts"),
        ({"candidates": [{"content": {"parts": [{}]}}]}, "candidates[0].content.parts[0]"),
        ({"candidates": [{"finishReason": 7}]}, "finishReason"),
        ({"candidates": [], "usageMetadata": {}}, "candidates should be a non-empty list"),
        ({"usageMetadata": {"promptTokenCount": "9"}}, "usageMetadata.promptTokenCount"),
    ],
)
def test_a_malformed_reply_names_the_field(
    local_server: LocalServer, body: dict[str, Any], field: str
) -> None:
    local_server.reply(body)
    with pytest.raises(agentloop.ResponseFormatError, match=field.replace("[", r"\[")) as info:
        gemini(local_server).complete(HELLO)
    assert info.value.provider == "gemini"


def test_a_reply_that_is_not_json_is_a_response_format_error(local_server: LocalServer) -> None:
    local_server.reply('{"candidates": [', headers={"content-type": "application/json"})
    with pytest.raises(agentloop.ResponseFormatError, match="not valid JSON"):
        gemini(local_server).complete(HELLO)


_ODD_VALUES: list[Any] = [None, 0, -1, 1.5, True, "", "x", [], [1], {}, {"a": 1}]


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_paths(value, (*path, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.extend(_paths(value, (*path, index)))
    return out


def _mutate(body: Any, rng: random.Random) -> Any:
    """A copy of ``body`` with one node deleted or given a value of another type."""
    body = json.loads(json.dumps(body))
    path = rng.choice(_paths(body)[1:] or [()])
    if not path:
        return rng.choice(_ODD_VALUES)
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    if rng.random() < 0.4:
        del parent[path[-1]]
    else:
        parent[path[-1]] = rng.choice(_ODD_VALUES)
    return body


def _mutated_bodies(body: bytes, is_sse: bool, rng: random.Random) -> bytes:
    """One corruption of a recorded reply body: a mutated chunk, a cut, or shuffled events."""
    roll = rng.random()
    if roll < 0.2:
        return body[: rng.randrange(len(body))]
    if is_sse:
        events = [e for e in body.split(b"\r\n\r\n") if e.strip()]
        if roll < 0.4:
            rng.shuffle(events)
            events = events[: rng.randint(0, len(events))]
        else:
            i = rng.randrange(len(events))
            chunk = json.loads(events[i].removeprefix(b"data: "))
            events[i] = b"data: " + json.dumps(_mutate(chunk, rng)).encode()
        return b"".join(e + b"\r\n\r\n" for e in events)
    return json.dumps(_mutate(json.loads(body), rng)).encode()


def _bodies_to_corrupt() -> list[tuple[bytes, bool]]:
    """Every recorded successful reply, as a plain body and as a one-chunk SSE stream."""
    out = []
    for interaction in cassettes.all_interactions():
        uri = interaction.uri
        if interaction.status != 200 or ":generateContent" not in uri:
            continue
        out.append((interaction.response_body, False))
        out.append((sse(interaction.response_json()).encode(), True))
    for interaction in cassettes.all_interactions():
        if interaction.status == 200 and "alt=sse" in interaction.uri:
            out.append((interaction.response_body, True))
    return out


def _typed_failure(model: GeminiModel, is_sse: bool) -> list[agentloop.ProviderError]:
    """The typed error the call raised (none if it succeeded); any other exception escapes."""
    try:
        if is_sse:
            list(model.stream(HELLO))
        else:
            model.complete(HELLO)
    except agentloop.ProviderError as exc:
        return [exc]
    return []


@respx.mock
def test_fuzzed_recorded_replies_only_ever_raise_typed_errors() -> None:
    cassettes.require()
    model = GeminiModel("gemini-2.5-flash", base_url="https://gemini.test", api_key="k")
    bodies = _bodies_to_corrupt()
    rng = random.Random(20260521)
    tried = 0
    failures: list[agentloop.ProviderError] = []
    for _ in range(600):
        body, is_sse = rng.choice(bodies)
        corrupted = _mutated_bodies(body, is_sse, rng)
        headers = {"content-type": "text/event-stream" if is_sse else "application/json"}
        respx.post(url__startswith="https://gemini.test/").mock(
            return_value=httpx.Response(200, content=corrupted, headers=headers)
        )
        failures.extend(_typed_failure(model, is_sse))
        tried += 1
    assert all(f.provider == "gemini" for f in failures)
    assert failures, "the corruptions should break some replies"
    report.count("gemini corrupted replies decoded", tried)


def _streams_to_poison() -> list[list[str]]:
    """The chunks of scripted replies and of every recorded stream, one list per stream."""
    scripted = [reply(text("Hel"), finish=None), reply(text("lo"), call("f", {"a": [1]}))]
    streams = [[json.dumps(chunk) for chunk in scripted]]
    for interaction in cassettes.all_interactions():
        if interaction.status == 200 and ":generateContent" in interaction.uri:
            streams.append([interaction.response_body.decode()])
        elif interaction.status == 200 and "alt=sse" in interaction.uri:
            blocks = interaction.response_body.decode().split("\r\n\r\n")
            streams.append([b.removeprefix("data: ") for b in blocks if b.strip()])
    return streams


def _decode_chunks(model: GeminiModel, chunks: list[str], framing: str) -> Reply:
    """The reply for chunks framed as a body (one chunk), SSE events or a streamed JSON array."""
    if framing == "body":
        return model.decode(load_reply("".join(chunks).encode(), provider="gemini"))
    if framing == "array":
        events = json_array_events(f"[{','.join(chunks)}]".encode()) or []
    else:
        events = [ServerSentEvent(data=chunk) for chunk in chunks]
    decoder = model.stream_decoder()
    for event in events:
        assert_shown_text_encodes(decoder.feed(event))
    return decoder.finish()


def test_hostile_values_in_replies_are_typed_or_sendable() -> None:
    model = GeminiModel("gemini-2.5-flash", api_key="k")
    streams = _streams_to_poison()
    rng = random.Random(20260522)
    typed = 0
    for _ in range(400):
        chunks = inject_event(rng.choice(streams), rng)
        framing = (
            "body" if len(chunks) == 1 and rng.random() < 0.5 else rng.choice(["sse", "array"])
        )
        error = typed_or_sendable(partial(_decode_chunks, model, chunks, framing), "gemini")
        typed += error is not None
    assert typed, "the hostile values should break some replies"
