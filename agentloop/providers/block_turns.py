"""Turns of content blocks: how Anthropic's Messages API and Bedrock's Converse both hold a
conversation, written once for both codecs.

The two formats name their blocks differently (``{"type": "tool_result", ...}`` against
``{"toolResult": {...}}``) but shape a conversation alike: a list of ``user`` and
``assistant`` turns whose roles alternate, each a list of blocks, a tool's results sent as
blocks of the user turn ahead of its other blocks. So the rules for that shape live here, and
each codec says only which block is a tool result and whose its errors are (its
`MessageReader`, so a malformed turn is worded as every imported message is):

- `BlockTurns.append`: a neutral message's blocks onto the wire, merged into the turn before
  when its role repeats, tool results placed before the turn's other blocks;
- `BlockTurns.decode`: a request's ``messages`` read turn by turn, each checked (an object,
  role user or assistant), the tool names seen shared (a tool result names only its call);
- `BlockTurns.user_messages`: a user turn read back as a tool message (its results) followed
  by a user message holding the rest, if any;
- `BlockTurns.field`: a block's field of the type the format documents, or the codec's error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentloop.messages import Message, Part
from agentloop.providers.wire_fields import MISSING, MessageReader, with_kept

Block = dict[str, Any]
#: How a codec reads one turn: its blocks, role and place, and the tool names seen by call id.
DecodeTurn = Callable[[Block, str, str, dict[str, str]], list[Message]]


@dataclass(frozen=True, slots=True)
class BlockTurns:
    """The turn rules of one block format: ``read`` checks its fields (its errors name the
    provider); ``is_result`` tells a tool-result block."""

    read: MessageReader
    is_result: Callable[[Block], bool]

    def append(self, wire: list[Block], role: str, kept: Block, blocks: list[Block]) -> None:
        """``blocks`` as ``role``'s, with the message's ``kept`` fields, onto ``wire``: none
        of either adds nothing (both APIs refuse an empty content list)."""
        if not blocks and not kept:
            return
        if not wire or wire[-1]["role"] != role:
            wire.append({"role": role, "content": []})
        target = with_kept(wire[-1], kept)
        content: list[Block] = target["content"]
        for block in blocks:
            if role == "user" and self.is_result(block):
                first = next((i for i, b in enumerate(content) if not self.is_result(b)), None)
                content.insert(len(content) if first is None else first, block)
            else:
                content.append(block)

    def decode(self, messages: object, decode_turn: DecodeTurn) -> list[Message]:
        """The neutral messages of a request's ``messages`` turns, in order: ``decode_turn``
        reads one checked turn, given its place and the tool names seen so far by call id."""
        if not isinstance(messages, list | tuple):
            raise self.read.fail("messages", "a list of turns", messages)
        names: dict[str, str] = {}
        out: list[Message] = []
        for index, turn in enumerate(messages):
            where = f"messages[{index}]"
            wire, role = self._turn(turn, where)
            out.extend(decode_turn(wire, role, where, names))
        return out

    def _turn(self, wire: object, where: str) -> tuple[Block, str]:
        """A request's turn at ``where`` and its role, checked."""
        wire = self.read.object(wire, where)
        role = self.read.one_of(wire.get("role", MISSING), ("user", "assistant"), where, "role")
        return wire, role

    @staticmethod
    def user_messages(results: list[Part], others: list[Part], extra: Block) -> list[Message]:
        """A user turn as neutral messages: its tool results, then the rest (a turn with
        neither is an empty user message); the turn's kept fields go on the first."""
        out = [Message("tool", results)] if results else []
        if others or not results:
            out.append(Message("user", others))
        out[0].extra = extra
        return out

    def field(
        self, block: Block, key: str, kind: type, where: str, *, optional: bool = False
    ) -> Any:
        """``block[key]``, a string or an object as ``kind`` says (or None if ``optional``)."""
        if optional:
            if kind is str:
                return self.read.string_or_none(block.get(key), where, key)
            return self.read.object_or_none(block.get(key), where, key)
        if kind is str:
            return self.read.string(block.get(key, MISSING), where, key)
        return self.read.object(block.get(key, MISSING), where, key)
