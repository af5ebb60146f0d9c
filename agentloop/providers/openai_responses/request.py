"""The JSON body of a Responses API call, from a neutral request (pure).

- A leading system message of plain text becomes ``instructions``; any other system
  message stays an input item.
- Neutral options map to Responses fields (``max_tokens`` -> ``max_output_tokens``,
  ``reasoning_effort`` -> ``reasoning.effort``, ...); any other key passes through
  verbatim, dict values merged into what the encoder wrote (the user wins).
- When reasoning is in use the call is stateless: ``store: false`` and
  ``include: ["reasoning.encrypted_content"]``, so every reasoning item comes back
  encrypted and can be sent again with the history, with no server-side state.
- The provider-side tools of ``tools=`` (``WebSearch()``, ``CodeExecution()``) follow the
  functions in ``tools``, as ``server_tools.py`` maps them.
- ``prompt_cache="auto"`` (the default) sends a ``prompt_cache_key`` made from the
  instructions and the opening input items (`agentloop.providers.prompt_cache`), where the
  endpoint takes one; ``"off"`` sends none, and a ``prompt_cache_key=`` option wins.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

from agentloop.messages import Message, Text, Thinking
from agentloop.providers.base import Request
from agentloop.providers.neutral_options import (
    NeutralOptions,
    OptionSupport,
    Strict,
    check_request_options,
    strict_form,
)
from agentloop.providers.openai_responses.fields import OPENAI_RESPONSES
from agentloop.providers.openai_responses.messages import encode_message, encode_messages
from agentloop.providers.openai_responses.server_tools import (
    encode_server_tools,
    server_includes,
)
from agentloop.providers.openai_strict import openai_strict, strict_answer
from agentloop.providers.options import NEUTRAL_OPTIONS, extras_of, merge_extras
from agentloop.providers.prompt_cache import cache_mode, cache_retention, conversation_key
from agentloop.providers.wire_cache import WireCache, kept_tools
from agentloop.tools import Tool

FORMAT = OPENAI_RESPONSES
ENCRYPTED_REASONING = "reasoning.encrypted_content"
#: Neutral options and the body field each one sets.
OPTION_FIELDS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "max_tokens": "max_output_tokens",
}
#: Neutral options the Responses API has no field for, with what to do instead.
UNSUPPORTED_OPTIONS = {
    "stop": "the openai Chat Completions provider takes stop sequences",
    "seed": "the openai Chat Completions provider takes one",
    "thinking_budget": "it sets reasoning by effort, not by tokens: use reasoning_effort",
}
SUPPORT = OptionSupport("OpenAI Responses", unsupported=UNSUPPORTED_OPTIONS)
TOOL_CHOICES = ("auto", "required", "none")
#: Families that reason by default (gpt-5-chat is the non-reasoning exception).
REASONING_MODELS = ("o1", "o3", "o4", "gpt-5", "codex")
FORMAT_NAME = re.compile(r"[^A-Za-z0-9_-]")


def encode_body(
    model_name: str,
    request: Request,
    options: dict[str, Any],
    *,
    stream: bool,
    prompt_cache_key: bool = True,
) -> dict[str, Any]:
    """The request body for ``POST {base}/responses``; ``options`` are already merged.
    ``prompt_cache_key``: whether the endpoint takes that field (its quirk)."""
    checked = check_request_options(options, request, SUPPORT)
    body: dict[str, Any] = {"model": model_name}
    instructions, messages = split_instructions(request.messages)
    if instructions is not None:
        body["instructions"] = instructions
    wire_cache = request.wire_cache
    cache = wire_cache.messages(FORMAT) if wire_cache is not None else None
    body["input"] = encoded = encode_messages(messages, cache)
    tools = kept_tools(
        wire_cache,
        _TOOLS_MEMO,
        request.tools,
        _TOOL_FIELDS,
        checked.strict,
        lambda tool: encode_tool(tool, strict=checked.strict),
    )
    if request.server_tools:  # a plain list: the kept functions' JSON is not spliced then
        tools = [*tools, *encode_server_tools(request.server_tools)]
    if tools:
        body["tools"] = tools
    if request.schema is not None:
        body["text"] = {"format": encode_format(request.schema, request.schema_name)}
    body["stream"] = stream
    extras = apply_options(body, options, checked)
    _cache_key(body, options, enabled=prompt_cache_key)
    if uses_reasoning(model_name, request.messages, options):
        body["include"] = [ENCRYPTED_REASONING]
        body["store"] = False
    if server_includes(request.server_tools):
        body["include"] = [*body.get("include", []), *server_includes(request.server_tools)]
    merge_extras(body, extras, extend=("include", "tools"))
    if body.get("store") is False:
        if wire_cache is not None and body["input"] is encoded:
            body["input"] = _stateless_cached(messages, wire_cache)
        else:
            body["input"] = stateless(body["input"])
    return body


def _cache_key(body: dict[str, Any], options: dict[str, Any], *, enabled: bool) -> None:
    """``prompt_cache_key`` for "auto": the same for every step of a conversation."""
    retention = cache_retention(options)  # checked everywhere alike
    if cache_mode(options) == "off" or not enabled:
        return
    opening = [{"instructions": body["instructions"]}] if "instructions" in body else []
    key = conversation_key([*opening, *body["input"]], _is_user)
    if key is not None:
        body["prompt_cache_key"] = key
    if retention is not None:
        body["prompt_cache_retention"] = retention


def _is_user(item: Any) -> bool:
    return isinstance(item, dict) and item.get("role") == "user"


def _stateless_cached(messages: Sequence[Message], wire_cache: WireCache) -> list[dict[str, Any]]:
    """`stateless` input kept per message for the run too: it reads each item on its own,
    so each message's stateless items are made once, from its kept items."""
    cache = wire_cache.messages(FORMAT)

    def stateless_items(index: int, message: Message) -> list[dict[str, Any]]:
        return stateless(cache.items(index, message, encode_message))

    return wire_cache.messages(f"{FORMAT} stateless").encode(messages, stateless_items)


def split_instructions(messages: Sequence[Message]) -> tuple[str | None, list[Message]]:
    """``instructions`` from a leading plain-text system message, and the other messages."""
    if not messages:
        return None, []
    first = messages[0]
    plain = all(isinstance(p, Text) and not p.extra for p in first.parts)
    if first.role == "system" and first.parts and plain and not first.extra:
        return first.text, list(messages[1:])
    return None, list(messages)


#: What a tool's wire form is made from (`encode_tool`), besides the strictness.
_TOOL_FIELDS = attrgetter("name", "description", "parameters")
_TOOLS_MEMO = f"{OPENAI_RESPONSES} tools"


def encode_tool(tool: Tool, *, strict: Strict) -> dict[str, Any]:
    """A function tool, strict as `strict_form` rules for ``strict_tools``. ``strict`` is
    always sent: the Responses API defaults it to true."""
    strict_schema = strict_form(
        lambda: tool.parameters_for(openai_strict),
        strict=strict,
        what=f"the tool {tool.name!r}",
        provider=SUPPORT.provider,
    )
    out: dict[str, Any] = {"type": "function", "name": tool.name}
    if tool.description:
        out["description"] = tool.description
    out["parameters"] = strict_schema if strict_schema is not None else tool.parameters
    out["strict"] = strict_schema is not None
    return out


def encode_format(schema: dict[str, Any], name: str) -> dict[str, Any]:
    """``text.format`` for structured output: strict when that changes no answer's meaning."""
    out: dict[str, Any] = {"type": "json_schema", "name": FORMAT_NAME.sub("_", name)[:64]}
    strict = strict_schema(schema)
    out["schema"] = strict if strict is not None else schema
    out["strict"] = strict is not None
    return out


def strict_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The strict form of ``schema``, or None when strict mode would alter the answers.

    Strict mode makes optional properties required and nullable; the model then sends
    ``null`` for them, which a type with non-null defaults would refuse on parsing.
    """
    return strict_form(
        lambda: strict_answer(schema),
        strict="auto",
        what="the schema= answer",
        provider=SUPPORT.provider,
    )


def apply_options(
    body: dict[str, Any], options: dict[str, Any], checked: NeutralOptions
) -> dict[str, Any]:
    """Write the neutral options (already checked) into ``body``; return the
    provider-specific extras."""
    for key, field in OPTION_FIELDS.items():
        if options.get(key) is not None:
            body[field] = options[key]
    if options.get("reasoning_effort") is not None:
        body.setdefault("reasoning", {})["effort"] = options["reasoning_effort"]
    if checked.tool_choice is not None:
        body["tool_choice"] = encode_tool_choice(checked.tool_choice)
    if checked.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = checked.parallel_tool_calls
    extras = {k: v for k, v in options.items() if v is not None and k not in NEUTRAL_OPTIONS}
    return extras_of(extras)  # flattens extra_body={...}


def encode_tool_choice(value: str | dict[str, Any]) -> Any:
    """A checked ``tool_choice``: a keyword, an offered tool's name, or the API's own shape."""
    if isinstance(value, dict) or value in TOOL_CHOICES:
        return value
    return {"type": "function", "name": value}


def uses_reasoning(model_name: str, messages: Sequence[Message], options: dict[str, Any]) -> bool:
    """Whether reasoning items may come back (and must be kept for the next call)."""
    if options.get("reasoning_effort") is not None or options.get("reasoning") is not None:
        return True
    base = model_name.rsplit("/", 1)[-1].lower()
    if base.startswith(REASONING_MODELS) and not base.startswith("gpt-5-chat"):
        return True
    return any(
        isinstance(part, Thinking) and part.provider == FORMAT
        for message in messages
        for part in message.parts
    )


def stateless(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Input items fit for ``store: false``: no references to items the server never kept.

    A message or function call sent with its ``id`` is looked up on the server, which
    fails for items of unstored responses ("Item with id ... not found"); the item's
    content is all the model needs, so the id goes. A reasoning item without
    ``encrypted_content`` is nothing but such a reference, so it cannot be sent at all.
    """
    out = []
    for item in items:
        kind = item.get("type", "message")
        if kind == "reasoning" and not item.get("encrypted_content"):
            continue
        if kind in ("message", "function_call") and "id" in item:
            item = {key: value for key, value in item.items() if key != "id"}
        out.append(item)
    return out
