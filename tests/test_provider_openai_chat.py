"""OpenAI Chat Completions against recorded traffic, replayed over a real local HTTP server.

Every recorded ``/chat/completions`` exchange (OpenAI, Ollama's /v1, vLLM,
OpenRouter, Groq, Gemini's compatible endpoint) is served back with its status,
content type and body. The oracle is the recording itself: text, tool calls,
thinking and usage must equal what the recorded body says, streamed and not;
errors must map to the right typed error; and the request we send for the
recorded conversation must carry the recorded messages, tools and options.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import as_recorded
import cassettes
import pytest
import report
from local_server import LocalServer
from openai_chat_wire import (
    SSE,
    as_stream,
    content_type,
    is_stream,
    model_for,
    recorded_exchanges,
    sse_payloads,
)

import agentloop
from agentloop import Delta, Reply, Request, Thinking, Tool
from agentloop.providers.openai_chat import decode_messages, encode_messages

SELECTED = recorded_exchanges()
#: What a recorded error status means.
ERRORS = {
    400: agentloop.BadRequestError,
    404: agentloop.ModelNotFoundError,
    429: agentloop.RateLimitError,
}


@dataclass
class Expected:
    """What a recorded reply body says, read straight from its JSON."""

    text: str = ""
    thinking: str = ""
    calls: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)


def expected_from_json(body: dict[str, Any]) -> Expected:
    message = body["choices"][0]["message"]
    calls = [
        (c["function"]["name"], json.loads(c["function"]["arguments"]), c["id"])
        for c in message.get("tool_calls") or []
    ]
    thinking = message.get("reasoning") or message.get("reasoning_content") or ""
    return Expected(message.get("content") or "", thinking, calls, body.get("usage") or {})


def expected_from_sse(body: bytes) -> Expected:
    expected = Expected()
    calls: dict[Any, dict[str, str]] = {}
    for payload in sse_payloads(body):
        if payload == "[DONE]":
            continue
        chunk = json.loads(payload)
        expected.usage = chunk.get("usage") or expected.usage
        for choice in chunk["choices"]:
            delta = choice.get("delta") or {}
            expected.text += delta.get("content") or ""
            expected.thinking += delta.get("reasoning") or delta.get("reasoning_content") or ""
            for call in delta.get("tool_calls") or []:
                key = call.get("index", len(calls))
                slot = calls.setdefault(key, {"name": "", "arguments": "", "id": ""})
                slot["id"] = slot["id"] or call.get("id", "")
                slot["name"] = slot["name"] or call.get("function", {}).get("name", "")
                slot["arguments"] += call.get("function", {}).get("arguments") or ""
    expected.calls = [(c["name"], json.loads(c["arguments"]), c["id"]) for c in calls.values()]
    return expected


def assert_reply_says(reply: Reply, expected: Expected) -> None:
    assert reply.message.role == "assistant"
    assert reply.message.text == expected.text
    thinking = "".join(p.text for p in reply.message.parts if isinstance(p, Thinking))
    assert thinking == expected.thinking
    assert all(p.provider == "openai" for p in reply.message.parts if isinstance(p, Thinking))
    calls = [(c.name, c.arguments, c.tool_call_id) for c in reply.message.tool_calls]
    assert [c[:2] for c in calls] == [c[:2] for c in expected.calls]
    for (_, _, got), (_, _, recorded) in zip(calls, expected.calls, strict=True):
        assert got == recorded or (recorded == "" and got)  # an empty id gets a unique one
    usage = expected.usage
    assert reply.usage.input_tokens == usage.get("prompt_tokens", 0)
    assert reply.usage.output_tokens == usage.get("completion_tokens", 0)
    details = usage.get("prompt_tokens_details") or {}
    assert reply.usage.cached_input_tokens == details.get("cached_tokens")
    details = usage.get("completion_tokens_details") or {}
    assert reply.usage.reasoning_tokens == details.get("reasoning_tokens")


def assert_deltas_say(deltas: list[Delta], expected: Expected) -> None:
    assert "".join(d.text for d in deltas if d.kind == "text") == expected.text
    assert "".join(d.text for d in deltas if d.kind == "thinking") == expected.thinking


# -- the request we send for the recorded conversation ------------------------------------


def request_from_recording(recorded: dict[str, Any]) -> Request:
    """The neutral request a user would make for the recorded body."""
    # The recordings ask for no cache: prompt_cache="auto" would add a prompt_cache_key.
    options: dict[str, Any] = {"prompt_cache": "off"}
    choice = recorded.get("tool_choice")
    if choice is not None:
        options["tool_choice"] = choice["function"]["name"] if isinstance(choice, dict) else choice
    for key in ("temperature", "top_p", "seed", "reasoning_effort", "parallel_tool_calls", "n"):
        if key in recorded:
            options[key] = recorded[key]
    for key in ("max_tokens", "max_completion_tokens"):
        if key in recorded:
            options["max_tokens"] = recorded[key]
    functions = [t["function"] for t in recorded.get("tools") or []]
    tools = [
        Tool(f["name"], f.get("description", ""), f["parameters"], lambda **kwargs: None)
        for f in functions
    ]
    if any(f.get("strict") for f in functions):
        options["strict_tools"] = "auto"
    schema, schema_name = None, "response"
    if "response_format" in recorded:
        spec = recorded["response_format"]["json_schema"]
        schema, schema_name = spec["schema"], spec["name"]
    messages = decode_messages(recorded["messages"])
    stream = bool(recorded.get("stream"))
    return Request(messages, tools, options, schema, stream, schema_name)


def without_nulls(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages compared for meaning: a null ``content`` beside tool calls means the same
    as none at all, and arguments are compared as JSON (we re-serialise them compactly)."""
    out = []
    for message in messages:
        message = {k: v for k, v in message.items() if v is not None}
        if "tool_calls" in message:
            message["tool_calls"] = [
                {**c, "function": {**c["function"], "arguments": json.loads(a)}}
                if isinstance(a := c["function"]["arguments"], str)
                else c
                for c in message["tool_calls"]
            ]
        out.append(message)
    return out


def tool_specs(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    functions = [t["function"] for t in body.get("tools") or []]
    return [
        (f["name"], f.get("description", ""), f["parameters"], bool(f.get("strict")))
        for f in functions
    ]


def assert_sent_as_recorded(sent: dict[str, Any], recorded: dict[str, Any]) -> None:
    assert sent["model"] == recorded["model"]
    assert without_nulls(sent["messages"]) == without_nulls(recorded["messages"])
    assert sent["stream"] == bool(recorded.get("stream"))
    assert sent.get("stream_options") == (
        {"include_usage": True} if recorded.get("stream") else None
    )
    assert tool_specs(sent) == tool_specs(recorded)
    for key in ("tool_choice", "temperature", "n", "parallel_tool_calls"):
        assert sent.get(key) == recorded.get(key), key
    for key in ("max_tokens", "max_completion_tokens"):
        assert sent.get(key) == recorded.get(key), key
    if "response_format" in recorded:
        ours = sent["response_format"]["json_schema"]
        theirs = recorded["response_format"]["json_schema"]
        assert ours["name"] == theirs["name"]
        assert ours["schema"]["properties"] == theirs["schema"]["properties"]
        assert ours["schema"]["required"] == theirs["schema"]["required"]


# -- replaying ----------------------------------------------------------------------------


def serve(server: LocalServer, it: cassettes.Interaction) -> None:
    server.reply(it.response_body, status=it.status, headers={"content-type": content_type(it)})


def check_replay(server: LocalServer, it: cassettes.Interaction) -> None:
    request = request_from_recording(it.request_json())
    model = model_for(it, server.url, max_retries=0)
    serve(server, it)
    if it.status >= 400:
        with pytest.raises(ERRORS[it.status]) as info:
            model.complete(request)
        assert info.value.status == it.status
        assert info.value.provider == model.provider
    elif request.stream:
        *deltas, reply = list(model.stream(request))
        assert isinstance(reply, Reply)
        expected = expected_from_sse(it.response_body)
        assert_reply_says(reply, expected)
        assert_deltas_say([d for d in deltas if isinstance(d, Delta)], expected)
    else:
        assert_reply_says(model.complete(request), expected_from_json(it.response_json()))
    sent = server.requests[-1]
    assert sent.path == urlsplit(it.uri).path
    assert_sent_as_recorded(sent.json(), it.request_json())


def test_every_recorded_exchange_replays_over_http(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cassettes.require()
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    assert SELECTED, "no recorded /chat/completions exchange found"
    replayed = 0
    for it in SELECTED:
        try:
            check_replay(local_server, it)
        except AssertionError as exc:
            raise AssertionError(f"{it.id}: {exc}") from exc
        replayed += 1
    report.count("openai chat exchanges replayed", replayed)
    assert replayed == len(SELECTED)


async def test_every_recorded_reply_decodes_the_same_over_async(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cassettes.require()
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    replies = [it for it in SELECTED if it.status == 200]
    for it in replies:
        request = request_from_recording(it.request_json())
        model = model_for(it, local_server.url, max_retries=0)
        serve(local_server, it)
        reply, _ = await as_recorded.acall(model, request)
        if request.stream:
            expected = expected_from_sse(it.response_body)
        else:
            expected = expected_from_json(it.response_json())
        assert_reply_says(reply, expected)
    report.count("openai chat exchanges replayed async", len(replies))
    assert replies


def test_every_recorded_json_reply_decodes_the_same_when_streamed(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cassettes.require()
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    bodies = [it for it in SELECTED if it.status == 200 and not is_stream(it)]
    for it in bodies:
        request = request_from_recording(it.request_json())
        model = model_for(it, local_server.url, max_retries=0)
        local_server.reply(as_stream(it.response_json()), headers=SSE)
        *deltas, reply = list(model.stream(request))
        assert isinstance(reply, Reply)
        expected = expected_from_json(it.response_json())
        assert_reply_says(reply, expected)
        assert_deltas_say([d for d in deltas if isinstance(d, Delta)], expected)
    report.count("openai chat recorded replies re-streamed", len(bodies))
    assert bodies


# -- a reply goes back into the next request as the client sent it -------------------------

#: Follow-ups whose recorded client rewrote the previous reply, so no byte comparison:
#: pydantic-ai replaced Gemini's empty call id and dropped its thought signature, and sent
#: Groq's reasoning back as <think> text where we use Groq's own ``reasoning`` field.
REWRITTEN_BY_CLIENT = {
    "openai-compatible/gemini_openai_compat_tool_calls.yaml#1",
    "openai-compatible/groq_error_400_tool_use_failed.yaml#2",
}


def follow_ups() -> list[tuple[cassettes.Interaction, cassettes.Interaction]]:
    """(reply, next request) pairs where the next request repeats the conversation."""
    pairs = []
    for before, after in itertools.pairwise(SELECTED):
        if before.file != after.file or before.status != 200 or after.id in REWRITTEN_BY_CLIENT:
            continue
        sent, next_sent = before.request_json()["messages"], after.request_json()["messages"]
        if next_sent[: len(sent)] == sent and len(next_sent) > len(sent):
            pairs.append((before, after))
    return pairs


def test_a_decoded_reply_is_sent_back_exactly_as_the_recorded_client_did(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cassettes.require()
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    pairs = follow_ups()
    for before, after in pairs:
        request = request_from_recording(before.request_json())
        serve(local_server, before)
        model = model_for(before, local_server.url)
        events = list(model.stream(request)) if request.stream else [model.complete(request)]
        reply = events[-1]
        assert isinstance(reply, Reply)
        position = len(before.request_json()["messages"])
        recorded = after.request_json()["messages"][position]
        assert without_nulls(encode_messages([reply.message])) == without_nulls([recorded])
    report.count("openai chat replies re-sent as recorded", len(pairs))
    assert len(pairs) >= 4


# -- recorded scenarios, spelled out ---------------------------------------------------------


def exchange(exchange_id: str) -> cassettes.Interaction:
    cassettes.require()
    return next(it for it in SELECTED if it.id == exchange_id)


def replay(server: LocalServer, exchange_id: str, **kwargs: Any) -> tuple[list[Delta], Reply]:
    it = exchange(exchange_id)
    serve(server, it)
    request = request_from_recording(it.request_json())
    model = model_for(it, server.url, **kwargs)
    if not request.stream:
        return [], model.complete(request)
    *deltas, reply = list(model.stream(request))
    assert isinstance(reply, Reply)
    return [d for d in deltas if isinstance(d, Delta)], reply


def test_parallel_streamed_calls_are_assembled_by_index(local_server: LocalServer) -> None:
    _, reply = replay(local_server, "openai/chat_stream_parallel_tools.yaml#0")
    assert [(c.name, c.arguments) for c in reply.message.tool_calls] == [
        ("plus", {"a": 2, "b": 3}),
        ("minus", {"a": 3, "b": 2}),
    ]
    assert reply.finish_reason == "tool_calls"


def test_ollamas_whole_call_in_one_delta_with_finish_reason_stop_is_a_tool_call(
    local_server: LocalServer,
) -> None:
    _, reply = replay(local_server, "ollama/openai_compat_stream_tool_call.yaml#0")
    (call,) = reply.message.tool_calls
    assert (call.name, call.arguments, call.tool_call_id) == (
        "return_list_of_int",
        {"value": "[1, 2, 3, 4, 5]"},
        "call_28sm5ma0",
    )
    assert reply.finish_reason == "tool_calls"


def test_cached_input_tokens_are_read(local_server: LocalServer) -> None:
    _, reply = replay(local_server, "openai/chat_usage_cached_tokens.yaml#0")
    assert (reply.usage.input_tokens, reply.usage.cached_input_tokens) == (1144, 1024)


def test_reasoning_tokens_are_read(local_server: LocalServer) -> None:
    _, reply = replay(local_server, "openai/chat_usage_reasoning_tokens.yaml#0")
    assert (reply.usage.output_tokens, reply.usage.reasoning_tokens) == (87, 64)
    assert local_server.requests[0].json()["max_completion_tokens"] == 100


def test_ollama_reasoning_is_thinking_and_goes_back_in_the_same_field(
    local_server: LocalServer,
) -> None:
    _, reply = replay(local_server, "ollama/openai_compat_text_json_schema.yaml#0")
    thinking = reply.message.parts[0]
    assert isinstance(thinking, Thinking)
    assert thinking.provider == "openai"
    assert thinking.text.startswith("Okay, the user is asking")
    assert json.loads(reply.message.text) == {"city": "Paris", "country": "France"}
    assert "reasoning" in encode_messages([reply.message])[0]


def test_groq_reasoning_and_its_cached_tokens(local_server: LocalServer) -> None:
    _, reply = replay(local_server, "openai-compatible/groq_error_400_tool_use_failed.yaml#2")
    assert reply.usage.cached_input_tokens == 256
    assert reply.usage.reasoning_tokens == 59
    assert isinstance(reply.message.parts[0], Thinking)


def test_geminis_empty_call_id_is_replaced_and_its_signature_kept(
    local_server: LocalServer,
) -> None:
    _, reply = replay(local_server, "openai-compatible/gemini_openai_compat_tool_calls.yaml#0")
    (call,) = reply.message.tool_calls
    assert call.tool_call_id.startswith("call_")
    sent_back = encode_messages([reply.message])[0]
    assert sent_back["tool_calls"][0]["id"] == call.tool_call_id
    assert sent_back["extra_content"]["google"]["thought_signature"].startswith("AVSoXO4A")


def test_vllms_old_format_reply_with_length_finish(local_server: LocalServer) -> None:
    _, reply = replay(local_server, "openai-compatible/vllm_chat_text.yaml#1")
    assert reply.finish_reason == "length"
    assert reply.model == "mistralai/Mistral-7B-Instruct-v0.2"
    assert reply.message.text.startswith(" The answer to the mathematical expression 1 + 1 is 2")
    assert local_server.requests[0].json()["max_tokens"] == 64


def test_groqs_tool_use_failed_is_a_bad_request_with_the_failed_generation(
    local_server: LocalServer,
) -> None:
    with pytest.raises(agentloop.BadRequestError) as info:
        replay(local_server, "openai-compatible/groq_error_400_tool_use_failed.yaml#0")
    assert info.value.status == 400
    assert info.value.error_type == "invalid_request_error"
    assert "Tool call validation failed" in str(info.value)
    assert '"foo": "bar"' in str(info.value)
    assert len(local_server.requests) == 1  # a 400 is never retried


def test_openrouters_429_is_retried_then_raised_with_the_upstream_reason(
    local_server: LocalServer,
) -> None:
    cassettes.require()
    recorded = [it for it in SELECTED if it.file == "openai-compatible/openrouter_error_429.yaml"]
    assert len(recorded) == 3
    for it in recorded:
        serve(local_server, it)
    model = model_for(recorded[0], local_server.url, max_retries=2)
    with pytest.raises(agentloop.RateLimitError) as info:
        model.complete(request_from_recording(recorded[0].request_json()))
    assert len(local_server.requests) == 3
    assert "temporarily rate-limited upstream" in str(info.value)
    assert local_server.requests[0].path == "/api/v1/chat/completions"


def test_openais_404_names_the_model(local_server: LocalServer) -> None:
    with pytest.raises(agentloop.ModelNotFoundError, match=r"gpt-5\.2-proo") as info:
        replay(local_server, "openai/chat_error_404_model_not_found.yaml#0")
    assert info.value.error_type == "invalid_request_error"


def test_the_image_reply_streams_one_word(local_server: LocalServer) -> None:
    deltas, reply = replay(local_server, "openai/chat_image_base64_stream.yaml#0")
    assert [d.text for d in deltas] == ["Python"]
    assert reply.usage.input_tokens == 269
