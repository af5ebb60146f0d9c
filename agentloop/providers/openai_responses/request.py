"""The JSON body of a Responses API call, from a neutral request (pure).

- A leading system message of plain text becomes ``instructions``; any other system
  message stays an input item.
- Neutral options map to Responses fields (``max_tokens`` -> ``max_output_tokens``,
  ``reasoning_effort`` -> ``reasoning.effort``, ...); any other key passes through
  verbatim, dict values merged into what the encoder wrote (the user wins).
- When reasoning is in use the call is stateless: ``store: false`` and
  ``include: ["reasoning.encrypted_content"]``, so every reasoning item comes back
  encrypted and can be sent again with the history, with no server-side state.
- ``prompt_cache="auto"`` (the default) sends a ``prompt_cache_key`` made from the
  instructions and the opening input items (`agentloop.providers.prompt_cache`), where the
  endpoint takes one; ``"off"`` sends none, and a ``prompt_cache_key=`` option wins.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from typing import Any

from agentloop.errors import ConversionError
from agentloop.messages import Message, Text, Thinking
from agentloop.providers.base import Request
from agentloop.providers.openai_responses.fields import OPENAI_RESPONSES
from agentloop.providers.openai_responses.messages import encode_message, encode_messages
from agentloop.providers.openai_strict import openai_strict
from agentloop.providers.options import extras_of, merge_extras
from agentloop.providers.prompt_cache import cache_mode, cache_ttl, conversation_key
from agentloop.providers.wire_cache import WireCache
from agentloop.tools import Tool

FORMAT = OPENAI_RESPONSES
ENCRYPTED_REASONING = "reasoning.encrypted_content"
#: Neutral options and the body field each one sets.
OPTION_FIELDS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "max_tokens": "max_output_tokens",
    "parallel_tool_calls": "parallel_tool_calls",
}
#: Neutral options the Responses API has no field for, with what to do instead.
UNSUPPORTED_OPTIONS = {
    "stop": "it has no stop sequences (the openai Chat Completions provider has)",
    "seed": "it takes no seed (the openai Chat Completions provider does)",
    "thinking_budget": "it sets reasoning by effort, not by tokens: use reasoning_effort",
}
#: Options the encoder reads that are not body fields.
LOCAL_OPTIONS = ("strict_tools", "prompt_cache", "prompt_cache_ttl")
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
    body: dict[str, Any] = {"model": model_name}
    instructions, messages = split_instructions(request.messages)
    if instructions is not None:
        body["instructions"] = instructions
    wire_cache = request.wire_cache
    cache = wire_cache.messages(FORMAT) if wire_cache is not None else None
    body["input"] = encoded = encode_messages(messages, cache)
    if request.tools:
        strict = bool(options.get("strict_tools", False))
        body["tools"] = [encode_tool(tool, strict=strict) for tool in request.tools]
    if request.schema is not None:
        body["text"] = {"format": encode_format(request.schema, request.schema_name)}
    body["stream"] = stream
    extras = apply_options(body, options, request.tools)
    _cache_key(body, options, enabled=prompt_cache_key)
    if uses_reasoning(model_name, request.messages, options):
        body["include"] = [ENCRYPTED_REASONING]
        body["store"] = False
    merge_extras(body, extras, extend=("include", "tools"))
    if body.get("store") is False:
        if wire_cache is not None and body["input"] is encoded:
            body["input"] = _stateless_cached(messages, wire_cache)
        else:
            body["input"] = stateless(body["input"])
    return body


def _cache_key(body: dict[str, Any], options: dict[str, Any], *, enabled: bool) -> None:
    """``prompt_cache_key`` for "auto": the same for every step of a conversation."""
    cache_ttl(options)  # checked everywhere alike; OpenAI's cache has no TTL to ask for
    if cache_mode(options) != "auto" or not enabled:
        return
    opening = [{"instructions": body["instructions"]}] if "instructions" in body else []
    key = conversation_key([*opening, *body["input"]], _is_user)
    if key is not None:
        body["prompt_cache_key"] = key


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


def encode_tool(tool: Tool, *, strict: bool) -> dict[str, Any]:
    """A function tool. ``strict`` is always sent: the Responses API defaults it to true."""
    parameters, is_strict = tool.parameters, False
    if strict:
        # A schema strict mode cannot express is sent as it is, non-strict.
        with contextlib.suppress(ConversionError):
            parameters, is_strict = tool.parameters_for(openai_strict), True
    out: dict[str, Any] = {"type": "function", "name": tool.name}
    if tool.description:
        out["description"] = tool.description
    out["parameters"] = parameters
    out["strict"] = is_strict
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
    if has_optional_property(schema):
        return None
    try:
        return openai_strict(schema)
    except ConversionError:
        return None


def has_optional_property(node: Any) -> bool:
    if isinstance(node, list):
        return any(has_optional_property(sub) for sub in node)
    if not isinstance(node, dict):
        return False
    properties = node.get("properties")
    if isinstance(properties, dict) and set(properties) - set(node.get("required") or ()):
        return True
    return any(has_optional_property(sub) for sub in node.values())


def apply_options(
    body: dict[str, Any], options: dict[str, Any], tools: Sequence[Tool]
) -> dict[str, Any]:
    """Write the neutral options into ``body``; return the provider-specific extras."""
    extras: dict[str, Any] = {}
    for key, value in options.items():
        if value is None or key in LOCAL_OPTIONS:
            continue  # None leaves an option unset
        if key in UNSUPPORTED_OPTIONS:
            raise ValueError(
                f"The option {key!r} cannot be sent to the OpenAI Responses API: "
                f"{UNSUPPORTED_OPTIONS[key]}"
            )
        if key in OPTION_FIELDS:
            body[OPTION_FIELDS[key]] = value
        elif key == "reasoning_effort":
            body.setdefault("reasoning", {})["effort"] = value
        elif key == "tool_choice":
            body["tool_choice"] = encode_tool_choice(value, tools)
        else:
            extras[key] = value
    return extras_of(extras)  # flattens extra_body={...}


def encode_tool_choice(value: Any, tools: Sequence[Tool]) -> Any:
    if isinstance(value, dict):
        return value  # already in the provider's own shape
    if not isinstance(value, str):
        raise ValueError(f"tool_choice must be a string, not {type(value).__name__}")
    if value in TOOL_CHOICES:
        return value
    if value not in {tool.name for tool in tools}:
        offered = ", ".join(tool.name for tool in tools) or "none"
        raise ValueError(
            f"tool_choice {value!r} is neither auto, required, none nor an offered tool "
            f"(offered: {offered})"
        )
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
