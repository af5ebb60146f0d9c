"""OpenAI Chat Completions: a ``chat.completion`` body as a [`Reply`][agentloop.Reply].

The reply's ``choices[0].message`` has the same shape as an assistant message
in the history, so the history decoder reads it; what only a reply carries
(empty ``annotations``, a null ``refusal``, a tool call's stream ``index``) is
left out so the message goes back into the next request as the provider
expects. A body that is not what the API documents raises
[`ResponseFormatError`][agentloop.errors.ResponseFormatError] naming the field, never a bare
KeyError.
"""

from __future__ import annotations

import uuid
from typing import Any

from agentloop.errors import ConversionError, ProviderError
from agentloop.messages import Message, Text, ToolCall
from agentloop.providers.base import Reply
from agentloop.providers.http import classify
from agentloop.providers.openai_chat.messages import decode_assistant
from agentloop.providers.wire_fields import FieldReader
from agentloop.providers.wire_json import sendable
from agentloop.usage import Usage

#: Counters mapped onto Usage fields (the rest of the integer counters go to ``details``).
_MAPPED_COUNTERS = {
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "prompt_tokens_details.cached_tokens",
    "completion_tokens_details.reasoning_tokens",
}


def decode_reply(body: Any, provider: str) -> Reply:
    """The [`Reply`][agentloop.Reply] for a non-streamed ``chat.completion`` body."""
    read = FieldReader.of(provider)
    body = read.object(body, "")
    if "error" in body and body["error"] is not None:
        raise embedded_error(body["error"], provider)
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        raise read.fail("choices", "a non-empty list", choices)
    choice = read.object(choices[0], "choices[0]")
    message = decode_message(choice.get("message"), "choices[0].message", provider)
    return Reply(
        message,
        decode_usage(body.get("usage"), provider),
        finish_reason(choice.get("finish_reason"), message, provider),
        optional_string(body, "model", provider),
    )


#: Fields kept when null: content (null beside tool calls), role (null is refused below).
_KEPT_NULL = frozenset({"content", "role"})


def decode_message(raw: Any, where: str, provider: str) -> Message:
    """The assistant message of a reply, ready to be sent back in the next request."""
    read = FieldReader.of(provider)
    # null refusal, audio, function_call...: nothing to send back
    raw = {k: v for k, v in read.object(raw, where).items() if v is not None or k in _KEPT_NULL}
    raw.setdefault("role", "assistant")
    if raw["role"] != "assistant":
        raise read.fail(f"{where}.role", "'assistant'", raw["role"])
    if raw.get("annotations") == []:
        del raw["annotations"]
    calls = raw.get("tool_calls")
    if isinstance(calls, list):
        raw["tool_calls"] = [_clean_call(call) for call in calls]
    try:
        message = decode_assistant(raw, where)
    except ConversionError as exc:
        raise read.unconvertible(exc) from None
    return sendable(_tidy(message))


def _clean_call(call: Any) -> Any:
    if not isinstance(call, dict):
        return call  # the decoder names the field
    call = {k: v for k, v in call.items() if k != "index"}
    if not call.get("id"):
        # Gemini's compatible endpoint sends "" and some local servers none: the chain
        # needs an id to pair the call with its result, and any unique one is accepted back
        call["id"] = f"call_{uuid.uuid4().hex[:24]}"
    return call


_SAYS_SOMETHING = (Text, ToolCall)


def _tidy(message: Message) -> Message:
    """Empty text beside tool calls says nothing; a message with nothing says ""."""
    if message.tool_calls:
        message.parts = [p for p in message.parts if not (isinstance(p, Text) and not p.text)]
    elif not any(isinstance(p, _SAYS_SOMETHING) for p in message.parts):
        message.parts.append(Text(""))
    return message


def finish_reason(value: Any, message: Message, provider: str) -> str | None:
    reason = FieldReader.of(provider).string_or_none(value, "choices[0].finish_reason")
    if message.tool_calls and reason in (None, "stop"):
        return "tool_calls"  # Ollama says "stop" even when the model called tools
    return reason


def decode_usage(raw: Any, provider: str) -> Usage:
    """Token counts, with cached input and reasoning tokens where the server reports them."""
    if raw is None:
        return Usage()
    counters = _counters(FieldReader.of(provider).object(raw, "usage"), provider)
    counters.pop("total_tokens", None)  # the sum of the two, which Usage computes
    return Usage(
        counters.pop("prompt_tokens", 0),
        counters.pop("completion_tokens", 0),
        counters.pop("prompt_tokens_details.cached_tokens", None),
        counters.pop("completion_tokens_details.reasoning_tokens", None),
        counters,  # the rest, as details
    )


def _counters(raw: dict[str, Any], provider: str) -> dict[str, int]:
    """Every integer counter, those of a nested object named ``parent.child`` (timings and
    anything deeper are left out)."""
    out: dict[str, int] = {}
    for key, value in raw.items():
        if type(value) is int:  # not a bool, which JSON's true would be
            out[key] = value
        elif isinstance(value, dict):
            for inner, count in value.items():
                name = f"{key}.{inner}"
                if type(count) is int:
                    out[name] = count
                elif name in _MAPPED_COUNTERS and count is not None:
                    raise FieldReader.of(provider).fail(f"usage.{name}", "an integer", count)
        elif key in _MAPPED_COUNTERS and value is not None:
            raise FieldReader.of(provider).fail(f"usage.{key}", "an integer", value)
    return out


def embedded_error(raw: Any, provider: str) -> ProviderError:
    """The typed error for an ``error`` object sent with status 200 (or inside a stream)."""
    error = raw if isinstance(raw, dict) else {"message": str(raw)}
    code = error.get("code")
    status = code if isinstance(code, int) and 400 <= code < 600 else None
    error_type = error.get("type") or (code if isinstance(code, str) else None)
    message = str(error.get("message") or "the server reported an error")
    kind = classify(status or 0, str(error_type) if error_type else None, message)
    return kind(
        message,
        provider=provider,
        status=status,
        error_type=str(error_type) if error_type else None,
        body=str(raw)[:2000],
    )


def optional_string(raw: dict[str, Any], key: str, provider: str) -> str | None:
    return FieldReader.of(provider).string_or_none(raw.get(key), key)
