"""Replies shaped exactly like Gemini's, for the Gemini provider tests, and a model aimed at
the local server."""

from __future__ import annotations

import json
from typing import Any

from local_server import LocalServer

from agentloop.providers.gemini import GeminiModel

SSE = {"content-type": "text/event-stream"}
KEY = "AIza-test-key-never-shown"


def gemini(server: LocalServer, name: str = "gemini-2.5-flash", **kwargs: Any) -> GeminiModel:
    kwargs.setdefault("api_key", KEY)
    return GeminiModel(name, base_url=server.url, retry_backoff=0, **kwargs)


def usage(prompt: int = 10, candidates: int = 5, **more: int) -> dict[str, int]:
    out = {"promptTokenCount": prompt, "candidatesTokenCount": candidates, **more}
    billed = ("promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount")
    out["totalTokenCount"] = sum(out.get(name, 0) for name in billed)
    return out


def reply(*parts: dict[str, Any], finish: str | None = "STOP", **fields: Any) -> dict[str, Any]:
    """A GenerateContentResponse holding ``parts`` (a stream chunk, when finish is None)."""
    candidate: dict[str, Any] = {"content": {"parts": list(parts), "role": "model"}, "index": 0}
    if finish is not None:
        candidate["finishReason"] = finish
    fields.setdefault("usageMetadata", usage())
    return {"candidates": [candidate], "modelVersion": "gemini-2.5-flash", **fields}


def text(value: str, **extra: Any) -> dict[str, Any]:
    return {"text": value, **extra}


def call(name: str, args: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"functionCall": {"name": name, "args": args}, **extra}


def sse(*chunks: dict[str, Any]) -> str:
    """Gemini's framing: ``data: {chunk}`` with CRLF line endings."""
    return "".join(f"data: {json.dumps(chunk)}\r\n\r\n" for chunk in chunks)
