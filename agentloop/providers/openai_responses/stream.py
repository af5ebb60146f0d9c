"""Responses API named server-sent events as deltas, then a [`Reply`][agentloop.Reply] (pure,
stateful).

Built on the wire kit's skeleton (`agentloop.providers.stream_decoder`): this module says
only what each event means. Text (``response.output_text.delta``,
``response.refusal.delta``) and reasoning (``response.reasoning_summary_text.delta``,
``response.reasoning_text.delta``) are yielded as they come. Output items are assembled
by ``output_index`` (one part each), so parallel
function calls each gather their own argument deltas; ``response.output_item.done``
gives an item's final form. ``response.completed`` (or ``response.incomplete``)
ends the stream and carries the usage; ``response.failed`` and ``error`` events
raise the typed error they describe. Events this decoder does not need are ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentloop.providers.base import Reply
from agentloop.providers.openai_responses.fields import OPENAI_RESPONSES
from agentloop.providers.openai_responses.messages import SUMMARY_SEPARATOR
from agentloop.providers.openai_responses.reply import READ, decode_reply, failure
from agentloop.providers.stream_decoder import StreamDecoderBase, StreamPart, StreamParts
from agentloop.providers.wire_fields import Where
from agentloop.providers.wire_json import scrub

FORMAT = OPENAI_RESPONSES
FINAL_EVENTS = ("response.completed", "response.incomplete")


class ResponsesStreamDecoder(StreamDecoderBase):
    """Feed it each server-sent event; `finish` gives the reply."""

    end_marker = "response.completed"

    def __init__(self) -> None:
        super().__init__(FORMAT)
        #: A message item's texts by (output_index, content_index), a reasoning item's
        #: summary parts by (output_index, summary_index); items are ``self.parts``.
        self._texts = StreamParts()
        self._summaries = StreamParts()
        #: Items as ``response.output_item.done`` gave them, by output_index.
        self._done: dict[int, dict[str, Any]] = {}
        self._final: dict[str, Any] | None = None
        self._handlers: dict[str, Callable[[dict[str, Any], str], None]] = {
            "response.output_item.added": self._item_added,
            "response.output_item.done": self._item_done,
            "response.output_text.delta": self._text_delta,
            "response.refusal.delta": self._text_delta,
            "response.function_call_arguments.delta": self._arguments_delta,
            "response.function_call_arguments.done": self._arguments_done,
            "response.reasoning_summary_text.delta": self._summary_delta,
            "response.reasoning_text.delta": self._reasoning_delta,
            "response.completed": self._finished,
            "response.incomplete": self._finished,
            "response.failed": self._failed,
            "error": self._error,
        }

    def on_event(self, kind: str, data: dict[str, Any], path: Where) -> None:
        handler = self._handlers.get(kind)
        if handler is not None:
            handler(data, kind)

    def reply(self) -> Reply:
        response = dict(self._final or {})
        if len(self.parts):
            response["output"] = [self._assembled(i, item) for i, item in self.parts.by_key()]
        return decode_reply(response)

    def _assembled(self, index: int, state: StreamPart) -> dict[str, Any]:
        """An item: as ``output_item.done`` gave it, else rebuilt from the deltas."""
        if index in self._done:
            return self._done[index]
        item = dict(state.fields)
        if state.kind == "message":
            item["content"] = [
                {"type": part.kind, "refusal" if part.kind == "refusal" else "text": part.text}
                for (owner, _), part in self._texts.by_key()
                if owner == index
            ]
        elif state.kind == "function_call":
            item["arguments"] = state.arguments
        elif state.kind == "reasoning":
            item["summary"] = [
                {"type": "summary_text", "text": part.text}
                for (owner, _), part in self._summaries.by_key()
                if owner == index
            ]
        return item

    # -- handlers ------------------------------------------------------------------------

    def _item_added(self, data: dict[str, Any], kind: str) -> None:
        item = READ.object(data.get("item"), kind, "item")
        part = self.parts.start(_index(data, kind), str(item.get("type", "message")), item)
        self._announce(part, item)

    def _item_done(self, data: dict[str, Any], kind: str) -> None:
        item = READ.object(data.get("item"), kind, "item")
        part = self._state(data, kind, item)
        self._announce(part, item)
        if part.announced_id is not None and isinstance(item.get("arguments"), str):
            self.settle_arguments(part, item["arguments"])
        self._done[_index(data, kind)] = item

    def _text_delta(self, data: dict[str, Any], kind: str) -> None:
        delta = _shown(data, kind)
        part = "refusal" if kind == "response.refusal.delta" else "output_text"
        self._state(data, kind)
        key = (_index(data, kind), _int(data, "content_index", kind, default=0))
        self._texts.add_text(key, delta, part)
        self.show_text(delta)

    def _arguments_delta(self, data: dict[str, Any], kind: str) -> None:
        self.add_arguments(self._state(data, kind), _string(data, "delta", kind))

    def _arguments_done(self, data: dict[str, Any], kind: str) -> None:
        self.settle_arguments(self._state(data, kind), _string(data, "arguments", kind))

    def _announce(self, part: StreamPart, item: dict[str, Any]) -> None:
        call_id, name = item.get("call_id"), item.get("name")
        if part.kind == "function_call" and isinstance(call_id, str) and isinstance(name, str):
            self.show_call(part, call_id, name)

    def _summary_delta(self, data: dict[str, Any], kind: str) -> None:
        delta = _shown(data, kind)
        self._state(data, kind)
        owner = _index(data, kind)
        key = (owner, _int(data, "summary_index", kind, default=0))
        # The reply joins summary parts with a blank line: the stream shows the same text.
        starts_part = key not in self._summaries and any(
            part.text for (item, _), part in self._summaries.by_key() if item == owner
        )
        self._summaries.add_text(key, delta, "summary_text")
        self.show_thinking(SUMMARY_SEPARATOR + delta if starts_part else delta)

    def _reasoning_delta(self, data: dict[str, Any], kind: str) -> None:
        self.show_thinking(_shown(data, kind))

    def _finished(self, data: dict[str, Any], kind: str) -> None:
        self._final = READ.object(data.get("response"), kind, "response")
        self.ended = True

    def _failed(self, data: dict[str, Any], kind: str) -> None:
        response = READ.object(data.get("response"), kind, "response")
        raise failure(response.get("error"), "the response failed")

    def _error(self, data: dict[str, Any], kind: str) -> None:
        raise failure(data, "the stream reported an error")

    def _state(
        self, data: dict[str, Any], kind: str, item: dict[str, Any] | None = None
    ) -> StreamPart:
        """The item an event is about; one announced only by this event is started here."""
        index = _index(data, kind)
        state = self.parts.get(index)
        if state is None:
            fields = dict(item) if item is not None else _implied(kind)
            state = self.parts.start(index, str(fields.get("type", "message")), fields)
        return state


def _implied(kind: str) -> dict[str, Any]:
    """The item a delta implies when the server skipped ``response.output_item.added``."""
    if kind.startswith("response.function_call"):
        raise READ.error(f"event {kind} is for a function call that was never announced")
    if kind.startswith("response.reasoning"):
        return {"type": "reasoning", "summary": []}
    return {"type": "message", "role": "assistant", "content": []}


def _index(data: dict[str, Any], kind: str) -> int:
    return _int(data, "output_index", kind)


def _int(data: dict[str, Any], key: str, kind: str, default: int | None = None) -> int:
    return READ.integer(data.get(key, default), kind, key)


def _shown(data: dict[str, Any], kind: str) -> str:
    """A text delta, mended as it arrives since it is shown at once (sendable does the rest)."""
    return scrub(_string(data, "delta", kind))


def _string(data: dict[str, Any], key: str, kind: str) -> str:
    return READ.string(data.get(key), kind, key)
