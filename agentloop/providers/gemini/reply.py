"""A ``GenerateContentResponse`` as a [`Reply`][agentloop.Reply] (pure).

The reply's content has the same shape as a history content, so its parts go
through the same decoder as ``decode_messages`` and round-trip into the next
request unchanged (thought parts, thoughtSignature, call ids). Gemini often sends
function calls without an ``id``; those get a made-up uuid-based id, which is never
sent back (the wire call had none).

Finish reasons become the neutral names: ``STOP`` is ``"stop"`` (``"tool_calls"``
when the reply holds calls), ``MAX_TOKENS`` is ``"length"``, the safety family and
``RECITATION`` are ``"content_filter"``, anything else is Gemini's reason in lower
case (``"malformed_function_call"``). A prompt blocked outright (no candidates,
``promptFeedback.blockReason``) is an empty reply with ``"content_filter"``, like a
blocked answer, so one check covers every refusal.

A candidate's ``groundingMetadata`` and ``urlContextMetadata`` become ProviderParts at the
end of the message (their sources are its ``citations``).

Usage: ``input_tokens`` is promptTokenCount (plus toolUsePromptTokenCount),
``output_tokens`` is candidatesTokenCount plus thoughtsTokenCount (Gemini bills
thoughts as output), ``reasoning_tokens`` is thoughtsTokenCount and
``cached_input_tokens`` is cachedContentTokenCount.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from agentloop.errors import ConversionError, MediaError
from agentloop.messages import Message
from agentloop.providers.base import Reply
from agentloop.providers.gemini.format import GEMINI
from agentloop.providers.gemini.messages import _Calls, _decode_content
from agentloop.providers.gemini.server_tools import decode_candidate_metadata
from agentloop.providers.wire_fields import FieldReader
from agentloop.providers.wire_json import sendable
from agentloop.usage import Usage

_FILTERED = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
    }
)


class _ReplyCalls(_Calls):
    """Ids for calls sent without one: unique across replies, so never clashing with history
    (the ones a stream already showed its calls with, first)."""

    def __init__(self, made_up: Sequence[str] = ()) -> None:
        super().__init__()
        self._given = iter(made_up)

    def _new_id(self) -> str:
        return next(self._given, None) or f"gemini_{uuid.uuid4().hex}"


#: Every check of a ``GenerateContentResponse`` (a body, or one stream chunk).
READ = FieldReader(GEMINI)


def decode_reply(body: Any, made_up_ids: Sequence[str] = ()) -> Reply:
    """The reply in a ``generateContent`` answer (or a stream's chunks put together;
    ``made_up_ids``: the ids the stream showed its calls without one with, in order)."""
    response = READ.object(body, "")
    usage = decode_usage(response.get("usageMetadata"))
    model = READ.string_or_none(response.get("modelVersion"), "modelVersion")
    candidate = first_candidate(response)
    if candidate is None:
        return Reply(Message("assistant", []), usage, "content_filter", model)
    message = decode_message(candidate.get("content"), made_up_ids)
    message.parts.extend(decode_candidate_metadata(candidate))
    sendable(message)  # again, for the metadata (idempotent for the rest)
    reason = READ.string_or_none(candidate.get("finishReason"), "candidates[0].finishReason")
    return Reply(message, usage, finish_reason(reason, message), model)


def first_candidate(response: dict[str, Any]) -> dict[str, Any] | None:
    """The first candidate, or None when the prompt itself was blocked."""
    candidates = READ.list_or_none(response.get("candidates"), "candidates")
    if candidates:
        return READ.object(candidates[0], "candidates[0]")
    feedback = response.get("promptFeedback")
    if isinstance(feedback, dict) and feedback.get("blockReason"):
        return None
    raise READ.fail("candidates", "a non-empty list (or promptFeedback.blockReason)", candidates)


def decode_message(content: Any, made_up_ids: Sequence[str] = ()) -> Message:
    """The assistant message in a candidate's content (empty when the content is missing,
    as when the answer was blocked or the thinking used up every token)."""
    if content is None:
        return Message("assistant", [])
    content = READ.object(content, "candidates[0].content")
    role = content.get("role", "model")
    if role != "model":
        raise READ.fail("candidates[0].content.role", "'model'", role)
    wire = {"role": "model", "parts": content.get("parts", [])}
    try:
        (message,) = _decode_content(wire, "candidates[0].content", _ReplyCalls(made_up_ids))
    except ConversionError as exc:
        raise READ.unconvertible(exc) from None
    except MediaError as exc:
        raise READ.error(f"reply content: {exc}") from None
    return sendable(message)


def finish_reason(reason: str | None, message: Message) -> str | None:
    if reason is None:
        return None
    if reason == "STOP":
        return "tool_calls" if message.tool_calls else "stop"
    if reason == "MAX_TOKENS":
        return "length"
    if reason in _FILTERED:
        return "content_filter"
    return reason.lower()


def decode_usage(raw: Any) -> Usage:
    if raw is None:
        return Usage()
    usage = READ.object(raw, "usageMetadata")

    def count(name: str) -> int | None:
        value = usage.get(name)
        return None if value is None else READ.integer(value, f"usageMetadata.{name}")

    tool_prompt = count("toolUsePromptTokenCount")
    thoughts = count("thoughtsTokenCount")
    details = {"tool_use_prompt_tokens": tool_prompt} if tool_prompt else {}
    return Usage(
        input_tokens=(count("promptTokenCount") or 0) + (tool_prompt or 0),
        output_tokens=(count("candidatesTokenCount") or 0) + (thoughts or 0),
        cached_input_tokens=count("cachedContentTokenCount"),
        reasoning_tokens=thoughts,
        details=details,
    )
