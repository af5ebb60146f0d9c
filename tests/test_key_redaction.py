"""API keys never leak: not through an error a server echoes them into, not through the log.

A proxy (or a server) that answers an error by echoing the request's headers puts the
key in the error body. On every format, sync, streamed and async, the error's text,
``body`` and ``args`` carry ``[redacted]`` instead. And the log, at DEBUG (bodies and
headers), never shows the key either.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from local_server import LocalServer, Recorded, Scripted

from agentloop import ProviderError
from agentloop.providers.anthropic import AnthropicModel
from agentloop.providers.gemini import GeminiModel
from agentloop.providers.http import HTTPModel
from agentloop.providers.openai_chat import OpenAIChatModel
from agentloop.providers.openai_responses import OpenAIResponsesModel
from agentloop.providers.redaction import MASK

KEY = "sk-live-0123456789abcdefSECRET"
PROXY_TOKEN = "tok-proxy-99999999"

MODELS: dict[str, Callable[[str], HTTPModel]] = {
    "openai": lambda url: OpenAIChatModel("gpt-4.1-mini", base_url=url, api_key=KEY),
    "openai-responses": lambda url: OpenAIResponsesModel("gpt-4.1", base_url=url, api_key=KEY),
    "anthropic": lambda url: AnthropicModel("claude-test", base_url=url, api_key=KEY),
    "gemini": lambda url: GeminiModel("gemini-2.5-flash", base_url=url, api_key=KEY),
}


def echoing(status: int) -> Callable[[Recorded], Scripted]:
    """An error answer that repeats every request header, in the message and beside it."""

    def answer(request: Recorded) -> Scripted:
        seen = "; ".join(f"{name}: {value}" for name, value in request.headers.items())
        body = {
            "error": {
                "message": f"rejected by proxy, request headers were {seen}",
                "type": "invalid_request_error",
                "code": status,
                "headers": request.headers,
            }
        }
        return Scripted(status, json.dumps(body).encode(), {"content-type": "application/json"})

    return answer


@pytest.fixture
def echo_server() -> Iterator[LocalServer]:
    server = LocalServer(responder=echoing(400))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def make(name: str, server: LocalServer) -> HTTPModel:
    model = MODELS[name](server.url)
    model.extra_headers["x-proxy-token"] = PROXY_TOKEN
    model.max_retries = 0
    return model


def assert_redacted(error: ProviderError) -> None:
    for text in (str(error), error.message, error.body or "", repr(error.args)):
        assert KEY not in text
        assert PROXY_TOKEN not in text
    assert MASK in (error.body or "")


@pytest.mark.parametrize("name", MODELS)
def test_an_echoed_key_is_redacted_from_the_error(echo_server: LocalServer, name: str) -> None:
    with pytest.raises(ProviderError) as info:
        make(name, echo_server).prompt("hi")
    assert KEY in json.dumps(echo_server.requests[0].headers)  # the key was sent...
    assert_redacted(info.value)  # ...and is not in what came back


@pytest.mark.parametrize("name", MODELS)
def test_an_echoed_key_is_redacted_from_a_streamed_error(
    echo_server: LocalServer, name: str
) -> None:
    with pytest.raises(ProviderError) as info:
        list(make(name, echo_server).prompt("hi", stream=True))
    assert_redacted(info.value)


@pytest.mark.parametrize("name", MODELS)
async def test_an_echoed_key_is_redacted_from_an_async_error(
    echo_server: LocalServer, name: str
) -> None:
    model = make(name, echo_server)
    with pytest.raises(ProviderError) as info:
        await model.to_async().prompt("hi")
    await model.aclose()
    assert_redacted(info.value)


def test_an_error_inside_a_gemini_stream_is_redacted(local_server: LocalServer) -> None:
    error = {"error": {"code": 400, "message": f"bad key {KEY}", "status": "INVALID_ARGUMENT"}}
    local_server.reply(
        f"data: {json.dumps(error)}\n\n", headers={"content-type": "text/event-stream"}
    )
    with pytest.raises(ProviderError) as info:
        list(make("gemini", local_server).prompt("hi", stream=True))
    assert KEY not in str(info.value)
    assert KEY not in (info.value.body or "")


# -- the log ---------------------------------------------------------------------------


def every_text(record: logging.LogRecord) -> str:
    return " ".join([record.getMessage(), repr(record.args), repr(vars(record))])


def test_the_log_shows_each_request_and_retry_and_never_the_key(
    local_server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="agentloop")
    local_server.reply({"error": {"message": f"busy, your key is {KEY}"}}, status=503)
    local_server.reply(
        {"choices": [{"message": {"role": "assistant", "content": "hello"}}], "usage": {}}
    )
    model = MODELS["openai"](local_server.url)
    model.retry_backoff = 0
    assert model.prompt("hi").text() == "hello"

    records = [r for r in caplog.records if r.name.startswith("agentloop")]
    assert all(KEY not in every_text(r) for r in records)
    requests = [r for r in records if r.levelno == logging.INFO and hasattr(r, "attempt")]
    assert [(r.provider, r.model, r.status, r.attempt) for r in requests] == [  # type: ignore[attr-defined]
        ("openai", "gpt-4.1-mini", 503, 1),
        ("openai", "gpt-4.1-mini", 200, 2),
    ]
    [retry] = [r for r in records if r.levelno == logging.WARNING]
    assert retry.name == "agentloop.providers.retry"
    assert "retrying in 0.00 s (attempt 1 of 3 failed): ServerError" in retry.getMessage()
    debug = " ".join(r.getMessage() for r in records if r.levelno == logging.DEBUG)
    assert f"'authorization': '{MASK}'" in debug  # the request's headers, masked
    assert '"content":"hi"' in debug  # the request body
    assert "hello" in debug  # the reply body
    assert f"your key is {MASK}" in debug  # the error body, masked


def test_streamed_events_are_logged_at_debug_with_the_key_masked(
    local_server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="agentloop")
    chunk = {"choices": [{"index": 0, "delta": {"content": f"the key is {KEY}"}}]}
    local_server.reply(
        f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n",
        headers={"content-type": "text/event-stream"},
    )
    list(MODELS["openai"](local_server.url).prompt("hi", stream=True))
    events = [r.getMessage() for r in caplog.records if "event" in r.getMessage()]
    assert events
    assert all(KEY not in text for text in events)


def test_the_library_adds_no_log_handlers(local_server: LocalServer) -> None:
    local_server.reply({"choices": [{"message": {"role": "assistant", "content": "x"}}]})
    MODELS["openai"](local_server.url).prompt("hi")
    loggers: list[Any] = [logging.getLogger("agentloop")]
    loggers += [
        logger
        for name, logger in logging.Logger.manager.loggerDict.items()
        if name.startswith("agentloop.") and isinstance(logger, logging.Logger)
    ]
    assert all(logger.handlers == [] for logger in loggers)
