"""What passes between the chain and a model: a [`Request`][agentloop.Request] in, a
[`Reply`][agentloop.Reply] out.

A streamed call yields [`Delta`][agentloop.Delta] events and ends with the
[`Reply`][agentloop.Reply]. These are plain data so that a model can be anything: an HTTP provider,
a function, a test double.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from agentloop.messages import Message
from agentloop.providers.wire_cache import WireCache
from agentloop.usage import Usage

if TYPE_CHECKING:
    from agentloop.server_tools import ServerTool
    from agentloop.tools import Tool


@dataclass(slots=True)
class Request:
    """One model call: the full history, the tools on offer and the options."""

    messages: Sequence[Message]
    tools: Sequence[Tool] = ()
    options: dict[str, Any] = field(default_factory=dict)
    #: A JSON schema the final answer must follow (structured output), or None.
    schema: dict[str, Any] | None = None
    stream: bool = False
    #: A name for ``schema`` where a provider wants one.
    schema_name: str = "response"
    #: The wire encodings of the messages already sent in this run, which a codec reuses
    #: (`agentloop.providers.wire_cache`); None: every message is encoded afresh.
    wire_cache: WireCache | None = field(default=None, compare=False, repr=False)
    #: Tools the provider runs itself (``WebSearch()``, ``CodeExecution()``), as neutral data
    #: each codec maps to its native tool; never run locally.
    server_tools: Sequence[ServerTool] = ()
    #: The whole history when history processors shaped ``messages`` from it (what the
    #: conversation keeps); None when ``messages`` is the whole history.
    full_messages: Sequence[Message] | None = field(default=None, compare=False, repr=False)

    @property
    def last_user_text(self) -> str:
        """The text of the most recent user message (handy in test models)."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.text
        return ""


@dataclass(slots=True)
class Reply:
    """The model's answer: one assistant message, its usage and why it stopped."""

    message: Message
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None
    #: The model that actually served the call, when the provider says.
    model: str | None = None
    #: The model (``provider/name``) that answered, when it is not the one asked: a
    #: [`FallbackModel`][agentloop.FallbackModel]'s member. Its usage is priced as that model's.
    answered_by: str | None = None


@dataclass(slots=True)
class Delta:
    """A piece of a streamed reply: visible text or reasoning, or a tool call as it arrives.

    ``kind`` says which: ``"text"``, ``"thinking"``, ``"tool_call"`` (the model began a
    call: ``text`` is the tool's name) or ``"arguments"`` (``text`` is a fragment of the
    call's argument JSON). The last two name their call by ``tool_call_id``, the id the
    finished call has.
    """

    text: str
    kind: Literal["text", "thinking", "tool_call", "arguments"] = "text"
    tool_call_id: str = ""


StreamEvent = Delta | Reply
