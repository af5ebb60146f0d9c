"""Anthropic's streamed events as deltas, then the same Reply a non-streamed call gives (pure).

Built on the wire kit's skeleton (`agentloop.providers.stream_decoder`): this module says
only what each event means. The stream rebuilds the response's content blocks, one part
per ``index``: ``content_block_start`` opens a block, ``content_block_delta`` grows it
(``text_delta``, ``thinking_delta``, ``signature_delta``, ``input_json_delta``,
``citations_delta``), ``content_block_stop`` closes it (a tool's argument text is read
when the reply is built; ``""`` means no arguments). ``message_start`` and
``message_delta`` carry the usage (the latter's counters are cumulative and
win) and the stop reason; ``message_stop`` ends the message. The rebuilt
blocks then decode exactly as a non-streamed reply does.

``ping`` and event types this module does not know are skipped, as Anthropic
asks of clients. An ``error`` event (``overloaded_error`` mid-stream) raises
its typed error.
"""

from __future__ import annotations

from typing import Any

from agentloop.providers.anthropic.format import ANTHROPIC
from agentloop.providers.anthropic.reply import (
    READ,
    decode_message,
    decode_usage,
    error_from_event,
    finish_reason,
)
from agentloop.providers.base import Reply
from agentloop.providers.stream_decoder import StreamDecoderBase, StreamPart
from agentloop.providers.wire_fields import Where
from agentloop.providers.wire_json import read_arguments, scrub

Block = dict[str, Any]
#: Where each growing block type keeps its text.
_TEXT_KEYS = {"text": "text", "thinking": "thinking"}
_CALLS = ("tool_use", "server_tool_use")


class AnthropicStreamDecoder(StreamDecoderBase):
    """Feeds on one response's server-sent events; `finish` gives the Reply."""

    end_marker = "message_stop"

    def __init__(self) -> None:
        super().__init__(ANTHROPIC)
        self._usage: dict[str, Any] = {}
        self._stop_reason: Any = None
        self._model: str | None = None

    def on_event(self, kind: str, data: Block, path: Where) -> None:
        if kind == "error":
            raise error_from_event(data)
        if kind == "message_start":
            self._start(_object(data, "message"))
        elif kind == "content_block_start":
            self._open(_index(data), _object(data, "content_block"))
        elif kind == "content_block_delta":
            self._grow(self._block(data, kind), _object(data, "delta"))
        elif kind == "content_block_stop":
            self._block(data, kind)
        elif kind == "message_delta":
            self._message_delta(data)
        elif kind == "message_stop":
            self.ended = True

    def reply(self) -> Reply:
        content, unparsed = [], {}
        for _, part in self.parts.by_key():
            block, raw = _block_of(part)
            content.append(block)
            if raw is not None:  # cut off mid-call, or unreadable: the chain tells the model
                unparsed[str(block.get("id"))] = raw
        message = decode_message(content, unparsed)
        usage = decode_usage(self._usage or None)
        return Reply(message, usage, finish_reason(self._stop_reason), self._model)

    # -- events -------------------------------------------------------------------------

    def _start(self, message: Block) -> None:
        self._model = READ.string_or_none(message.get("model"), "message_start.message.model")
        usage = READ.object_or_none(message.get("usage"), "message_start.message.usage")
        self._usage.update(usage or {})

    def _open(self, index: int, block: Block) -> None:
        kind = READ.string(block.get("type"), "content_block_start.content_block.type")
        part = self.parts.start(index, kind, block)
        if kind in _CALLS:
            part.fields.pop("input", None)  # arrives as input_json_delta text
            call_id, name = block.get("id"), block.get("name")
            if kind == "tool_use" and isinstance(call_id, str) and isinstance(name, str):
                self.show_call(part, call_id, name)  # a server tool's call is not ours to run
        elif kind in _TEXT_KEYS:
            key = _TEXT_KEYS[kind]
            text = part.fields.pop(key, None) or ""
            part.text = READ.string(text, "content_block_start.content_block", key)

    def _grow(self, part: StreamPart, delta: Block) -> None:
        kind = delta.get("type")
        if kind == "text_delta":
            self.show_text(_text(delta, "text", part))
        elif kind == "thinking_delta":
            self.show_thinking(_text(delta, "thinking", part))
        elif kind == "signature_delta":
            _check(delta, part, "thinking")
            signature = part.fields.get("signature") or ""
            signature = READ.string(signature, "content_block_start.content_block.signature")
            part.fields["signature"] = signature + scrub(_string(delta, "signature"))
        elif kind == "input_json_delta":
            if part.kind not in _CALLS:
                raise READ.error(f"event input_json_delta is for a {part.kind} block")
            self.add_arguments(part, _string(delta, "partial_json"))
        elif kind == "citations_delta":
            part.fields.setdefault("citations", []).append(_object(delta, "citation"))

    def _message_delta(self, data: Block) -> None:
        delta = READ.object_or_none(data.get("delta"), "message_delta.delta")
        if delta is not None:
            self._stop_reason = delta.get("stop_reason", self._stop_reason)
        self._usage.update(READ.object_or_none(data.get("usage"), "message_delta.usage") or {})

    def _block(self, data: Block, kind: str) -> StreamPart:
        index = _index(data)
        part = self.parts.get(index)
        if part is None:
            raise READ.error(f"event {kind} is for block {index}, which never started")
        return part


def _block_of(part: StreamPart) -> tuple[Block, str | None]:
    """The content block a part makes, and argument text that did not read (or None)."""
    block = {**part.fields, "type": part.kind}
    if part.kind in _TEXT_KEYS:
        block[_TEXT_KEYS[part.kind]] = part.text
    if part.kind not in _CALLS:
        return block, None
    # "" means no arguments; anything else is read now, the call is complete
    arguments, raw = read_arguments(part.arguments) if part.arguments.strip() else ({}, None)
    block["input"] = arguments
    return block, raw


def _object(data: Block, key: str) -> Block:
    value = data.get(key)
    return value if isinstance(value, dict) else READ.object(value, _kind(data, "event"), key)


def _string(data: Block, key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else READ.string(value, _kind(data, "delta"), key)


def _index(data: Block) -> int:
    return READ.integer(data.get("index"), _kind(data, "event"), "index")


def _kind(data: Block, default: str) -> str:
    kind = data.get("type", default)
    return kind if isinstance(kind, str) else default


def _check(delta: Block, part: StreamPart, block_type: str) -> None:
    if part.kind != block_type:
        kinds = f"a {delta.get('type')} for a {part.kind} block"
        raise READ.error(f"event content_block_delta is {kinds}")


def _text(delta: Block, key: str, part: StreamPart) -> str:
    """The delta's ``key`` text, appended to the part's, checking the block can take it."""
    _check(delta, part, key)
    text = scrub(_string(delta, key))  # shown as it arrives, so mended here
    part.text += text
    return text
