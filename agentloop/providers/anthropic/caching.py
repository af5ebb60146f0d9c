"""``prompt_cache="auto"`` on Anthropic: cache breakpoints placed on an encoded body (pure).

Anthropic caches a request's prefix (tools, then system, then messages, in that order) up to
each block marked ``cache_control``; a later request whose prefix up to one of its own marks
matches a written one reads it at a tenth of the input price. In a tool loop each step sends
the previous step's whole request again plus a few blocks, so "auto" marks:

1. the last usable block of the newest message: the rolling breakpoint. This step writes its
   whole prefix and the next step, whose own rolling mark lies a few blocks further, reads it
   back (Anthropic looks back up to 20 blocks from a mark for an earlier write);
2. the last system block, and 3. the last tool definition: a new conversation with the same
   system prompt and tools, or a history edited in the middle, still reads those.

Anthropic takes at most 4 marks per request. Marks the caller placed (a part's
``extra["anthropic"]["cache_control"]``, a tool's or the body's own) are kept where they are
and counted first; "auto" adds only what is left, in the order above.

The marks go on copies made after encoding: the message encodings a run keeps
(`agentloop.providers.wire_cache`) never hold them, so a message that was the newest at one
step is sent unmarked at the next, as its kept form.
"""

from __future__ import annotations

from typing import Any

from agentloop.providers.neutral_options import refuse
from agentloop.providers.wire_cache import WireList

Block = dict[str, Any]

#: Anthropic refuses a request with more ``cache_control`` marks than this.
MAX_BREAKPOINTS = 4
#: Blocks that cannot carry a mark: thinking is cached with its turn, never marked itself.
_UNMARKABLE = ("thinking", "redacted_thinking")


def place_breakpoints(body: Block, ttl: str | None) -> None:
    """Add "auto"'s marks to ``body`` (in place, replacing what it changes by copies)."""
    if ttl == "24h":
        refuse("prompt_cache_ttl", ttl, "Anthropic keeps a prompt cache '5m' or '1h'", "Anthropic")
    mark: Block = {"type": "ephemeral"}
    if ttl is not None:
        mark["ttl"] = ttl
    left = MAX_BREAKPOINTS - count_breakpoints(body)
    for place in (_mark_newest_message, _mark_system, _mark_last_tool):
        if left <= 0:
            return
        if place(body, mark):
            left -= 1


def count_breakpoints(body: Block) -> int:
    """The marks ``body`` already holds, wherever Anthropic counts them."""
    count = 1 if "cache_control" in body else 0  # the request-wide automatic mark
    tools = body.get("tools")
    if isinstance(tools, list):
        count += sum(_marked(tool) for tool in tools)
    system = body.get("system")
    if isinstance(system, list):
        count += sum(_marked(block) for block in system)
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            count += sum(_blocks_marked(block) for block in content)
    return count


def _marked(block: object) -> int:
    return 1 if isinstance(block, dict) and "cache_control" in block else 0


def _blocks_marked(block: object) -> int:
    """A block's mark and those of the blocks inside it (a tool result's content)."""
    inner = block.get("content") if isinstance(block, dict) else None
    nested = sum(_marked(b) for b in inner) if isinstance(inner, list) else 0
    return _marked(block) + nested


def _markable(block: object) -> bool:
    if not isinstance(block, dict) or block.get("type") in _UNMARKABLE:
        return False
    return not (block.get("type") == "text" and not block.get("text"))  # empty text: refused


def _with_mark(blocks: list[Any], mark: Block) -> list[Any] | None:
    """A copy of ``blocks`` with its last markable block marked; None when none can be, or
    when that block already carries the caller's own mark (which stays as it is)."""
    index = next((i for i in reversed(range(len(blocks))) if _markable(blocks[i])), None)
    if index is None or "cache_control" in blocks[index]:
        return None
    marked = list(blocks)
    marked[index] = {**blocks[index], "cache_control": dict(mark)}
    return marked


def _mark_newest_message(body: Block, mark: Block) -> bool:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return False
    newest = messages[-1]
    content = newest.get("content")
    marked = _with_mark(content, mark) if isinstance(content, list) else None
    if marked is None:
        return False
    replacement = {**newest, "content": marked}
    if isinstance(messages, WireList):
        body["messages"] = messages.with_last(replacement)
    else:
        body["messages"] = [*messages[:-1], replacement]
    return True


def _mark_system(body: Block, mark: Block) -> bool:
    system = body.get("system")
    if isinstance(system, str):
        if not system:
            return False
        body["system"] = [{"type": "text", "text": system, "cache_control": dict(mark)}]
        return True
    marked = _with_mark(system, mark) if isinstance(system, list) else None
    if marked is None:
        return False
    body["system"] = marked
    return True


def _mark_last_tool(body: Block, mark: Block) -> bool:
    tools = body.get("tools")
    if not isinstance(tools, list) or not tools or not isinstance(tools[-1], dict):
        return False
    if "cache_control" in tools[-1]:
        return False  # the caller's own mark, already counted
    body["tools"] = [*tools[:-1], {**tools[-1], "cache_control": dict(mark)}]
    return True
