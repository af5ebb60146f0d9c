"""A [`Request`][agentloop.Request] as a ``generateContent`` body (pure).

Neutral options map onto Gemini's fields: ``temperature``, ``top_p`` (topP),
``max_tokens`` (maxOutputTokens), ``stop`` (stopSequences), ``seed``,
``thinking_budget`` (thinkingConfig.thinkingBudget, with includeThoughts so the
reasoning comes back as Thinking parts), ``reasoning_effort``
(thinkingConfig.thinkingLevel), ``tool_choice`` (toolConfig.functionCallingConfig).
Gemini has no switch for parallel calls, so ``parallel_tool_calls=False`` is refused, and no
strict tools, so ``strict_tools=True`` is (``"auto"`` sends the tools as they are).
Any other option goes verbatim into the body; dict values merge into what the
encoder wrote (``generationConfig={"topK": 40}``), the user's keys winning.

Two fixes to the history on the way out: the first functionCall of a model turn that
has no thoughtSignature (another provider's call) gets Google's documented placeholder,
and a call Gemini sent without an id goes back, with its result, without the id we made up.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from functools import partial
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from agentloop.errors import ConversionError
from agentloop.messages import Message
from agentloop.portable import portable
from agentloop.providers.base import Request
from agentloop.providers.gemini.format import GEMINI
from agentloop.providers.gemini.messages import encode_messages, encode_system, encode_unit
from agentloop.providers.gemini.schema import gemini_subset
from agentloop.providers.gemini.server_tools import encode_server_tools
from agentloop.providers.neutral_options import NeutralOptions, OptionSupport, check_request_options
from agentloop.providers.options import extras_of, merge_extras
from agentloop.providers.wire_cache import WireCache, joined_list, kept_tools

if TYPE_CHECKING:
    from agentloop.tools import Tool

API_VERSION = "v1beta"
_VERSIONED = re.compile(r"/v\d+(?:alpha|beta)?\d*$")
#: The placeholder Google documents for function calls Gemini did not sign itself
#: (another provider's, a hand-written history). Gemini 3 answers 400 when the first
#: functionCall of a model turn carries no thoughtSignature at all.
PLACEHOLDER_SIGNATURE = "skip_thought_signature_validator"

_GENERATION_OPTIONS = {
    "temperature": "temperature",
    "top_p": "topP",
    "max_tokens": "maxOutputTokens",
    "seed": "seed",
}
_TOOL_MODES = {"auto": "AUTO", "required": "ANY", "none": "NONE"}
SUPPORT = OptionSupport("Gemini", max_stop=5, strict_tools=False, serial_tool_calls=False)


def request_url(base_url: str, model_name: str, *, stream: bool) -> str:
    """The endpoint: ``{base}/v1beta/models/{model}:generateContent`` (or the SSE stream)."""
    model = model_name.removeprefix("models/")
    base = base_url.rstrip("/")
    if not _VERSIONED.search(base):  # a base that names its API version keeps it
        base = f"{base}/{API_VERSION}"
    if stream:
        return f"{base}/models/{model}:streamGenerateContent?alt=sse"
    return f"{base}/models/{model}:generateContent"


def encode_body(request: Request, options: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body for ``request``; ``options`` are the merged model and call options."""
    checked = check_request_options(options, request, SUPPORT)
    encoded = _cached(request.messages, request.wire_cache) if request.wire_cache else None
    if encoded is None:
        system, contents = encode_messages(request.messages)
        contents = sign_unsigned_calls(without_made_up_ids(contents, request.messages))
    else:
        system, contents = encoded
    body: dict[str, Any] = {"contents": contents}
    if system is not None:
        body["systemInstruction"] = system
    # the declarations kept for the run; their list sits inside a dict, so not spliced
    declarations = kept_tools(
        request.wire_cache, _TOOLS_MEMO, request.tools, _TOOL_FIELDS, None, declaration
    )
    tools = [{"functionDeclarations": declarations}]
    tools = (tools if request.tools else []) + encode_server_tools(request.server_tools)
    if tools:
        body["tools"] = tools
    generation = generation_config(options, checked)
    if request.schema is not None:
        generation["responseMimeType"] = "application/json"
        generation["responseJsonSchema"] = request.schema
    if generation:
        body["generationConfig"] = generation
    tool_config = function_calling_config(checked)
    if tool_config is not None:
        body["toolConfig"] = {"functionCallingConfig": tool_config}
    return merge_extras(body, extras_of(options))


def _cached(
    messages: Sequence[Message], wire_cache: WireCache
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]] | None:
    """``(systemInstruction, contents)`` as `encode_body` makes them, from the run's kept
    encodings: each message's parts made once, each content (consecutive messages of one
    role, merged, then fixed as below) serialized once. None when the whole history is
    needed for some message (a non-Message, a result whose name only its call gives)."""
    if not all(isinstance(message, Message) for message in messages):
        return None
    cache = wire_cache.messages(GEMINI)
    systems: list[tuple[int, Message]] = []
    runs: list[list[list[dict[str, Any]]]] = []  # the units of each content
    made_up: set[str] = set()
    for index, message in enumerate(messages):
        units = cache.items(index, message, encode_unit)
        unit = units[0]
        if not unit["named"]:
            return None
        made_up.update(unit["made_up"])
        if unit["role"] == "system":
            systems.append((index, message))
        elif unit["parts"]:  # else nothing Gemini can carry: left out
            if runs and runs[-1][0][0]["role"] == unit["role"]:
                runs[-1].append(units)
            else:
                runs.append([units])
    chunks = []
    for run in runs:
        stripped = frozenset(i for (u,) in run for i in u["answers"] if i in made_up)
        chunks.append(cache.combined(run, partial(_content, run, stripped), stripped))
    system = encode_system((i, portable([m], GEMINI)[0]) for i, m in systems)
    return system, joined_list(chunks)


def _content(run: list[list[dict[str, Any]]], made_up: frozenset[str]) -> list[dict[str, Any]]:
    parts = [part for (unit,) in run for part in unit["parts"]]
    content = {"role": run[0][0]["role"], "parts": parts}
    return sign_unsigned_calls(strip_made_up_ids([content], made_up))


#: What a tool's wire form is made from, kept for the run (`kept_tools`).
_TOOL_FIELDS = attrgetter("name", "description", "parameters")
_TOOLS_MEMO = f"{GEMINI} tools"


def declaration(tool: Tool) -> dict[str, Any]:
    """A functionDeclaration: Gemini's schema subset, or the full JSON schema when the
    subset cannot express it (a recursive type)."""
    out: dict[str, Any] = {"name": tool.name}
    if tool.description:
        out["description"] = tool.description
    try:
        out["parameters"] = tool.parameters_for(gemini_subset)
    except ConversionError:
        out["parametersJsonSchema"] = tool.parameters
    return out


def generation_config(options: Mapping[str, Any], checked: NeutralOptions) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name, field in _GENERATION_OPTIONS.items():
        if options.get(name) is not None:
            config[field] = options[name]
    if checked.stop is not None:
        config["stopSequences"] = list(checked.stop)
    thinking = thinking_config(options)
    if thinking:
        config["thinkingConfig"] = thinking
    return config


def thinking_config(options: Mapping[str, Any]) -> dict[str, Any]:
    thinking: dict[str, Any] = {}
    budget = options.get("thinking_budget")
    if budget is not None:
        thinking["thinkingBudget"] = budget
        if budget != 0:  # 0 turns thinking off: there is nothing to include
            thinking["includeThoughts"] = True
    effort = options.get("reasoning_effort")
    if effort is not None:
        thinking["thinkingLevel"] = effort
    return thinking


def function_calling_config(checked: NeutralOptions) -> dict[str, Any] | None:
    """``functionCallingConfig`` for a checked ``tool_choice`` (a dict is already one)."""
    choice = checked.tool_choice
    if choice is None or isinstance(choice, dict):
        return choice
    if choice in _TOOL_MODES:
        return {"mode": _TOOL_MODES[choice]}
    return {"mode": "ANY", "allowedFunctionNames": [choice]}


def sign_unsigned_calls(contents: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give the first functionCall of each model content the placeholder signature when it
    has none: Gemini signs its own calls, so an unsigned one came from elsewhere."""
    out: list[dict[str, Any]] = []
    for content in contents:
        parts = list(content["parts"])
        if content["role"] == "model":
            first = next((i for i, p in enumerate(parts) if "functionCall" in p), None)
            if first is not None and "thoughtSignature" not in parts[first]:
                parts[first] = {**parts[first], "thoughtSignature": PLACEHOLDER_SIGNATURE}
        out.append({**content, "parts": parts})
    return out


def without_made_up_ids(
    contents: Sequence[dict[str, Any]], messages: Sequence[Message]
) -> list[dict[str, Any]]:
    """Results of calls Gemini sent without an id go back without one too: the call is
    re-sent without the id we made up for it, so the result must not name it either."""
    made_up = {
        call.tool_call_id
        for message in messages
        for call in message.tool_calls
        if call.extra.get(GEMINI, {}).get("no_id")
    }
    return strip_made_up_ids(contents, made_up)


def strip_made_up_ids(
    contents: Sequence[dict[str, Any]], made_up: Collection[str]
) -> list[dict[str, Any]]:
    """`without_made_up_ids` given the ids made up."""
    if not made_up:
        return list(contents)

    def strip(part: dict[str, Any]) -> dict[str, Any]:
        response = part.get("functionResponse")
        if not isinstance(response, dict) or response.get("id") not in made_up:
            return part
        return {**part, "functionResponse": {k: v for k, v in response.items() if k != "id"}}

    return [{**c, "parts": [strip(p) for p in c["parts"]]} for c in contents]
