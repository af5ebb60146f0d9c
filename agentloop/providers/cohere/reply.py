"""A Cohere v2 Chat response body as a [`Reply`][agentloop.Reply] (pure), and Cohere's errors.

The reply's ``message`` has the shape of an assistant message in a request, so the history
decoder reads it (its ``tool_plan``, ``content`` blocks, ``tool_calls`` and ``citations``).

Usage: ``usage.tokens`` counts what the model read and wrote (``input_tokens`` includes the
prompt tokens served from Cohere's cache, ``cached_tokens``, read as ``cached_input_tokens``);
``usage.billed_units`` is what Cohere bills, kept in ``details`` (``billed_input_tokens``,
``billed_output_tokens``, ``search_units``, ``classifications``). A reply without ``tokens``
counts its billed units. No response names the served model.
"""

from __future__ import annotations

from typing import Any

from agentloop.errors import AuthenticationError, ConversionError, ProviderError
from agentloop.providers.base import Reply
from agentloop.providers.cohere.format import COHERE
from agentloop.providers.cohere.messages import decode_assistant
from agentloop.providers.http_errors import classify
from agentloop.providers.wire_fields import FieldReader
from agentloop.providers.wire_json import sendable
from agentloop.usage import Usage

#: Cohere's finish reasons in the neutral vocabulary (unknown ones pass through, lower-cased).
FINISH_REASONS = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
    "ERROR": "error",
    "TIMEOUT": "error",
}
_BILLED = ("input_tokens", "output_tokens", "search_units", "classifications")

#: Every check of a Cohere reply or stream event.
READ = FieldReader(COHERE)


def decode_reply(body: Any) -> Reply:
    """The reply in a ``/v2/chat`` response body."""
    body = READ.object(body, "")
    message = dict(READ.object(body.get("message"), "message"))
    message.pop("role", None)
    if message.get("citations") == []:  # says nothing, and nothing to send back
        del message["citations"]
    try:
        decoded = decode_assistant(message, "message")
    except ConversionError as exc:
        raise READ.unconvertible(exc) from None
    reason = READ.string_or_none(body.get("finish_reason"), "finish_reason")
    finish = None if reason is None else FINISH_REASONS.get(reason, reason.lower())
    return Reply(sendable(decoded), decode_usage(body.get("usage")), finish)


def decode_usage(usage: Any) -> Usage:
    """Token counts from a ``usage`` object (absent counters are not guessed)."""
    usage = READ.object_or_none(usage, "usage")
    if usage is None:
        return Usage()
    tokens = READ.object_or_none(usage.get("tokens"), "usage", "tokens") or {}
    billed = READ.object_or_none(usage.get("billed_units"), "usage", "billed_units") or {}
    details = {}
    for key in _BILLED:
        count = _count(billed.get(key), "usage.billed_units", key)
        if count is not None:
            details[f"billed_{key}" if key.endswith("_tokens") else key] = count
    counts = tokens if tokens else billed
    path = "usage.tokens" if tokens else "usage.billed_units"
    return Usage(
        _count(counts.get("input_tokens"), path, "input_tokens") or 0,
        _count(counts.get("output_tokens"), path, "output_tokens") or 0,
        cached_input_tokens=_count(usage.get("cached_tokens"), "usage", "cached_tokens"),
        details=details,
    )


def _count(value: Any, path: str, key: str) -> int | None:
    """A count Cohere's schema types as a number: a whole float reads as its integer."""
    if isinstance(value, float) and value.is_integer() and value >= 0:
        value = int(value)
    return READ.count_or_none(value, path, key)


def error_class(status: int, error_type: str | None, message: str) -> type[ProviderError]:
    """Which error a Cohere failure is: its own 498 (an invalid token) first, then the
    common reading (429 a `RateLimitError`, 401 an `AuthenticationError`...)."""
    if status == 498:
        return AuthenticationError
    return classify(status, error_type, message)
