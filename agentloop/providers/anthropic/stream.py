"""Anthropic's streamed events as deltas, then the same Reply a non-streamed call gives (pure).

The stream rebuilds the response's content blocks: ``content_block_start``
opens a block, ``content_block_delta`` grows it (``text_delta``,
``thinking_delta``, ``signature_delta``, ``input_json_delta``,
``citations_delta``), ``content_block_stop`` closes it (a tool's argument
text is parsed then; ``""`` means no arguments). ``message_start`` and
``message_delta`` carry the usage (the latter's counters are cumulative and
win) and the stop reason; ``message_stop`` ends the message. The rebuilt
blocks then decode exactly as a non-streamed reply does.

``ping`` and event types this module does not know are skipped, as Anthropic
asks of clients. An ``error`` event (``overloaded_error`` mid-stream) raises
its typed error.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agentloop.errors import StreamIncomplete
from agentloop.messages import ANTHROPIC
from agentloop.providers.anthropic.reply import (
    READ,
    decode_message,
    decode_usage,
    error_from_event,
    finish_reason,
)
from agentloop.providers.base import Delta, Reply
from agentloop.providers.sse import ServerSentEvent
from agentloop.providers.wire_json import load_reply, read_arguments, scrub

Block = dict[str, Any]


class AnthropicStreamDecoder:
    """Feeds on one response's server-sent events; `finish` gives the Reply."""

    def __init__(self) -> None:
        self.partial_text = ""
        self._blocks: dict[int, Block] = {}
        self._arguments: dict[int, list[str]] = {}
        self._unparsed: dict[str, str] = {}
        self._usage: dict[str, Any] = {}
        self._stop_reason: Any = None
        self._model: str | None = None
        self._stopped = False

    def feed(self, event: ServerSentEvent) -> Iterable[Delta]:
        data = _payload(event)
        kind = data.get("type", event.event)
        if kind == "error":
            raise error_from_event(data)
        if kind == "message_start":
            self._start(_object(data, "message"))
        elif kind == "content_block_start":
            self._open(_index(data), _object(data, "content_block"))
        elif kind == "content_block_delta":
            return self._grow(self._block(data), _index(data), _object(data, "delta"))
        elif kind == "content_block_stop":
            self._close(_index(data))
        elif kind == "message_delta":
            self._message_delta(data)
        elif kind == "message_stop":
            self._stopped = True
        return ()

    def finish(self) -> Reply:
        if not self._stopped:
            raise StreamIncomplete(
                "the stream ended before message_stop",
                provider=ANTHROPIC,
                partial_text=self.partial_text,
            )
        for index in list(self._arguments):
            self._close(index)
        content = [self._blocks[index] for index in sorted(self._blocks)]
        message = decode_message(content, self._unparsed)
        usage = decode_usage(self._usage or None)
        return Reply(message, usage, finish_reason(self._stop_reason), self._model)

    # -- events -------------------------------------------------------------------------

    def _start(self, message: Block) -> None:
        self._model = READ.string_or_none(message.get("model"), "message_start.message.model")
        usage = READ.object_or_none(message.get("usage"), "message_start.message.usage")
        self._usage.update(usage or {})

    def _open(self, index: int, block: Block) -> None:
        READ.string(block.get("type"), "content_block_start.content_block.type")
        opened = dict(block)
        if block["type"] in ("tool_use", "server_tool_use"):
            opened.pop("input", None)  # arrives as input_json_delta text
            self._arguments[index] = []
        self._blocks[index] = opened

    def _grow(self, block: Block, index: int, delta: Block) -> list[Delta]:
        kind = delta.get("type")
        if kind == "text_delta":
            text = _text(delta, "text", block, "text")
            self.partial_text += text
            return [Delta(text)] if text else []
        if kind == "thinking_delta":
            thinking = _text(delta, "thinking", block, "thinking")
            return [Delta(thinking, "thinking")] if thinking else []
        if kind == "signature_delta":
            _text(delta, "signature", block, "thinking")
        elif kind == "input_json_delta":
            if index not in self._arguments:
                raise READ.error(f"event input_json_delta is for block {index}, which has no input")
            self._arguments[index].append(_string(delta, "partial_json"))
        elif kind == "citations_delta":
            block.setdefault("citations", []).append(_object(delta, "citation"))
        return []

    def _close(self, index: int) -> None:
        block = self._blocks.get(index)
        if block is None:
            raise READ.error(f"event content_block_stop is for block {index}, which never started")
        pieces = self._arguments.pop(index, None)
        if pieces is None:
            return
        text = "".join(pieces)
        arguments, raw = read_arguments(text) if text.strip() else ({}, None)
        block["input"] = arguments
        if raw is not None:  # cut off mid-call, or unreadable: the chain tells the model
            self._unparsed[str(block.get("id"))] = raw

    def _message_delta(self, data: Block) -> None:
        delta = READ.object_or_none(data.get("delta"), "message_delta.delta")
        if delta is not None:
            self._stop_reason = delta.get("stop_reason", self._stop_reason)
        self._usage.update(READ.object_or_none(data.get("usage"), "message_delta.usage") or {})

    def _block(self, data: Block) -> Block:
        index = _index(data)
        block = self._blocks.get(index)
        if block is None:
            raise READ.error(f"event content_block_delta is for block {index}, which never started")
        return block


def _payload(event: ServerSentEvent) -> Block:
    data = load_reply(event.data, provider=ANTHROPIC, what=f"event {event.event!r}")
    return READ.object(data, event.event)


def _object(data: Block, key: str) -> Block:
    return READ.object(data.get(key), f"{data.get('type', 'event')}.{key}")


def _string(data: Block, key: str) -> str:
    return READ.string(data.get(key), f"{data.get('type', 'delta')}.{key}")


def _index(data: Block) -> int:
    return READ.integer(data.get("index"), f"{data.get('type', 'event')}.index")


def _text(delta: Block, key: str, block: Block, block_type: str) -> str:
    """Append the delta's ``key`` text to the block's, checking the block can take it."""
    if block.get("type") != block_type:
        kinds = f"a {delta.get('type')} for a {block.get('type')} block"
        raise READ.error(f"event content_block_delta is {kinds}")
    text = scrub(_string(delta, key))  # shown as it arrives, so mended here
    current = READ.string(block.get(key) or "", f"content_block_start.content_block.{key}")
    block[key] = current + text
    return text
