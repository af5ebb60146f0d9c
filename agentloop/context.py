"""`RunContext`: what a tool, a hook, an output validator or a ``prepare`` function may ask
the run for, rather than reach for globals.

A function declares one parameter annotated ``RunContext`` (or ``RunContext[Deps]``): a tool
then leaves it out of the schema the model sees, and every caller passes the run's context
under that name. ``deps`` is whatever the application gave as ``deps=`` (a database session,
the user), typed by the parameter ``Deps`` for the type checker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar, get_args, get_origin
from weakref import WeakKeyDictionary

from agentloop.errors import ToolDefinitionError
from agentloop.messages import Message, ToolCall
from agentloop.usage import Usage

if TYPE_CHECKING:
    from agentloop.conversation import Conversation

__all__ = ["Deps", "RunContext", "context_parameter", "is_run_context"]

Deps = TypeVar("Deps")


@dataclass(slots=True)
class RunContext(Generic[Deps]):
    """The run as user code sees it: a snapshot made for each call.

    ``tool_call`` and ``retry`` are set for a tool (``retry``: its consecutive failures so
    far, 0 on a first try); ``step`` counts the model calls this run has made; ``usage``
    sums their tokens (its ``cost`` is known only where a ``max_cost`` priced them).
    """

    deps: Deps
    #: The conversation this run belongs to (None only for a context made by hand).
    conversation: Conversation | None = None
    #: The history so far, as it will be sent (the conversation's own list).
    messages: list[Message] = field(default_factory=list)
    tool_call: ToolCall | None = None
    retry: int = 0
    step: int = 0
    usage: Usage = field(default_factory=Usage)

    def ran(self, tool_name: str) -> bool:
        """Whether the history holds a successful result of the tool named ``tool_name``."""
        return any(
            result.name == tool_name and not result.is_error
            for message in self.messages
            if message.role == "tool"
            for result in message.tool_results
        )

    def replace(self, **changes: Any) -> RunContext[Deps]:
        """A copy with ``changes``: what the run hands each call, so user code holding on to
        one context does not see it change."""
        return dataclasses.replace(self, **changes)


def is_run_context(annotation: Any) -> bool:
    """Whether ``annotation`` is ``RunContext``, ``RunContext[X]`` or an ``Annotated`` one."""
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation is RunContext or get_origin(annotation) is RunContext


def _is_context_hint(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation.rpartition(".")[2].split("[", 1)[0] == "RunContext"
    return is_run_context(annotation)


_PARAMETERS: WeakKeyDictionary[Callable[..., Any], str | None] = WeakKeyDictionary()


def context_parameter(fn: Callable[..., Any]) -> str | None:
    """The name of ``fn``'s parameter annotated `RunContext`, or None (read once per function).

    Two such parameters raise [`ToolDefinitionError`][agentloop.errors.ToolDefinitionError].
    A function whose signature cannot be read takes no context.
    """
    key = getattr(fn, "__func__", fn)  # a bound method: cached per function
    try:
        return _PARAMETERS[key]
    except (KeyError, TypeError):
        pass
    try:
        signature = inspect.signature(fn, eval_str=True)
    except NameError:  # a hint naming what only a TYPE_CHECKING block imports: read as text
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # no signature to read (some builtins)
        return None
    names = [p.name for p in signature.parameters.values() if _is_context_hint(p.annotation)]
    if len(names) > 1:
        raise ToolDefinitionError(
            f"{getattr(fn, '__qualname__', fn)!r} declares {len(names)} RunContext parameters "
            f"({', '.join(names)}): declare one"
        )
    name = names[0] if names else None
    with contextlib.suppress(TypeError):  # not weak-referenceable (a partial): read each time
        _PARAMETERS[key] = name
    return name
