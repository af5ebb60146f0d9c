"""OpenAI Chat Completions streaming: ``chat.completion.chunk`` events as deltas, then a Reply.

Built on the wire kit's skeleton (`agentloop.providers.stream_decoder`): this module says
only what a chunk means. The decoder rebuilds the message a non-streamed call would have
returned and decodes it the same way, so a streamed reply equals the non-streamed one.

Tool calls arrive in pieces keyed by ``index`` (several at once for parallel
calls). Ollama sends each whole call in one delta with no ``index``; a call
without an index starts a new one when it brings its own id or name. The final
chunk (``stream_options.include_usage``) has no choices and carries the usage (Groq,
when it is not asked for it that way, puts it in the last chunk's ``x_groq.usage``).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from agentloop.providers.base import Reply
from agentloop.providers.openai_chat.messages import REASONING_FIELDS
from agentloop.providers.openai_chat.reply import (
    decode_message,
    decode_usage,
    embedded_error,
    finish_reason,
)
from agentloop.providers.stream_decoder import StreamDecoderBase, StreamPart
from agentloop.providers.wire_fields import Where, at
from agentloop.providers.wire_json import scrub

_CALL_KNOWN = {"index", "id", "type", "function"}
#: The parts' keys: the text, the refusal, each reasoning field, and the calls by number.
_CONTENT, _REFUSAL = "content", "refusal"


class ChatStreamDecoder(StreamDecoderBase):
    """Feeds on server-sent events; `finish` gives the Reply (or StreamIncomplete)."""

    end_marker = "the model finished (no finish_reason, no [DONE])"
    ends_with_done = True

    def __init__(self, provider: str) -> None:
        super().__init__(provider)
        #: Reasoning fields ("reasoning" or "reasoning_content") in order of arrival.
        self.reasoning: list[str] = []
        self.extra: dict[str, Any] = {}
        self.calls = 0
        self.by_index: dict[int, StreamPart] = {}
        self.last_call: StreamPart | None = None
        self.finish_reason: str | None = None
        self.usage: Any = None
        self.model: str | None = None
        # Where the decoder is reading, written out only for an error message.
        self._chunk: Where = ""
        self._choice_no, self._tail = 0, ""
        self._at = self._where  # bound once: checks on every chunk pass it

    def on_event(self, kind: str, data: dict[str, Any], path: Where) -> None:
        if data.get("error") is not None:
            raise embedded_error(data["error"], self.provider)
        self.model = self.model or self.read.string_or_none(data.get("model"), path, "model")
        usage = data.get("usage")
        if usage is None and isinstance(data.get("x_groq"), dict):
            usage = data["x_groq"].get("usage")  # Groq, asked without stream_options
        if usage is not None:
            self.usage = usage
        choices = self.read.list(data.get("choices") or [], path, "choices")
        self._chunk = path
        for position, choice in enumerate(choices):
            self._choice_no, self._tail = position, ""
            if self.read.object(choice, self._at).get("index", 0) == 0:
                self._choice(choice)  # n > 1 streams interleave; the reply is choice 0

    def _where(self) -> str:
        choice = f"{at(self._chunk)}.choices[{self._choice_no}]"
        return f"{choice}.{self._tail}" if self._tail else choice

    def _choice(self, choice: dict[str, Any]) -> None:
        where = self._at
        reason = self.read.string_or_none(choice.get("finish_reason"), where, "finish_reason")
        if reason is not None:
            self.finish_reason = reason
            self.ended = True  # some compatible servers stop after finish_reason
        delta = self.read.object_or_none(choice.get("delta"), where, "delta")
        if delta is None:
            return
        self._tail = "delta"
        self._delta(delta)

    def _delta(self, delta: dict[str, Any]) -> None:
        # One pass over the fields the delta has (most chunks carry one), shown in a fixed
        # order: reasoning, then text.
        reasoning: dict[str, str] | None = None  # made only for a delta that has some
        text = refusal = ""
        calls = None
        for key, value in delta.items():
            if value is None or key == "role":
                continue
            if key == "content":
                text = self._text(value, key)
            elif key in REASONING_FIELDS:
                reasoning = reasoning or {}
                reasoning[key] = self._text(value, key)
            elif key == "refusal":
                refusal = self._text(value, key)
            elif key == "tool_calls":
                calls = self.read.list(value, self._at, key)
            else:
                self.extra[key] = value
        if reasoning is not None:
            self._reasoning(reasoning)
        if text:
            self.parts.add_text(_CONTENT, text)
            self.show_text(text)
        if refusal:
            self.parts.add_text(_REFUSAL, refusal, "refusal")
        for position, call in enumerate(calls or []):
            self._tail = f"delta.tool_calls[{position}]"
            self._call_delta(call, first_in_delta=position == 0)

    def _reasoning(self, reasoning: dict[str, str]) -> None:
        for key in REASONING_FIELDS:
            thinking = reasoning.get(key)
            if thinking:
                if key not in self.reasoning:
                    self.reasoning.append(key)
                self.parts.add_text(key, thinking, "thinking")
                if key == self.reasoning[0]:  # servers sending both repeat the text
                    self.show_thinking(thinking)

    def _call_delta(self, raw: Any, *, first_in_delta: bool) -> None:
        raw = self.read.object(raw, self._where)
        function = self.read.object(raw.get("function") or {}, self._at, "function")
        call_id = self._field_text(raw, "id")
        index = raw.get("index")
        index = None if index is None else self.read.integer(index, self._at, "index")
        self._tail += ".function"
        name = self._field_text(function, "name")
        arguments = function.get("arguments")
        if isinstance(arguments, dict):  # some servers send the arguments already parsed
            arguments = json.dumps(arguments)
        else:
            self.read.string_or_none(arguments, self._at, "arguments")
        call = self._slot(index, call_id, name, first_in_delta)
        call.id = call.id or call_id
        call.name = call.name or name  # servers that repeat the name would otherwise double it
        if call.name and call.announced_id is None:
            # An id made up now, as the reply decoder would, is the one the reply keeps.
            self.show_call(call, call.id or f"call_{uuid.uuid4().hex[:24]}", call.name)
        self.add_arguments(call, arguments or "")
        call.fields.update({k: v for k, v in raw.items() if k not in _CALL_KNOWN})

    def _slot(self, index: int | None, call_id: str, name: str, first_in_delta: bool) -> StreamPart:
        """The call a delta continues, or a new one."""
        if index is not None:
            known = self.by_index.get(index)
            if known is not None and not (call_id and known.id and call_id != known.id):
                return known
            self.by_index[index] = self._new_call()
            return self.by_index[index]
        # Ollama: whole calls with no index; one continues only the last, in the same delta
        last = self.last_call if first_in_delta else None
        if last is None or (call_id and call_id != last.id) or (not call_id and name and last.name):
            return self._new_call()
        return last

    def _new_call(self) -> StreamPart:
        self.last_call = self.parts.start(("call", self.calls), "tool_call")
        self.calls += 1
        return self.last_call

    # -- the end -----------------------------------------------------------------------------

    def reply(self) -> Reply:
        calls = [part for part in self.parts if part.kind == "tool_call"]
        for position, call in enumerate(calls):
            if not call.name:
                raise self.read.error(f"streamed tool call {position} never received its name")
        wire = self._wire_message(calls)
        message = decode_message(wire, "the streamed message", self.provider)
        return Reply(
            message,
            decode_usage(self.usage, self.provider),
            finish_reason(self.finish_reason, message, self.provider),
            self.model,
        )

    def _wire_message(self, calls: list[StreamPart]) -> dict[str, Any]:
        """The message a non-streamed call would have returned."""
        message: dict[str, Any] = {**self.extra, "role": "assistant"}
        content = self.parts.get(_CONTENT)
        text = content.text if content is not None else ""
        message["content"] = text if text or not calls else None
        for key in self.reasoning:
            message[key] = self.parts.add_text(key, "").text  # each was started by its text
        refusal = self.parts.get(_REFUSAL)
        if refusal is not None:
            message["refusal"] = refusal.text
        if calls:
            message["tool_calls"] = [_wire_call(call) for call in calls]
        return message

    # -- helpers -----------------------------------------------------------------------------

    def _field_text(self, raw: dict[str, Any], key: str) -> str:
        value = raw.get(key)
        return "" if value is None else self._text(value, key)

    def _text(self, value: Any, key: str) -> str:
        """A text field (not null): shown as it arrives, so mended here."""
        return scrub(value if isinstance(value, str) else self.read.string(value, self._at, key))


def _wire_call(call: StreamPart) -> dict[str, Any]:
    function = {"name": call.name, "arguments": call.arguments or "{}"}
    call_id = call.announced_id or call.id  # once shown, a call keeps the id it was shown with
    return {**call.fields, "id": call_id, "type": "function", "function": function}
