"""What reading the log gives back: conversations and their model calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentloop.messages import Message, ToolCall
from agentloop.usage import Usage


@dataclass(slots=True)
class LoggedResponse:
    """One model call as the log keeps it."""

    id: str
    conversation_id: str
    model: str
    resolved_model: str | None
    #: The user's text this call answered directly (None for later steps of a chain).
    prompt: str | None
    system: str | None
    options: dict[str, Any]
    text: str
    message: Message
    finish_reason: str | None
    usage: Usage
    datetime_utc: str

    @property
    def tool_calls(self) -> list[ToolCall]:
        return self.message.tool_calls

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "resolved_model": self.resolved_model,
            "prompt": self.prompt,
            "system": self.system,
            "options": self.options,
            "text": self.text,
            "tool_calls": [c.to_dict() for c in self.tool_calls],
            "finish_reason": self.finish_reason,
            "usage": self.usage.to_dict(),
            "datetime_utc": self.datetime_utc,
        }


@dataclass(slots=True)
class LoggedConversation:
    """A conversation as the log keeps it: its messages in order, and its model calls."""

    id: str
    name: str | None
    model: str | None
    created_utc: str
    updated_utc: str
    messages: list[Message] = field(default_factory=list)
    responses: list[LoggedResponse] = field(default_factory=list)

    def usage(self) -> Usage:
        """Summed over the model calls; ``cost`` is None when one call's is unknown."""
        return Usage.sum(response.usage for response in self.responses)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "model": self.model,
            "created_utc": self.created_utc,
            "updated_utc": self.updated_utc,
            "usage": self.usage().to_dict(),
            "messages": [m.to_dict() for m in self.messages],
            "responses": [r.to_dict() for r in self.responses],
        }
