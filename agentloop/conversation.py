"""Conversation: an ordered list of messages, optionally bound to a model and tools.

As a message builder, ``Conversation.system("...").add(Message.user("..."))``
makes one, ``to_openai()``, ``to_openai_responses()``, ``to_anthropic()`` and
``to_gemini()`` convert it, and the ``from_*`` class methods read a provider's
payload back into the neutral model (those and ``to_dict()``/``from_dict()`` are
`agentloop.conversation_formats`, which `Conversation` builds on).

Bound to a model (``model.conversation(...)``), it also keeps the responses,
the tools, the hooks and the limits, and ``prompt()``, ``chain()`` and
``resume()`` talk to the model. Those three only assemble a
`ChainSpec` and start a `Run`:
the chain itself lives in `agentloop.loop`.

A conversation knows models only as types (it calls the model through the shells):
`agentloop.model` builds on this module, so ``model.conversation(...)`` needs no deferred import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Self, TypeVar

from agentloop.context import RunContext
from agentloop.conversation_formats import ConversationFormats
from agentloop.errors import AgentloopError, ResumeError
from agentloop.history_processors import Processor, as_processors
from agentloop.loop import ChainSpec, Decision, ErrorMode, Hooks, check_chain_limit
from agentloop.media import Attachment, File, Image, Source
from agentloop.messages import Message, set_system_prompt
from agentloop.providers.neutral_options import check_options
from agentloop.providers.options import check_option_names, check_request_tools
from agentloop.response import ChainResponse, ChainState, Prompt, Response
from agentloop.run import start
from agentloop.server_tools import ServerTool
from agentloop.shells import portal
from agentloop.spending import check_spend_limit
from agentloop.structured import OutputSchema, json_schema, output_check, schema_name
from agentloop.tokens import DEFAULT_RULES
from agentloop.toolbox import close_toolboxes, prepare_toolboxes, toolboxes_in
from agentloop.tools import (
    RetryBudget,
    Tool,
    Tools,
    ToolSource,
    server_tools_of,
    tool_sources,
    tools_of,
)
from agentloop.turns import TurnGuard

if TYPE_CHECKING:
    from agentloop.events import Event
    from agentloop.loop import AfterCall, Approve, BeforeCall
    from agentloop.model import AsyncModel, Model


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: Marks a per-call hook argument that was not given (None means "no hook").
UNSET: Any = _Unset()

AttachmentLike = Attachment | Image | File | Source
Target = TypeVar("Target", Response, ChainResponse)


class Conversation(ConversationFormats):
    """An ordered list of [`Message`][agentloop.Message] objects, optionally bound to a model."""

    #: Whether prompt() and chain() return awaitable responses.
    is_async = False

    def __init__(
        self,
        messages: Sequence[Message] | None = None,
        *,
        model: Model | AsyncModel | None = None,
        tools: Tools = (),
        before_call: BeforeCall | None = None,
        after_call: AfterCall | None = None,
        approve: Approve | None = None,
        approve_all: bool = False,
        chain_limit: int = 25,
        tool_errors: ErrorMode = "report",
        options: dict[str, Any] | None = None,
        max_cost: float | None = None,
        max_total_tokens: int | None = None,
        deps: Any = None,
        output_validator: Callable[..., Any] | None = None,
        output_retries: int | None = None,
        history_processors: Sequence[Processor] | None = None,
    ) -> None:
        self.messages: list[Message] = list(messages or [])
        self._model: Model | None = None
        self.model = model
        #: What was passed as ``tools=``: functions, Tools and Toolbox instances.
        self.tool_sources: list[ToolSource] = tool_sources(tools)
        self.tools: dict[str, Tool] = tools_of(self.tool_sources)
        #: The provider-side tools among them (``WebSearch()``...), sent with every request.
        self.server_tools: tuple[ServerTool, ...] = server_tools_of(self.tool_sources)
        self.hooks = Hooks(before_call, after_call, approve, approve_all)
        self.chain_limit = chain_limit
        #: The default ``max_cost`` / ``max_total_tokens`` of each prompt, chain and resume.
        self.spend_limit = check_spend_limit(max_cost, max_total_tokens)
        self.tool_errors: ErrorMode = tool_errors
        self.options: dict[str, Any] = dict(options or {})
        #: Shape what each model call is sent (docs/long-running-agents.md); the history
        #: itself keeps everything.
        self.history_processors = as_processors(history_processors)
        #: Every response so far, in order.
        self.responses: list[Response] = []
        self.budget = RetryBudget()
        #: Called with the conversation each time its history grows (a model reply, a
        #: batch of tool results), so an observer such as the conversation log can
        #: store every step the moment it completes.
        self.on_update: list[Callable[[Conversation], object]] = []
        #: Called with each [event][agentloop.events.Event] of every prompt, chain and resume
        #: (in the thread or task reading the run); the chain makes events only when some
        #: observer or ``response.events()`` reads them.
        self.on_event: list[Callable[[Event], object]] = []
        #: Held by the run driving this conversation, so two turns never interleave.
        self.turn_guard = TurnGuard()
        #: What tools, hooks and validators get as ``ctx.deps`` (docs/long-running-agents.md).
        self.deps = deps
        #: The default checks of each final answer (``output_validator=``, ``output_retries=``).
        self.output_validator = output_validator
        self.output_retries = output_retries
        output_check(None, output_validator, output_retries)  # a wrong value fails here

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

    @property
    def chain_limit(self) -> int:
        """The most model calls one ``chain()`` may make (a positive int)."""
        return self._chain_limit

    @chain_limit.setter
    def chain_limit(self, value: int) -> None:
        self._chain_limit = check_chain_limit(value)

    # -- the model -------------------------------------------------------------

    @property
    def model(self) -> Model | None:
        """The model answering this conversation; assign another to switch provider."""
        return self._model

    @model.setter
    def model(self, value: Model | AsyncModel | None) -> None:
        # An AsyncModel is a view of a Model: the conversation keeps the Model (which both
        # name as their backing model; an isinstance test would need agentloop.model).
        self._model = None if value is None else value._backing_model()

    def require_model(self) -> Model:
        if self._model is None:
            raise AgentloopError(
                "This conversation has no model: use model.conversation(...) or set .model"
            )
        return self._model

    # -- talking to the model --------------------------------------------------

    def prompt(
        self,
        prompt: str | None = None,
        *,
        system: str | None = None,
        attachments: Sequence[AttachmentLike] = (),
        stream: bool = False,
        schema: OutputSchema | None = None,
        before_call: BeforeCall | None = UNSET,
        after_call: AfterCall | None = UNSET,
        approve: Approve | None = UNSET,
        max_cost: float | None = None,
        max_total_tokens: int | None = None,
        deps: Any = UNSET,
        output_validator: Callable[..., Any] | None = UNSET,
        output_retries: int | None = None,
        history_processors: Sequence[Processor] | None = UNSET,
        **options: Any,
    ) -> Response:
        """One model call. Tool calls in the reply are left for ``chain()``, ``reply()`` or
        the next prompt, which run them (through the hooks) before asking the model again."""
        # The spec first: it checks every argument before anything is changed.
        hooks = (before_call, after_call, approve)
        spend = (max_cost, max_total_tokens)
        run = (deps, output_validator, output_retries)
        spec = self._spec(stream, schema, options, hooks, None, spend, run, execute_tools=False)
        self._shape(spec, history_processors)
        request_prompt, new = self._new_turn(prompt, system, attachments, options, schema)
        response = Response(request_prompt, self, self.require_model().model_id)
        return self._start(spec, new, request_prompt, response)

    def chain(
        self,
        prompt: str | None = None,
        *,
        system: str | None = None,
        attachments: Sequence[AttachmentLike] = (),
        stream: bool = False,
        schema: OutputSchema | None = None,
        before_call: BeforeCall | None = UNSET,
        after_call: AfterCall | None = UNSET,
        approve: Approve | None = UNSET,
        chain_limit: int | None = None,
        max_cost: float | None = None,
        max_total_tokens: int | None = None,
        deps: Any = UNSET,
        output_validator: Callable[..., Any] | None = UNSET,
        output_retries: int | None = None,
        history_processors: Sequence[Processor] | None = UNSET,
        **options: Any,
    ) -> ChainResponse:
        """Prompt, then run the tools the model asks for and feed back the results,
        until the model answers without tool calls (or ``chain_limit`` model calls, or
        ``max_cost`` USD or ``max_total_tokens``: see docs/cost.md).
        ``history_processors`` replaces the conversation's for this chain."""
        hooks = (before_call, after_call, approve)
        spend = (max_cost, max_total_tokens)
        run = (deps, output_validator, output_retries)
        limit = chain_limit
        spec = self._spec(stream, schema, options, hooks, limit, spend, run, execute_tools=True)
        self._shape(spec, history_processors)
        request_prompt, new = self._new_turn(prompt, system, attachments, options, schema)
        return self._start(spec, new, request_prompt, ChainResponse(request_prompt, self))

    def resume(
        self,
        state: ChainState | dict[str, Any],
        decisions: dict[str, Decision],
        *,
        stream: bool = False,
        before_call: BeforeCall | None = UNSET,
        after_call: AfterCall | None = UNSET,
        approve: Approve | None = UNSET,
        chain_limit: int | None = None,
        max_cost: float | None = None,
        max_total_tokens: int | None = None,
        deps: Any = UNSET,
        **options: Any,
    ) -> ChainResponse:
        """Carry on a paused chain. ``decisions`` maps each pending call id to True
        (approve), False (deny) or a reason string (deny, telling the model why)."""
        if isinstance(state, dict):
            state = ChainState.from_dict(state)
        hooks = (before_call, after_call, approve)
        spend = (max_cost, max_total_tokens)
        run = (deps, UNSET, None)
        spec = self._spec(stream, None, options, hooks, chain_limit, spend, run, execute_tools=True)
        self._shape(spec, UNSET)
        missing = [c.tool_call_id for c in state.pending if c.tool_call_id not in decisions]
        if missing:
            raise ResumeError(f"No decision given for the pending calls: {', '.join(missing)}")
        if not any(m.tool_calls for m in self.messages if m.role == "assistant"):
            # A fresh conversation: take the paused history, keep our own model.
            saved = Conversation.from_dict(state.conversation, model=self._model)
            self.messages = saved.messages
            if self._model is None:
                self.model = saved.model
        target = ChainResponse(Prompt(None), self)
        return self._start(spec, [], target.prompt, target, (state.pause, dict(decisions)))

    def continue_from(self, response: Response, prompt: str | None, **kwargs: Any) -> Any:
        """``response.reply()``: continue from ``response``, forking if the conversation
        has moved on since."""
        conversation = self
        if self.responses and self.responses[-1] is not response:
            conversation = self.fork(self.history_until(response, include_results=True))
        return conversation.prompt(prompt, **kwargs)

    def fork(self, messages: Sequence[Message]) -> Self:
        """A conversation with the same model, tools and settings and the given history."""
        other = type(self)(
            list(messages),
            model=self._model,
            chain_limit=self.chain_limit,
            tool_errors=self.tool_errors,
            options=self.options,
            max_cost=self.spend_limit.max_cost,
            max_total_tokens=self.spend_limit.max_total_tokens,
            deps=self.deps,
            output_validator=self.output_validator,
            output_retries=self.output_retries,
        )
        other.history_processors = self.history_processors
        other.tool_sources = self.tool_sources
        other.tools = self.tools
        other.server_tools = self.server_tools
        other.hooks = self.hooks
        other.on_event = list(self.on_event)
        return other

    def history_until(self, response: Response, include_results: bool = False) -> list[Message]:
        """The history before ``response`` (its request's, whole even where history
        processors sent less)."""
        if response.request is None:
            return list(self.messages)
        request = response.request
        history = list(request.messages if request.full_messages is None else request.full_messages)
        if include_results:
            history.append(response.message)
            if response.tool_results:
                history.append(Message("tool", list(response.tool_results)))
        return history

    def _new_turn(
        self,
        prompt: str | None,
        system: str | None,
        attachments: Sequence[AttachmentLike],
        options: dict[str, Any],
        schema: OutputSchema | None = None,
    ) -> tuple[Prompt, list[Message]]:
        parts = [_attachment_part(a) for a in attachments]
        if system is not None:
            set_system_prompt(self.messages, system)
        new: list[Message] = []
        if prompt is not None or parts:
            message = Message.user(prompt)
            message.parts.extend(parts)
            new.append(message)
        return Prompt(prompt, system, parts, dict(options), schema), new

    def _spec(
        self,
        stream: bool,
        schema: OutputSchema | None,
        options: dict[str, Any],
        hooks: tuple[Any, Any, Any],
        chain_limit: int | None = None,
        spend: tuple[float | None, int | None] = (None, None),
        run: tuple[Any, Any, int | None] = (UNSET, UNSET, None),
        *,
        execute_tools: bool,
    ) -> ChainSpec:
        """What one prompt, chain or resume asks for; every argument is checked here, once."""
        # (a batch makes thousands of tool-less conversations: no toolbox to look for)
        sources = self.tool_sources
        unprepared = bool(sources) and any(not box.prepared for box in toolboxes_in(sources))
        merged = {**self.options, **options}
        check_option_names(merged)
        check_request_tools(merged.get("tools"))
        # Before the first call, as far as no wire format is needed (its encoder checks the
        # rest), with an HTTP model's default options, which may offer tools of their own.
        defaults = getattr(self._model, "options", None)
        given = {**defaults, **merged} if isinstance(defaults, dict) else merged
        check_options(given, tools=self.tools.values(), tools_known=not unprepared)
        deps, validator, retries = run
        validator = self.output_validator if validator is UNSET else validator
        retries = self.output_retries if retries is None else retries
        return ChainSpec(
            tools=self.tools,
            hooks=self._hooks(*hooks),
            options=merged,
            schema=json_schema(schema) if schema is not None else None,
            schema_name=schema_name(schema) if schema is not None else "response",
            execute_tools=execute_tools,
            chain_limit=self.chain_limit if chain_limit is None else check_chain_limit(chain_limit),
            spend_limit=self.spend_limit.override(*spend),
            model_id=self._model.model_id if self._model is not None else "",
            token_rules=self._model.token_rules if self._model is not None else DEFAULT_RULES,
            stream=stream,
            error_mode=self.tool_errors,
            prepare_tools=self._prepare_tools if unprepared else None,
            server_tools=self.server_tools,
            output=output_check(schema, validator, retries),
            context=RunContext(self.deps if deps is UNSET else deps, self),
        )

    def _shape(self, spec: ChainSpec, given: Sequence[Processor] | None) -> None:
        """The history processors of one prompt or chain: ``given``, else the conversation's."""
        spec.history_processors = (
            self.history_processors if given is UNSET else as_processors(given)
        )

    async def _prepare_tools(self) -> dict[str, Tool]:
        await prepare_toolboxes(self.tool_sources)
        self.tools = tools_of(self.tool_sources)
        return self.tools

    def _hooks(self, before_call: Any, after_call: Any, approve: Any) -> Hooks:
        return Hooks(
            self.hooks.before_call if before_call is UNSET else before_call,
            self.hooks.after_call if after_call is UNSET else after_call,
            self.hooks.approve if approve is UNSET else approve,
            self.hooks.approve_all,
        )

    def _start(
        self,
        spec: ChainSpec,
        new: list[Message],
        prompt: Prompt,
        target: Target,
        resume: Any = None,
    ) -> Target:
        start(self, spec, new, prompt, target, is_async=self.is_async, resume=resume)
        return target

    async def aclose(self) -> None:
        """Close the toolboxes this conversation prepared."""
        await close_toolboxes(self.tool_sources)

    def close(self) -> None:
        """Blocking [`aclose`][agentloop.Conversation.aclose], for sync code."""
        portal.run(self.aclose())


class AsyncConversation(Conversation):
    """The same conversation for an async model: ``await conversation.chain(...)``,
    ``async for chunk in conversation.chain(..., stream=True)``."""

    is_async = True


def _attachment_part(item: AttachmentLike) -> Image | File:
    if isinstance(item, Attachment):
        return item.to_part()
    if isinstance(item, Image | File):
        return item
    return (
        Attachment(path=item).to_part()
        if not isinstance(item, bytes)
        else Attachment(content=item).to_part()
    )
