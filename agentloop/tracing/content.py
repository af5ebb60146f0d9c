"""What a span records of a chain's content, when asked for (``record_content=True``): pure.

Messages are written in the OpenTelemetry GenAI conventions' JSON shape
(``gen_ai.input.messages``, ``gen_ai.output.messages``, ``gen_ai.system_instructions``):
a list of ``{"role", "parts"}``, each part a ``{"type": "text", "content"}``, a
``tool_call`` (``id``, ``name``, ``arguments``), a ``tool_call_response`` (``id``,
``response``), ``reasoning``... Media are described, not copied: a URL (user info dropped,
query values masked, as errors show it) or the type and size of the bytes. Every text
passes through ``redact`` with the run's secrets before it is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from agentloop.downloads import shown_url
from agentloop.media import File, Image, Media
from agentloop.messages import Message, Part, ProviderPart, Text, Thinking, ToolCall, ToolResult
from agentloop.providers.redaction import redact
from agentloop.tools import Tool


def as_json(value: Any, secrets: Sequence[str]) -> str:
    """``value`` as compact JSON, the secrets masked."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return redact(text, secrets)


def messages_json(messages: Iterable[Message], secrets: Sequence[str]) -> str:
    """Messages other than the system prompt, as ``gen_ai.input.messages``."""
    return as_json([message_json(m) for m in messages if m.role != "system"], secrets)


def system_json(messages: Iterable[Message], secrets: Sequence[str]) -> str | None:
    """The system prompt's parts, as ``gen_ai.system_instructions`` (None: there is none)."""
    parts = [part_json(p) for m in messages if m.role == "system" for p in m.parts]
    return as_json(parts, secrets) if parts else None


def output_json(message: Message, finish_reason: str | None, secrets: Sequence[str]) -> str:
    """The reply's message, as ``gen_ai.output.messages`` (one choice)."""
    shown = message_json(message)
    shown["finish_reason"] = finish_reason or ""
    return as_json([shown], secrets)


def tools_json(tools: Sequence[Tool], secrets: Sequence[str]) -> str:
    """The tools on offer, as ``gen_ai.tool.definitions``."""
    return as_json(
        [
            {
                "type": "function",
                "name": t.name,
                "description": t.description,
                "parameters": t.parameters,
            }
            for t in tools
        ],
        secrets,
    )


def message_json(message: Message) -> dict[str, Any]:
    return {"role": message.role, "parts": [part_json(p) for p in message.parts]}


def part_json(part: Part) -> dict[str, Any]:
    if isinstance(part, Text):
        return {"type": "text", "content": part.text}
    if isinstance(part, ToolCall):
        return {
            "type": "tool_call",
            "id": part.tool_call_id,
            "name": part.name,
            "arguments": part.arguments,
        }
    if isinstance(part, ToolResult):
        return {"type": "tool_call_response", "id": part.tool_call_id, "response": part.output}
    if isinstance(part, Thinking):
        return {"type": "reasoning", "content": "" if part.redacted else part.text}
    if isinstance(part, ProviderPart):
        return {"type": part.kind, "provider": part.provider, "content": part.text}
    return media_json(part)


def media_json(part: Media) -> dict[str, Any]:
    """A media part described: its URL, or its type and size (the bytes are never copied)."""
    modality = _modality(part)
    if part.url is not None and not part.url.startswith("data:"):
        return {
            "type": "uri",
            "modality": modality,
            "mime_type": part.mime_type,
            "uri": shown_url(part.url),
        }
    size = len(part.data) if part.data is not None else None
    return {"type": "blob", "modality": modality, "mime_type": part.mime_type, "size": size}


def _modality(part: Media) -> str:
    kind = part.mime_type.split("/", 1)[0]
    if isinstance(part, Image) or kind == "image":
        return "image"
    if kind in ("audio", "video"):
        return kind
    assert isinstance(part, File)
    return "document"
