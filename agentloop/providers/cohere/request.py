"""A [`Request`][agentloop.Request] as the JSON body of Cohere's ``POST /v2/chat`` (pure).

The neutral options map onto Cohere's fields:

==================== ==============================================================
``max_tokens``       ``max_tokens``
``temperature``      ``temperature``
``top_p``            ``p`` (Cohere takes 0.01 to 0.99)
``stop``             ``stop_sequences`` (at most 5)
``seed``             ``seed``
``thinking_budget``  ``thinking``: ``{type: enabled, token_budget}``; 0: ``{type: disabled}``
``tool_choice``      ``"required"``: ``REQUIRED``, ``"none"``: ``NONE``, ``"auto"``: nothing
                     (Cohere's default); a tool's name: only that tool is offered, with
                     ``REQUIRED``, as Cohere cannot name one
``strict_tools``     ``strict_tools: true``, which holds for every tool at once: ``True``
                     sends it (or refuses a tool whose schema has no strict form: an
                     object without named properties or without a required one);
                     ``"auto"`` sends it when every tool has one
``schema=``          ``response_format``: ``{type: json_object, json_schema}``
``reasoning_effort``, ``parallel_tool_calls=False``: no field in Cohere: InvalidOptionError
==================== ==============================================================

Any other option goes into the body verbatim (``documents``, ``citation_options``,
``safety_mode``, ``k``, ``frequency_penalty``...); a dict-valued one merges with what the
encoder wrote, the caller's keys winning. Cohere caches prompts on its own: ``prompt_cache``
places nothing.
"""

from __future__ import annotations

import functools
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from agentloop.errors import ConversionError
from agentloop.providers.base import Request
from agentloop.providers.cohere.format import COHERE
from agentloop.providers.cohere.messages import encode_messages
from agentloop.providers.neutral_options import (
    OptionSupport,
    Strict,
    check_options,
    refuse,
    strict_form,
)
from agentloop.providers.options import extras_of, merge_extras
from agentloop.providers.wire_cache import kept_tools
from agentloop.schema_transforms import map_subschemas
from agentloop.server_tools import unsupported

if TYPE_CHECKING:
    from agentloop.tools import Tool

Body = dict[str, Any]

SUPPORT = OptionSupport(
    "Cohere",
    unsupported={
        "reasoning_effort": "use thinking_budget= (Cohere's thinking token budget)",
    },
    max_stop=5,
    serial_tool_calls=False,
)
_SAME_NAME = ("max_tokens", "temperature", "seed")
_CHOICES = {"required": "REQUIRED", "none": "NONE"}
#: Cohere's bounds on ``p``.
_TOP_P = (0.01, 0.99)


def encode_request(request: Request, options: dict[str, Any], *, model: str, stream: bool) -> Body:
    """The ``/v2/chat`` body for ``request``; ``options`` are the merged model and call options."""
    checked = check_options(options, tools=request.tools, support=SUPPORT)
    given = {k: v for k, v in options.items() if v is not None}
    for tool in request.server_tools:
        raise unsupported(SUPPORT.provider, tool, None, "Cohere's v2 Chat has function tools only")
    body: Body = {"model": model, "messages": encode_messages(request.messages), "stream": stream}
    tools = list(request.tools)
    choice = checked.tool_choice
    if isinstance(choice, str) and choice not in ("auto", "none", "required"):
        tools = [tool for tool in tools if tool.name == choice]  # only it, and it must be called
        choice = "required"
    if tools:
        body["tools"] = kept_tools(
            request.wire_cache, _TOOLS_MEMO, tools, _TOOL_FIELDS, None, encode_tool
        )
        if _strict(tools, checked.strict):
            body["strict_tools"] = True
    if isinstance(choice, dict):
        body["tool_choice"] = choice  # the caller's own form, as given
    elif choice in _CHOICES:
        body["tool_choice"] = _CHOICES[choice]
    for key in _SAME_NAME:
        if key in given:
            body[key] = given[key]
    if "top_p" in given:
        low, high = _TOP_P
        if not low <= given["top_p"] <= high:
            refuse("top_p", given["top_p"], f"Cohere takes p from {low} to {high}", "Cohere")
        body["p"] = given["top_p"]
    if checked.stop is not None:
        body["stop_sequences"] = list(checked.stop)
    budget = given.get("thinking_budget")
    if budget is not None:
        body["thinking"] = (
            {"type": "enabled", "token_budget": budget} if budget else {"type": "disabled"}
        )
    if request.schema is not None:
        body["response_format"] = {"type": "json_object", "json_schema": request.schema}
    return merge_extras(body, extras_of(given))


#: What a tool's wire form is made from, kept for the run (`kept_tools`).
_TOOL_FIELDS = attrgetter("name", "description", "parameters")
_TOOLS_MEMO = f"{COHERE} tools"


def encode_tool(tool: Tool) -> Body:
    function: Body = {"name": tool.name}
    if tool.description:
        function["description"] = tool.description
    function["parameters"] = tool.schema()
    return {"type": "function", "function": function}


def _strict(tools: list[Tool], mode: Strict) -> bool:
    """Whether ``strict_tools: true`` goes: it binds every tool, so each must have a strict
    form (`strict_form`'s rule: under ``True`` one without is refused by name)."""
    if mode == "off":
        return False
    for tool in tools:
        make = functools.partial(strict_checked, tool.schema())
        what = f"the tool {tool.name!r}"
        if strict_form(make, strict=mode, what=what, provider=SUPPORT.provider) is None:
            return False
    return True


def strict_checked(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` if Cohere's strict mode can hold to it, else `ConversionError` saying why:
    every object needs named properties and one required at least (Cohere's documented
    constraints); free-form keys (``dict[str, X]``) have no form."""

    def visit(node: dict[str, Any]) -> dict[str, Any]:
        if node.get("type") == "object" or "properties" in node:
            if not node.get("properties") or isinstance(node.get("additionalProperties"), dict):
                raise ConversionError(
                    "an object without named properties (free-form keys, dict[str, ...])",
                    provider=COHERE,
                )
            if not node.get("required"):
                raise ConversionError("an object with no required property", provider=COHERE)
        map_subschemas(node, visit)
        return node

    visit(schema)
    return schema
