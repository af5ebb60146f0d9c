"""A tool: a function the model may call, with its schema, validation and result formatting.

Any callable in ``tools=[...]`` becomes a [`Tool`][agentloop.Tool] through
[`Tool.function`][agentloop.Tool.function]; ``@tool(...)`` on a function or a Toolbox method sets
its name, description and flags. A tool splits its work for the chain:

- [`Tool.validate`][agentloop.Tool.validate] (pure) turns a [`ToolCall`][agentloop.ToolCall] into
  keyword arguments, or raises [`ToolArgumentsError`][agentloop.errors.ToolArgumentsError] worded
  for the model;
- [`Tool.invoke`][agentloop.Tool.invoke] is the only step that runs user code;
- [`Tool.result`][agentloop.Tool.result] and [`Tool.error_result`][agentloop.Tool.error_result]
  (pure) turn a return value or an exception into the [`ToolResult`][agentloop.ToolResult] the model
  reads (`format_return`).

What ``tools=`` accepts, and the retry budget, are `agentloop.tools`, which re-exports all of this.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar, overload

from pydantic_core import to_json

from agentloop.arguments import FunctionArguments, SchemaArguments, Validator
from agentloop.errors import ToolArgumentsError, ToolDefinitionError, ToolError
from agentloop.media import File, Image
from agentloop.messages import ToolCall, ToolResult
from agentloop.providers.wire_json import scrub
from agentloop.schema import Schema, callable_name, function_schema
from agentloop.schema_transforms import Transform, registered_transform

if TYPE_CHECKING:
    from agentloop.toolbox import Toolbox

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_MAX_RETRIES = 3
#: How an unexpected exception inside a tool reaches the model: as
#: ``TypeName: message`` ("report"), as a bare "the tool failed" ("redact"),
#: or not at all because it propagates to the caller ("raise").
ErrorMode = Literal["report", "redact", "raise"]
ERROR_MODES: tuple[str, ...] = ("report", "redact", "raise")

#: Names every provider accepts: OpenAI and Anthropic allow [A-Za-z0-9_-]{1,64},
#: Gemini also wants a letter or underscore first.
TOOL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
_OPTIONS_ATTRIBUTE = "__agentloop_tool__"


#: Hides (None) or reshapes (a Tool) a tool for the next step, given the run's context:
#: ``prepare(ctx, tool)``, sync or ``async def``, evaluated before each model call.
Prepare: TypeAlias = "Callable[[Any, Tool], Tool | Awaitable[Tool | None] | None]"


@dataclass(frozen=True, slots=True)
class ToolOptions:
    """What ``@tool(...)`` sets on a function; None keeps the default."""

    name: str | None = None
    description: str | None = None
    requires_approval: bool | None = None
    sequential: bool | None = None
    max_retries: int | None = None
    prepare: Prepare | None = None


@overload
def tool(fn: F, /) -> F: ...
@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    requires_approval: bool | None = None,
    sequential: bool | None = None,
    max_retries: int | None = None,
    prepare: Prepare | None = None,
) -> Callable[[F], F]: ...
def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    requires_approval: bool | None = None,
    sequential: bool | None = None,
    max_retries: int | None = None,
    prepare: Prepare | None = None,
) -> Any:
    """Mark a function or Toolbox method as a tool, overriding its defaults.

    ``@tool`` and ``@tool(name=..., description=..., requires_approval=True,
    sequential=True, max_retries=5)``. The function itself is returned
    unchanged (still callable as before); the options are read when it
    becomes a [`Tool`][agentloop.Tool]. ``requires_approval`` makes the chain ask before
    running it; ``sequential`` runs it alone, never alongside other calls. ``prepare(ctx,
    tool)`` hides (returns None) or reshapes (returns a Tool) it before each model call
    (see [`RunContext`][agentloop.RunContext]).
    """
    options = ToolOptions(name, description, requires_approval, sequential, max_retries, prepare)

    def mark(target: F) -> F:
        if not callable(target):
            raise ToolDefinitionError(f"@tool decorates functions, not {type(target).__name__}")
        setattr(target, _OPTIONS_ATTRIBUTE, options)
        return target

    return mark(fn) if fn is not None else mark


@dataclass(slots=True)
class ToolReturn:
    """A tool's return value with media: ``output`` (formatted like any return
    value) for the text, ``attachments`` (images or files) shown to the model
    where the provider supports media in tool results."""

    output: Any = ""
    attachments: Sequence[Image | File] = ()


@dataclass(eq=False, slots=True)
class Tool:
    """A callable the model may use: its name, description, JSON schema and function.

    Build one with [`function`][agentloop.Tool.function] (or let ``tools=[fn]`` do it). Constructed
    directly with a ready JSON schema, it checks only the arguments' shape
    (required and unknown properties), for tools that have no Python
    signature, such as an MCP server's.
    """

    name: str
    description: str
    #: The JSON schema of the arguments, built once. Treat it as read-only.
    parameters: Schema
    fn: Callable[..., Any]
    requires_approval: bool = False
    #: Run alone: never concurrently with the other calls of the same step.
    sequential: bool = False
    #: Consecutive failures tolerated before the chain gives up on this tool.
    max_retries: int = DEFAULT_MAX_RETRIES
    #: The Toolbox instance this tool is a method of, if any.
    toolbox: Toolbox | None = None
    validator: Validator | None = field(default=None, repr=False)
    #: The parameter annotated [`RunContext`][agentloop.RunContext], passed by the run.
    context_parameter: str | None = field(default=None, repr=False)
    #: Hides or reshapes the tool before each model call: ``prepare(ctx, tool)``.
    prepare: Prepare | None = field(default=None, repr=False)
    is_async: bool = field(init=False)
    _variants: dict[Transform, Schema] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not TOOL_NAME.fullmatch(self.name):
            raise ToolDefinitionError(
                f"{self.name!r} is not a valid tool name: use 1 to 64 letters, digits, "
                "underscores or hyphens, starting with a letter or underscore"
            )
        if self.max_retries < 0:
            raise ToolDefinitionError(f"Tool {self.name!r}: max_retries must be >= 0")
        if self.validator is None:
            self.validator = SchemaArguments(self.parameters)
        self.is_async = _is_async(self.fn)
        self._variants = {}

    @classmethod
    def function(
        cls,
        fn: Callable[..., Any],
        name: str | None = None,
        description: str | None = None,
        *,
        requires_approval: bool | None = None,
        sequential: bool | None = None,
        max_retries: int | None = None,
        toolbox: Toolbox | None = None,
    ) -> Tool:
        """Wrap a function (sync or ``async def``): schema from its signature and docstring.

        Arguments given here win over ``@tool(...)`` options, which win over
        the defaults (the function's name and docstring).
        """
        if isinstance(fn, Tool):
            return _with_overrides(
                fn, name, description, requires_approval, sequential, max_retries, toolbox
            )
        if not callable(fn):
            raise ToolDefinitionError(f"{fn!r} is not callable, so it cannot be a tool")
        options = tool_options(fn)
        schema = function_schema(fn)
        tool_name = name if name is not None else options.name
        if tool_name is None:
            tool_name = default_tool_name(fn)
        return cls(
            name=tool_name,
            description=_first(description, options.description, default=schema.description),
            parameters=schema.parameters,
            fn=_keyword_callable(fn, schema.positional_only),
            requires_approval=_first(requires_approval, options.requires_approval, default=False),
            sequential=_first(sequential, options.sequential, default=False),
            max_retries=_first(max_retries, options.max_retries, default=DEFAULT_MAX_RETRIES),
            toolbox=toolbox,
            validator=FunctionArguments(schema),
            context_parameter=schema.context_parameter,
            prepare=options.prepare,
        )

    def parameters_for(self, transform: Transform | None) -> Schema:
        """The parameters' schema as ``transform`` reshapes it for a provider (computed once
        per transform, then cached on the tool); None gives `parameters` as they are.

        Each codec passes its own transform (OpenAI strict mode, Gemini's subset...), which
        raises [`ConversionError`][agentloop.errors.ConversionError] for a schema it cannot
        express.
        """
        if transform is None:
            return self.parameters
        cached = self._variants.get(transform)
        if cached is None:
            cached = self._variants[transform] = transform(self.parameters)
        return cached

    def schema(self, strict: bool = False, provider: str | None = None) -> Schema:
        """The parameters' schema as a wire format registered it (cached per variant).

        ``provider`` names a wire format whose codec package is loaded (its transforms are
        registered as it is imported); ``strict=True`` asks for its strict form, or with no
        format for the strict form most hosts take. A format with no transform of its own
        gives `parameters`. Codecs call `parameters_for` with their transform instead.
        """
        return self.parameters_for(registered_transform(provider, strict))

    def validate(self, call: ToolCall) -> dict[str, Any]:
        """The keyword arguments for [`invoke`][agentloop.Tool.invoke], validated and coerced
        (pure).

        Raises [`ToolArgumentsError`][agentloop.errors.ToolArgumentsError], whose message tells the
        model what to fix.
        """
        assert self.validator is not None  # set in __post_init__
        return self.validator.validate(call)

    def invoke(self, kwargs: dict[str, Any]) -> Any:
        """Run the function. For an ``async def`` tool this returns the coroutine."""
        return self.fn(**kwargs)

    def result(self, call: ToolCall, value: Any) -> ToolResult:
        """The result the model reads for a return value (pure)."""
        output, attachments = format_return(value)
        # A lone surrogate (a file name read with surrogateescape, say) would make every
        # later request of the conversation fail to encode: the model reads U+FFFD instead.
        return ToolResult(call.name, scrub(output), call.tool_call_id, attachments=attachments)

    def error_result(
        self, call: ToolCall, exc: BaseException, mode: ErrorMode = "report"
    ) -> ToolResult:
        """The result the model reads when the tool failed; the exception is kept on it.

        [`ToolError`][agentloop.errors.ToolError] and
        [`ToolArgumentsError`][agentloop.errors.ToolArgumentsError] are written for the model and
        always show their message. Any other exception shows as ``TypeName: message`` ("report"), as
        a bare failure notice ("redact"), or is re-raised ("raise").
        """
        if mode not in ERROR_MODES:
            raise ValueError(f"error mode must be one of {', '.join(ERROR_MODES)}, not {mode!r}")
        if isinstance(exc, ToolError | ToolArgumentsError):
            output = str(exc) or f"Tool {call.name!r} failed."
        elif mode == "raise":
            raise exc
        elif mode == "redact":
            output = f"Tool {call.name!r} failed."
        else:
            output = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return ToolResult(call.name, scrub(output), call.tool_call_id, is_error=True, exception=exc)


def format_return(value: Any) -> tuple[str, list[Image | File]]:
    """The text and attachments for a tool's return value.

    A str is sent as is; an Image or File (or a list of them) as attachments;
    a [`ToolReturn`][agentloop.ToolReturn] as both; anything else (pydantic models,
    dataclasses, dicts, lists, numbers, None) as compact JSON, with ``str()``
    for values JSON has no form for.
    """
    if isinstance(value, str):
        return value, []
    if isinstance(value, Image | File):
        return "", [value]
    if isinstance(value, ToolReturn):
        output, attachments = format_return(value.output)
        return output, attachments + list(value.attachments)
    if (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(v, Image | File) for v in value)
    ):
        return "", list(value)
    return to_json(value, fallback=str).decode(), []


def _with_overrides(
    item: Tool,
    name: str | None,
    description: str | None,
    requires_approval: bool | None,
    sequential: bool | None,
    max_retries: int | None,
    toolbox: Toolbox | None,
) -> Tool:
    given: dict[str, Any] = {
        "name": name,
        "description": description,
        "requires_approval": requires_approval,
        "sequential": sequential,
        "max_retries": max_retries,
        "toolbox": toolbox,
    }
    changes = {key: value for key, value in given.items() if value is not None}
    return dataclasses.replace(item, **changes) if changes else item


T = TypeVar("T")


def _first(*values: T | None, default: T) -> T:
    return next((v for v in values if v is not None), default)


def tool_options(fn: Callable[..., Any]) -> ToolOptions:
    """The options ``@tool(...)`` set on ``fn`` (all None when it was not decorated)."""
    options = getattr(fn, _OPTIONS_ATTRIBUTE, None)
    return options if isinstance(options, ToolOptions) else ToolOptions()


def default_tool_name(fn: Callable[..., Any]) -> str:
    """The function's own name, if providers accept it as a tool name."""
    target = fn.func if isinstance(fn, functools.partial) else fn
    name = getattr(target, "__name__", None) or type(target).__name__
    if not TOOL_NAME.fullmatch(name):
        raise ToolDefinitionError(
            f"{callable_name(fn)} has no name a provider accepts ({name!r}): "
            "give one with Tool.function(fn, name=...) or @agentloop.tool(name=...)"
        )
    return str(name)


def _is_async(fn: Callable[..., Any]) -> bool:
    call = getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)


def _keyword_callable(
    fn: Callable[..., Any], positional_only: tuple[str, ...]
) -> Callable[..., Any]:
    """``fn``, callable with keywords only: positional-only parameters are passed by position."""
    if not positional_only:
        return fn

    def split(kwargs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        rest = dict(kwargs)
        return [rest.pop(name) for name in positional_only], rest

    if _is_async(fn):

        @functools.wraps(fn)
        async def call_async(**kwargs: Any) -> Any:
            args, rest = split(kwargs)
            return await fn(*args, **rest)

        return call_async

    @functools.wraps(fn)
    def call(**kwargs: Any) -> Any:
        args, rest = split(kwargs)
        return fn(*args, **rest)

    return call
