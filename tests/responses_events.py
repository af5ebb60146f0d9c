"""OpenAI Responses API wire fixtures for tests: replies shaped exactly like the API's.

- :func:`event_stream` turns a ``response`` object into the named server-sent events
  the API streams for it (item added, deltas, item done, response.completed);
- :func:`completed_response` takes the final ``response`` object out of a recorded stream;
- :func:`facts` reads what a reply says (text, calls, reasoning, usage) straight from
  the JSON, independently of the code under test;
- :func:`reply` builds a small ``response`` object for scripted servers.
"""

from __future__ import annotations

import json
from typing import Any

SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8"}


def sse(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"


def pieces(text: str, size: int = 4) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def event_stream(response: dict[str, Any]) -> str:
    """The event stream that delivers ``response``."""
    started = {**response, "status": "in_progress", "output": [], "usage": None}
    events = [sse("response.created", {"response": started})]
    for index, item in enumerate(response["output"]):
        events.extend(_item_events(index, item))
    events.append(sse("response.completed", {"response": response}))
    return "".join(events)


def _item_events(index: int, item: dict[str, Any]) -> list[str]:
    where = {"output_index": index, "item_id": item.get("id", f"item_{index}")}
    kind = item.get("type", "message")
    events = []
    if kind == "message":
        events.append(_added(index, {**item, "content": [], "status": "in_progress"}))
        for c, part in enumerate(item["content"]):
            key = "refusal" if part["type"] == "refusal" else "text"
            delta_kind = f"response.{'refusal' if key == 'refusal' else 'output_text'}.delta"
            for piece in pieces(part[key]):
                events.append(sse(delta_kind, {**where, "content_index": c, "delta": piece}))
    elif kind == "function_call":
        events.append(_added(index, {**item, "arguments": "", "status": "in_progress"}))
        for piece in pieces(item["arguments"]):
            events.append(sse("response.function_call_arguments.delta", {**where, "delta": piece}))
        done = {**where, "arguments": item["arguments"]}
        events.append(sse("response.function_call_arguments.done", done))
    elif kind == "reasoning":
        events.append(_added(index, {**item, "summary": []}))
        for s, entry in enumerate(item["summary"]):
            for piece in pieces(entry["text"]):
                data = {**where, "summary_index": s, "delta": piece}
                events.append(sse("response.reasoning_summary_text.delta", data))
    else:
        events.append(_added(index, item))
    events.append(sse("response.output_item.done", {"output_index": index, "item": item}))
    return events


def _added(index: int, item: dict[str, Any]) -> str:
    return sse("response.output_item.added", {"output_index": index, "item": item})


def completed_response(stream: bytes) -> dict[str, Any]:
    """The ``response`` object of a recorded stream's ``response.completed`` event."""
    for block in stream.decode().split("\n\n"):
        for line in block.splitlines():
            if line.startswith("data: ") and '"response.completed"' in line:
                event: dict[str, Any] = json.loads(line[len("data: ") :])
                return dict(event["response"])
    raise AssertionError("no response.completed event in the stream")


def streamed_text(stream: bytes) -> list[str]:
    """The text deltas of a recorded stream, in order."""
    out = []
    for line in stream.decode().splitlines():
        if line.startswith("data: ") and '"response.output_text.delta"' in line:
            out.append(json.loads(line[len("data: ") :])["delta"])
    return out


def facts(response: dict[str, Any]) -> dict[str, Any]:
    """What a ``response`` object says, read with plain dict access."""
    output = response["output"]
    usage = response["usage"]
    return {
        "text": "".join(
            part["text"]
            for item in output
            if item["type"] == "message"
            for part in item["content"]
            if part["type"] == "output_text"
        ),
        "calls": [
            (item["name"], item["call_id"], json.loads(item["arguments"]))
            for item in output
            if item["type"] == "function_call"
        ],
        "reasoning": [
            (item.get("id"), item.get("encrypted_content"))
            for item in output
            if item["type"] == "reasoning"
        ],
        "usage": (
            usage["input_tokens"],
            usage["output_tokens"],
            usage["input_tokens_details"]["cached_tokens"],
            usage["output_tokens_details"]["reasoning_tokens"],
        ),
        "model": response["model"],
    }


def reply(*output: dict[str, Any], model: str = "gpt-5-mini-2025-08-07") -> dict[str, Any]:
    """A completed ``response`` object holding ``output``."""
    return {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "model": model,
        "output": list(output),
        "usage": {
            "input_tokens": 10,
            "input_tokens_details": {"cached_tokens": 2},
            "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 3},
            "total_tokens": 15,
        },
    }


def message(text: str, item_id: str = "msg_1") -> dict[str, Any]:
    return {
        "type": "message",
        "id": item_id,
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def function_call(name: str, arguments: dict[str, Any], call_id: str) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": f"fc_{call_id}",
        "call_id": call_id,
        "name": name,
        "arguments": json.dumps(arguments),
        "status": "completed",
    }


def reasoning(summary: str, encrypted: str, item_id: str = "rs_1") -> dict[str, Any]:
    return {
        "type": "reasoning",
        "id": item_id,
        "summary": [{"type": "summary_text", "text": summary}] if summary else [],
        "encrypted_content": encrypted,
    }
