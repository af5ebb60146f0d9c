"""Calling a model the way a recording called it: streamed or not (``request.stream``),
blocking or async. Every provider's replay tests send recorded requests through this."""

from __future__ import annotations

from agentloop.messages import Message, Thinking
from agentloop.model import Model
from agentloop.providers.base import Delta, Reply, Request


def call(model: Model, request: Request) -> tuple[Reply, list[Delta]]:
    """The reply, and the deltas a stream handed out before it (none for a whole reply)."""
    if not request.stream:
        return model.complete(request), []
    return _split(list(model.stream(request)))


async def acall(model: Model, request: Request) -> tuple[Reply, list[Delta]]:
    """`call`, through the async client."""
    if not request.stream:
        return await model.acomplete(request), []
    return _split([event async for event in model.astream(request)])


def check_deltas(reply: Reply, deltas: list[Delta], where: str) -> None:
    """A stream's text and thinking deltas add up to the reply's text and thinking."""
    assert "".join(d.text for d in deltas if d.kind == "text") == reply.message.text, where
    thinking = "".join(p.text for p in reply.message.parts if isinstance(p, Thinking))
    assert "".join(d.text for d in deltas if d.kind == "thinking") == thinking, where


def with_reply(history: list[Message], reply: Reply) -> list[Message]:
    """A recorded follow-up's history with ``reply`` where its one assistant turn stood."""
    assistant = [i for i, m in enumerate(history) if m.role == "assistant"]
    assert len(assistant) == 1, f"{len(assistant)} assistant turns in the follow-up"
    history[assistant[0]] = reply.message
    return history


def _split(events: list[object]) -> tuple[Reply, list[Delta]]:
    reply = events[-1]
    assert isinstance(reply, Reply), f"a stream ended with {reply!r:.80}, not its reply"
    return reply, [e for e in events if isinstance(e, Delta)]
