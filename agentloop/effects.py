"""What the chain core speaks in: its effects, what a run is asked to do, how it ends.

`agentloop.loop` yields these *effects* (`CallModel`, `CallUser`, `RunConcurrently`, and
`agentloop.events` objects) and `agentloop.shells` performs them; `ChainSpec` and `Hooks` are
what one ``prompt()`` or ``chain()`` asks for, `Outcome` and `Pause` how it ended. Data only:
no decision is made here.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias, TypeVar

from agentloop.context import RunContext, context_parameter
from agentloop.events import Event
from agentloop.history_processors import HistoryProcessor
from agentloop.messages import Message, ToolCall, ToolResult
from agentloop.providers.base import Reply, Request
from agentloop.server_tools import ServerTool
from agentloop.spending import SpendLimit
from agentloop.structured import OutputCheck
from agentloop.tokens import DEFAULT_RULES, TokenRules
from agentloop.tools import Tool

T = TypeVar("T")
ErrorMode = Literal["report", "redact", "raise"]

# -- effects ------------------------------------------------------------------


@dataclass(slots=True)
class CallModel:
    """Send ``request`` to the model; the outcome is a [`Reply`][agentloop.Reply]."""

    request: Request


@dataclass(slots=True)
class CallUser:
    """Call user code (a hook, an approval callback or a tool); it may return an awaitable.

    ``blocking`` marks a sync tool function: the async shell runs it in a
    worker thread so it cannot stall the event loop. Hooks are called inline.
    """

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    blocking: bool = False


@dataclass(slots=True)
class RunConcurrently:
    """Drive these sub-steps at the same time; the outcome is their results, in order."""

    steps: list[Step[Any]]


#: An `Event` is an effect too: the shell stamps its time and passes it out.
Effect: TypeAlias = CallModel | CallUser | RunConcurrently | Event
Step: TypeAlias = Generator[Effect, Any, T]

# -- what a chain is asked to do ----------------------------------------------

BeforeCall = Callable[[Tool | None, ToolCall], Any]
AfterCall = Callable[[Tool | None, ToolCall, ToolResult], Any]
Approve = Callable[[Tool, ToolCall], Any]
#: A decision given when resuming: True approves, False or a reason string denies.
Decision = bool | str


@dataclass(slots=True)
class Hooks:
    before_call: BeforeCall | None = None
    after_call: AfterCall | None = None
    approve: Approve | None = None
    #: Ask ``approve`` about every call, not only tools marked ``requires_approval``.
    approve_all: bool = False


@dataclass(slots=True)
class ChainSpec:
    """Everything one ``prompt()`` or ``chain()`` call asks for."""

    tools: Mapping[str, Tool]
    hooks: Hooks = field(default_factory=Hooks)
    options: dict[str, Any] = field(default_factory=dict)
    schema: dict[str, Any] | None = None
    schema_name: str = "response"
    #: False for ``prompt()``: one model call, tool calls are left for the caller.
    execute_tools: bool = True
    chain_limit: int = 25
    #: ``max_cost`` and ``max_total_tokens`` over this run's model calls.
    spend_limit: SpendLimit = field(default_factory=SpendLimit)
    #: The model asked ("provider/name"), to price its calls against ``spend_limit``.
    model_id: str = ""
    #: How that model's provider charges what a request carries, for the estimates.
    token_rules: TokenRules = DEFAULT_RULES
    stream: bool = False
    error_mode: ErrorMode = "report"
    #: Prepares the toolboxes (user code, maybe async) and returns the tools then on
    #: offer; set only while some toolbox has not been prepared yet.
    prepare_tools: Callable[[], Any] | None = None
    #: Tools the provider runs itself, sent with every request of the run.
    server_tools: Sequence[ServerTool] = ()
    #: Checks the final answer (``output_validator=``, ``output_retries=``); None: only
    #: ``parsed()`` reads it.
    output: OutputCheck | None = None
    #: What user code may ask for: ``deps`` and the conversation; the run fills in the rest.
    context: RunContext[Any] = field(default_factory=lambda: RunContext(None))
    #: Shape each request's messages, in order (`agentloop.history_processors`); after a
    #: context-too-long error, the run goes on with their tighter forms.
    history_processors: tuple[HistoryProcessor, ...] = ()
    #: Whether the chain yields its `agentloop.events` (set once someone reads them).
    emit_events: bool = False


def check_chain_limit(value: object) -> int:
    """``value`` if it is a valid ``chain_limit`` (a positive int), else a clear error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"chain_limit must be a positive int (model calls), not {value!r}")
    if value < 1:
        raise ValueError(
            f"chain_limit must be at least 1 (the number of model calls allowed), not {value}"
        )
    return value


class Listener(Protocol):
    """Bookkeeping the chain reports to as it goes (our own code, never user code)."""

    def replied(self, request: Request, reply: Reply) -> None: ...

    def tools_ran(self, messages: list[Message]) -> None:
        """Tool messages were added to the history (each holds one assistant message's results)."""

    def rejected(self, message: Message) -> None:
        """The last reply's answer was rejected: ``message``, saying why, was added to the
        history and the model is asked again."""


@dataclass(slots=True)
class PausedCall:
    """A call whose hook or approver raised [`PauseChain`][agentloop.errors.PauseChain]."""

    call: ToolCall
    #: Where it stopped: "before_call" (the hook already ran) or "approve".
    stage: Literal["before_call", "approve"]
    reason: str | None = None


@dataclass(slots=True)
class Pause:
    """The state a paused chain returns: the calls waiting for a decision."""

    paused: list[PausedCall]
    #: Results of sibling calls that completed before the pause.
    done: list[ToolResult]


@dataclass(slots=True)
class Outcome:
    """How a chain run ended: with an answer, or paused."""

    model_calls: int
    pause: Pause | None = None


def user_call(fn: Callable[..., Any], args: tuple[Any, ...], context: RunContext[Any]) -> CallUser:
    """Call user code with ``args``, and the run context if it declares a parameter for it."""
    name = context_parameter(fn)
    return CallUser(fn, args, {name: context} if name is not None else {})
