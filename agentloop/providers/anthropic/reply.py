"""A Messages API response body as a [`Reply`][agentloop.Reply] (pure).

The reply's ``content`` blocks are the same shape as an assistant message in
a request, so they decode with the converter's own block decoder: a thinking
block keeps its signature and a tool_use block its extra fields, and both go
back unchanged in the next request.

Usage follows the other providers' meaning: ``input_tokens`` counts every
input token, cached or not (Anthropic reports the uncached ones, the cache
reads and the cache writes separately; they are summed), and
``cached_input_tokens`` is the cache reads. The cache writes (with their
``cache_creation`` breakdown) and the uncached count stay in ``details``.
Anthropic reports no separate reasoning count: thinking is part of
``output_tokens``.
"""

from __future__ import annotations

from typing import Any

from agentloop.errors import ConversionError, ProviderError
from agentloop.messages import Message, ToolCall
from agentloop.providers.anthropic.format import ANTHROPIC
from agentloop.providers.anthropic.messages import decode_assistant_content
from agentloop.providers.base import Reply
from agentloop.providers.http import classify
from agentloop.providers.wire_fields import FieldReader
from agentloop.providers.wire_json import sendable
from agentloop.usage import Usage

#: Anthropic's stop reasons in the neutral vocabulary (unknown ones pass through).
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}

#: The HTTP status each documented error type comes with (for errors inside a stream).
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}

_CACHE_READ = "cache_read_input_tokens"
_CACHE_WRITE = "cache_creation_input_tokens"


#: Every check of a Messages API reply or event.
READ = FieldReader(ANTHROPIC)


def decode_reply(body: Any) -> Reply:
    """The reply in a non-streamed response body."""
    body = READ.object(body, "")
    if body.get("type") == "error":
        raise error_from_event(body)
    message = decode_message(body.get("content"))
    usage = decode_usage(body.get("usage"))
    return Reply(message, usage, finish_reason(body.get("stop_reason")), model_name(body))


def decode_message(
    content: Any, raw_arguments: dict[str, str] | None = None, path: str = "content"
) -> Message:
    """The assistant message of a reply's content blocks.

    ``raw_arguments`` maps tool_use ids to argument text that did not parse
    (a streamed call cut off mid-way): the call keeps it for the chain to report.
    """
    READ.list(content, path)
    try:
        parts = decode_assistant_content(content)
    except ConversionError as exc:
        raise READ.unconvertible(exc) from None
    for part in parts:
        if isinstance(part, ToolCall) and raw_arguments and part.tool_call_id in raw_arguments:
            part.raw_arguments = raw_arguments[part.tool_call_id]
    return sendable(Message("assistant", parts))


def decode_usage(usage: Any) -> Usage:
    """Token counts from a ``usage`` object (absent counters are not guessed)."""
    if usage is None:
        return Usage()
    usage = READ.object(usage, "usage")
    counts = {key: _count(usage, key) for key in ("input_tokens", "output_tokens")}
    read, write = _count(usage, _CACHE_READ), _count(usage, _CACHE_WRITE)
    details = {_CACHE_WRITE: write} if write is not None else {}
    breakdown = usage.get("cache_creation")
    if isinstance(breakdown, dict):
        for key, n in breakdown.items():
            if isinstance(n, int) and not isinstance(n, bool):  # counters only; skip the rest
                details[f"cache_creation.{key}"] = n
    if counts["input_tokens"] is not None:
        details["uncached_input_tokens"] = counts["input_tokens"]
    return Usage(
        (counts["input_tokens"] or 0) + (read or 0) + (write or 0),
        counts["output_tokens"] or 0,
        cached_input_tokens=read,
        details=details,
    )


def _count(usage: dict[str, Any], key: str) -> int | None:
    return READ.count_or_none(usage.get(key), f"usage.{key}")


def finish_reason(stop_reason: Any) -> str | None:
    reason = READ.string_or_none(stop_reason, "stop_reason")
    return None if reason is None else FINISH_REASONS.get(reason, reason)


def model_name(body: dict[str, Any]) -> str | None:
    return READ.string_or_none(body.get("model"), "model")


def error_from_event(body: dict[str, Any]) -> ProviderError:
    """The typed error an ``error`` object stands for (a stream's ``error`` event)."""
    error = body.get("error")
    if not isinstance(error, dict):
        return READ.fail("error.error", "an object", error)
    kind = error.get("type")
    error_type = kind if isinstance(kind, str) else None
    message = str(error.get("message") or error_type or "unknown error")
    status = ERROR_STATUS.get(error_type or "", 0)
    return classify(status, error_type, message)(
        message, provider=ANTHROPIC, error_type=error_type, body=str(body)[:2000]
    )
