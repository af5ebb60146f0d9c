"""Model: anything that turns a [`Request`][agentloop.Request] into a [`Reply`][agentloop.Reply],
plus the user API.

A subclass implements [`Model.complete`][agentloop.Model.complete] (and, when it can stream,
[`Model.stream`][agentloop.Model.stream]; async twins default to running those in a thread). It
then gets ``prompt()``, ``chain()`` and ``conversation()`` for free.
[`AsyncModel`][agentloop.AsyncModel] is the awaitable view of the same model.

This module builds on `agentloop.conversation`: a model makes conversations, while a
conversation knows models only as types, so the import goes one way.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from agentloop.conversation import AsyncConversation, Conversation
from agentloop.messages import Message, set_system_prompt
from agentloop.providers.base import Delta, Reply, Request, StreamEvent
from agentloop.token_count import Countable, TokenCount, counted_request, estimate
from agentloop.tokens import DEFAULT_RULES, TokenRules

if TYPE_CHECKING:
    from agentloop.history_processors import Processor
    from agentloop.loop import AfterCall, Approve, BeforeCall, ErrorMode
    from agentloop.response import ChainResponse, Response
    from agentloop.tools import Tools


C = TypeVar("C", bound=Conversation)


class Prompting(Generic[C]):
    """The user API shared by [`Model`][agentloop.Model] and [`AsyncModel`][agentloop.AsyncModel],
    written once.

    The two differ only in the conversation they make: sync or awaitable.
    """

    def _backing_model(self) -> Model:
        raise NotImplementedError  # pragma: no cover - both subclasses define it

    def _conversation_type(self) -> type[C]:
        raise NotImplementedError  # pragma: no cover - both subclasses define it

    def conversation(
        self,
        *,
        system: str | None = None,
        tools: Tools = (),
        before_call: BeforeCall | None = None,
        after_call: AfterCall | None = None,
        approve: Approve | None = None,
        approve_all: bool = False,
        chain_limit: int = 25,
        tool_errors: ErrorMode = "report",
        messages: Sequence[Message] = (),
        options: dict[str, Any] | None = None,
        max_cost: float | None = None,
        max_total_tokens: int | None = None,
        deps: Any = None,
        output_validator: Callable[..., Any] | None = None,
        output_retries: int | None = None,
        history_processors: Sequence[Processor] | None = None,
    ) -> C:
        """A conversation with this model: history, tools and hooks kept across prompts.

        ``max_cost`` (USD) and ``max_total_tokens`` are the default limits of each of its
        prompts and chains (docs/cost.md). ``deps`` reaches tools and hooks through their
        [`RunContext`][agentloop.RunContext]; ``output_validator`` and ``output_retries``
        check each final answer; ``history_processors`` shape what each model call is sent
        (docs/long-running-agents.md)."""
        return self._conversation_type()(
            _with_system(system, messages),
            model=self._backing_model(),
            tools=tools,
            before_call=before_call,
            after_call=after_call,
            approve=approve,
            approve_all=approve_all,
            chain_limit=chain_limit,
            tool_errors=tool_errors,
            options=options,
            max_cost=max_cost,
            max_total_tokens=max_total_tokens,
            deps=deps,
            output_validator=output_validator,
            output_retries=output_retries,
            history_processors=history_processors,
        )

    def prompt(
        self,
        prompt: str | None = None,
        *,
        system: str | None = None,
        messages: Sequence[Message] = (),
        tools: Tools = (),
        before_call: BeforeCall | None = None,
        after_call: AfterCall | None = None,
        approve: Approve | None = None,
        **kwargs: Any,
    ) -> Response:
        """One model call. ``messages=`` sends a message list you keep yourself; tool
        calls in it that have no result yet run first, through the hooks.

        From an [`AsyncModel`][agentloop.AsyncModel]: ``await model.prompt(...)``, or
        ``async for chunk in model.prompt(..., stream=True)``.
        """
        hooks = (before_call, after_call, approve)
        return self._one_off(system, messages, tools, hooks).prompt(prompt, **kwargs)

    def chain(
        self,
        prompt: str | None = None,
        *,
        system: str | None = None,
        messages: Sequence[Message] = (),
        tools: Tools = (),
        before_call: BeforeCall | None = None,
        after_call: AfterCall | None = None,
        approve: Approve | None = None,
        **kwargs: Any,
    ) -> ChainResponse:
        """A one-off tool loop without keeping a conversation yourself."""
        hooks = (before_call, after_call, approve)
        return self._one_off(system, messages, tools, hooks).chain(prompt, **kwargs)

    def _one_off(
        self,
        system: str | None,
        messages: Sequence[Message],
        tools: Tools,
        hooks: tuple[BeforeCall | None, AfterCall | None, Approve | None],
    ) -> C:
        """The conversation behind a one-off ``prompt()`` or ``chain()``."""
        before_call, after_call, approve = hooks
        return self.conversation(
            system=system,
            tools=tools,
            messages=messages,
            before_call=before_call,
            after_call=after_call,
            approve=approve,
        )


class Model(Prompting[Conversation], ABC):
    """A model you can prompt. Subclasses implement [`complete`][agentloop.Model.complete]."""

    #: The name this model is known by (``get_model(model_id)`` finds it again).
    model_id: str = "model"
    #: Whether [`stream`][agentloop.Model.stream] yields text as it is generated.
    can_stream: bool = True
    #: Whether [`complete`][agentloop.Model.complete] blocks on I/O. The default async methods then
    #: run it in a worker thread; models that only compute are called directly.
    blocking_io: bool = True
    #: How the provider charges what a request carries (media above all): the rules the
    #: estimates of budgets, the batch's rate limiter and `count_tokens` use. Each codec's
    #: models give their format's; others the neutral defaults.
    token_rules: TokenRules = DEFAULT_RULES

    # -- what a subclass provides ------------------------------------------------

    @abstractmethod
    def complete(self, request: Request) -> Reply:
        """Answer ``request`` in one go."""

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        """Answer ``request`` as [`Delta`][agentloop.Delta] events ending with the
        [`Reply`][agentloop.Reply]."""
        reply = self.complete(request)
        text = reply.message.text
        if text:
            yield Delta(text)
        yield reply

    async def acomplete(self, request: Request) -> Reply:
        if not self.blocking_io:
            return self.complete(request)
        return await asyncio.to_thread(self.complete, request)

    def _backing_model(self) -> Model:
        return self

    def _conversation_type(self) -> type[Conversation]:
        return Conversation

    async def astream(self, request: Request) -> AsyncIterator[StreamEvent]:
        if not self.blocking_io:
            for event in self.stream(request):
                yield event
            return
        for event in await asyncio.to_thread(lambda: list(self.stream(request))):
            yield event

    def to_async(self) -> AsyncModel:
        return AsyncModel(self)

    def close(self) -> None:
        """Release the connections this model holds (HTTP models); nothing by default."""

    async def aclose(self) -> None:
        """Release the async connections this model holds; nothing by default."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- counting tokens ---------------------------------------------------------

    def count_tokens(
        self,
        what: Countable,
        *,
        tools: Tools | None = None,
        system: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> TokenCount:
        """The input tokens of a request holding ``what`` (a text, a message, a list of them
        or a conversation, with its tools unless ``tools=`` is given), without sending it.

        The provider counts them where it has an endpoint for it (Anthropic, Gemini, OpenAI
        Responses); other models count locally. The result's ``source`` says which.
        """
        request = counted_request(what, tools=tools, system=system, options=options)
        return self.count_request(request)

    def count_request(self, request: Request) -> TokenCount:
        """The input tokens of ``request``: here the estimate budgets charge. Models that can
        count better (a provider's endpoint, a tokenizer) override this."""
        return estimate(request, self.token_rules)

    async def acount_request(self, request: Request) -> TokenCount:
        if not self.blocking_io:
            return self.count_request(request)
        return await asyncio.to_thread(self.count_request, request)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.model_id!r}>"


class AsyncModel(Prompting[AsyncConversation]):
    """The awaitable view of a [`Model`][agentloop.Model]: same methods, every call awaitable."""

    def __init__(self, model: Model) -> None:
        self.sync_model = model

    @property
    def model_id(self) -> str:
        return self.sync_model.model_id

    def _backing_model(self) -> Model:
        return self.sync_model

    def _conversation_type(self) -> type[AsyncConversation]:
        return AsyncConversation

    async def aclose(self) -> None:
        """Release the model's async connections (its aiohttp session, for an HTTP model)."""
        await self.sync_model.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def count_tokens(
        self,
        what: Countable,
        *,
        tools: Tools | None = None,
        system: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> TokenCount:
        """[`Model.count_tokens`][agentloop.Model.count_tokens], awaitable."""
        request = counted_request(what, tools=tools, system=system, options=options)
        return await self.sync_model.acount_request(request)

    def __repr__(self) -> str:
        return f"<AsyncModel {self.model_id!r}>"


def _with_system(system: str | None, messages: Sequence[Message]) -> list[Message]:
    history = list(messages)
    if system is not None:
        set_system_prompt(history, system)
    return history
