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

from httpx_sse import ServerSentEvent

from agentloop.errors import StreamIncomplete
from agentloop.providers.anthropic.format import ANTHROPIC
from agentloop.providers.anthropic.reply import (
    decode_message,
    decode_usage,
    error_from_event,
    finish_reason,
    malformed,
    model_name,
)
from agentloop.providers.base import Delta, Reply
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
        self._model = model_name(message)
        usage = message.get("usage")
        if usage is not None:
            self._usage.update(_object(message, "usage"))

    def _open(self, index: int, block: Block) -> None:
        if not isinstance(block.get("type"), str):
            raise malformed(f"content_block_start {index} has no block type")
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
                raise malformed(f"input_json_delta for block {index}, which takes no arguments")
            self._arguments[index].append(_string(delta, "partial_json"))
        elif kind == "citations_delta":
            block.setdefault("citations", []).append(_object(delta, "citation"))
        return []

    def _close(self, index: int) -> None:
        block = self._blocks.get(index)
        if block is None:
            raise malformed(f"content_block_stop for block {index}, which never started")
        pieces = self._arguments.pop(index, None)
        if pieces is None:
            return
        text = "".join(pieces)
        arguments, raw = read_arguments(text) if text.strip() else ({}, None)
        block["input"] = arguments
        if raw is not None:  # cut off mid-call, or unreadable: the chain tells the model
            self._unparsed[str(block.get("id"))] = raw

    def _message_delta(self, data: Block) -> None:
        delta = data.get("delta")
        if delta is not None:
            self._stop_reason = _object(data, "delta").get("stop_reason", self._stop_reason)
        if data.get("usage") is not None:
            self._usage.update(_object(data, "usage"))

    def _block(self, data: Block) -> Block:
        index = _index(data)
        block = self._blocks.get(index)
        if block is None:
            raise malformed(f"content_block_delta for block {index}, which never started")
        return block


def _payload(event: ServerSentEvent) -> Block:
    data = load_reply(event.data, provider=ANTHROPIC, what=f"event {event.event!r}")
    if not isinstance(data, dict):
        raise malformed(f"event {event.event!r} carries {type(data).__name__}, not an object")
    return data


def _object(data: Block, key: str) -> Block:
    value = data.get(key)
    if not isinstance(value, dict):
        raise malformed(f"{data.get('type', 'event')}.{key} must be an object, got {value!r:.60}")
    return value


def _string(data: Block, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise malformed(f"{data.get('type', 'delta')}.{key} must be a string, got {value!r:.60}")
    return value


def _index(data: Block) -> int:
    index = data.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        raise malformed(f"{data.get('type')}.index must be an integer, got {index!r:.40}")
    return index


def _text(delta: Block, key: str, block: Block, block_type: str) -> str:
    """Append the delta's ``key`` text to the block's, checking the block can take it."""
    if block.get("type") != block_type:
        raise malformed(f"a {delta.get('type')} for a {block.get('type')} block")
    text = scrub(_string(delta, key))  # shown as it arrives, so mended here
    current = block.get(key) or ""
    if not isinstance(current, str):
        raise malformed(f"the {block_type} block's {key} must be a string, got {current!r:.40}")
    block[key] = current + text
    return text
