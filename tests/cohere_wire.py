"""Cohere v2 Chat as the service answers it, for tests: reply bodies and their event streams.

`reply` builds a ``/v2/chat`` body; `sse` writes the same reply as the named events Cohere
streams (``message-start``, ``tool-plan-delta``, ``content-*``, ``tool-call-*``,
``citation-*``, ``message-end``, then ``data: [DONE]``), arguments cut into fragments, so a
decoder must put them together. `expected_from_stream` reads a recorded stream back into the
body a non-streamed call would return, independently of the codec.
"""

from __future__ import annotations

import json
from typing import Any

Body = dict[str, Any]
KEY = "co-test-key"
MODEL = "command-a-03-2025"


def call(call_id: str, name: str, arguments: dict[str, Any]) -> Body:
    function = {"name": name, "arguments": json.dumps(arguments, separators=(",", ":"))}
    return {"id": call_id, "type": "function", "function": function}


def reply(
    text: str | None = None,
    *,
    plan: str | None = None,
    calls: list[Body] | None = None,
    finish: str = "COMPLETE",
    tokens: tuple[int, int] = (10, 5),
    citations: list[Body] | None = None,
) -> Body:
    message: Body = {"role": "assistant"}
    if plan is not None:
        message["tool_plan"] = plan
    if calls:
        message["tool_calls"] = calls
    if text is not None:
        message["content"] = [{"type": "text", "text": text}]
    if citations:
        message["citations"] = citations
    usage = {
        "billed_units": {"input_tokens": tokens[0] // 2, "output_tokens": tokens[1]},
        "tokens": {"input_tokens": tokens[0], "output_tokens": tokens[1]},
    }
    return {"id": "c0ffee", "finish_reason": finish, "message": message, "usage": usage}


def _event(kind: str, **fields: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **fields})}\n\n"


def sse(body: Body) -> str:
    """``body`` as Cohere streams it."""
    message = body["message"]
    start = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
    out = [_event("message-start", id=body["id"], delta={"message": start})]
    plan = message.get("tool_plan") or ""
    for word in plan.split(" "):
        piece = word if word == plan.split(" ")[0] else " " + word
        out.append(_event("tool-plan-delta", delta={"message": {"tool_plan": piece}}))
    for index, block in enumerate(message.get("content") or []):
        kind = block["type"]
        opening = {"type": kind, kind: ""}
        out.append(_event("content-start", index=index, delta={"message": {"content": opening}}))
        text = block[kind]
        for piece in (text[: len(text) // 2], text[len(text) // 2 :]):
            delta = {"message": {"content": {kind: piece}}}
            out.append(_event("content-delta", index=index, delta=delta))
        out.append(_event("content-end", index=index))
    for index, tool_call in enumerate(message.get("tool_calls") or []):
        function = tool_call["function"]
        opening = {**tool_call, "function": {"name": function["name"], "arguments": ""}}
        out.append(
            _event("tool-call-start", index=index, delta={"message": {"tool_calls": opening}})
        )
        arguments = function["arguments"]
        for piece in (arguments[:3], arguments[3:]):
            delta = {"message": {"tool_calls": {"function": {"arguments": piece}}}}
            out.append(_event("tool-call-delta", index=index, delta=delta))
        out.append(_event("tool-call-end", index=index))
    for index, citation in enumerate(message.get("citations") or []):
        delta = {"message": {"citations": citation}}
        out.append(_event("citation-start", index=index, delta=delta))
        out.append(_event("citation-end", index=index))
    end = {"finish_reason": body["finish_reason"], "usage": body["usage"]}
    out.append(_event("message-end", delta=end))
    out.append("data: [DONE]\n\n")
    return "".join(out)


def expected_from_stream(raw: bytes) -> Body:
    """The body a recorded stream amounts to, read with nothing of the codec."""
    message: Body = {"role": "assistant"}
    content: dict[int, Body] = {}
    calls: dict[int, Body] = {}
    body: Body = {}
    for block in raw.decode().split("\n\n"):
        data = "".join(line[6:] for line in block.splitlines() if line.startswith("data: "))
        if not data or data == "[DONE]":
            continue
        event = json.loads(data)
        kind, delta = event["type"], event.get("delta", {})
        if kind == "tool-plan-delta":
            message["tool_plan"] = message.get("tool_plan", "") + delta["message"]["tool_plan"]
        elif kind == "content-start":
            content[event["index"]] = dict(delta["message"]["content"])
        elif kind == "content-delta":
            target = content[event["index"]]
            for key, piece in delta["message"]["content"].items():
                target[key] = target.get(key, "") + piece
        elif kind == "tool-call-start":
            calls[event["index"]] = json.loads(json.dumps(delta["message"]["tool_calls"]))
        elif kind == "tool-call-delta":
            function = calls[event["index"]]["function"]
            function["arguments"] += delta["message"]["tool_calls"]["function"]["arguments"]
        elif kind == "message-end":
            body = {"finish_reason": delta["finish_reason"], "usage": delta["usage"]}
    if content:
        message["content"] = [content[i] for i in sorted(content)]
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return {**body, "message": message}
