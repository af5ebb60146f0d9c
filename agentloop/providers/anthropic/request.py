"""A [`Request`][agentloop.Request] as the JSON body of ``POST /v1/messages`` (pure).

The neutral options map onto Anthropic's fields:

==================== ==============================================================
``temperature``      ``temperature``
``top_p``            ``top_p``
``max_tokens``       ``max_tokens`` (required by the API: 4096 unless given; with a
                     thinking budget, the budget plus 4096)
``stop``             ``stop_sequences`` (a string becomes a one-item list; none of
                     whitespace only, which Anthropic refuses)
``seed``             no equivalent: InvalidOptionError
``reasoning_effort`` ``output_config.effort`` (``"minimal"`` is sent as ``"low"``)
``thinking_budget``  ``thinking: {type: enabled, budget_tokens}``; 0 disables thinking
``tool_choice``      ``{"type": "auto" | "any" | "none"}`` or ``{"type": "tool", name}``;
                     with no tools, "auto" and "none" send nothing
``parallel_tool_calls`` ``tool_choice.disable_parallel_tool_use`` (its negation)
``strict_tools``     ``strict: true`` on each tool; "auto": on those whose schema has
                     a strict form (`strict_form`)
``prompt_cache``     "auto" (the default): ``cache_control`` breakpoints on the last
                     tool, the system prompt and the newest message (``caching.py``);
                     "off": none added
``prompt_cache_ttl`` ``"ttl"`` of those breakpoints: ``"5m"`` (unset) or ``"1h"``
==================== ==============================================================

Any other option goes into the body verbatim (``top_k``, ``metadata``,
``service_tier``...); a dict-valued one merges with what the encoder wrote,
the caller's keys winning. ``schema=`` becomes ``output_config.format``,
Anthropic's native structured outputs. The provider-side tools of ``tools=``
(``WebSearch()``, ``CodeExecution()``) follow the functions in ``tools``, as
``server_tools.py`` maps them.
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING, Any

from agentloop.providers.anthropic.caching import place_breakpoints
from agentloop.providers.anthropic.format import ANTHROPIC
from agentloop.providers.anthropic.messages import encode_messages
from agentloop.providers.anthropic.schema import structured_schema
from agentloop.providers.anthropic.server_tools import encode_server_tools
from agentloop.providers.base import Request
from agentloop.providers.neutral_options import (
    NeutralOptions,
    OptionSupport,
    Strict,
    check_request_options,
    refuse,
    strict_form,
)
from agentloop.providers.options import extras_of, merge_extras
from agentloop.providers.prompt_cache import cache_mode, cache_ttl
from agentloop.providers.wire_cache import kept_tools

if TYPE_CHECKING:
    from agentloop.tools import Tool

Body = dict[str, Any]

#: Anthropic requires ``max_tokens`` on every request; this is sent when none is given.
DEFAULT_MAX_TOKENS = 4096

SUPPORT = OptionSupport(
    "Anthropic",
    unsupported={"seed": "leave out seed= for Anthropic models"},
    whitespace_stop=False,
    max_temperature=1.0,
)
_TOOL_CHOICES = {"auto": "auto", "required": "any", "none": "none"}


def encode_request(model: str, request: Request, options: dict[str, Any], *, stream: bool) -> Body:
    """The Messages API body for ``request``; ``options`` are the merged model and call options."""
    checked = check_request_options(options, request, SUPPORT)
    given = {k: v for k, v in options.items() if v is not None}
    budget: int | None = given.get("thinking_budget")
    cache = request.wire_cache.messages(ANTHROPIC) if request.wire_cache is not None else None
    system, messages = encode_messages(request.messages, cache)
    body: Body = {"model": model, "max_tokens": _max_tokens(given, budget), "messages": messages}
    if system is not None:
        body["system"] = system
    for key in ("temperature", "top_p"):
        if key in given:
            body[key] = given[key]
    if checked.stop is not None:
        body["stop_sequences"] = list(checked.stop)
    if budget is not None:
        enabled = {"type": "enabled", "budget_tokens": budget}
        body["thinking"] = enabled if budget else {"type": "disabled"}
    output_config = _output_config(request, given)
    if output_config:
        body["output_config"] = output_config
    # kept for the run: a cache breakpoint goes on a copy of the last one (`caching.py`)
    tools = kept_tools(
        request.wire_cache,
        _TOOLS_MEMO,
        request.tools,
        _TOOL_FIELDS,
        checked.strict,
        lambda tool: _tool(tool, strict=checked.strict),
    )
    if request.server_tools:  # a plain list: the kept functions' JSON is not spliced then
        tools = [*tools, *encode_server_tools(request.server_tools)]
    if tools:
        body["tools"] = tools
    choice = _tool_choice(checked)
    if choice is not None:
        body["tool_choice"] = choice
    body["stream"] = stream
    merge_extras(body, extras_of(given))
    # after the extras, so that the caller's own marks (in tools=, system=...) are counted
    mode, ttl = cache_mode(given), cache_ttl(given)
    if mode != "off":  # "explicit" is "auto" here: the breakpoints are Anthropic's explicit cache
        place_breakpoints(body, ttl)
    return body


def _max_tokens(given: dict[str, Any], budget: int | None) -> int:
    max_tokens: int | None = given.get("max_tokens")
    if max_tokens is None:
        return DEFAULT_MAX_TOKENS + (budget or 0)
    if budget and max_tokens <= budget:
        refuse(
            "max_tokens",
            max_tokens,
            f"must exceed thinking_budget={budget}: Anthropic counts thinking within "
            "max_tokens. Raise max_tokens or leave it out",
            SUPPORT.provider,
        )
    return max_tokens


def _output_config(request: Request, given: dict[str, Any]) -> Body:
    config: Body = {}
    effort = given.get("reasoning_effort")
    if effort is not None:
        config["effort"] = "low" if effort == "minimal" else effort
    if request.schema is not None:
        config["format"] = {"type": "json_schema", "schema": structured_schema(request.schema)}
    return config


#: What a tool's wire form is made from (`_tool`), besides the strictness.
_TOOL_FIELDS = attrgetter("name", "description", "parameters")
_TOOLS_MEMO = f"{ANTHROPIC} tools"


def _tool(tool: Tool, *, strict: Strict) -> Body:
    spec: Body = {"name": tool.name, "description": tool.description}
    closed = strict_form(
        lambda: tool.parameters_for(structured_schema),
        strict=strict,
        what=f"the tool {tool.name!r}",
        provider=SUPPORT.provider,
    )
    spec["input_schema"] = closed if closed is not None else tool.schema()
    if closed is not None:
        spec["strict"] = True
    return spec


def _tool_choice(checked: NeutralOptions) -> Body | None:
    choice = checked.tool_choice
    parallel = checked.parallel_tool_calls
    if choice is None and parallel is None:
        return None
    if isinstance(choice, dict):
        out = dict(choice)  # already in Anthropic's shape
    elif choice is None:
        out = {"type": "auto"}
    else:
        kind = _TOOL_CHOICES.get(choice)
        out = {"type": kind} if kind else {"type": "tool", "name": choice}
    if parallel is not None and out.get("type") != "none":
        out["disable_parallel_tool_use"] = not parallel
    return out
