"""OpenAI Chat Completions traffic for tests: reply bodies, SSE streams, recorded exchanges.

The builders write bodies exactly as OpenAI documents them (``chat.completion``,
``chat.completion.chunk`` with ``stream_options.include_usage``), so a scripted
local server answers like the real API.
"""

from __future__ import annotations

import functools
import json
from typing import Any
from urllib.parse import urlsplit

import cassettes
import httpx

from agentloop.providers.openai_chat import OllamaModel, OpenAIChatModel, OpenAICompatibleModel

SSE = {"content-type": "text/event-stream; charset=utf-8"}
MODEL = "gpt-4o-2024-08-06"


def tool_call(name: str, arguments: dict[str, Any], call_id: str) -> dict[str, Any]:
    function = {"name": name, "arguments": json.dumps(arguments)}
    return {"id": call_id, "type": "function", "function": function}


def usage(
    prompt: int = 10, completion: int = 5, cached: int = 0, reasoning: int = 0
) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0},
    }


def completion(
    content: str | None = None,
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    usage_: dict[str, Any] | None = None,
    finish_reason: str | None = None,
    **message_fields: Any,
) -> dict[str, Any]:
    """A non-streamed ``chat.completion`` body."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    message.update(message_fields)
    if tool_calls:
        message["tool_calls"] = tool_calls
    reason = finish_reason or ("tool_calls" if tool_calls else "stop")
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1,
        "model": MODEL,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reason}],
        "usage": usage_ or usage(),
    }


def chunk(
    delta: dict[str, Any] | None = None,
    *,
    finish_reason: str | None = None,
    usage_: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One ``chat.completion.chunk``; with ``usage_`` it is the final, choice-less one."""
    body: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": MODEL,
    }
    if usage_ is not None:
        body.update(choices=[], usage=usage_)
    else:
        choice = {"index": 0, "delta": delta or {}, "finish_reason": finish_reason}
        body.update(choices=[choice], usage=None)
    return body


def sse(*chunks: dict[str, Any], done: bool = True) -> str:
    events = [f"data: {json.dumps(c)}\n\n" for c in chunks]
    return "".join(events) + ("data: [DONE]\n\n" if done else "")


def as_stream(body: dict[str, Any], pieces: int = 3) -> str:
    """The SSE stream OpenAI sends for the same answer as a ``chat.completion`` body:
    text and arguments cut into pieces, calls keyed by index, usage in a last chunk."""
    choice = body["choices"][0]
    message = choice["message"]
    chunks = [chunk({"role": "assistant", "content": ""})]
    for key in ("reasoning", "reasoning_content", "content"):
        for piece in _cut(message.get(key) or "", pieces):
            chunks.append(chunk({key: piece}))
    for index, call in enumerate(message.get("tool_calls") or []):
        head = {"index": index, "id": call["id"], "type": "function"}
        head["function"] = {"name": call["function"]["name"], "arguments": ""}
        chunks.append(chunk({"tool_calls": [head]}))
        for piece in _cut(call["function"]["arguments"], pieces):
            chunks.append(
                chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            )
    chunks.append(chunk({}, finish_reason=choice["finish_reason"]))
    if body.get("usage") is not None:
        chunks.append(chunk(usage_=body["usage"]))
    for c in chunks:
        c["model"] = body.get("model")
    return sse(*chunks)


def _cut(text: str, pieces: int) -> list[str]:
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)]


def sse_payloads(body: bytes) -> list[str]:
    """The ``data:`` payloads of a recorded SSE body, in order (``[DONE]`` included)."""
    text = body.decode("utf-8").replace("\r\n", "\n")
    return [
        line[len("data:") :].strip()
        for block in text.split("\n\n")
        for line in block.split("\n")
        if line.startswith("data:")
    ]


@functools.cache
def http_client() -> httpx.Client:
    """One client for every test model: building a client (its TLS context) costs ~25 ms."""
    return httpx.Client(timeout=10)


# -- recorded exchanges -------------------------------------------------------------------


@functools.cache
def recorded_exchanges() -> tuple[cassettes.Interaction, ...]:
    """Every recorded Chat Completions exchange (OpenAI, Ollama /v1, compatible servers)."""
    return tuple(it for it in cassettes.all_interactions() if it.uri.endswith("/chat/completions"))


def content_type(it: cassettes.Interaction) -> str:
    for name, values in it.response_headers.items():
        if name.lower() == "content-type":
            return str(values[0])
    return "application/json"


def is_stream(it: cassettes.Interaction) -> bool:
    return "text/event-stream" in content_type(it)


def model_for(it: cassettes.Interaction, server_url: str, **kwargs: Any) -> OpenAIChatModel:
    """The model a user would pick for the recorded server, pointed at the local one."""
    uri = urlsplit(it.uri)
    base_url = server_url + uri.path.removesuffix("/chat/completions")
    name = it.request_json()["model"]
    kwargs.setdefault("retry_backoff", 0)
    kwargs.setdefault("http_client", http_client())
    if uri.hostname == "api.openai.com":
        return OpenAIChatModel(name, api_key="sk-test", base_url=base_url, **kwargs)
    if uri.port == 11434 or (uri.hostname or "").endswith("ollama.com"):
        return OllamaModel(name, base_url=base_url, **kwargs)
    return OpenAICompatibleModel(name, base_url=base_url, api_key="compat-key", **kwargs)
