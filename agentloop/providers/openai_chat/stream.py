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

from agentloop.errors import StreamIncomplete
from agentloop.providers.base import Delta, Reply
from agentloop.providers.openai_chat.messages import REASONING_FIELDS
from agentloop.providers.openai_chat.reply import (
    decode_message,
    decode_usage,
    embedded_error,
    finish_reason,
    optional_string,
)
from agentloop.providers.sse import ServerSentEvent
from agentloop.providers.wire_fields import FieldReader, at
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
        self.read = FieldReader(provider)
        self.path = ""  # the chunk being read, for error messages
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
        self.path = f"chunks[{self.chunks}]"
        self.chunks += 1
        chunk = self.read.object(chunk, self.path)
        if chunk.get("error") is not None:
            raise embedded_error(chunk["error"], self.provider)
        self.model = self.model or optional_string(chunk, "model", self.provider)
        if chunk.get("usage") is not None:
            self.usage = chunk["usage"]
        choices = self.read.list(chunk.get("choices") or [], at(self.path, "choices"))
        deltas: list[Delta] = []
        for position, choice in enumerate(choices):
            self.read.object(choice, f"{self.path}.choices[{position}]")
            if choice.get("index", 0) == 0:  # n > 1 streams interleave; the reply is choice 0
                deltas.extend(self._choice(choice, position))
        return deltas

    def _choice(self, choice: dict[str, Any], position: int) -> list[Delta]:
        path = f"{self.path}.choices[{position}]"
        reason = self.read.string_or_none(choice.get("finish_reason"), f"{path}.finish_reason")
        if reason is not None:
            self.finish_reason = reason
        delta = self.read.object_or_none(choice.get("delta"), f"{path}.delta")
        if delta is None:
            return []
        self.path = f"{path}.delta"
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
        calls = self.read.list_or_none(delta.get("tool_calls"), f"{self.path}.tool_calls")
        for position, call in enumerate(calls or []):
            self.path = f"{path}.delta.tool_calls[{position}]"
            self._call_delta(call, first_in_delta=position == 0)
        return out

    def _call_delta(self, raw: Any, *, first_in_delta: bool) -> None:
        raw = self.read.object(raw, self.path)
        function = self.read.object(raw.get("function") or {}, f"{self.path}.function")
        call_id = self._text(raw, "id")
        self.path += ".function"
        name = self._text(function, "name")
        arguments = function.get("arguments")
        if isinstance(arguments, dict):  # some servers send the arguments already parsed
            arguments = json.dumps(arguments)
        else:
            self.read.string_or_none(arguments, f"{self.path}.arguments")
        call = self._slot(raw.get("index"), call_id, name, first_in_delta)
        call.id = call.id or call_id
        call.name = call.name or name  # servers that repeat the name would otherwise double it
        call.arguments += arguments or ""
        call.extra.update({k: v for k, v in raw.items() if k not in _CALL_KNOWN})

    def _slot(self, index: Any, call_id: str, name: str, first_in_delta: bool) -> _Call:
        """The call a delta continues, or a new one."""
        if index is not None:
            index = self.read.integer(index, self.path.removesuffix(".function") + ".index")
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
                raise self.read.error(f"streamed tool call {position} never received its name")
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
        value = self.read.string_or_none(raw.get(key), at(self.path, key))
        return "" if value is None else scrub(value)  # shown as it arrives: mended here
