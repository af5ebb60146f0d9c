"""The chain, written once, as a generator of effects (the sans-I/O core).

Nothing here performs I/O or calls user code directly. `run_chain`
yields an *effect* whenever something must happen in the outside world (call
the model, call a hook or a tool, run several tool calls at once) and is sent
the outcome back. `agentloop.shells` holds the two thin interpreters that
perform effects: one blocking, one ``async``. So every decision (what request
next, what a reply means, which calls run, hooks and approval, retry budgets,
the chain limit, pausing) exists exactly once.

When ``spec.emit_events`` is set (someone reads the run's events), the chain also yields
its steps as `agentloop.events` objects, effects whose outcome is nothing: the shell
stamps each with the time and passes it out. Off, it makes none.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, TypeAlias, TypeVar

from agentloop.context import RunContext, context_parameter
from agentloop.errors import (
    CancelToolCall,
    ChainLimitExceeded,
    ContextTooLongError,
    OutputRetriesExceeded,
    PauseChain,
    StructuredOutputError,
    ToolError,
)
from agentloop.events import (
    ApprovalDecided,
    ApprovalRequested,
    ChainFinished,
    ChainStarted,
    Event,
    ModelCallFinished,
    ModelCallStarted,
    ToolCallReady,
    ToolFinished,
    ToolRunning,
)
from agentloop.history import arrange, group_by_call, unanswered_calls
from agentloop.history_processors import HistoryContext, HistoryProcessor, checked, tighten
from agentloop.messages import Message, ToolCall, ToolResult
from agentloop.providers.base import Reply, Request
from agentloop.providers.wire_cache import WireCache
from agentloop.server_tools import ServerTool
from agentloop.spending import SpendLimit, Spent, check_after, check_before, record
from agentloop.structured import OutputCheck, answer, rejected, retry_message
from agentloop.tokens import DEFAULT_RULES, TokenRules
from agentloop.toolbox import offered_tools, prepared_tool, step_toolboxes
from agentloop.tools import RetryBudget, Tool, ToolArgumentsError
from agentloop.usage import Usage

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


# -- the chain ----------------------------------------------------------------


def run_chain(
    history: list[Message],
    new_messages: Sequence[Message],
    spec: ChainSpec,
    budget: RetryBudget,
    listener: Listener,
    resume: tuple[Pause, Mapping[str, Decision]] | None = None,
) -> Step[Outcome]:
    """Run one prompt or chain over ``history``, appending every message it makes."""
    # Each request of the run carries the same cache, so a codec converts each message once
    # rather than at every call; emptied at the end, as the responses keep the requests.
    # A prompt() makes one model call, which the cache would only slow down (a batch
    # makes thousands): its request carries none.
    wire_cache = WireCache() if spec.execute_tools else None
    started = ChainStarted(spec.model_id) if spec.emit_events else None
    if started is not None:
        yield started  # the shell stamps its time: the ChainFinished repeats it
    try:
        outcome = yield from _chain(
            history, new_messages, spec, budget, listener, resume, wire_cache
        )
    except Exception as exc:
        if spec.emit_events:
            start = started.time if started is not None else 0.0
            yield ChainFinished(spec.model_id, None, error=exc, started=start)
        raise
    finally:
        if wire_cache is not None:
            wire_cache.clear()
    if spec.emit_events:
        start = started.time if started is not None else 0.0
        paused = [p.call for p in outcome.pause.paused] if outcome.pause is not None else []
        yield ChainFinished(spec.model_id, outcome.model_calls, paused, started=start)
    return outcome


def _chain(
    history: list[Message],
    new_messages: Sequence[Message],
    spec: ChainSpec,
    budget: RetryBudget,
    listener: Listener,
    resume: tuple[Pause, Mapping[str, Decision]] | None,
    wire_cache: WireCache | None,
) -> Step[Outcome]:
    if spec.prepare_tools is not None:
        spec.tools = yield CallUser(spec.prepare_tools)
    context = spec.context
    context.messages = history
    history[:] = arrange(history)
    pending = unanswered_calls(history)
    if pending:
        # A conversation never sends a tool call without its result: calls the
        # model made earlier (a prompt() reply, a paused or limited chain, a
        # message list the caller kept) run first, through the same hooks and
        # approval as any other call, their results placed right after them.
        pause = yield from _settle(pending, spec, budget, listener, history, resume)
        if pause is not None:
            return Outcome(0, pause)
    history.extend(new_messages)
    offered = tuple(spec.tools.values())  # fixed for the run once toolboxes are prepared
    every_tool = spec.tools
    preparing = any(t.prepare for t in offered) or bool(step_toolboxes(offered))
    model_calls = 0
    spent, limit = Spent(), spec.spend_limit
    attempts: list[StructuredOutputError] = []
    while True:
        if preparing:  # the step's tools, which the calls it makes are run against too
            spec.tools = yield from _prepare_step(every_tool, context.replace())
            offered = tuple(spec.tools.values())
        request = Request(
            list(history),
            offered,
            spec.options,
            spec.schema,
            spec.stream,
            spec.schema_name,
            wire_cache,
            spec.server_tools,
        )
        sent, reply, estimate = yield from _call_model(request, spec, limit, spent, model_calls + 1)
        model_calls += 1
        history.append(reply.message)
        record(limit, spent, reply, estimate, spec.model_id)
        context.step, context.usage = model_calls, context.usage + reply.usage
        listener.replied(sent, reply)
        calls = reply.message.tool_calls
        if not calls or not spec.execute_tools:
            if calls or spec.output is None:
                return Outcome(model_calls)
            retry = yield from _check_answer(reply, spec.output, context.replace(), attempts)
            if retry is None:
                return Outcome(model_calls)
            history.append(retry)
            listener.rejected(retry)
            continue
        if model_calls >= spec.chain_limit:
            raise ChainLimitExceeded(spec.chain_limit, [])
        # Before the tools run: a call past the limit stops the chain here, not one step on.
        check_after(limit, spent, spec.model_id)
        pause = yield from _settle(calls, spec, budget, listener, history, None)
        if pause is not None:
            return Outcome(model_calls, pause)


def _call_model(
    full: Request, spec: ChainSpec, limit: SpendLimit, spent: Spent, number: int
) -> Step[tuple[Request, Reply, Usage]]:
    """One model call with ``full``'s history shaped by the history processors; when the
    provider finds the context too long, one more try with their tighter forms. Returns the
    request sent, the reply and the estimate charged."""
    request = yield from _shaped(full, spec)
    estimate = check_before(limit, spent, request, spec.model_id, spec.token_rules)
    try:
        return request, (yield from _ask_model(request, spec, number)), estimate
    except ContextTooLongError:
        tighter = tighten(spec.history_processors)
        if tighter is None:
            raise
        spec.history_processors = tighter
    request = yield from _shaped(full, spec)
    estimate = check_before(limit, spent, request, spec.model_id, spec.token_rules)
    return request, (yield from _ask_model(request, spec, number)), estimate


def _shaped(request: Request, spec: ChainSpec) -> Step[Request]:
    """``request`` with its messages as the history processors make them (user code, maybe
    I/O: called through the shell), the whole history kept in its ``full_messages``."""
    if not spec.history_processors:
        return request
    messages = list(request.messages)
    context = HistoryContext(request, spec.token_rules)
    for processor in spec.history_processors:
        effect = CallUser(processor.process, (messages, context), blocking=processor.blocking_io)
        messages = checked(processor, messages, (yield effect))
    return replace(request, messages=messages, full_messages=request.messages)


def _ask_model(request: Request, spec: ChainSpec, number: int) -> Step[Reply]:
    """The model call, with its events when someone reads them."""
    if not spec.emit_events:
        answer: Reply = yield CallModel(request)
        return answer
    started = ModelCallStarted(spec.model_id, request, number)
    yield started
    try:
        reply: Reply = yield CallModel(request)
    except Exception as exc:
        yield ModelCallFinished(spec.model_id, None, exc, number, started.time)
        raise
    yield ModelCallFinished(spec.model_id, reply, None, number, started.time)
    for call in reply.message.tool_calls:
        yield ToolCallReady(call)
    return reply


def _settle(
    calls: list[ToolCall],
    spec: ChainSpec,
    budget: RetryBudget,
    listener: Listener,
    history: list[Message],
    resume: tuple[Pause, Mapping[str, Decision]] | None,
) -> Step[Pause | None]:
    """Run ``calls`` and append their results; or return the pause if one paused."""
    done: dict[str, ToolResult] = {}
    plans: dict[str, tuple[Literal["before_call", "approve"] | None, Decision | None]] = {}
    if resume is not None:
        pause, decisions = resume
        done = {r.tool_call_id: r for r in pause.done}
        plans = {
            p.call.tool_call_id: (p.stage, decisions[p.call.tool_call_id]) for p in pause.paused
        }
    todo = [c for c in calls if c.tool_call_id not in done]
    paused: list[PausedCall] = []
    for group in _groups(todo, spec.tools):
        steps = [
            _run_call(c, spec, *plans.get(c.tool_call_id, (None, None)), budget.failures(c.name))
            for c in group
        ]
        outcomes: list[CallOutcome]
        if len(steps) == 1:
            outcomes = [(yield from steps[0])]  # one call: no need to hand it to a pool
        else:
            outcomes = yield RunConcurrently(steps)
        for outcome in outcomes:
            if isinstance(outcome, PausedCall):
                paused.append(outcome)
                continue
            result, failed = outcome
            budget.record(spec.tools.get(result.name) or result.name, failed, result)
            done[result.tool_call_id] = result
    if paused:
        return Pause(paused, [done[c.tool_call_id] for c in calls if c.tool_call_id in done])
    results = [done[c.tool_call_id] for c in calls]
    if history and history[-1].tool_calls == calls:
        placed = [Message("tool", list(results))]  # the usual case: answering the last reply
        history.extend(placed)
    else:
        placed = group_by_call(history, results)
        history[:] = arrange([*history, *placed])
    listener.tools_ran(placed)
    return None


def _groups(calls: list[ToolCall], tools: Mapping[str, Tool]) -> list[list[ToolCall]]:
    """Split calls into batches that may run together; a ``sequential`` tool runs alone."""
    groups: list[list[ToolCall]] = []
    current: list[ToolCall] = []
    for call in calls:
        tool = tools.get(call.name)
        if tool is not None and tool.sequential:
            if current:
                groups.append(current)
                current = []
            groups.append([call])
        else:
            current.append(call)
    if current:
        groups.append(current)
    return groups


CallOutcome: TypeAlias = tuple[ToolResult, bool] | PausedCall


def _run_call(
    call: ToolCall,
    spec: ChainSpec,
    paused_at: Literal["before_call", "approve"] | None,
    decision: Decision | None,
    retry: int = 0,
) -> Step[CallOutcome]:
    """One call, start to finish: hook, approval, validation, the run, the after hook.

    Returns the result and whether it counts against the tool's retry budget.
    """
    tool = spec.tools.get(call.name)
    hooks = spec.hooks
    context = spec.context.replace(tool_call=call, retry=retry)
    outcome = yield from _before(call, tool, spec, paused_at, decision, context)
    if isinstance(outcome, PausedCall):
        return outcome
    result, failed = outcome if outcome is not None else (None, False)
    started: float | None = None
    if result is None:
        assert tool is not None
        if spec.emit_events:
            running = ToolRunning(call)
            yield running
            started = running.time
        result, failed = yield from _invoke(call, tool, spec.error_mode, context)
    if spec.emit_events:
        yield ToolFinished(call, result, started)
    if hooks.after_call is not None:
        yield from _hook("after_call", call, _user(hooks.after_call, (tool, call, result), context))
    return result, failed


def _before(
    call: ToolCall,
    tool: Tool | None,
    spec: ChainSpec,
    paused_at: Literal["before_call", "approve"] | None,
    decision: Decision | None,
    context: RunContext[Any],
) -> Step[tuple[ToolResult, bool] | PausedCall | None]:
    """Hook, existence and approval checks. None means: go ahead and run the tool."""
    hooks = spec.hooks
    if hooks.before_call is not None and paused_at is None:
        try:
            yield from _hook("before_call", call, _user(hooks.before_call, (tool, call), context))
        except CancelToolCall as cancel:
            return _refusal(call, cancel.reason), False
        except PauseChain as pause:
            return PausedCall(call, "before_call", pause.reason)
    if tool is None:
        names = ", ".join(sorted(spec.tools)) or "none"
        message = f"Unknown tool {call.name!r}. Available tools: {names}."
        return _refusal(call, message), True
    if decision is not None:
        if spec.emit_events:
            reason = decision if isinstance(decision, str) else None
            yield ApprovalDecided(call, decision is True, reason)
        if decision is True:
            return None
        reason = decision if isinstance(decision, str) else "The user denied this tool call."
        return _refusal(call, reason), False
    if tool.requires_approval:
        if hooks.approve is None:
            reason = (
                f"Tool {tool.name!r} requires approval and no approver is configured, "
                "so the call was refused."
            )
            return _refusal(call, reason), False
        if spec.emit_events:
            yield ApprovalRequested(call)
        try:
            asked = _user(hooks.approve, (tool, call), context)
            approved = yield from _hook("approve", call, asked)
        except PauseChain as pause:
            return PausedCall(call, "approve", pause.reason)
        if spec.emit_events:
            yield ApprovalDecided(call, approved is True)
        if approved is not True:
            return _refusal(call, f"The user did not approve this call to {tool.name!r}."), False
    return None


def _hook(name: str, call: ToolCall, effect: CallUser) -> Step[Any]:
    """Call a hook; an exception it raises says which hook and which call it came from."""
    try:
        return (yield effect)
    except (CancelToolCall, PauseChain):
        raise  # how a hook speaks to the chain, not a failure
    except Exception as exc:
        exc.add_note(
            f"Raised by the {name} hook for the tool call {call.name!r} (id {call.tool_call_id!r})"
        )
        raise


def _user(fn: Callable[..., Any], args: tuple[Any, ...], context: RunContext[Any]) -> CallUser:
    """Call user code with ``args``, and the run context if it declares a parameter for it."""
    name = context_parameter(fn)
    return CallUser(fn, args, {name: context} if name is not None else {})


def _invoke(
    call: ToolCall, tool: Tool, error_mode: ErrorMode, context: RunContext[Any]
) -> Step[tuple[ToolResult, bool]]:
    try:
        kwargs = tool.validate(call)
    except ToolArgumentsError as exc:
        return tool.error_result(call, exc, "report"), True
    if tool.context_parameter is not None:
        kwargs[tool.context_parameter] = context
    try:
        value = yield CallUser(tool.invoke, (kwargs,), blocking=not tool.is_async)
    except Exception as exc:
        return tool.error_result(call, exc, error_mode), True
    return tool.result(call, value), False


def _refusal(call: ToolCall, message: str) -> ToolResult:
    return ToolResult(call.name, message, call.tool_call_id, is_error=True)


def _prepare_step(tools: Mapping[str, Tool], context: RunContext[Any]) -> Step[dict[str, Tool]]:
    """The tools on offer for the next model call: each tool's ``prepare`` hides or reshapes
    it, then each toolbox's ``prepare_tools`` its own (all user code, maybe async)."""
    offered: list[Tool] = []
    for tool in tools.values():
        if tool.prepare is None:
            offered.append(tool)
            continue
        shaped = yield CallUser(tool.prepare, (context, tool))
        if shaped is not None:
            offered.append(prepared_tool(shaped, f"The prepare function of tool {tool.name!r}"))
    for box in step_toolboxes(offered):
        mine = [t for t in offered if t.toolbox is box]
        by = f"{type(box).__name__}.prepare_tools"
        shaped = yield CallUser(box.prepare_tools, (context, list(mine)))
        if not isinstance(shaped, list | tuple):
            shaped = [shaped]  # prepared_tool names the function that returned it
        first = offered.index(mine[0])  # the box's tools stay where they were
        rest = [t for t in offered if t.toolbox is not box]
        offered = [*rest[:first], *(prepared_tool(t, by) for t in shaped), *rest[first:]]
    return offered_tools(offered)


def _check_answer(
    reply: Reply,
    check: OutputCheck,
    context: RunContext[Any],
    attempts: list[StructuredOutputError],
) -> Step[Message | None]:
    """None when the final answer passes ``check``; else the message telling the model why
    (recording the attempt), or `OutputRetriesExceeded` once the retries are spent."""
    text = reply.message.text
    error = yield from _answer_error(text, check, context)
    if error is None:
        return None
    attempts.append(error)
    if len(attempts) > check.max_retries:
        raise OutputRetriesExceeded(attempts, check.max_retries)
    return retry_message(error)  # an answer in text: the model reads why as a user


def _answer_error(
    text: str, check: OutputCheck, context: RunContext[Any]
) -> Step[StructuredOutputError | None]:
    """None when ``text`` passes ``check``; else why not, as one rejected attempt."""
    try:
        # Through the shell: a pydantic type's own validators are user code too.
        value = yield CallUser(answer, (text, check.schema))
    except StructuredOutputError as error:
        return error
    if check.validator is None:
        return None
    try:
        yield _user(check.validator, (value,), context)
    except ToolError as error:  # how a validator rejects, as a tool tells the model it failed
        return rejected(error, text)
    except Exception as exc:
        exc.add_note("Raised by the output validator")
        raise
    return None
