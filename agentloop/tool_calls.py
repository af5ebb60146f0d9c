"""One step's tool calls, run as the chain core's effects (sans-I/O, like `agentloop.loop`).

`settle` runs the calls of one reply (or those left unanswered, or paused and now decided):
grouped so a ``sequential`` tool runs alone and the others concurrently; each through its
pipeline (the ``before_call`` hook, the unknown-tool check, approval, argument validation, the
tool, the ``after_call`` hook), its results placed in the history after their calls, or a
`Pause` when a hook or approver paused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

from agentloop.context import RunContext
from agentloop.effects import (
    CallUser,
    ChainSpec,
    Decision,
    ErrorMode,
    Listener,
    Pause,
    PausedCall,
    RunConcurrently,
    Step,
    user_call,
)
from agentloop.errors import CancelToolCall, PauseChain
from agentloop.events import ApprovalDecided, ApprovalRequested, ToolFinished, ToolRunning
from agentloop.history import arrange, group_by_call
from agentloop.messages import Message, ToolCall, ToolResult
from agentloop.tools import RetryBudget, Tool, ToolArgumentsError


def settle(
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
        after = user_call(hooks.after_call, (tool, call, result), context)
        yield from _hook("after_call", call, after)
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
            before = user_call(hooks.before_call, (tool, call), context)
            yield from _hook("before_call", call, before)
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
    if tool.requires_approval or hooks.approve_all:
        if hooks.approve is None:
            why = "requires approval" if tool.requires_approval else "needs approval (approve_all)"
            reason = (
                f"Tool {tool.name!r} {why} and no approver is configured, so the call was refused."
            )
            return _refusal(call, reason), False
        if spec.emit_events:
            yield ApprovalRequested(call)
        try:
            asked = user_call(hooks.approve, (tool, call), context)
            approved = yield from _hook("approve", call, asked)
        except PauseChain as pause:
            return PausedCall(call, "approve", pause.reason)
        # A string is a refusal with the approver's own reason, as when resuming.
        said = approved if isinstance(approved, str) else None
        if spec.emit_events:
            yield ApprovalDecided(call, approved is True, said)
        if approved is not True:
            reason = said or f"The user did not approve this call to {tool.name!r}."
            return _refusal(call, reason), False
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
