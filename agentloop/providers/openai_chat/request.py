"""OpenAI Chat Completions: a [`Request`][agentloop.Request] as the JSON body of ``POST
/chat/completions``.

Neutral options map onto Chat's fields (``max_tokens`` becomes
``max_completion_tokens`` on OpenAI itself, where ``max_tokens`` is deprecated
and refused by reasoning models, and stays ``max_tokens`` for compatible
servers, most of which know only that name). Any other option is a
provider-specific extra and goes into the body as given; dict-valued ones are
merged with what the encoder wrote, the user's values winning.

``prompt_cache="auto"`` (the default) sends a ``prompt_cache_key`` made from the
conversation's opening messages (`agentloop.providers.prompt_cache.conversation_key`),
where the host takes one; ``"off"`` sends none, and a ``prompt_cache_key=`` option wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agentloop.errors import ConversionError
from agentloop.providers.base import Request
from agentloop.providers.openai_chat.messages import OPENAI, encode_messages
from agentloop.providers.openai_strict import openai_strict
from agentloop.providers.options import extras_of, merge_extras
from agentloop.providers.prompt_cache import cache_mode, cache_ttl, conversation_key
from agentloop.providers.wire_cache import MessageCache
from agentloop.schema_transforms import map_subschemas

if TYPE_CHECKING:
    from agentloop.tools import Tool

#: Options copied under the same name.
_SAME_NAME = ("temperature", "top_p", "seed", "reasoning_effort")
_TOOL_CHOICES = ("auto", "required", "none")
_SCHEMA_NAME = re.compile(r"[^A-Za-z0-9_-]")


def encode_body(
    request: Request,
    *,
    model: str,
    stream: bool,
    options: Mapping[str, Any],
    max_tokens_field: str = "max_completion_tokens",
    prompt_cache_key: bool = True,
) -> dict[str, Any]:
    """The JSON body for ``request``; ``options`` are the merged model and call options.
    ``prompt_cache_key``: whether the host takes that field (its endpoint's quirk)."""
    body: dict[str, Any] = {
        "model": model,
        "messages": encode_messages(request.messages, _cache(request)),
        "stream": stream,
    }
    if stream:
        body["stream_options"] = {"include_usage": True}
    strict_tools = bool(options.get("strict_tools"))
    if request.tools:
        body["tools"] = [encode_tool(tool, strict=strict_tools) for tool in request.tools]
    if request.schema is not None:
        body["response_format"] = response_format(request.schema, request.schema_name)
    _encode_options(body, options, request.tools, max_tokens_field)
    cache_ttl(options)  # checked everywhere alike; OpenAI's cache has no TTL to ask for
    if cache_mode(options) == "auto" and prompt_cache_key:
        key = conversation_key(body["messages"], _is_user)
        if key is not None:
            body["prompt_cache_key"] = key
    return merge_extras(body, extras_of(options))


def _is_user(item: Any) -> bool:
    return isinstance(item, dict) and item.get("role") == "user"


def _cache(request: Request) -> MessageCache | None:
    """The run's kept Chat encodings, when the request belongs to a run."""
    return request.wire_cache.messages(OPENAI) if request.wire_cache is not None else None


def encode_tool(tool: Tool, *, strict: bool = False) -> dict[str, Any]:
    """A function tool; strict when asked and the schema can be expressed strictly."""
    function: dict[str, Any] = {"name": tool.name}
    if tool.description:
        function["description"] = tool.description
    parameters = tool.schema()
    if strict:
        try:
            parameters = tool.parameters_for(openai_strict)
        except ConversionError:
            strict = False  # strict mode cannot express this tool: send it as it is
    function["parameters"] = parameters
    if strict:
        function["strict"] = True
    return {"type": "function", "function": function}


def response_format(schema: dict[str, Any], name: str) -> dict[str, Any]:
    """Native structured output: ``json_schema``, strict when that keeps the schema's meaning.

    Strict mode makes optional properties required-but-nullable, so a model
    would send ``null`` where the schema's own validation wants a value or
    nothing; strict is used only when every property is already required.
    """
    json_schema: dict[str, Any] = {"name": _SCHEMA_NAME.sub("_", name)[:64] or "response"}
    strict_schema = None
    if _every_property_required(schema):
        try:
            strict_schema = openai_strict(schema)
        except ConversionError:
            strict_schema = None
    if strict_schema is not None:
        json_schema.update(schema=strict_schema, strict=True)
    else:
        json_schema["schema"] = schema
    return {"type": "json_schema", "json_schema": json_schema}


def _every_property_required(node: dict[str, Any]) -> bool:
    verdicts: list[bool] = []

    def visit(sub: dict[str, Any]) -> dict[str, Any]:
        verdicts.append(_every_property_required(sub))
        return sub

    map_subschemas(node, visit)
    properties = node.get("properties")
    if isinstance(properties, dict) and not set(properties) <= set(node.get("required") or ()):
        return False
    return all(verdicts)


def _encode_options(
    body: dict[str, Any],
    options: Mapping[str, Any],
    tools: Sequence[Tool],
    max_tokens_field: str,
) -> None:
    for key in _SAME_NAME:
        if options.get(key) is not None:
            body[key] = options[key]
    if options.get("max_tokens") is not None:
        body[max_tokens_field] = options["max_tokens"]
    stop = options.get("stop")
    if stop is not None:
        if not isinstance(stop, str | list | tuple):
            raise ValueError(f"stop must be a string or a list of strings, not {stop!r}")
        body["stop"] = stop if isinstance(stop, str) else list(stop)
    if options.get("thinking_budget") is not None:
        raise ValueError(
            "OpenAI Chat Completions has no thinking budget in tokens: "
            "use reasoning_effort='minimal'|'low'|'medium'|'high' instead"
        )
    choice = options.get("tool_choice")
    if choice is not None:
        encoded = _tool_choice(choice, tools)
        if encoded is not None:
            body["tool_choice"] = encoded
    if options.get("parallel_tool_calls") is not None and tools:
        body["parallel_tool_calls"] = bool(options["parallel_tool_calls"])


def _tool_choice(choice: Any, tools: Sequence[Tool]) -> str | dict[str, Any] | None:
    names = [tool.name for tool in tools]
    if not tools:
        if choice in ("auto", "none"):
            return None  # the same as offering no tools, which OpenAI would refuse to combine
        raise ValueError(f"tool_choice={choice!r} needs tools, and this request offers none")
    if choice in _TOOL_CHOICES:
        return str(choice)
    if isinstance(choice, str) and choice in names:
        return {"type": "function", "function": {"name": choice}}
    raise ValueError(
        f"tool_choice must be 'auto', 'required', 'none' or one of the tools "
        f"({', '.join(names)}), not {choice!r}"
    )
