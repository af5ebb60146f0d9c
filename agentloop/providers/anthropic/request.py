"""A [`Request`][agentloop.Request] as the JSON body of ``POST /v1/messages`` (pure).

The neutral options map onto Anthropic's fields:

==================== ==============================================================
``temperature``      ``temperature``
``top_p``            ``top_p``
``max_tokens``       ``max_tokens`` (required by the API: 4096 unless given; with a
                     thinking budget, the budget plus 4096)
``stop``             ``stop_sequences`` (a string becomes a one-item list)
``seed``             no equivalent: ValueError
``reasoning_effort`` ``output_config.effort`` (``"minimal"`` is sent as ``"low"``)
``thinking_budget``  ``thinking: {type: enabled, budget_tokens}``; 0 disables thinking
``tool_choice``      ``{"type": "auto" | "any" | "none"}`` or ``{"type": "tool", name}``
``parallel_tool_calls`` ``tool_choice.disable_parallel_tool_use`` (its negation)
``strict_tools``     ``strict: true`` on each tool whose schema has a strict form
``prompt_cache``     "auto" (the default): ``cache_control`` breakpoints on the last
                     tool, the system prompt and the newest message (``caching.py``);
                     "off": none added
``prompt_cache_ttl`` ``"ttl"`` of those breakpoints: ``"5m"`` (unset) or ``"1h"``
==================== ==============================================================

Any other option goes into the body verbatim (``top_k``, ``metadata``,
``service_tier``...); a dict-valued one merges with what the encoder wrote,
the caller's keys winning. ``schema=`` becomes ``output_config.format``,
Anthropic's native structured outputs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentloop.errors import ConversionError
from agentloop.providers.anthropic.caching import place_breakpoints
from agentloop.providers.anthropic.format import ANTHROPIC
from agentloop.providers.anthropic.messages import encode_messages
from agentloop.providers.anthropic.schema import structured_schema
from agentloop.providers.base import Request
from agentloop.providers.options import extras_of, merge_extras
from agentloop.providers.prompt_cache import cache_mode, cache_ttl

if TYPE_CHECKING:
    from agentloop.tools import Tool

Body = dict[str, Any]

#: Anthropic requires ``max_tokens`` on every request; this is sent when none is given.
DEFAULT_MAX_TOKENS = 4096

_TOOL_CHOICES = {"auto": "auto", "required": "any", "any": "any", "none": "none"}


def encode_request(model: str, request: Request, options: dict[str, Any], *, stream: bool) -> Body:
    """The Messages API body for ``request``; ``options`` are the merged model and call options."""
    given = {k: v for k, v in options.items() if v is not None}
    if "seed" in given:
        raise ValueError("Anthropic has no seed option: leave out seed= for Anthropic models")
    budget = _tokens(given, "thinking_budget")
    cache = request.wire_cache.messages(ANTHROPIC) if request.wire_cache is not None else None
    system, messages = encode_messages(request.messages, cache)
    body: Body = {"model": model, "max_tokens": _max_tokens(given, budget), "messages": messages}
    if system is not None:
        body["system"] = system
    for key in ("temperature", "top_p"):
        if key in given:
            body[key] = given[key]
    if "stop" in given:
        body["stop_sequences"] = _stop_sequences(given["stop"])
    if budget is not None:
        enabled = {"type": "enabled", "budget_tokens": budget}
        body["thinking"] = enabled if budget else {"type": "disabled"}
    output_config = _output_config(request, given)
    if output_config:
        body["output_config"] = output_config
    if request.tools:
        body["tools"] = [
            _tool(tool, strict=bool(given.get("strict_tools"))) for tool in request.tools
        ]
        choice = _tool_choice(given)
        if choice is not None:
            body["tool_choice"] = choice
    body["stream"] = stream
    merge_extras(body, extras_of(given))
    # after the extras, so that the caller's own marks (in tools=, system=...) are counted
    mode, ttl = cache_mode(given), cache_ttl(given)
    if mode == "auto":
        place_breakpoints(body, ttl)
    return body


def _tokens(given: dict[str, Any], key: str) -> int | None:
    value = given.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ValueError(f"{key} must be a number of tokens (an int >= 0), not {value!r:.40}")
    return value


def _max_tokens(given: dict[str, Any], budget: int | None) -> int:
    max_tokens = _tokens(given, "max_tokens")
    if max_tokens is None:
        return DEFAULT_MAX_TOKENS + (budget or 0)
    if budget and max_tokens <= budget:
        raise ValueError(
            f"max_tokens={max_tokens} must exceed thinking_budget={budget}: Anthropic counts "
            "thinking within max_tokens. Raise max_tokens or leave it out"
        )
    return max_tokens


def _stop_sequences(stop: Any) -> list[str]:
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list | tuple) and all(isinstance(s, str) for s in stop):
        return list(stop)
    raise ValueError(f"stop must be a string or a list of strings, not {stop!r:.40}")


def _output_config(request: Request, given: dict[str, Any]) -> Body:
    config: Body = {}
    effort = given.get("reasoning_effort")
    if effort is not None:
        config["effort"] = "low" if effort == "minimal" else effort
    if request.schema is not None:
        config["format"] = {"type": "json_schema", "schema": structured_schema(request.schema)}
    return config


def _tool(tool: Tool, *, strict: bool) -> Body:
    spec: Body = {"name": tool.name, "description": tool.description}
    if strict:
        try:
            spec["input_schema"] = tool.parameters_for(structured_schema)
            spec["strict"] = True
            return spec
        except ConversionError:
            pass  # no closed form (free-form keys): the tool goes non-strict
    spec["input_schema"] = tool.schema()
    return spec


def _tool_choice(given: dict[str, Any]) -> Body | None:
    choice = given.get("tool_choice")
    parallel = given.get("parallel_tool_calls")
    if choice is None and parallel is None:
        return None
    if isinstance(choice, dict):
        out = dict(choice)  # already in Anthropic's shape
    elif choice is None:
        out = {"type": "auto"}
    elif not isinstance(choice, str):
        raise ValueError(
            f"tool_choice must be 'auto', 'required', 'none' or a tool name: {choice!r}"
        )
    else:
        kind = _TOOL_CHOICES.get(choice)
        out = {"type": kind} if kind else {"type": "tool", "name": choice}
    if parallel is not None and out.get("type") != "none":
        out["disable_parallel_tool_use"] = not parallel
    return out
