"""A conversation's messages in and out of each wire format, and as JSON.

`ConversationFormats` is the part of [`Conversation`][agentloop.Conversation] that converts:
``to_openai()``, ``to_openai_responses()``, ``to_anthropic()``, ``to_gemini()`` and the
``from_*`` class methods (thin calls into each wire format's codec), and ``to_dict()`` /
``from_dict()``. It relies only on what it declares: the messages and settings it writes out,
and a constructor taking them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Self

from agentloop.errors import SerializationError
from agentloop.media import Media
from agentloop.messages import Message, expect_type
from agentloop.registry import get_model
from agentloop.spending import SpendLimit

if TYPE_CHECKING:
    from agentloop.model import AsyncModel, Model
    from agentloop.tools import Tools


class ConversationFormats:
    """The converters and serialization of a [`Conversation`][agentloop.Conversation]."""

    messages: list[Message]
    options: dict[str, Any]
    spend_limit: SpendLimit
    _model: Model | None

    if TYPE_CHECKING:
        # What Conversation provides; declared so that the class methods can build one.
        chain_limit: int

        def __init__(
            self,
            messages: Sequence[Message] | None = None,
            *,
            model: Model | AsyncModel | None = None,
            tools: Tools = (),
            chain_limit: int = 25,
            options: dict[str, Any] | None = None,
        ) -> None: ...

    # -- converters ------------------------------------------------------------
    # Thin calls into each wire format's codec. Imported on use: a codec module's package
    # also holds its HTTP model, and a conversation that never converts need not load either.
    # A codec never downloads: a URL the format cannot take is read here first (blocking,
    # `Media.read`, cached on the part), as a model fetches it before sending.

    def to_openai(self) -> list[dict[str, Any]]:
        """Chat Completions ``messages`` (a file or audio URL is downloaded and inlined)."""
        from agentloop.providers.openai_chat.messages import encode_messages, media_to_fetch

        _read_all(media_to_fetch(self.messages))
        return encode_messages(self.messages)

    def to_openai_responses(self) -> list[dict[str, Any]]:
        """Responses API ``input`` items (system messages included as items)."""
        from agentloop.providers.openai_responses.messages import encode_messages

        return encode_messages(self.messages)

    def to_anthropic(self) -> tuple[str | list[dict[str, Any]] | None, list[dict[str, Any]]]:
        """Anthropic Messages ``(system, messages)`` (a text file URL is downloaded)."""
        from agentloop.providers.anthropic.messages import encode_messages, media_to_fetch

        _read_all(media_to_fetch(self.messages))
        return encode_messages(self.messages)

    def to_gemini(self) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """Gemini ``(systemInstruction, contents)`` (a URL it cannot take is downloaded)."""
        from agentloop.providers.gemini.messages import encode_messages, media_to_fetch

        _read_all(media_to_fetch(self.messages))
        return encode_messages(self.messages)

    @classmethod
    def from_openai(cls, messages: Sequence[dict[str, Any]]) -> Self:
        from agentloop.providers.openai_chat.messages import decode_messages

        return cls(decode_messages(messages))

    @classmethod
    def from_openai_responses(
        cls, input: str | Sequence[dict[str, Any]], instructions: str | None = None
    ) -> Self:
        from agentloop.providers.openai_responses.messages import decode_messages

        return cls(decode_messages(input, instructions))

    @classmethod
    def from_anthropic(
        cls,
        system: str | Sequence[dict[str, Any]] | None,
        messages: Sequence[dict[str, Any]],
    ) -> Self:
        from agentloop.providers.anthropic.messages import decode_messages

        return cls(decode_messages(system, messages))

    @classmethod
    def from_gemini(
        cls, system_instruction: dict[str, Any] | None, contents: Sequence[dict[str, Any]]
    ) -> Self:
        from agentloop.providers.gemini.messages import decode_messages

        return cls(decode_messages(system_instruction, contents))

    # -- serialization ---------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe and lossless: bytes are base64, provider extras are kept.

        Holds the history, the model's name and the options; never an API key.
        """
        return {"messages": [m.to_dict() for m in self.messages], **self.settings_dict()}

    def settings_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self._model is not None:
            out["model"] = self._model.model_id
        if self.options:
            out["options"] = self.options
        if self.chain_limit != 25:
            out["chain_limit"] = self.chain_limit
        out.update(self.spend_limit.to_dict())
        return out

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        *,
        tools: Tools = (),
        model: Model | AsyncModel | None = None,
    ) -> Self:
        """Rebuild a conversation. The model is looked up by name unless given.

        Anything but what [`to_dict`][agentloop.Conversation.to_dict] wrote raises
        [`SerializationError`][agentloop.errors.SerializationError] naming the field at fault (and
        the message, by index).
        """
        if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
            raise SerializationError(
                f"A conversation dict needs a 'messages' list, got {type(data).__name__} "
                f"{data!r:.60}"
            )
        messages: list[Message] = []
        for index, item in enumerate(data["messages"]):
            try:
                messages.append(Message.from_dict(item))
            except SerializationError as exc:
                raise SerializationError(f"messages[{index}]: {exc}") from None
        name = expect_type(data.get("model"), str, "A conversation dict's 'model'", optional=True)
        if model is None and name:
            model = get_model(name)
        limit = expect_type(data.get("chain_limit", 25), int, "A conversation dict's 'chain_limit'")
        options = expect_type(data.get("options") or {}, dict, "A conversation dict's 'options'")
        conversation = cls(messages, model=model, tools=tools, chain_limit=limit, options=options)
        conversation.spend_limit = SpendLimit.from_dict(data)
        return conversation


def _read_all(media: Sequence[Media]) -> None:
    """Download (once: cached on each part) the URLs a converter is about to inline."""
    for part in media:
        part.read()
