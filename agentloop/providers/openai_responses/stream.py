"""Responses API named server-sent events as deltas, then a [`Reply`][agentloop.Reply] (pure,
stateful).

Text (``response.output_text.delta``, ``response.refusal.delta``) and reasoning
(``response.reasoning_summary_text.delta``, ``response.reasoning_text.delta``) are
yielded as they come. Output items are assembled by ``output_index``, so parallel
function calls each gather their own argument deltas; ``response.output_item.done``
gives an item's final form. ``response.completed`` (or ``response.incomplete``)
ends the stream and carries the usage; ``response.failed`` and ``error`` events
raise the typed error they describe. Events this decoder does not need are ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentloop.errors import StreamIncomplete
from agentloop.messages import OPENAI_RESPONSES
from agentloop.providers.base import Delta, Reply
from agentloop.providers.openai_responses.messages import SUMMARY_SEPARATOR
from agentloop.providers.openai_responses.reply import READ, decode_reply, failure
from agentloop.providers.sse import ServerSentEvent
from agentloop.providers.wire_json import load_reply, scrub

FORMAT = OPENAI_RESPONSES
FINAL_EVENTS = ("response.completed", "response.incomplete")


@dataclass
class ItemState:
    """One output item as its events arrive."""

    item: dict[str, Any]
    #: content_index -> (part type, text so far), for a message item.
    texts: dict[int, tuple[str, str]] = field(default_factory=dict)
    arguments: str = ""
    #: summary_index -> text so far, for a reasoning item.
    summary: dict[int, str] = field(default_factory=dict)
    done: dict[str, Any] | None = None

    def assembled(self) -> dict[str, Any]:
        """The item: as ``output_item.done`` gave it, else rebuilt from the deltas."""
        if self.done is not None:
            return self.done
        item = dict(self.item)
        kind = item.get("type")
        if kind == "message":
            item["content"] = [
                {"type": part, "refusal" if part == "refusal" else "text": text}
                for _, (part, text) in sorted(self.texts.items())
            ]
        elif kind == "function_call":
            item["arguments"] = self.arguments
        elif kind == "reasoning":
            item["summary"] = [
                {"type": "summary_text", "text": text} for _, text in sorted(self.summary.items())
            ]
        return item


class ResponsesStreamDecoder:
    """Feed it each server-sent event; `finish` gives the reply."""

    def __init__(self) -> None:
        self.partial_text = ""
        self._items: dict[int, ItemState] = {}
        self._final: dict[str, Any] | None = None
        self._handlers: dict[str, Callable[[dict[str, Any], str], list[Delta]]] = {
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

    def feed(self, event: ServerSentEvent) -> list[Delta]:
        if not event.data.strip() or event.data.strip() == "[DONE]":
            return []
        data = READ.object(
            load_reply(event.data, provider=FORMAT, what=f"event {event.event!r}"), event.event
        )
        kind = data.get("type", event.event)
        handler = self._handlers.get(kind) if isinstance(kind, str) else None
        return handler(data, kind) if handler is not None else []

    def finish(self) -> Reply:
        if self._final is None:
            raise StreamIncomplete(
                "the stream ended before response.completed",
                provider=FORMAT,
                partial_text=self.partial_text,
            )
        response = dict(self._final)
        if self._items:
            response["output"] = [state.assembled() for _, state in sorted(self._items.items())]
        return decode_reply(response)

    # -- handlers ------------------------------------------------------------------------

    def _item_added(self, data: dict[str, Any], kind: str) -> list[Delta]:
        item = READ.object(data.get("item"), f"{kind}.item")
        self._items[_index(data, kind)] = ItemState(dict(item))
        return []

    def _item_done(self, data: dict[str, Any], kind: str) -> list[Delta]:
        item = READ.object(data.get("item"), f"{kind}.item")
        self._state(data, kind, item).done = item
        return []

    def _text_delta(self, data: dict[str, Any], kind: str) -> list[Delta]:
        delta = _shown(data, kind)
        part = "refusal" if kind == "response.refusal.delta" else "output_text"
        state = self._state(data, kind)
        index = _int(data, "content_index", kind, default=0)
        _, text = state.texts.get(index, (part, ""))
        state.texts[index] = (part, text + delta)
        self.partial_text += delta
        return [Delta(delta)] if delta else []

    def _arguments_delta(self, data: dict[str, Any], kind: str) -> list[Delta]:
        self._state(data, kind).arguments += _string(data, "delta", kind)
        return []

    def _arguments_done(self, data: dict[str, Any], kind: str) -> list[Delta]:
        self._state(data, kind).arguments = _string(data, "arguments", kind)
        return []

    def _summary_delta(self, data: dict[str, Any], kind: str) -> list[Delta]:
        delta = _shown(data, kind)
        state = self._state(data, kind)
        index = _int(data, "summary_index", kind, default=0)
        # The reply joins summary parts with a blank line: the stream shows the same text.
        starts_part = index not in state.summary and any(state.summary.values())
        state.summary[index] = state.summary.get(index, "") + delta
        text = SUMMARY_SEPARATOR + delta if starts_part else delta
        return [Delta(text, "thinking")] if text else []

    def _reasoning_delta(self, data: dict[str, Any], kind: str) -> list[Delta]:
        delta = _shown(data, kind)
        return [Delta(delta, "thinking")] if delta else []

    def _finished(self, data: dict[str, Any], kind: str) -> list[Delta]:
        self._final = READ.object(data.get("response"), f"{kind}.response")
        return []

    def _failed(self, data: dict[str, Any], kind: str) -> list[Delta]:
        response = READ.object(data.get("response"), f"{kind}.response")
        raise failure(response.get("error"), "the response failed")

    def _error(self, data: dict[str, Any], kind: str) -> list[Delta]:
        raise failure(data, "the stream reported an error")

    def _state(
        self, data: dict[str, Any], kind: str, item: dict[str, Any] | None = None
    ) -> ItemState:
        """The item an event is about; one announced only by this event is started here."""
        index = _index(data, kind)
        if index not in self._items:
            self._items[index] = ItemState(dict(item) if item is not None else _implied(kind))
        return self._items[index]


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
    return READ.integer(data.get(key, default), f"{kind}.{key}")


def _shown(data: dict[str, Any], kind: str) -> str:
    """A text delta, mended as it arrives since it is shown at once (sendable does the rest)."""
    return scrub(_string(data, "delta", kind))


def _string(data: dict[str, Any], key: str, kind: str) -> str:
    return READ.string(data.get(key), f"{kind}.{key}")
