"""Conversation: an ordered list of messages, with builders and wire-format converters.

``Conversation.system("...").add(Message.user("..."))`` builds one;
``to_openai()``, ``to_openai_responses()``, ``to_anthropic()`` and
``to_gemini()`` convert it, and the ``from_*`` class methods read a
provider's payload back into the neutral model.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Self

from agentloop.errors import SerializationError
from agentloop.media import File, Image, Source
from agentloop.messages import Message


class Conversation:
    """An ordered list of :class:`Message` objects."""

    def __init__(self, messages: Sequence[Message] | None = None) -> None:
        self.messages: list[Message] = list(messages or [])

    # -- builders --------------------------------------------------------------

    @classmethod
    def system(cls, text: str) -> Conversation:
        """A conversation that starts with a system message."""
        return cls([Message.system(text)])

    @classmethod
    def user(
        cls,
        text: str | None = None,
        *,
        image: Image | Source | list[Image | Source] | None = None,
        file: File | Source | list[File | Source] | None = None,
    ) -> Conversation:
        """A conversation that starts with a user message, optionally with media."""
        return cls([Message.user(text, image=image, file=file)])

    @classmethod
    def assistant(cls, text: str) -> Conversation:
        return cls([Message.assistant(text)])

    def add(self, item: Message | Conversation) -> Self:
        """Append a message, or every message of another conversation. Returns self."""
        if isinstance(item, Message):
            self.messages.append(item)
        elif isinstance(item, Conversation):
            self.messages.extend(item.messages)
        else:
            raise TypeError(f"add() takes a Message or a Conversation, not {type(item).__name__}")
        return self

    def __iter__(self) -> Iterator[Message]:
        return iter(self.messages)

    def __len__(self) -> int:
        return len(self.messages)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Conversation):
            return NotImplemented
        return self.messages == other.messages

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Conversation({len(self.messages)} messages)"

    # -- converters ------------------------------------------------------------

    def to_openai(self) -> list[dict[str, Any]]:
        """Chat Completions ``messages``."""
        from agentloop.providers import openai_chat

        return openai_chat.encode_messages(self.messages)

    def to_openai_responses(self) -> list[dict[str, Any]]:
        """Responses API ``input`` items (system messages included as items)."""
        from agentloop.providers import openai_responses

        return openai_responses.encode_messages(self.messages)

    def to_anthropic(self) -> tuple[str | list[dict[str, Any]] | None, list[dict[str, Any]]]:
        """Anthropic Messages ``(system, messages)``."""
        from agentloop.providers import anthropic

        return anthropic.encode_messages(self.messages)

    def to_gemini(self) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """Gemini ``(systemInstruction, contents)``."""
        from agentloop.providers import gemini

        return gemini.encode_messages(self.messages)

    @classmethod
    def from_openai(cls, messages: Sequence[dict[str, Any]]) -> Conversation:
        from agentloop.providers import openai_chat

        return cls(openai_chat.decode_messages(messages))

    @classmethod
    def from_openai_responses(
        cls, input: str | Sequence[dict[str, Any]], instructions: str | None = None
    ) -> Conversation:
        from agentloop.providers import openai_responses

        return cls(openai_responses.decode_messages(input, instructions))

    @classmethod
    def from_anthropic(
        cls,
        system: str | Sequence[dict[str, Any]] | None,
        messages: Sequence[dict[str, Any]],
    ) -> Conversation:
        from agentloop.providers import anthropic

        return cls(anthropic.decode_messages(system, messages))

    @classmethod
    def from_gemini(
        cls, system_instruction: dict[str, Any] | None, contents: Sequence[dict[str, Any]]
    ) -> Conversation:
        from agentloop.providers import gemini

        return cls(gemini.decode_messages(system_instruction, contents))

    # -- serialization ---------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe and lossless: bytes are base64, provider extras are kept."""
        return {"messages": [m.to_dict() for m in self.messages]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
            raise SerializationError("A conversation dict needs a 'messages' list")
        return cls([Message.from_dict(m) for m in data["messages"]])
