"""A Converse response body as a [`Reply`][agentloop.Reply] (pure), and Bedrock's errors.

The reply's ``output.message.content`` blocks are the same shape as an assistant message in a
request, so they decode with the converter's own block decoder: reasoning keeps its
signature, and a server tool's blocks go back unchanged.

Usage follows the other providers' meaning: ``input_tokens`` counts every input token, cached
or not (Bedrock reports the uncached ones, the cache reads and the cache writes apart; they
are summed), ``cached_input_tokens`` is the cache reads, and the cache writes stay in
``details`` (``cacheWriteInputTokens``, read as ``cache_write_tokens``). Converse reports no
reasoning count: reasoning is part of ``outputTokens``. No response names the served model.
"""

from __future__ import annotations

from typing import Any

from agentloop.errors import (
    AuthenticationError,
    ConversionError,
    ModelNotFoundError,
    ProviderError,
)
from agentloop.messages import Message
from agentloop.providers.base import Reply
from agentloop.providers.bedrock.format import BEDROCK
from agentloop.providers.bedrock.messages import decode_assistant_content
from agentloop.providers.http_errors import classify
from agentloop.providers.wire_fields import FieldReader
from agentloop.providers.wire_json import sendable
from agentloop.usage import CACHE_WRITES, Usage

#: Converse's stop reasons in the neutral vocabulary (unknown ones pass through).
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}

#: The HTTP status each documented exception comes with (for one inside a stream), and the
#: exceptions that mean the credentials were refused (AWS answers those with 403).
EXCEPTION_STATUS = {
    "validationexception": 400,
    "accessdeniedexception": 403,
    "resourcenotfoundexception": 404,
    "modeltimeoutexception": 408,
    "throttlingexception": 429,
    "modelnotreadyexception": 429,
    "servicequotaexceededexception": 429,
    "internalserverexception": 500,
    "modelstreamerrorexception": 500,
    "modelerrorexception": 500,
    "serviceunavailableexception": 503,
}
AUTH_EXCEPTIONS = frozenset(
    {
        "unrecognizedclientexception",
        "invalidsignatureexception",
        "incompletesignatureexception",
        "missingauthenticationtokenexception",
        "expiredtokenexception",
        "invalidclienttokenid",
        "signaturedoesnotmatch",
    }
)

_USAGE = ("inputTokens", "outputTokens", "cacheReadInputTokens", "cacheWriteInputTokens")

#: Every check of a Converse reply or stream event.
READ = FieldReader(BEDROCK)


def decode_reply(body: Any) -> Reply:
    """The reply in a ``converse`` response body."""
    body = READ.object(body, "")
    output = READ.object(body.get("output"), "output")
    message = READ.object(output.get("message"), "output", "message")
    content = READ.list(message.get("content"), "output.message", "content")
    try:
        parts = decode_assistant_content(content, "output.message.content")
    except ConversionError as exc:
        raise READ.unconvertible(exc) from None
    usage = decode_usage(body.get("usage"))
    reason = READ.string_or_none(body.get("stopReason"), "stopReason")
    finish = None if reason is None else FINISH_REASONS.get(reason, reason)
    return Reply(sendable(Message("assistant", parts)), usage, finish)


def decode_usage(usage: Any) -> Usage:
    """Token counts from a ``usage`` object (absent counters are not guessed)."""
    usage = READ.object_or_none(usage, "usage")
    if usage is None:
        return Usage()
    counts = {key: READ.count_or_none(usage.get(key), "usage", key) for key in _USAGE}
    fresh, read, write = (counts[k] for k in ("inputTokens", *_USAGE[2:]))
    details = {"uncached_input_tokens": fresh} if fresh is not None else {}
    if write is not None:
        details[CACHE_WRITES] = write
    return Usage(
        (fresh or 0) + (read or 0) + (write or 0),
        counts["outputTokens"] or 0,
        cached_input_tokens=read,
        details=details,
    )


def error_from_exception(
    name: str | None, message: str, status: int | None = None
) -> type[ProviderError]:
    """Which error a Bedrock exception stands for (an ``x-amzn-ErrorType`` header, or an
    exception event in a stream with no status of its own): ``name`` as AWS spells it
    (``ThrottlingException``, maybe followed by ``:`` and a URL)."""
    lowered = (name or "").split(":", 1)[0].strip().lower()
    if lowered in AUTH_EXCEPTIONS:
        return AuthenticationError
    if "model identifier is invalid" in message:  # AWS says 400 ValidationException
        return ModelNotFoundError
    code = status if status is not None else EXCEPTION_STATUS.get(lowered, 0)
    return classify(code, lowered or None, message)
