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
from collections.abc import Mapping
from operator import attrgetter, is_
from typing import TYPE_CHECKING, Any

from agentloop.providers.base import Request
from agentloop.providers.neutral_options import (
    NeutralOptions,
    OptionSupport,
    Strict,
    check_request_options,
    strict_form,
)
from agentloop.providers.openai_chat.messages import OPENAI, encode_messages
from agentloop.providers.openai_strict import openai_strict, strict_answer
from agentloop.providers.options import extras_of, merge_extras
from agentloop.providers.prompt_cache import cache_mode, cache_retention, conversation_key
from agentloop.providers.wire_cache import MessageCache, kept_tools
from agentloop.server_tools import unsupported

if TYPE_CHECKING:
    from agentloop.tools import Tool

#: What Chat Completions makes of the neutral options (a host's model narrows it).
SUPPORT = OptionSupport(
    "OpenAI Chat Completions",
    unsupported={
        "thinking_budget": "it sets reasoning by effort, not by tokens: use "
        "reasoning_effort='minimal'|'low'|'medium'|'high' instead"
    },
    max_stop=4,
)
#: Options copied under the same name.
_SAME_NAME = ("temperature", "top_p", "seed", "reasoning_effort")
_TOOL_CHOICES = ("auto", "required", "none")
_SCHEMA_NAME = re.compile(r"[^A-Za-z0-9_-]")
#: Why Chat Completions takes no `agentloop.server_tools`: its ``tools`` are functions only.
#: OpenAI's search models search through a body field instead, which every other model (and
#: every compatible host) refuses or ignores, so it is left to the caller as an extra.
NO_SERVER_TOOLS = (
    "Chat Completions runs no provider-side tools (its tools are functions only). Use the "
    "Responses API, get_model('openai-responses/<model>'), which has web search and code "
    "execution; OpenAI's search models (gpt-4o-search-preview...) take "
    "web_search_options={} as an option instead"
)


def encode_body(
    request: Request,
    *,
    model: str,
    stream: bool,
    options: Mapping[str, Any],
    max_tokens_field: str = "max_completion_tokens",
    prompt_cache_key: bool = True,
    support: OptionSupport = SUPPORT,
) -> dict[str, Any]:
    """The JSON body for ``request``; ``options`` are the merged model and call options.
    ``prompt_cache_key``: whether the host takes that field (its endpoint's quirk);
    ``support``: the host's limits on the neutral options."""
    checked = check_request_options(options, request, support)
    body: dict[str, Any] = {
        "model": model,
        "messages": encode_messages(request.messages, _cache(request)),
        "stream": stream,
    }
    if stream:
        body["stream_options"] = {"include_usage": True}
    if request.server_tools:
        raise unsupported(OPENAI, request.server_tools[0], None, NO_SERVER_TOOLS)
    if request.tools:
        body["tools"] = _encode_tools(request, checked.strict, support)
    if request.schema is not None:
        body["response_format"] = response_format(request.schema, request.schema_name)
    _encode_options(body, options, checked, max_tokens_field)
    retention = cache_retention(options)  # checked everywhere alike
    if cache_mode(options) != "off" and prompt_cache_key:
        key = _conversation_key(request, body["messages"])
        if key is not None:
            body["prompt_cache_key"] = key
        if retention is not None:
            body["prompt_cache_retention"] = retention
    return merge_extras(body, extras_of(options))


def _is_user(item: Any) -> bool:
    return isinstance(item, dict) and item.get("role") == "user"


_KEY_MEMO = f"{OPENAI} conversation key"


def _conversation_key(request: Request, items: list[Any]) -> str | None:
    """`conversation_key` of the wire items; in a run, kept while the request opens with
    the very same item objects (the run's kept encodings, which are never changed)."""
    cache = request.wire_cache
    kept = cache.memo.get(_KEY_MEMO) if cache is not None else None
    if kept is not None and len(items) >= len(kept[0]) and all(map(is_, kept[0], items)):
        return kept[1]  # type: ignore[no-any-return]
    key = conversation_key(items, _is_user)
    if cache is not None and key is not None:
        opening = next(index for index, item in enumerate(items) if _is_user(item)) + 1
        cache.memo[_KEY_MEMO] = (tuple(items[:opening]), key)
    return key


def _cache(request: Request) -> MessageCache | None:
    """The run's kept Chat encodings, when the request belongs to a run."""
    return request.wire_cache.messages(OPENAI) if request.wire_cache is not None else None


#: What a tool's wire form is made from (`encode_tool`), besides the strictness and host.
_TOOL_FIELDS = attrgetter("name", "description", "parameters")


def _encode_tools(request: Request, strict: Strict, support: OptionSupport) -> list[Any]:
    """The tools' wire form, encoded once per run (`kept_tools`): the host is compared by
    identity, through its ``id()`` (it lives as long as the module)."""
    return kept_tools(
        request.wire_cache,
        _TOOLS_MEMO,
        request.tools,
        _TOOL_FIELDS,
        (strict, id(support)),
        lambda tool: encode_tool(tool, strict=strict, support=support),
    )


_TOOLS_MEMO = f"{OPENAI} tools"


def encode_tool(
    tool: Tool, *, strict: Strict = "off", support: OptionSupport = SUPPORT
) -> dict[str, Any]:
    """A function tool, strict as `strict_form` rules for ``strict_tools``."""
    function: dict[str, Any] = {"name": tool.name}
    if tool.description:
        function["description"] = tool.description
    what = f"the tool {tool.name!r}"
    strict_schema = strict_form(
        lambda: tool.parameters_for(openai_strict),
        strict=strict,
        what=what,
        provider=support.provider,
    )
    function["parameters"] = strict_schema if strict_schema is not None else tool.schema()
    if strict_schema is not None:
        function["strict"] = True
    return {"type": "function", "function": function}


def response_format(schema: dict[str, Any], name: str) -> dict[str, Any]:
    """Native structured output: ``json_schema``, strict when that keeps the schema's meaning.

    Strict mode makes optional properties required-but-nullable, so a model
    would send ``null`` where the schema's own validation wants a value or
    nothing; strict is used only when every property is already required.
    """
    json_schema: dict[str, Any] = {"name": _SCHEMA_NAME.sub("_", name)[:64] or "response"}
    strict_schema = strict_form(
        lambda: strict_answer(schema),
        strict="auto",
        what="the schema= answer",
        provider=SUPPORT.provider,
    )
    if strict_schema is not None:
        json_schema.update(schema=strict_schema, strict=True)
    else:
        json_schema["schema"] = schema
    return {"type": "json_schema", "json_schema": json_schema}


def _encode_options(
    body: dict[str, Any],
    options: Mapping[str, Any],
    checked: NeutralOptions,
    max_tokens_field: str,
) -> None:
    for key in _SAME_NAME:
        if options.get(key) is not None:
            body[key] = options[key]
    if options.get("max_tokens") is not None:
        body[max_tokens_field] = options["max_tokens"]
    if checked.stop is not None:
        stop = options["stop"]
        body["stop"] = stop if isinstance(stop, str) else list(checked.stop)
    choice = checked.tool_choice
    if isinstance(choice, str) and choice not in _TOOL_CHOICES:
        choice = {"type": "function", "function": {"name": choice}}
    if choice is not None:
        body["tool_choice"] = choice
    if checked.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = checked.parallel_tool_calls
