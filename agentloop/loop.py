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

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from agentloop.context import RunContext
from agentloop.effects import (
    AfterCall,
    Approve,
    BeforeCall,
    CallModel,
    CallUser,
    ChainSpec,
    Decision,
    Effect,
    ErrorMode,
    Hooks,
    Listener,
    Outcome,
    Pause,
    PausedCall,
    RunConcurrently,
    Step,
    check_chain_limit,
    user_call,
)
from agentloop.errors import (
    ChainLimitExceeded,
    ContextTooLongError,
    OutputRetriesExceeded,
    StructuredOutputError,
    ToolError,
)
from agentloop.events import (
    ChainFinished,
    ChainStarted,
    ModelCallFinished,
    ModelCallStarted,
    ToolCallReady,
)
from agentloop.history import arrange, unanswered_calls
from agentloop.history_processors import HistoryContext, checked, tighten
from agentloop.messages import Message, ToolCall
from agentloop.providers.base import Reply, Request
from agentloop.providers.wire_cache import WireCache
from agentloop.spending import SpendLimit, Spent, check_after, check_before, record
from agentloop.structured import OutputCheck, answer, rejected, retry_message
from agentloop.tool_calls import settle
from agentloop.toolbox import offered_tools, prepared_tool, step_toolboxes
from agentloop.tools import RetryBudget, Tool
from agentloop.usage import Usage

# The chain's vocabulary lives in agentloop.effects; these names are imported from here too.
__all__ = [
    "AfterCall",
    "Approve",
    "BeforeCall",
    "CallModel",
    "CallUser",
    "ChainSpec",
    "Decision",
    "Effect",
    "ErrorMode",
    "Hooks",
    "Listener",
    "Outcome",
    "Pause",
    "PausedCall",
    "RunConcurrently",
    "Step",
    "check_chain_limit",
    "run_chain",
]

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
    # Only a history with tool calls or results may need arranging or settling (a batch
    # prompt has neither: no walk over it for nothing).
    pending: list[ToolCall] = []
    if any(message.role in _CALL_ROLES for message in history):
        history[:] = arrange(history)
        pending = unanswered_calls(history)
    if pending:
        # A conversation never sends a tool call without its result: calls the
        # model made earlier (a prompt() reply, a paused or limited chain, a
        # message list the caller kept) run first, through the same hooks and
        # approval as any other call, their results placed right after them.
        pause = yield from settle(pending, spec, budget, listener, history, resume)
        if pause is not None:
            return Outcome(0, pause)
    history.extend(new_messages)
    offered = tuple(spec.tools.values())  # fixed for the run once toolboxes are prepared
    every_tool = spec.tools
    preparing = bool(offered) and (any(t.prepare for t in offered) or bool(step_toolboxes(offered)))
    model_calls = 0
    spent, limit = Spent(), spec.spend_limit
    attempts: list[StructuredOutputError] = []
    while True:
        if preparing:  # the step's tools, which the calls it makes are run against too
            spec.tools = yield from _prepare_step(every_tool, context.replace())
            offered = tuple(spec.tools.values())
        request = _request(history, offered, spec, wire_cache)
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
        pause = yield from settle(calls, spec, budget, listener, history, None)
        if pause is not None:
            return Outcome(model_calls, pause)


#: The roles of the messages that carry tool calls and their results.
_CALL_ROLES = frozenset({"assistant", "tool"})


def _request(
    history: list[Message], offered: tuple[Tool, ...], spec: ChainSpec, cache: WireCache | None
) -> Request:
    """The next model call's request: the whole history, the tools on offer."""
    return Request(
        list(history),
        offered,
        spec.options,
        spec.schema,
        spec.stream,
        spec.schema_name,
        cache,
        spec.server_tools,
    )


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
        yield user_call(check.validator, (value,), context)
    except ToolError as error:  # how a validator rejects, as a tool tells the model it failed
        return rejected(error, text)
    except Exception as exc:
        exc.add_note("Raised by the output validator")
        raise
    return None
