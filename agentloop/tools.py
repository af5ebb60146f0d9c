"""What ``tools=`` accepts, and how many failures a tool may have in a row.

``tools=[...]`` takes functions (or other callables), [`Tool`][agentloop.Tool]s, Toolbox
instances and provider-side tools: `tool_sources` checks and lists them, `collect_tools` makes
the name -> Tool mapping (two tools with one name are an error), `collect_server_tools` picks
the provider-side ones. `RetryBudget` counts consecutive failures per tool and stops a model
that keeps failing.

The tool itself (`Tool`, ``@tool``, result formatting) is `agentloop.tool_definition`; its
names are importable from here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from agentloop.errors import (
    DuplicateToolError,
    ToolArgumentsError,
    ToolDefinitionError,
    ToolError,
    ToolRetriesExceeded,
)
from agentloop.messages import ToolResult
from agentloop.schema import callable_name
from agentloop.server_tools import ServerTool
from agentloop.tool_definition import (
    DEFAULT_MAX_RETRIES,
    ERROR_MODES,
    TOOL_NAME,
    ErrorMode,
    Prepare,
    Tool,
    ToolOptions,
    ToolReturn,
    default_tool_name,
    format_return,
    tool,
    tool_options,
)

if TYPE_CHECKING:
    from agentloop.toolbox import Toolbox

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "ERROR_MODES",
    "TOOL_NAME",
    "ErrorMode",
    "Prepare",
    "RetryBudget",
    "Tool",
    "ToolArgumentsError",
    "ToolError",
    "ToolOptions",
    "ToolReturn",
    "ToolSet",
    "ToolSource",
    "Tools",
    "collect_server_tools",
    "collect_tools",
    "default_tool_name",
    "duplicate_tool_error",
    "format_return",
    "server_tools_of",
    "tool",
    "tool_options",
    "tool_sources",
    "tools_of",
]

#: Anything ``tools=[...]`` accepts: a function (or other callable), a Tool, a Toolbox, or a
#: provider-side tool (``WebSearch()``, ``CodeExecution()``: see `agentloop.server_tools`).
ToolSource: TypeAlias = "Callable[..., Any] | Tool | Toolbox | ServerTool"
#: What ``tools=`` accepts: a list (any iterable) of tool sources, or a single one.
Tools: TypeAlias = "ToolSource | Iterable[ToolSource]"


class RetryBudget:
    """Consecutive failures per tool: a failure counts, a success resets (pure).

    The failure after ``max_retries`` consecutive ones raises
    [`ToolRetriesExceeded`][agentloop.errors.ToolRetriesExceeded] (naming the tool, with the last
    error as its cause), so a model that keeps sending a bad call is stopped.
    """

    __slots__ = ("_failures", "default_max_retries")

    def __init__(self, default_max_retries: int = DEFAULT_MAX_RETRIES) -> None:
        #: Applies to names that are not tools (the model called a tool that does not exist).
        self.default_max_retries = default_max_retries
        self._failures: dict[str, int] = {}

    def record(
        self,
        tool: Tool | str,
        failed: bool,
        result: ToolResult | BaseException | None = None,
    ) -> None:
        """Count one outcome of ``tool`` (a Tool, so its own max_retries applies, or a name)."""
        name = tool.name if isinstance(tool, Tool) else tool
        if not failed:
            self._failures.pop(name, None)
            return
        limit = tool.max_retries if isinstance(tool, Tool) else self.default_max_retries
        count = self._failures.get(name, 0) + 1
        self._failures[name] = count
        if count > limit:
            error = _error_of(result)
            raise ToolRetriesExceeded(name, error, failures=count, max_retries=limit) from error

    def failures(self, name: str) -> int:
        """Consecutive failures of the tool named ``name`` so far."""
        return self._failures.get(name, 0)

    def reset(self) -> None:
        self._failures.clear()


class ToolSet:
    """Base of the objects that offer several tools at once: ``tools=`` takes an instance and
    offers its `tools`. [`Toolbox`][agentloop.Toolbox] is agentloop's.

    Defined here rather than in `agentloop.toolbox` so that reading ``tools=`` needs only this
    module: toolbox.py builds on tools.py, never the other way round.
    """

    def tools(self) -> list[Tool]:
        raise NotImplementedError


def tool_sources(tools: Tools) -> list[ToolSource]:
    """``tools=`` as a list: a single function, Tool or Toolbox becomes a list of one.

    Anything else that is not a tool, alone or in the list, raises
    [`ToolDefinitionError`][agentloop.errors.ToolDefinitionError] (a ``TypeError``) naming
    ``tools=`` and the item.
    """
    if not tools and (type(tools) is list or type(tools) is tuple):
        return []  # no tools, the usual case (every prompt of a batch asks)
    single = isinstance(tools, Tool | ToolSet | ServerTool) or callable(tools)
    if single:
        items: list[Any] = [tools]
    elif isinstance(tools, list | tuple) or (  # the usual ones first: the ABC check is slower
        isinstance(tools, Iterable) and not isinstance(tools, str | bytes | Mapping)
    ):
        items = list(tools)
    else:
        raise ToolDefinitionError(
            f"tools= takes a function, a Tool, a Toolbox instance or a list of them, "
            f"not {_describe(tools)}{_hint(tools)}"
        )
    for index, item in enumerate(items):
        _check_source(item, "tools=" if single else f"tools=[...] item {index}")
    return items


def _check_source(source: Any, at: str) -> None:
    if isinstance(source, type) and issubclass(source, ToolSet):
        raise ToolDefinitionError(
            f"{at}: {source.__name__} is a Toolbox class: pass an instance, {source.__name__}()"
        )
    if not (isinstance(source, Tool | ToolSet | ServerTool) or callable(source)):
        raise ToolDefinitionError(
            f"{at}: {_describe(source)} is not a tool: pass a function, a Tool or a Toolbox "
            f"instance{_hint(source)}"
        )


def _describe(value: Any) -> str:
    return f"{value!r:.60} ({type(value).__name__})"


def _hint(value: Any) -> str:
    # The likeliest mistake behind a str: naming a tool instead of passing it.
    return "; to offer a function, pass the function itself" if isinstance(value, str) else ""


def collect_tools(sources: Tools) -> dict[str, Tool]:
    """The name -> Tool mapping for ``tools=``: functions, Tools and Toolbox instances.

    ``sources`` is normalized by `tool_sources` (so a single tool works
    too). Two tools with one name raise [`DuplicateToolError`][agentloop.errors.DuplicateToolError];
    nothing is silently replaced. Tools a Toolbox adds in ``prepare()`` appear once it
    has been prepared (see `agentloop.toolbox.prepare_toolboxes`).
    """
    return tools_of(tool_sources(sources))


def tools_of(sources: list[ToolSource]) -> dict[str, Tool]:
    """`collect_tools` of a list `tool_sources` already made (a conversation has one)."""
    found: dict[str, Tool] = {}
    for source in sources:
        if isinstance(source, ServerTool):
            continue  # the provider runs it: `collect_server_tools`
        if isinstance(source, Tool):
            tools = [source]
        elif isinstance(source, ToolSet):
            tools = source.tools()
        else:
            tools = [Tool.function(source)]
        for item in tools:
            if item.name in found:
                raise duplicate_tool_error(found[item.name], item)
            found[item.name] = item
    return found


def collect_server_tools(sources: Tools) -> tuple[ServerTool, ...]:
    """The provider-side tools among ``tools=`` (``WebSearch()``...), in order; sent with each
    request as neutral data and never run here. Two of one kind raise
    [`DuplicateToolError`][agentloop.errors.DuplicateToolError]: a provider takes each once."""
    return server_tools_of(tool_sources(sources))


def server_tools_of(sources: list[ToolSource]) -> tuple[ServerTool, ...]:
    """`collect_server_tools` of a list `tool_sources` already made."""
    found: dict[type, ServerTool] = {}
    for source in sources:
        if not isinstance(source, ServerTool):
            continue
        if type(source) in found:
            raise DuplicateToolError(
                f"tools= holds {source.kind} twice ({found[type(source)]!r} and {source!r}): "
                "a provider takes each provider-side tool once; keep one"
            )
        found[type(source)] = source
    return tuple(found.values())


def duplicate_tool_error(first: Tool, second: Tool) -> DuplicateToolError:
    """The error for two tools sharing a name, saying where each comes from and what to do."""
    boxes = (first.toolbox, second.toolbox)
    if (
        boxes[0] is not None
        and boxes[1] is not None
        and boxes[0] is not boxes[1]
        and type(boxes[0]) is type(boxes[1])
    ):
        kind = type(boxes[0]).__name__
        return DuplicateToolError(
            f"Two {kind} toolboxes both offer a tool named {first.name!r}. Tool names must be "
            f"unique in a conversation: give each instance its own name, e.g. "
            f"{kind}().named('work')"
        )
    return DuplicateToolError(
        f"Two tools are named {first.name!r}: {_origin(first)} and {_origin(second)}. "
        "Tool names must be unique in a conversation: rename one with "
        "@agentloop.tool(name=...) or Tool.function(fn, name=...)"
    )


def _origin(item: Tool) -> str:
    if item.toolbox is not None:
        return f"a tool of the {item.toolbox.toolbox_name} toolbox"
    return f"function {callable_name(item.fn)}"


def _error_of(result: ToolResult | BaseException | None) -> BaseException:
    if isinstance(result, BaseException):
        return result
    if result is not None and result.exception is not None:
        return result.exception
    return ToolError(result.output if result is not None else "the tool failed")
