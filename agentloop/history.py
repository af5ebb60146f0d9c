"""A history's tool calls and their results: which calls are unanswered, and where results go.

Every provider accepts a tool call only when its results come in the message
right after the assistant message that made it, all of them together. A
history the caller assembles (the "message items" style, where the caller keeps
the list and extends it with ``response.messages()``) may hold a call's result
later on, split over several messages, or not at all. These pure functions put
a history in the shape providers accept without losing anything: results are
moved next to their calls, and the calls still unanswered are reported so the
chain settles them (through the hooks, exactly once) before the next request.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from agentloop.messages import Message, Part, ToolCall, ToolResult

logger = logging.getLogger("agentloop.history")


def unanswered_calls(history: Sequence[Message]) -> list[ToolCall]:
    """Every tool call in ``history`` that no tool result answers, in history order."""
    answered = {r.tool_call_id for m in history if m.role == "tool" for r in m.tool_results}
    return [
        call
        for message in history
        if message.role == "assistant"
        for call in message.tool_calls
        if call.tool_call_id not in answered
    ]


def arrange(history: Sequence[Message]) -> list[Message]:
    """``history`` with each call's results in one tool message right after its call.

    A history already in that shape comes back unchanged (the same message
    objects). Otherwise results are gathered by call id, in the order the model
    made the calls; a result that answers no call in the history stays where it
    is, and a second result for the same call is dropped with a warning (a
    provider refuses a call answered twice).
    """
    owners = _owners(history)
    if _arranged(history, owners):
        return list(history)
    gathered: dict[int, dict[str, ToolResult]] = {}
    leftovers: dict[int, list[Part]] = {}
    for index, message in enumerate(history):
        if message.role != "tool":
            continue
        rest: list[Part] = []
        for part in message.parts:
            owner = owners.get(part.tool_call_id) if isinstance(part, ToolResult) else None
            if owner is None:
                rest.append(part)
                continue
            assert isinstance(part, ToolResult)
            slot = gathered.setdefault(owner, {})
            if part.tool_call_id in slot:
                logger.warning("Dropped a second result for tool call %r", part.tool_call_id)
            else:
                slot[part.tool_call_id] = part
        leftovers[index] = rest
    return _rebuild(history, gathered, leftovers)


def group_by_call(history: Sequence[Message], results: Sequence[ToolResult]) -> list[Message]:
    """``results`` as one tool message per assistant message whose calls they answer."""
    owners = _owners(history)
    groups: dict[int, list[ToolResult]] = {}
    for result in results:
        groups.setdefault(owners.get(result.tool_call_id, -1), []).append(result)
    return [Message("tool", list(groups[owner])) for owner in sorted(groups)]


def _owners(history: Sequence[Message]) -> dict[str, int]:
    """Each tool call id mapped to the index of the assistant message that made it."""
    owners: dict[str, int] = {}
    for index, message in enumerate(history):
        if message.role == "assistant":
            for call in message.tool_calls:
                owners.setdefault(call.tool_call_id, index)
    return owners


def _arranged(history: Sequence[Message], owners: dict[str, int]) -> bool:
    seen: set[str] = set()
    for index, message in enumerate(history):
        if message.role != "tool":
            continue
        for result in message.tool_results:
            call_id = result.tool_call_id
            owner = owners.get(call_id)
            if call_id in seen or (owner is not None and owner != index - 1):
                return False
            seen.add(call_id)
    return True


def _rebuild(
    history: Sequence[Message],
    gathered: dict[int, dict[str, ToolResult]],
    leftovers: dict[int, list[Part]],
) -> list[Message]:
    out: list[Message] = []
    for index, message in enumerate(history):
        if message.role == "tool":
            rest = leftovers[index]
            if len(rest) == len(message.parts):
                out.append(message)
            elif rest:
                out.append(Message("tool", rest, message.extra))
            continue
        out.append(message)
        results = gathered.get(index)
        if results:
            ordered = [
                results[c.tool_call_id] for c in message.tool_calls if c.tool_call_id in results
            ]
            follower = history[index + 1] if index + 1 < len(history) else None
            extra = follower.extra if follower is not None and follower.role == "tool" else {}
            out.append(Message("tool", list(ordered), extra))
    return out
