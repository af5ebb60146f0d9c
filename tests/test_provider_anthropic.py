"""Anthropic Messages over HTTP: every recorded exchange replayed against a local server.

Each recorded request is rebuilt as a neutral Request (messages, tools,
options), sent through AnthropicModel to a local server that answers with the
recorded status, content type and body. The test checks three things:

- the body we send equals the recorded one (real clients wrote those);
- the reply parses into what the recorded body says (text, tool calls,
  thinking, usage), streamed or not;
- a recorded error becomes the matching typed error, without retries.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import as_recorded
import cassettes
import pytest
import report
from anthropic_wire import KEY, header, model, parse_sse, recorded
from local_server import LocalServer

import agentloop
from agentloop import Message, Reply, Request, Thinking
from agentloop.media import decode_base64
from agentloop.providers.anthropic import decode_messages
from agentloop.tools import Tool

Body = dict[str, Any]

STOP_REASONS = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length"}
ERRORS = {400: agentloop.BadRequestError, 404: agentloop.ModelNotFoundError}


def unused(**kwargs: Any) -> None:
    raise AssertionError("replayed tools never run")


# -- rebuilding the recorded request ---------------------------------------------------


def request_from(body: Body) -> Request:
    messages = decode_messages(body.get("system"), body["messages"])
    tools = [
        Tool(spec["name"], spec.get("description", ""), spec["input_schema"], unused)
        for spec in body.get("tools", [])
    ]
    return Request(messages, tools, options_from(body), stream=bool(body.get("stream")))


def options_from(body: Body) -> dict[str, Any]:
    """The neutral options a caller passes to get this body (the inverse of the mapping)."""
    options = {key: body[key] for key in ("max_tokens", "temperature", "top_p") if key in body}
    # The recordings place no cache breakpoints: "auto" would add them.
    options["prompt_cache"] = "off"
    if "thinking" in body:
        options["thinking_budget"] = body["thinking"]["budget_tokens"]
    if "effort" in body.get("output_config", {}):
        options["reasoning_effort"] = body["output_config"]["effort"]
    choice = body.get("tool_choice")
    if choice is not None:
        neutral = {"auto": "auto", "any": "required", "none": "none"}
        options["tool_choice"] = neutral.get(choice["type"], choice.get("name"))
        if "disable_parallel_tool_use" in choice:
            options["parallel_tool_calls"] = not choice["disable_parallel_tool_use"]
    return options


def canonical(body: Body) -> Body:
    """A plain string is the same content as one text block; base64 compares as bytes."""
    out = dict(body)
    out["messages"] = [{**m, "content": _content(m["content"])} for m in body["messages"]]
    if "system" in out:
        out["system"] = _content(out["system"])
    return out


def _content(content: Any) -> Any:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks = []
    for block in content:
        block = {k: v for k, v in block.items() if v is not None}
        if block["type"] == "tool_result" and "content" in block:
            block["content"] = _content(block["content"])
        source = block.get("source")
        if isinstance(source, dict) and source.get("type") == "base64":
            block["source"] = {**source, "data": decode_base64(source["data"])}
        blocks.append(block)
    return blocks


# -- what the recorded reply says, read independently ----------------------------------


def expected_from_sse(body: str) -> Body:
    """The final message an event stream describes (a plain reading of the documented events)."""
    blocks: dict[int, Body] = {}
    message: Body = {}
    for event in parse_sse(body):
        data = json.loads(event.data)
        kind = data["type"]
        if kind == "message_start":
            message = {**data["message"], "usage": dict(data["message"]["usage"])}
        elif kind == "content_block_start":
            blocks[data["index"]] = {**data["content_block"], "partial": ""}
        elif kind == "content_block_delta":
            block, delta = blocks[data["index"]], data["delta"]
            field = {"text_delta": "text", "thinking_delta": "thinking"}.get(delta["type"])
            if field:
                block[field] += delta[field]
            elif delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
            else:
                block["partial"] += delta["partial_json"]
        elif kind == "message_delta":
            message["usage"].update(data["usage"])
            message["stop_reason"] = data["delta"]["stop_reason"]
    for block in blocks.values():
        partial = block.pop("partial")
        if block["type"] == "tool_use":
            block["input"] = json.loads(partial or "{}")
    message["content"] = [blocks[i] for i in sorted(blocks)]
    return message


def check_reply(reply: Reply, expected: Body, where: str) -> None:
    content = expected["content"]
    assert reply.message.role == "assistant", where
    assert reply.message.text == "".join(b["text"] for b in content if b["type"] == "text"), where
    calls = [(c.tool_call_id, c.name, c.arguments) for c in reply.message.tool_calls]
    tool_uses = [b for b in content if b["type"] == "tool_use"]
    assert calls == [(b["id"], b["name"], b["input"]) for b in tool_uses], where
    thoughts = [(p.text, p.signature) for p in reply.message.parts if isinstance(p, Thinking)]
    blocks = [b for b in content if b["type"] == "thinking"]
    assert thoughts == [(b["thinking"], b["signature"]) for b in blocks], where
    counts = expected["usage"]
    cached = counts.get("cache_read_input_tokens")
    written = counts.get("cache_creation_input_tokens") or 0
    assert reply.usage.input_tokens == counts["input_tokens"] + (cached or 0) + written, where
    assert reply.usage.output_tokens == counts["output_tokens"], where
    assert reply.usage.cached_input_tokens == cached, where
    assert reply.usage.reasoning_tokens is None, where  # Anthropic reports none
    assert reply.finish_reason == STOP_REASONS[expected["stop_reason"]], where
    assert reply.model == expected["model"], where


# -- replay ----------------------------------------------------------------------------


def serve(server: LocalServer, interaction: cassettes.Interaction) -> None:
    """Answer as recorded; a body recorded gzip'd goes gzip'd again, for httpx to undo."""
    headers = {"content-type": header(interaction, "content-type") or "application/json"}
    body = interaction.response_body
    if (header(interaction, "content-encoding") or "").lower() == "gzip":
        body = gzip.compress(body)
        headers["content-encoding"] = "gzip"
    server.reply(body, status=interaction.status, headers=headers)


def replay(server: LocalServer, interaction: cassettes.Interaction) -> None:
    body = interaction.request_json()
    request = request_from(body)
    serve(server, interaction)
    claude = model(server, body["model"], max_retries=2)
    where = interaction.id
    if interaction.status >= 400:
        recorded_error = interaction.response_json()["error"]
        with pytest.raises(ERRORS[interaction.status]) as info:
            as_recorded.call(claude, request)
        assert info.value.error_type == recorded_error["type"], where
        assert recorded_error["message"] in info.value.message, where
        assert info.value.status == interaction.status, where
    elif request.stream:
        reply, deltas = as_recorded.call(claude, request)
        as_recorded.check_deltas(reply, deltas, where)
        check_reply(reply, expected_from_sse(interaction.response_body.decode()), where)
    else:
        check_reply(claude.complete(request), interaction.response_json(), where)
    sent = server.requests[-1]
    assert len(server.requests) == 1, f"{where}: retried"
    assert sent.path == "/v1/messages", where
    assert sent.headers["x-api-key"] == KEY, where
    assert sent.headers["anthropic-version"] == "2023-06-01", where
    assert canonical(sent.json()) == canonical(body), where
    claude.close()


def test_every_recorded_exchange_replays_over_http(local_server: LocalServer) -> None:
    cassettes.require()
    selected = recorded()
    replayed = 0
    for interaction in selected:
        local_server.requests.clear()
        replay(local_server, interaction)
        replayed += 1
    report.count("anthropic exchanges replayed", replayed)
    assert replayed == len(selected)
    assert replayed > 0


#: Files whose second request carries the first reply back (as the recording client sent it).
FOLLOW_UPS = [
    "anthropic/tool_call_and_result.yaml",
    "anthropic/parallel_tools_and_results.yaml",
    "anthropic/stream_tool_call_then_stream_text.yaml",
]


@pytest.mark.parametrize("file", FOLLOW_UPS)
def test_a_decoded_reply_goes_back_exactly_as_the_recorded_follow_up_sent_it(
    local_server: LocalServer, file: str
) -> None:
    cassettes.require()
    first, second = (it for it in recorded() if it.file == file)
    serve(local_server, first)
    body = first.request_json()
    claude = model(local_server, body["model"])
    request = request_from(body)
    reply, _ = as_recorded.call(claude, request)
    follow_up = second.request_json()
    history = decode_messages(follow_up.get("system"), follow_up["messages"])
    rebuilt = request_from({**follow_up, "messages": []})
    rebuilt.messages = as_recorded.with_reply(history, reply)
    assert canonical(claude.encode(rebuilt, stream=rebuilt.stream).body) == canonical(follow_up)


def test_a_recorded_thinking_reply_keeps_its_signature_for_the_next_request(
    local_server: LocalServer,
) -> None:
    cassettes.require()
    (interaction,) = (it for it in recorded() if it.file == "anthropic/stream_thinking.yaml")
    serve(local_server, interaction)
    claude = model(local_server)
    reply, _ = as_recorded.call(claude, request_from(interaction.request_json()))
    history = [Message.user("Two names for a pet pelican"), reply.message, Message.user("More")]
    sent = claude.encode(Request(history), stream=False).body["messages"][1]["content"]
    assert sent[0]["type"] == "thinking"
    assert sent[0]["signature"].startswith("EvoCCkYICxgCKkCY593D")
    assert sent[0]["thinking"].startswith("The user wants two names for a pet pelican")
    assert sent[1] == {"type": "text", "text": "- Captain\n- Scoop"}


async def test_every_recorded_reply_parses_the_same_through_the_async_client(
    local_server: LocalServer,
) -> None:
    cassettes.require()
    selected = [it for it in recorded() if it.status == 200]
    replayed = 0
    for interaction in selected:
        serve(local_server, interaction)
        body = interaction.request_json()
        request = request_from(body)
        claude = model(local_server, body["model"])
        reply, _ = await as_recorded.acall(claude, request)
        if request.stream:
            expected = expected_from_sse(interaction.response_body.decode())
        else:
            expected = interaction.response_json()
        check_reply(reply, expected, interaction.id)
        await claude.aclose()
        replayed += 1
    report.count("anthropic exchanges replayed async", replayed)
    assert replayed == len(selected)
    assert replayed > 0
