"""OpenAI Chat Completions streaming: ``chat.completion.chunk`` events as deltas, then a Reply.

The decoder rebuilds the message a non-streamed call would have returned and
decodes it the same way, so a streamed reply equals the non-streamed one.

Tool calls arrive in pieces keyed by ``index`` (several at once for parallel
calls). Ollama sends each whole call in one delta with no ``index``; a call
without an index starts a new one when it brings its own id or name. The final
chunk (``stream_options.include_usage``) has no choices and carries the usage.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from httpx_sse import ServerSentEvent

from agentloop.errors import ResponseFormatError, StreamIncomplete
from agentloop.providers.base import Delta, Reply
from agentloop.providers.openai_chat.messages import REASONING_FIELDS
from agentloop.providers.openai_chat.reply import (
    decode_message,
    decode_usage,
    embedded_error,
    finish_reason,
    optional_string,
)
from agentloop.providers.wire_json import load_reply, scrub

_DELTA_KNOWN = {"role", "content", "tool_calls", "refusal", *REASONING_FIELDS}
_CALL_KNOWN = {"index", "id", "type", "function"}


@dataclass
class _Call:
    """One tool call being assembled from its deltas."""

    id: str = ""
    name: str = ""
    arguments: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def wire(self) -> dict[str, Any]:
        function = {"name": self.name, "arguments": self.arguments or "{}"}
        return {**self.extra, "id": self.id, "type": "function", "function": function}


class ChatStreamDecoder:
    """Feeds on server-sent events; `finish` gives the Reply (or StreamIncomplete)."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.partial_text = ""
        #: Reasoning text per field ("reasoning" or "reasoning_content"), in order of arrival.
        self.reasoning: dict[str, str] = {}
        self.refusal: str | None = None
        self.extra: dict[str, Any] = {}
        self.calls: list[_Call] = []
        self.by_index: dict[int, _Call] = {}
        self.finish_reason: str | None = None
        self.usage: Any = None
        self.model: str | None = None
        self.done = False
        self.chunks = 0

    # -- events ------------------------------------------------------------------------------

    def feed(self, event: ServerSentEvent) -> Iterable[Delta]:
        data = event.data.strip()
        if not data:
            return []
        if data == "[DONE]":
            self.done = True
            return []
        chunk = load_reply(data, provider=self.provider, what=f"stream chunk {self.chunks}")
        self.chunks += 1
        if not isinstance(chunk, dict):
            raise self._error(f"chunk {self.chunks - 1} must be an object, got {data[:80]!r}")
        if chunk.get("error") is not None:
            raise embedded_error(chunk["error"], self.provider)
        self.model = self.model or optional_string(chunk, "model", self.provider)
        if chunk.get("usage") is not None:
            self.usage = chunk["usage"]
        choices = chunk.get("choices") or []
        if not isinstance(choices, list):
            raise self._error(f"choices must be a list, got {type(choices).__name__}")
        deltas: list[Delta] = []
        for choice in choices:
            if not isinstance(choice, dict):
                raise self._error(f"choices[] must hold objects, got {type(choice).__name__}")
            if choice.get("index", 0) == 0:  # n > 1 streams interleave; the reply is choice 0
                deltas.extend(self._choice(choice))
        return deltas

    def _choice(self, choice: dict[str, Any]) -> list[Delta]:
        reason = choice.get("finish_reason")
        if reason is not None:
            if not isinstance(reason, str):
                raise self._error(f"finish_reason must be a string, got {reason!r}")
            self.finish_reason = reason
        delta = choice.get("delta")
        if delta is None:
            return []
        if not isinstance(delta, dict):
            raise self._error(f"delta must be an object, got {type(delta).__name__}")
        out: list[Delta] = []
        for key in REASONING_FIELDS:
            text = self._text(delta, key)
            if text:
                self.reasoning[key] = self.reasoning.get(key, "") + text
                if key == next(iter(self.reasoning)):  # servers sending both repeat the text
                    out.append(Delta(text, "thinking"))
        text = self._text(delta, "content")
        if text:
            self.partial_text += text
            out.append(Delta(text))
        refusal = self._text(delta, "refusal")
        if refusal:
            self.refusal = (self.refusal or "") + refusal
        for key, value in delta.items():
            if key not in _DELTA_KNOWN and value is not None:
                self.extra[key] = value
        calls = delta.get("tool_calls")
        if calls is not None:
            if not isinstance(calls, list):
                raise self._error(f"tool_calls must be a list, got {type(calls).__name__}")
            for position, call in enumerate(calls):
                self._call_delta(call, first_in_delta=position == 0)
        return out

    def _call_delta(self, raw: Any, *, first_in_delta: bool) -> None:
        if not isinstance(raw, dict):
            raise self._error(f"tool_calls[] must hold objects, got {type(raw).__name__}")
        function = raw.get("function") or {}
        if not isinstance(function, dict):
            raise self._error(f"tool_calls[].function must be an object, got {function!r}")
        call_id = self._text(raw, "id")
        name = self._text(function, "name")
        arguments = function.get("arguments")
        if isinstance(arguments, dict):  # some servers send the arguments already parsed
            arguments = json.dumps(arguments)
        elif arguments is not None and not isinstance(arguments, str):
            raise self._error(f"tool call arguments must be a string, got {arguments!r}")
        call = self._slot(raw.get("index"), call_id, name, first_in_delta)
        call.id = call.id or call_id
        call.name = call.name or name  # servers that repeat the name would otherwise double it
        call.arguments += arguments or ""
        call.extra.update({k: v for k, v in raw.items() if k not in _CALL_KNOWN})

    def _slot(self, index: Any, call_id: str, name: str, first_in_delta: bool) -> _Call:
        """The call a delta continues, or a new one."""
        if index is not None:
            if not isinstance(index, int) or isinstance(index, bool):
                raise self._error(f"tool_calls[].index must be an integer, got {index!r}")
            known = self.by_index.get(index)
            if known is not None and not (call_id and known.id and call_id != known.id):
                return known
            self.by_index[index] = self._new_call()
            return self.by_index[index]
        last = self.calls[-1] if self.calls and first_in_delta else None
        if last is None or (call_id and call_id != last.id) or (not call_id and name and last.name):
            return self._new_call()
        return last

    def _new_call(self) -> _Call:
        self.calls.append(_Call())
        return self.calls[-1]

    # -- the end -----------------------------------------------------------------------------

    def finish(self) -> Reply:
        # [DONE] ends an OpenAI stream; some compatible servers stop after finish_reason
        if not self.done and self.finish_reason is None:
            raise StreamIncomplete(
                "the stream ended before the model finished (no finish_reason, no [DONE])",
                provider=self.provider,
                partial_text=self.partial_text,
            )
        for position, call in enumerate(self.calls):
            if not call.name:
                raise self._error(f"tool call {position} never received a function name")
        message = decode_message(self._wire_message(), "the streamed message", self.provider)
        return Reply(
            message,
            decode_usage(self.usage, self.provider),
            finish_reason(self.finish_reason, message, self.provider),
            self.model,
        )

    def _wire_message(self) -> dict[str, Any]:
        """The message a non-streamed call would have returned."""
        message: dict[str, Any] = {**self.extra, "role": "assistant"}
        message["content"] = self.partial_text if self.partial_text or not self.calls else None
        message.update(self.reasoning)
        if self.refusal is not None:
            message["refusal"] = self.refusal
        if self.calls:
            message["tool_calls"] = [call.wire() for call in self.calls]
        return message

    # -- helpers -----------------------------------------------------------------------------

    def _text(self, raw: dict[str, Any], key: str) -> str:
        value = raw.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self._error(f"{key} must be a string, got {value!r}"[:160])
        return scrub(value)  # shown as it arrives, so mended here (sendable does the rest)

    def _error(self, message: str) -> ResponseFormatError:
        return ResponseFormatError(
            f"OpenAI Chat Completions stream: {message}", provider=self.provider
        )
