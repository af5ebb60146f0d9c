"""ConverseStream events as deltas and a [`Reply`][agentloop.Reply] (pure, stateful).

The events arrive in AWS event-stream frames (`eventstream.py` reads them into events named
by their ``:event-type``): ``messageStart``; per content block, ``contentBlockStart`` (a
tool call's id and name), ``contentBlockDelta`` (``text``, ``toolUse.input`` fragments,
``reasoningContent`` text, signature or redacted bytes) and ``contentBlockStop``;
``messageStop`` with the stop reason; and ``metadata`` with the usage, last. An exception
event (``throttlingException``...) raises the typed error it stands for. The decoder rebuilds
the body ``converse`` would have returned and decodes it with `decode_reply`, so a streamed
reply equals a plain one.
"""

from __future__ import annotations

from typing import Any

from agentloop.messages import ToolCall
from agentloop.providers.base import Reply
from agentloop.providers.bedrock.format import BEDROCK
from agentloop.providers.bedrock.reply import decode_reply, error_from_exception
from agentloop.providers.stream_decoder import StreamDecoderBase, StreamPart
from agentloop.providers.wire_fields import Where, at
from agentloop.providers.wire_json import read_arguments, scrub

Block = dict[str, Any]


class BedrockStreamDecoder(StreamDecoderBase):
    """Feed it ConverseStream events; `finish` gives the reply."""

    end_marker = "the messageStop and metadata events"

    def __init__(self) -> None:
        super().__init__(BEDROCK)
        self._stop: Block | None = None
        self._usage: Any = None

    def on_event(self, kind: str, data: dict[str, Any], path: Where) -> None:
        if kind == "contentBlockDelta":
            self._delta(data, at(path))
        elif kind == "contentBlockStart":
            index = self.read.integer(data.get("contentBlockIndex"), path, "contentBlockIndex")
            start = self.read.object(data.get("start"), path, "start")
            use = self.read.object_or_none(start.get("toolUse"), at(path, "start"), "toolUse")
            if use is not None:
                part = self.parts.start(index, "toolUse", use)
                call_id, name = use.get("toolUseId"), use.get("name")
                is_ours = use.get("type", "tool_use") == "tool_use"  # not a server tool's call
                if is_ours and isinstance(call_id, str) and isinstance(name, str):
                    self.show_call(part, call_id, name)
        elif kind == "messageStop":
            self._stop = data
        elif kind == "metadata":
            self._usage = data.get("usage")
            self.ended = self._stop is not None
        elif kind.lower().endswith("exception") or kind == "error":
            message = data.get("message")
            text = message if isinstance(message, str) else str(data)[:500]
            error_class = error_from_exception(kind, text)
            raise error_class(text, provider=BEDROCK, error_type=kind, body=str(data)[:2000])
        # messageStart, contentBlockStop and events newer than this codec carry nothing to keep

    def _delta(self, data: Block, path: str) -> None:
        index = self.read.integer(data.get("contentBlockIndex"), path, "contentBlockIndex")
        delta = self.read.object(data.get("delta"), path, "delta")
        where = at(path, "delta")
        if "text" in delta:
            piece = scrub(self.read.string(delta["text"], where, "text"))
            self.parts.add_text(index, piece)
            self.show_text(piece)
        elif "toolUse" in delta:
            use = self.read.object(delta["toolUse"], where, "toolUse")
            piece = self.read.string(use.get("input"), at(where, "toolUse"), "input")
            self.add_arguments(self.parts.get(index) or self.parts.start(index, "toolUse"), piece)
        elif "reasoningContent" in delta:
            self._reasoning(index, self.read.object(delta["reasoningContent"], where, "reasoning"))

    def _reasoning(self, index: int, reasoning: Block) -> None:
        part = self.parts.get(index) or self.parts.start(index, "reasoningContent")
        where = "contentBlockDelta.delta.reasoningContent"
        if "text" in reasoning:
            piece = scrub(self.read.string(reasoning["text"], where, "text"))
            part.text += piece
            self.show_thinking(piece)
        for key in ("signature", "redactedContent"):
            if key in reasoning:
                piece = self.read.string(reasoning[key], where, key)
                part.fields[key] = part.fields.get(key, "") + piece

    def reply(self) -> Reply:
        blocks: list[Block] = []
        raw: dict[int, str] = {}
        for _index, part in self.parts.by_key():
            block, unread = _block_of(part)
            blocks.append(block)
            if unread is not None:
                raw[len(blocks) - 1] = unread
        stop = self._stop or {}
        body = {
            "output": {"message": {"role": "assistant", "content": blocks}},
            "stopReason": stop.get("stopReason"),
            "usage": self._usage,
        }
        reply = decode_reply(body)
        if raw:  # a call whose argument text did not read keeps it, for the chain to report
            calls = [p for p in reply.message.parts if isinstance(p, ToolCall)]
            uses = [i for i, b in enumerate(blocks) if "toolUse" in b]
            for call, position in zip(calls, uses, strict=False):
                if position in raw:
                    call.raw_arguments = raw[position]
        return reply


def _block_of(part: StreamPart) -> tuple[Block, str | None]:
    """The content block a streamed part makes, and argument text that did not read."""
    if part.kind == "toolUse":
        arguments, unread = read_arguments(part.arguments) if part.arguments.strip() else ({}, None)
        return {"toolUse": {**part.fields, "input": arguments}}, unread
    if part.kind == "reasoningContent":
        fields = part.fields
        if "redactedContent" in fields and not part.text:
            return {"reasoningContent": {"redactedContent": fields["redactedContent"]}}, None
        text: Block = {"text": part.text}
        if "signature" in fields:
            text["signature"] = fields["signature"]
        return {"reasoningContent": {"reasoningText": text}}, None
    return {"text": part.text}, None
