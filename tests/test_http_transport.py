"""The shared HTTP transport: retries, retry-after, error mapping, broken streams.

A minimal provider (JSON in, JSON out, one SSE event per chunk) runs against a
real local server, so these tests exercise httpx and tenacity for real
(tests/test_async_transport.py does the same through aiohttp).
"""

from __future__ import annotations

import json
import time

import httpx
import pytest
from echo_provider import Echo, echo, sse
from local_server import LocalServer

import agentloop
from agentloop import StreamIncomplete
from agentloop.providers.http import classify, parse_retry_after


def test_a_plain_call(local_server: LocalServer) -> None:
    local_server.reply({"text": "hi"})
    assert echo(local_server).prompt("x").text() == "hi"
    assert local_server.requests[0].json() == {"prompt": "x", "stream": False}
    assert local_server.requests[0].headers["authorization"] == "Bearer sk-test"


def test_streaming_over_sse(local_server: LocalServer) -> None:
    local_server.reply(sse("a", "b"), headers={"content-type": "text/event-stream"})
    assert list(echo(local_server).prompt("x", stream=True)) == ["a", "b"]


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529])
def test_retryable_statuses_are_retried_then_succeed(
    local_server: LocalServer, status: int
) -> None:
    local_server.reply({"error": {"message": "busy"}}, status=status).reply({"text": "ok"})
    assert echo(local_server).prompt("x").text() == "ok"
    assert len(local_server.requests) == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, agentloop.BadRequestError),
        (401, agentloop.AuthenticationError),
        (403, agentloop.PermissionDeniedError),
        (404, agentloop.ModelNotFoundError),
        (422, agentloop.BadRequestError),
    ],
)
def test_client_errors_are_never_retried(
    local_server: LocalServer, status: int, error: type[Exception]
) -> None:
    local_server.reply({"error": {"message": "no", "type": "x"}}, status=status)
    with pytest.raises(error):
        echo(local_server).prompt("x")
    assert len(local_server.requests) == 1


def test_retries_exhausted_raise_the_last_error(local_server: LocalServer) -> None:
    local_server.reply({"error": {"message": "slow down"}}, status=429)
    with pytest.raises(agentloop.RateLimitError) as info:
        echo(local_server, max_retries=2).prompt("x")
    assert len(local_server.requests) == 3
    assert info.value.status == 429


def test_retry_after_is_honoured(local_server: LocalServer) -> None:
    local_server.reply(
        {"error": {"message": "wait"}}, status=429, headers={"retry-after-ms": "300"}
    )
    local_server.reply({"text": "ok"})
    started = time.perf_counter()
    assert echo(local_server).prompt("x").text() == "ok"
    assert time.perf_counter() - started >= 0.3


def test_authentication_error_names_the_variable(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_server.reply({"error": {"message": "bad key"}}, status=401)
    with pytest.raises(agentloop.AuthenticationError, match="ECHO_API_KEY"):
        echo(local_server).prompt("x")


def test_a_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ECHO_API_KEY", raising=False)
    with pytest.raises(agentloop.MissingKeyError, match="ECHO_API_KEY"):
        Echo("m", base_url="http://127.0.0.1:9").prompt("x")


def test_a_refused_connection_is_retried_then_typed() -> None:
    model = Echo("m", base_url="http://127.0.0.1:9", api_key="k", retry_backoff=0, max_retries=1)
    with pytest.raises(agentloop.ProviderConnectionError):
        model.prompt("x")


def test_a_timeout_is_typed(local_server: LocalServer) -> None:
    local_server.reply({"text": "late"}, delay=0.5)
    with pytest.raises(agentloop.ProviderTimeoutError):
        echo(local_server, timeout=0.1, max_retries=0).prompt("x")


def test_a_truncated_stream_keeps_the_partial_text(local_server: LocalServer) -> None:
    local_server.reply(
        sse("Hello ", "wor", done=False), headers={"content-type": "text/event-stream"}
    )
    response = echo(local_server).prompt("x", stream=True)
    chunks: list[str] = []

    def consume() -> None:
        chunks.extend(response)

    with pytest.raises(StreamIncomplete) as info:
        consume()
    assert chunks == ["Hello ", "wor"]
    assert info.value.partial_text == "Hello wor"
    assert response.partial_text == "Hello wor"


def test_a_dropped_connection_mid_stream_is_typed(local_server: LocalServer) -> None:
    body = sse("Hello ", "world")
    local_server.reply(body, headers={"content-type": "text/event-stream"}, promise_more=True)
    with pytest.raises(StreamIncomplete) as info:
        list(echo(local_server).prompt("x", stream=True))
    assert info.value.partial_text.startswith("Hello")


def test_a_body_that_is_not_json_is_a_response_format_error(local_server: LocalServer) -> None:
    local_server.reply("<html>oops</html>", headers={"content-type": "text/html"})
    with pytest.raises(agentloop.ResponseFormatError, match="not valid JSON"):
        echo(local_server).prompt("x")


async def test_async_calls_retry_and_stream(local_server: LocalServer) -> None:
    local_server.reply({"error": {"message": "busy"}}, status=503).reply({"text": "ok"})
    model = echo(local_server).to_async()
    assert (await model.prompt("x")).text() == "ok"
    local_server.reply(sse("a", "b"), headers={"content-type": "text/event-stream"})
    chunks = [c async for c in model.prompt("x", stream=True)]
    assert chunks == ["a", "b"]


def test_the_key_never_appears_in_reprs_or_dicts(local_server: LocalServer) -> None:
    local_server.reply({"text": "hi"})
    model = echo(local_server)
    response = model.prompt("x")
    assert "sk-test" not in repr(model)
    assert "sk-test" not in json.dumps(response.to_dict())
    assert "sk-test" not in str(vars(model))


@pytest.mark.parametrize(
    ("status", "kind", "message", "expected"),
    [
        (400, "invalid_request_error", "prompt is too long: 300000 tokens", "ContextTooLongError"),
        (400, "context_length_exceeded", "", "ContextTooLongError"),
        (400, "API_KEY_INVALID", "API key not valid", "AuthenticationError"),
        (503, None, "The model is overloaded", "OverloadedError"),
        (529, "overloaded_error", "Overloaded", "OverloadedError"),
        (500, None, "", "ServerError"),
    ],
)
def test_classification(status: int, kind: str | None, message: str, expected: str) -> None:
    assert classify(status, kind, message).__name__ == expected


def test_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"Retry-After-Ms": "1500"}) == 1.5
    assert parse_retry_after({}) is None
    http_date = parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert http_date == 0.0


def test_with_clients_makes_a_copy_and_leaves_the_original_alone(
    local_server: LocalServer,
) -> None:
    local_server.reply({"text": "hi"})
    model = echo(local_server, max_retries=4)
    own = model.client
    client = httpx.Client()
    copied = model.with_clients(client, max_retries=0)
    assert copied.client is client
    assert copied.max_retries == 0
    assert model.client is own
    assert model.max_retries == 4
    assert copied.prompt("x").text() == "hi"
    client.close()


HOSTILE_RETRY_AFTER = ["soon", "0x10", "Wed, 99 Foo 2015 07:28:00 GMT", "inf", "nan", "", "1e999"]


@pytest.mark.parametrize("value", HOSTILE_RETRY_AFTER)
def test_an_unreadable_retry_after_is_ignored(value: str) -> None:
    assert parse_retry_after({"retry-after": value}) is None
    assert parse_retry_after({"retry-after-ms": value}) is None


def test_retry_after_in_the_past_or_negative_means_now() -> None:
    assert parse_retry_after({"retry-after": "-5"}) == 0.0
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 -0000"}) == 0.0


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("value", HOSTILE_RETRY_AFTER)
def test_a_reply_with_an_unreadable_retry_after_is_retried_as_usual(
    local_server: LocalServer, status: int, value: str
) -> None:
    local_server.reply(
        {"error": {"message": "busy"}}, status=status, headers={"retry-after": value}
    )
    local_server.reply({"text": "ok"})
    assert echo(local_server).prompt("x").text() == "ok"
    assert len(local_server.requests) == 2


@pytest.mark.parametrize("value", HOSTILE_RETRY_AFTER)
def test_a_client_error_with_an_unreadable_retry_after_is_typed(
    local_server: LocalServer, value: str
) -> None:
    local_server.reply({"error": {"message": "no"}}, status=400, headers={"retry-after": value})
    with pytest.raises(agentloop.BadRequestError) as info:
        echo(local_server).prompt("x")
    assert info.value.retry_after is None
