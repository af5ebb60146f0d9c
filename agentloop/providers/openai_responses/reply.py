"""A Responses API reply (a ``response`` object) as a neutral [`Reply`][agentloop.Reply] (pure).

The ``output`` items are read by the same converter as history items, so the
assistant message round-trips into the next request: reasoning items keep their
``id`` and ``encrypted_content``, function calls their ``call_id`` and ``id``.
A built-in tool's item (``web_search_call``, ``code_interpreter_call``...) becomes a
ProviderPart that goes back unchanged. So does an output item of a type agentloop does not
know (one the API added since): kept as received, sent back to the Responses API byte for
byte, and for other formats left out as a part with no rendering (`agentloop.portable`).

Anything that is not what the API documents raises
[`ResponseFormatError`][agentloop.errors.ResponseFormatError] naming the field; a failed response
raises the typed error its code means.
"""

from __future__ import annotations

import json
from typing import Any

from agentloop.errors import (
    BadRequestError,
    ContextTooLongError,
    ConversionError,
    OverloadedError,
    ProviderError,
    RateLimitError,
    ServerError,
)
from agentloop.messages import Message
from agentloop.providers.base import Reply
from agentloop.providers.openai_responses.fields import OPENAI_RESPONSES
from agentloop.providers.openai_responses.messages import decode_output
from agentloop.providers.wire_fields import FieldReader
from agentloop.providers.wire_json import sendable
from agentloop.usage import Usage

FORMAT = OPENAI_RESPONSES
UNFINISHED = ("queued", "in_progress")
INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}
#: Every check of a ``response`` object or a stream event.
READ = FieldReader(FORMAT)


def decode_reply(body: Any) -> Reply:
    """The reply in a ``response`` object (the JSON body, or a stream's final event)."""
    response = READ.object(body, "")
    status = response.get("status")
    if status == "failed" or (isinstance(response.get("error"), dict) and "output" not in response):
        raise failure(response.get("error"), "the response failed")
    if status in UNFINISHED:
        raise READ.fail("status", "completed (background responses are not polled)", status)
    message = decode_output_message(response.get("output"))
    return Reply(
        message,
        decode_usage(response.get("usage")),
        finish_reason(response, message),
        READ.string_or_none(response.get("model"), "model"),
    )


def decode_output_message(output: Any) -> Message:
    """The one assistant message the ``output`` items make up."""
    READ.list(output, "output")
    items = []
    for index, item in enumerate(output):
        READ.object(item, f"output[{index}]")
        kind = item.get("type", "message")
        if not isinstance(kind, str) or not kind or kind == "function_call_output":
            raise READ.fail(f"output[{index}].type", "an output item's type", kind)
        if kind == "message" and item.get("role") != "assistant":
            raise READ.fail(f"output[{index}].role", "'assistant'", item.get("role"))
        items.append(item)
    try:
        messages = decode_output(items)
    except ConversionError as exc:
        raise READ.unconvertible(exc) from None
    return sendable(messages[0]) if messages else Message("assistant", [])


def decode_usage(usage: Any) -> Usage:
    """Token counts; ``None`` (an unfinished or minimal server's reply) counts nothing."""
    if usage is None:
        return Usage()
    usage = READ.object(usage, "usage")
    return Usage(
        count(usage, "input_tokens", "usage"),
        count(usage, "output_tokens", "usage"),
        detail(usage, "input_tokens_details", "cached_tokens"),
        detail(usage, "output_tokens_details", "reasoning_tokens"),
    )


def detail(usage: dict[str, Any], group: str, key: str) -> int | None:
    details = usage.get(group)
    if details is None:
        return None
    details = READ.object(details, f"usage.{group}")
    return None if details.get(key) is None else count(details, key, f"usage.{group}")


def count(container: dict[str, Any], key: str, where: str) -> int:
    return READ.count(container.get(key), f"{where}.{key}")


def finish_reason(response: dict[str, Any], message: Message) -> str:
    if response.get("status") == "incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        return INCOMPLETE_REASONS.get(str(reason), str(reason or "incomplete"))
    return "tool_calls" if message.tool_calls else "stop"


def failure(error: Any, fallback: str) -> ProviderError:
    """The typed error for a failed response or an ``error`` stream event."""
    if not isinstance(error, dict):
        return ServerError(fallback, provider=FORMAT, body=_dump(error))
    nested = error.get("error")
    if isinstance(nested, dict):
        error = nested  # {"type": "error", "error": {...}} as some servers send it
    code = error.get("code") or error.get("type")
    message = error.get("message")
    kind = error_kind(str(code or ""), str(message or ""))
    return kind(
        str(message) if message else fallback,
        provider=FORMAT,
        error_type=str(code) if code else None,
        body=_dump(error),
    )


def error_kind(code: str, message: str) -> type[ProviderError]:
    lowered = code.lower()
    if "context_length" in lowered or "context window" in message.lower():
        return ContextTooLongError
    if "rate_limit" in lowered or "quota" in lowered:
        return RateLimitError
    if "overload" in lowered:
        return OverloadedError
    if lowered.startswith("invalid") or lowered in ("bad_request", "unsupported_value"):
        return BadRequestError
    return ServerError


def _dump(value: Any) -> str:
    return json.dumps(value, default=str)[:2000]
