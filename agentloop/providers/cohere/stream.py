"""Cohere v2 Chat stream events as deltas and a [`Reply`][agentloop.Reply] (pure, stateful).

Named events, each with its ``type`` in the data: ``message-start``; per content block
``content-start`` (its type, ``text`` or ``thinking``), ``content-delta`` and ``content-end``
(keyed by ``index``); ``tool-plan-delta`` (the plan, before the calls, shown as thinking);
per call ``tool-call-start`` (its id and name), ``tool-call-delta`` (argument fragments) and
``tool-call-end``; ``citation-start``/``citation-end``; ``message-end`` with the finish reason
and usage; then ``data: [DONE]``. The decoder rebuilds the body a non-streamed call would have
returned and decodes it with `decode_reply`, so a streamed reply equals a plain one.
"""

from __future__ import annotations

from typing import Any

from agentloop.providers.base import Reply
from agentloop.providers.cohere.format import COHERE
from agentloop.providers.cohere.reply import decode_reply
from agentloop.providers.stream_decoder import StreamDecoderBase
from agentloop.providers.wire_fields import Where, at
from agentloop.providers.wire_json import scrub

Event = dict[str, Any]
_PLAN = "tool_plan"


class CohereStreamDecoder(StreamDecoderBase):
    """Feed it ``/v2/chat`` stream events; `finish` gives the reply."""

    end_marker = "the message-end event"

    def __init__(self) -> None:
        super().__init__(COHERE)
        self._end: Event = {}
        self._citations: list[Any] = []
        self._plan = ""

    def on_event(self, kind: str, data: Event, path: Where) -> None:
        if kind == "content-delta" or kind == "content-start":
            self._content(kind, data, path)
        elif kind == "tool-plan-delta":
            plan = self._message(data, path).get(_PLAN)
            piece = scrub(self.read.string(plan, at(path, "delta.message"), _PLAN))
            self._plan += piece
            self.show_thinking(piece)
        elif kind == "tool-call-start" or kind == "tool-call-delta":
            self._call(kind, data, path)
        elif kind == "citation-start":
            citation = self._message(data, path).get("citations")
            self._citations.append(
                self.read.object(citation, at(path, "delta.message"), "citations")
            )
        elif kind == "message-end":
            self._end = self.read.object_or_none(data.get("delta"), path, "delta") or {}
            self.ended = True
        # message-start, content-end, tool-call-end, citation-end and newer events carry
        # nothing to keep

    def _message(self, data: Event, path: Where) -> Event:
        delta = self.read.object(data.get("delta"), path, "delta")
        return self.read.object(delta.get("message"), at(path, "delta"), "message")

    def _content(self, kind: str, data: Event, path: Where) -> None:
        index = self.read.integer(data.get("index", 0), path, "index")
        where = at(path, "delta.message")
        content = self.read.object(self._message(data, path).get("content"), where, "content")
        if kind == "content-start":
            block_type = self.read.string(content.get("type", "text"), where, "content.type")
            self.parts.start(("content", index), block_type)
        part = self.parts.get(("content", index)) or self.parts.start(("content", index), "text")
        key = "thinking" if part.kind == "thinking" else "text"
        piece = scrub(self.read.string_or_none(content.get(key), at(where, "content"), key) or "")
        part.text += piece
        if key == "thinking":
            self.show_thinking(piece)
        else:
            self.show_text(piece)

    def _call(self, kind: str, data: Event, path: Where) -> None:
        index = self.read.integer(data.get("index", 0), path, "index")
        where = at(path, "delta.message")
        call = self.read.object(self._message(data, path).get("tool_calls"), where, "tool_calls")
        function = (
            self.read.object_or_none(call.get("function"), at(where, "tool_calls"), "function")
            or {}
        )
        part = self.parts.get(("call", index))
        if kind == "tool-call-start" or part is None:
            part = self.parts.start(("call", index), "tool_call")
            part.id = scrub(
                self.read.string_or_none(call.get("id"), at(where, "tool_calls"), "id") or ""
            )
            name = self.read.string_or_none(
                function.get("name"), at(where, "tool_calls.function"), "name"
            )
            part.name = scrub(name or "")
            if part.id and part.name:
                self.show_call(part, part.id, part.name)
        piece = self.read.string_or_none(
            function.get("arguments"), at(where, "tool_calls.function"), "arguments"
        )
        self.add_arguments(part, piece or "")

    def reply(self) -> Reply:
        message: Event = {}
        if self._plan:
            message[_PLAN] = self._plan
        content: list[Event] = []
        calls: list[Event] = []
        for key, part in self.parts.by_key():
            if key[0] == "content":
                field = "thinking" if part.kind == "thinking" else "text"
                content.append({"type": field, field: part.text})
            else:
                function = {"name": part.name, "arguments": part.arguments or "{}"}
                calls.append({"id": part.id, "type": "function", "function": function})
        if content:
            message["content"] = content
        if calls:
            message["tool_calls"] = calls
        if self._citations:
            message["citations"] = self._citations
        end = self._end
        body = {
            "message": message,
            "finish_reason": end.get("finish_reason"),
            "usage": end.get("usage"),
        }
        return decode_reply(body)
