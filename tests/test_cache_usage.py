"""Cache reads and cache writes, reported apart on every wire format, streamed or not, and
summed over a chain and over a batch: Anthropic's ``cache_read_input_tokens`` and
``cache_creation_input_tokens``, OpenAI's ``cached_tokens`` (Chat and Responses), Gemini's
``cachedContentTokenCount``. OpenAI and Gemini's implicit caches bill no writes: None there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anthropic_wire
import gemini_replies
import openai_chat_wire
import pytest
import responses_events
from local_server import LocalServer

from agentloop import LLMClient, Model, Usage
from agentloop.providers.openai_chat import OpenAIChatModel
from agentloop.providers.openai_responses.model import create as responses_model

READ, WRITE, UNCACHED, OUTPUT = 700, 300, 50, 5
Body = dict[str, Any]


def add(a: int, b: int) -> int:
    "Add two numbers."
    return a + b


@dataclass
class Format:
    name: str
    model: Callable[[LocalServer], Model]
    #: A reply body calling ``add`` (``call=True``) or answering, and its content type.
    answer: Callable[[bool, bool], tuple[str, dict[str, str]]]
    writes: bool


def _json(body: Body) -> tuple[str, dict[str, str]]:
    return json.dumps(body), {"content-type": "application/json"}


def anthropic_answer(call: bool, stream: bool) -> tuple[str, dict[str, str]]:
    content = [anthropic_wire.tool_use("toolu_1", "add", {"a": 1, "b": 2})] if call else []
    content = content or [anthropic_wire.text("done")]
    stop = "tool_use" if call else "end_turn"
    tokens = {
        "input_tokens": UNCACHED,
        "output_tokens": OUTPUT,
        "cache_read_input_tokens": READ,
        "cache_creation_input_tokens": WRITE,
    }
    if stream:
        return anthropic_wire.sse_body(content, stop, tokens), anthropic_wire.SSE
    return _json(anthropic_wire.message_body(content, stop, tokens))


def chat_answer(call: bool, stream: bool) -> tuple[str, dict[str, str]]:
    tokens = {
        "prompt_tokens": UNCACHED + READ,
        "completion_tokens": OUTPUT,
        "total_tokens": UNCACHED + READ + OUTPUT,
        "prompt_tokens_details": {"cached_tokens": READ},
    }
    calls = [openai_chat_wire.tool_call("add", {"a": 1, "b": 2}, "call_1")] if call else None
    body = openai_chat_wire.completion(None if call else "done", tool_calls=calls, usage_=tokens)
    if stream:
        return openai_chat_wire.as_stream(body), {"content-type": "text/event-stream"}
    return _json(body)


def responses_answer(call: bool, stream: bool) -> tuple[str, dict[str, str]]:
    item = (
        responses_events.function_call("add", {"a": 1, "b": 2}, "call_1")
        if call
        else responses_events.message("done")
    )
    body = responses_events.reply(item)
    body["usage"] = {
        "input_tokens": UNCACHED + READ,
        "input_tokens_details": {"cached_tokens": READ},
        "output_tokens": OUTPUT,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": UNCACHED + READ + OUTPUT,
    }
    if stream:
        return responses_events.event_stream(body), responses_events.SSE_HEADERS
    return _json(body)


def gemini_answer(call: bool, stream: bool) -> tuple[str, dict[str, str]]:
    part = gemini_replies.call("add", {"a": 1, "b": 2}) if call else gemini_replies.text("done")
    metered = gemini_replies.usage(UNCACHED + READ, OUTPUT, cachedContentTokenCount=READ)
    body = gemini_replies.reply(part, usageMetadata=metered)
    if stream:
        return gemini_replies.sse(body), gemini_replies.SSE
    return _json(body)


FORMATS = [
    Format("anthropic", anthropic_wire.model, anthropic_answer, writes=True),
    Format(
        "openai chat",
        lambda s: OpenAIChatModel("gpt-4o", api_key="sk-test", base_url=f"{s.url}/v1"),
        chat_answer,
        writes=False,
    ),
    Format(
        "openai responses",
        lambda s: responses_model("gpt-4.1-mini", base_url=f"{s.url}/v1", api_key="sk"),
        responses_answer,
        writes=False,
    ),
    Format("gemini", gemini_replies.gemini, gemini_answer, writes=False),
]


def per_call(wire: Format) -> Usage:
    """What one call's usage must say: reads apart, writes apart, both in the input."""
    writes = WRITE if wire.writes else 0
    return Usage(
        UNCACHED + READ + writes,
        OUTPUT,
        cached_input_tokens=READ,
        details={"cache_creation_input_tokens": WRITE} if wire.writes else {},
    )


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("wire", FORMATS, ids=[f.name for f in FORMATS])
def test_a_chain_reports_and_sums_reads_and_writes(
    local_server: LocalServer, wire: Format, stream: bool
) -> None:
    for call in (True, False):
        body, headers = wire.answer(call, stream)
        local_server.reply(body, headers=headers)
    response = wire.model(local_server).chain("Add.", tools=[add], stream=stream)
    assert response.text() == "done"
    expected = per_call(wire)
    for step in response.responses:
        usage = step.usage()
        assert usage.cached_input_tokens == READ
        assert usage.cache_write_tokens == (WRITE if wire.writes else None)
        assert usage.input_tokens == expected.input_tokens
    total = response.usage()
    assert total.cached_input_tokens == 2 * READ
    assert total.cache_write_tokens == (2 * WRITE if wire.writes else None)
    assert total.input_tokens == 2 * expected.input_tokens


@pytest.mark.parametrize("wire", FORMATS, ids=[f.name for f in FORMATS])
def test_a_batch_sums_reads_and_writes(local_server: LocalServer, wire: Format) -> None:
    body, headers = wire.answer(False, False)
    local_server.reply(body, headers=headers)  # repeated for every prompt
    results = LLMClient(wire.model(local_server), progress=False).process_prompts_sync(
        ["a", "b", "c"]
    )
    assert all(r.ok for r in results)
    total = Usage.sum(r.usage for r in results)
    assert total.cached_input_tokens == 3 * READ
    assert total.cache_write_tokens == (3 * WRITE if wire.writes else None)
