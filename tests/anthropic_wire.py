"""Anthropic Messages replies as the service shapes them, for the provider tests.

Builds non-streamed bodies and the event streams Anthropic would send for the
same content, reads server-sent events back into events, and selects the
recorded exchanges of this format.
"""

from __future__ import annotations

import json
from typing import Any

import cassettes
from local_server import LocalServer

from agentloop.providers.anthropic import AnthropicModel
from agentloop.providers.sse import ServerSentEvent

SSE = {"content-type": "text/event-stream; charset=utf-8"}
KEY = "sk-ant-test-key"

Block = dict[str, Any]


def model(server: LocalServer, name: str = "claude-test", **kwargs: Any) -> AnthropicModel:
    return AnthropicModel(name, base_url=server.url, api_key=KEY, retry_backoff=0, **kwargs)


def usage(input_tokens: int = 10, output_tokens: int = 5, cache_read: int = 0) -> dict[str, int]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_input_tokens": cache_read,
        "cache_creation_input_tokens": 0,
    }


def text(value: str) -> Block:
    return {"type": "text", "text": value}


def tool_use(call_id: str, name: str, arguments: dict[str, Any]) -> Block:
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


def thinking(value: str, signature: str = "sig-abc==") -> Block:
    return {"type": "thinking", "thinking": value, "signature": signature}


def message_body(
    content: list[Block], stop_reason: str = "end_turn", tokens: dict[str, int] | None = None
) -> dict[str, Any]:
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": "claude-test-20250101",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": tokens or usage(),
    }


def event(kind: str, **data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"


def sse_body(
    content: list[Block], stop_reason: str = "end_turn", tokens: dict[str, int] | None = None
) -> str:
    """The event stream Anthropic sends for ``content``, text and arguments in small pieces."""
    counts = tokens or usage()
    start = {**message_body([], None, {**counts, "output_tokens": 1})}  # type: ignore[arg-type]
    events = [event("message_start", message=start), event("ping")]
    for index, block in enumerate(content):
        events.extend(_block_events(index, block))
    events.append(
        event(
            "message_delta",
            delta={"stop_reason": stop_reason, "stop_sequence": None},
            usage={"output_tokens": counts["output_tokens"]},
        )
    )
    events.append(event("message_stop"))
    return "".join(events)


def _block_events(index: int, block: Block) -> list[str]:
    kind = block["type"]
    if kind == "text":
        start, deltas = (
            text(""),
            [{"type": "text_delta", "text": p} for p in _pieces(block["text"])],
        )
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": p} for p in _pieces(block["thinking"])]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif "input" not in block:  # a server tool's result arrives whole, with no deltas
        start, deltas = block, []
    else:
        start = {**block, "input": {}}
        arguments = json.dumps(block["input"]) if block["input"] else ""
        deltas = [{"type": "input_json_delta", "partial_json": ""}]
        deltas += [{"type": "input_json_delta", "partial_json": p} for p in _pieces(arguments)]
    return [
        event("content_block_start", index=index, content_block=start),
        *(event("content_block_delta", index=index, delta=d) for d in deltas),
        event("content_block_stop", index=index),
    ]


def _pieces(value: str, size: int = 7) -> list[str]:
    return [value[i : i + size] for i in range(0, len(value), size)]


def parse_sse(body: str) -> list[ServerSentEvent]:
    """The events of an SSE body (enough of the format for what Anthropic sends)."""
    events = []
    for chunk in body.replace("\r\n", "\n").split("\n\n"):
        name, data = "", []
        for line in chunk.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        if data:
            events.append(ServerSentEvent(event=name or "message", data="\n".join(data)))
    return events


def recorded() -> list[cassettes.Interaction]:
    """Every recorded exchange with the Messages API."""
    return [it for it in cassettes.all_interactions() if "/v1/messages" in it.uri]


def header(interaction: cassettes.Interaction, name: str) -> str | None:
    for key, values in interaction.response_headers.items():
        if key.lower() == name:
            return values[0] if isinstance(values, list) else str(values)
    return None
