"""Counting a request's input tokens before it is sent: `TokenCount`, `CountCall`, the estimate.

``model.count_tokens(...)`` asks the provider's own counting endpoint where it has one
(Anthropic, Gemini, OpenAI Responses: each codec names it as a `CountCall`, which `HTTPModel`
sends like a completion), or a codec counts locally with its own tokenizer (Chat
Completions: tiktoken, in ``providers/openai_chat/count.py``); any other model gives the
estimator of `agentloop.tokens`, under its own `TokenRules`. The result says which of these
it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, cast

from agentloop.errors import ResponseFormatError
from agentloop.messages import Message
from agentloop.messages import set_system_prompt as _set_system_prompt
from agentloop.providers.base import Request
from agentloop.tokens import DEFAULT_RULES, TokenRules, input_tokens
from agentloop.tools import Tool, Tools, collect_server_tools, collect_tools

if TYPE_CHECKING:
    pass

#: ``TokenCount.source`` of the local counts.
TIKTOKEN = "tiktoken"
ESTIMATE = "estimate"


@dataclass(frozen=True, slots=True)
class TokenCount:
    """The input tokens of a request, and how they were counted.

    ``exact`` is True when the provider counted them (``source`` names its endpoint:
    ``"anthropic count_tokens"``, ``"gemini countTokens"``, ``"openai responses input_tokens"``);
    a local count (``"tiktoken"``, ``"estimate"``) is False, since the provider's own wrapping
    of messages and tools is only approximated.
    """

    input_tokens: int
    exact: bool
    source: str


@dataclass(frozen=True, slots=True)
class CountCall:
    """A provider's counting request, as a codec builds it: where, what, and what to read."""

    url: str
    body: dict[str, Any]
    #: ``TokenCount.source`` of the answer.
    source: str
    #: The reply's field holding the count (``input_tokens``, ``totalTokens``).
    field: str
    #: The request's headers when they are not the model's own (a beta flag a tool needs).
    headers: dict[str, str] | None = None

    def result(self, reply: Any, provider: str) -> TokenCount:
        """The count read from the reply's JSON (a `ResponseFormatError` when it has none)."""
        value = reply.get(self.field) if isinstance(reply, dict) else None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ResponseFormatError(
                f"the token count reply has no {self.field!r} count: {str(reply)[:200]!r}",
                provider=provider,
            )
        return TokenCount(value, True, self.source)


class HasMessages(Protocol):
    """A conversation, as counted: its messages, tools and options (no import of it here)."""

    messages: list[Message]
    tools: dict[str, Tool]
    options: dict[str, Any]


#: What ``count_tokens`` counts: a text (one user message), a message, a list of them, or a
#: conversation.
Countable: TypeAlias = "str | Message | Sequence[Message] | HasMessages"


def counted_request(
    what: Countable,
    *,
    tools: Tools | None = None,
    system: str | None = None,
    options: dict[str, Any] | None = None,
) -> Request:
    """The request ``count_tokens`` counts: the messages, the tools (a conversation's own when
    ``tools`` is None) and the options that shape the body (a conversation's, then these)."""
    offered: Sequence[Tool] = ()
    server_tools: Sequence[Any] = ()
    merged: dict[str, Any] = {}
    if isinstance(what, str):
        messages = [Message.user(what)]
    elif isinstance(what, Message):
        messages = [what]
    elif isinstance(what, Sequence):
        messages = list(cast("Sequence[Message]", what))  # mypy keeps str among the types
    else:
        messages = list(what.messages)
        offered = list(what.tools.values())
        server_tools = getattr(what, "server_tools", ())
        merged = dict(what.options)
    if tools is not None:
        offered = list(collect_tools(tools).values())
        server_tools = collect_server_tools(tools)
    if system is not None:
        _set_system_prompt(messages, system)
    request = Request(messages, offered, {**merged, **(options or {})})
    request.server_tools = server_tools
    return request


def estimate(request: Request, rules: TokenRules = DEFAULT_RULES) -> TokenCount:
    """`agentloop.tokens`' estimate of the input, as budgets and rate limits charge it."""
    return TokenCount(input_tokens(request, rules), False, ESTIMATE)
