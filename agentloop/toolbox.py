"""Toolbox: a class whose public methods are tools sharing one instance's state.

::

    class Memory(agentloop.Toolbox):
        "Remembers values for the rest of the conversation."

        def __init__(self) -> None:
            self.values: dict[str, str] = {}

        def set(self, key: str, value: str) -> None:
            "Set a value by key"
            self.values[key] = value

Every public method becomes a tool named ``{ClassName}_{method}``
(``Memory_set``), or ``{instance_name}_{method}`` for an instance given a
name, so two instances can serve one conversation. Methods starting with
``_`` and the methods of this base class are not tools. Optional
``async def prepare(self)`` and ``async def close(self)`` are awaited once
before first use and when the conversation closes; tools added in
``prepare()`` with [`Toolbox.add_tool`][agentloop.Toolbox.add_tool] are offered from the first
request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Self

from agentloop.context import RunContext
from agentloop.errors import DuplicateToolError, ToolDefinitionError
from agentloop.tools import (
    TOOL_NAME,
    Tool,
    ToolSet,
    ToolSource,
    default_tool_name,
    duplicate_tool_error,
    tool_options,
)

__all__ = [
    "Toolbox",
    "close_toolboxes",
    "offered_tools",
    "prepare_toolboxes",
    "prepared_tool",
    "step_toolboxes",
    "toolboxes_in",
]

_STATE_ATTRIBUTE = "_agentloop_toolbox_state"


@dataclass(slots=True)
class _State:
    instance_name: str | None = None
    method_tools: list[Tool] | None = None
    added: list[Tool] = field(default_factory=list)
    prepared: bool = False
    lock: asyncio.Lock | None = None


class Toolbox(ToolSet):
    """Base class for stateful tool collections (see the module documentation).

    Configure a toolbox through your own ``__init__``; calling
    ``super().__init__()`` is optional. The class docstring is the toolbox's
    [`description`][agentloop.Toolbox.description].
    """

    def __init__(self, *, instance_name: str | None = None) -> None:
        if instance_name is not None:
            self.named(instance_name)

    # -- naming ----------------------------------------------------------------

    @property
    def toolbox_name(self) -> str:
        """The prefix of this instance's tool names: its instance name, else its class name."""
        return self._toolbox_state().instance_name or type(self).__name__

    @property
    def description(self) -> str:
        """What the toolbox is for: the class docstring."""
        doc = type(self).__doc__
        return inspect.cleandoc(doc) if doc else ""

    def named(self, instance_name: str) -> Self:
        """Give this instance a name: its tools become ``{instance_name}_{method}``.

        Returns the toolbox, so ``tools=[Memory().named("work"), Memory().named("home")]``.
        """
        state = self._toolbox_state()
        if state.added:
            raise ToolDefinitionError(
                f"Name the {self.toolbox_name} toolbox before adding tools to it"
            )
        if not TOOL_NAME.fullmatch(f"{instance_name}_x"):
            raise ToolDefinitionError(
                f"{instance_name!r} is not a valid toolbox instance name: use letters, digits, "
                "underscores or hyphens, starting with a letter or underscore"
            )
        state.instance_name = instance_name
        state.method_tools = None
        return self

    # -- tools -----------------------------------------------------------------

    def tools(self) -> list[Tool]:
        """This instance's tools: its public methods, then the tools added with add_tool()."""
        state = self._toolbox_state()
        if state.method_tools is None:
            state.method_tools = self._method_tools()
        return [*state.method_tools, *state.added]

    def add_tool(
        self,
        fn: Callable[..., Any] | Tool,
        name: str | None = None,
        description: str | None = None,
        *,
        requires_approval: bool | None = None,
        sequential: bool | None = None,
        max_retries: int | None = None,
    ) -> Tool:
        """Add a tool to this instance at run time (in ``prepare()``, say).

        A function is named ``{toolbox_name}_{function name}`` unless a name is
        given (here or with ``@tool``); a ready [`Tool`][agentloop.Tool] keeps its name.
        A name already taken raises [`DuplicateToolError`][agentloop.errors.DuplicateToolError].
        """
        if isinstance(fn, Tool):
            item = dataclasses.replace(fn, name=name or fn.name, toolbox=self)
        else:
            explicit = name if name is not None else tool_options(fn).name
            item = Tool.function(
                fn,
                explicit or f"{self.toolbox_name}_{default_tool_name(fn)}",
                description,
                requires_approval=requires_approval,
                sequential=sequential,
                max_retries=max_retries,
                toolbox=self,
            )
        for existing in self.tools():
            if existing.name == item.name:
                raise duplicate_tool_error(existing, item)
        self._toolbox_state().added.append(item)
        return item

    def _method_tools(self) -> list[Tool]:
        tools: list[Tool] = []
        for attribute in _public_methods(type(self)):
            method = getattr(self, attribute)
            explicit = tool_options(method).name
            item = Tool.function(
                method, explicit or f"{self.toolbox_name}_{attribute}", toolbox=self
            )
            for existing in tools:
                if existing.name == item.name:
                    raise duplicate_tool_error(existing, item)
            tools.append(item)
        return tools

    # -- life cycle ------------------------------------------------------------

    async def prepare(self) -> None:
        """Override to set up before first use (open a client, list remote tools...)."""

    async def close(self) -> None:
        """Override to release what prepare() set up; runs only after prepare() ran."""

    def prepare_tools(self, ctx: RunContext[Any], tools: list[Tool]) -> Any:
        """Override to hide or reshape this toolbox's tools for the next model call.

        Called before each model call with the run's [`RunContext`][agentloop.RunContext] and
        the tools about to be offered; returns those to offer (a list of Tools, or an
        awaitable of one: may be ``async def``). ``ctx.ran("Repo_edit")``, say, offers a
        ``commit`` tool only once an edit succeeded.
        """
        return tools

    @property
    def prepared(self) -> bool:
        return self._toolbox_state().prepared

    async def ensure_prepared(self) -> None:
        """Run prepare() unless it already ran (safe to call again, and concurrently)."""
        state = self._toolbox_state()
        if state.prepared:
            return
        if state.lock is None:
            state.lock = asyncio.Lock()
        async with state.lock:
            if not state.prepared:
                await _settle(self.prepare())
                state.prepared = True

    async def aclose(self) -> None:
        """Run close() once if prepare() ran; the toolbox may be prepared again later."""
        state = self._toolbox_state()
        if not state.prepared:
            return
        state.prepared = False
        await _settle(self.close())

    def _toolbox_state(self) -> _State:
        # Kept in the instance dict so subclasses need not call super().__init__().
        state = self.__dict__.get(_STATE_ATTRIBUTE)
        if state is None:
            state = self.__dict__[_STATE_ATTRIBUTE] = _State()
        return state

    def __repr__(self) -> str:
        named = self._toolbox_state().instance_name
        return f"<{type(self).__name__} toolbox{f' {named!r}' if named else ''}>"


_BASE_ATTRIBUTES = frozenset(dir(Toolbox))


def _public_methods(cls: type[Toolbox]) -> list[str]:
    """Public methods defined by ``cls`` and its bases below Toolbox, in definition order."""
    names: dict[str, None] = {}
    for klass in reversed(cls.__mro__):
        if klass in Toolbox.__mro__:
            continue
        for attribute, value in vars(klass).items():
            if attribute.startswith("_") or attribute in _BASE_ATTRIBUTES:
                continue
            if inspect.isfunction(value) or isinstance(value, staticmethod | classmethod):
                names[attribute] = None
            else:  # a subclass replaced a method with something else
                names.pop(attribute, None)
    return list(names)


async def _settle(result: Any) -> None:
    """Await the result of a hook written as ``async def`` (a plain def also works)."""
    if inspect.isawaitable(result):
        await result


def toolboxes_in(items: Iterable[ToolSource | Tool]) -> list[Toolbox]:
    """The distinct Toolbox instances among ``items`` or owning them, in order."""
    found: dict[int, Toolbox] = {}
    for item in items:
        box = item if isinstance(item, Toolbox) else getattr(item, "toolbox", None)
        if isinstance(box, Toolbox):
            found.setdefault(id(box), box)
    return list(found.values())


async def prepare_toolboxes(items: Iterable[ToolSource | Tool]) -> None:
    """Prepare every toolbox among ``items`` (the ``tools=[...]`` list), in order, once.

    Call it before `collect_tools` so tools added in
    ``prepare()`` are listed.
    """
    for box in toolboxes_in(items):
        await box.ensure_prepared()


async def close_toolboxes(items: Iterable[ToolSource | Tool]) -> None:
    """Close every prepared toolbox among ``items``, in reverse order.

    Every toolbox gets its close() even if an earlier one fails; the first
    failure is raised afterwards.
    """
    first_error: BaseException | None = None
    for box in reversed(toolboxes_in(items)):
        try:
            await box.aclose()
        except Exception as exc:
            first_error = first_error or exc
    if first_error is not None:
        raise first_error


def step_toolboxes(tools: Iterable[Tool]) -> list[Toolbox]:
    """The toolboxes among ``tools``' owners that override `Toolbox.prepare_tools`."""
    return [
        box for box in toolboxes_in(tools) if type(box).prepare_tools is not Toolbox.prepare_tools
    ]


def prepared_tool(value: object, by: str) -> Tool:
    """``value`` if it is a Tool, else the error naming the ``prepare`` function ``by``."""
    if not isinstance(value, Tool):
        raise ToolDefinitionError(
            f"{by} returned {value!r:.60} ({type(value).__name__}): it must return Tools "
            "(use dataclasses.replace(tool, ...) to reshape one)"
        )
    return value


def offered_tools(tools: Iterable[Tool]) -> dict[str, Tool]:
    """The name -> Tool mapping of the tools a step offers, refusing two with one name."""
    found: dict[str, Tool] = {}
    for item in tools:
        if item.name in found:
            raise DuplicateToolError(
                f"Two tools prepared for one step are named {item.name!r}: rename one"
            )
        found[item.name] = item
    return found
