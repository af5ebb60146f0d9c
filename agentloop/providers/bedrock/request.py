"""A [`Request`][agentloop.Request] as the JSON body of Converse (pure).

The same body serves ``POST /model/{modelId}/converse`` and ``/converse-stream``; the model
id travels in the URL. The neutral options map onto Converse's fields:

==================== ==============================================================
``max_tokens``       ``inferenceConfig.maxTokens``
``temperature``      ``inferenceConfig.temperature`` (at most 1)
``top_p``            ``inferenceConfig.topP``
``stop``             ``inferenceConfig.stopSequences``
``thinking_budget``  ``additionalModelRequestFields.thinking`` in Claude's shape
                     (``{type: enabled, budget_tokens}``; 0: ``{type: disabled}``)
``tool_choice``      ``toolConfig.toolChoice``: ``{"auto": {}}``, ``{"any": {}}`` or
                     ``{"tool": {"name"}}``; ``"none"`` offers no tools at all, as
                     Converse has no such choice
``seed``, ``reasoning_effort``, ``parallel_tool_calls=False``, ``strict_tools=True``: no
                     field in Converse: InvalidOptionError
``schema=``          no structured output in Converse: ConversionError
==================== ==============================================================

Any other option goes into the body verbatim (``additionalModelRequestFields`` for a model's
own parameters, ``guardrailConfig``, ``performanceConfig``...); a dict-valued one merges with
what the encoder wrote, the caller's keys winning. ``prompt_cache`` places nothing: Bedrock's
``cachePoint`` blocks are the caller's to put (kept as provider parts).
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING, Any

from agentloop.errors import ConversionError
from agentloop.providers.base import Request
from agentloop.providers.bedrock.format import BEDROCK
from agentloop.providers.bedrock.messages import encode_messages
from agentloop.providers.neutral_options import OptionSupport, check_request_options
from agentloop.providers.options import extras_of, merge_extras
from agentloop.providers.wire_cache import kept_tools
from agentloop.server_tools import unsupported

if TYPE_CHECKING:
    from agentloop.tools import Tool

Body = dict[str, Any]

SUPPORT = OptionSupport(
    "Bedrock",
    unsupported={
        "seed": "leave out seed= for Bedrock models",
        "reasoning_effort": "use thinking_budget=, or the model's own field in "
        "additionalModelRequestFields",
    },
    max_temperature=1.0,
    strict_tools=False,
    serial_tool_calls=False,
)
_INFERENCE = {"max_tokens": "maxTokens", "temperature": "temperature", "top_p": "topP"}


def encode_request(request: Request, options: dict[str, Any]) -> Body:
    """The Converse body for ``request``; ``options`` are the merged model and call options."""
    checked = check_request_options(options, request, SUPPORT)
    given = {k: v for k, v in options.items() if v is not None}
    if request.schema is not None:
        raise ConversionError(
            "Bedrock: Converse has no structured output of its own; offer a tool with the "
            "schema as its parameters instead",
            provider=BEDROCK,
        )
    for tool in request.server_tools:
        raise unsupported(SUPPORT.provider, tool, None, "Converse has no neutral server tools")
    system, messages = encode_messages(request.messages)
    body: Body = {"messages": messages}
    if system:
        body["system"] = system
    inference = {wire: given[key] for key, wire in _INFERENCE.items() if key in given}
    if checked.stop is not None:
        inference["stopSequences"] = list(checked.stop)
    if inference:
        body["inferenceConfig"] = inference
    choice = checked.tool_choice
    if request.tools and choice != "none":
        # kept for the run; inside ``toolConfig``, so not spliced
        tools = kept_tools(
            request.wire_cache, _TOOLS_MEMO, request.tools, _TOOL_FIELDS, None, _tool_spec
        )
        config: Body = {"tools": tools}
        if choice is not None:
            config["toolChoice"] = _tool_choice(choice)
        body["toolConfig"] = config
    budget = given.get("thinking_budget")
    if budget is not None:
        thinking = {"type": "enabled", "budget_tokens": budget} if budget else {"type": "disabled"}
        body["additionalModelRequestFields"] = {"thinking": thinking}
    merge_extras(body, extras_of(given))
    return body


#: What a tool's wire form is made from, kept for the run (`kept_tools`).
_TOOL_FIELDS = attrgetter("name", "description", "parameters")
_TOOLS_MEMO = f"{BEDROCK} tools"


def _tool_spec(tool: Tool) -> Body:
    spec: Body = {"name": tool.name, "inputSchema": {"json": tool.schema()}}
    if tool.description:
        spec["description"] = tool.description
    return {"toolSpec": spec}


def _tool_choice(choice: str | dict[str, Any]) -> Body:
    if isinstance(choice, dict):
        return dict(choice)  # already in Converse's shape
    if choice == "auto":
        return {"auto": {}}
    if choice == "required":
        return {"any": {}}
    return {"tool": {"name": choice}}
