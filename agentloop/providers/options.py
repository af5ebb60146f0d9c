"""The options scheme every provider shares.

Neutral names (``temperature``, ``max_tokens``, ``reasoning_effort``...) are
mapped by each provider's request encoder. Every other option is a
provider-specific extra, written verbatim into the request body by
`merge_extras`; so are the fields of ``extra_body={...}``, the route for
extras that is never mistaken for a typo.

A misspelt option would otherwise travel silently as an extra, so
`check_option_names` refuses any name that is a near miss of a known one
(``tempreature``), where the options are first received.
"""

from __future__ import annotations

import copy
import difflib
import inspect
import re
from collections.abc import Collection, Mapping
from typing import Any

from agentloop.errors import OptionError, ToolDefinitionError, UnknownOptionError

#: Options every provider understands (each maps them to its own fields).
NEUTRAL_OPTIONS = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "stop",
        "seed",
        "reasoning_effort",
        "thinking_budget",
        "tool_choice",
        "parallel_tool_calls",
        "strict_tools",
        "prompt_cache",
        "prompt_cache_ttl",
    }
)

#: Provider-specific fields, sent as they are: ``extra_body={"top_k": 5}``. Never checked
#: for typos, so a provider field whose name is close to a neutral one still gets through.
EXTRA_BODY = "extra_body"

#: Keyword arguments of ``prompt()``, ``chain()`` and ``resume()`` (and ``model.prompt()``):
#: misspelt, they land among the options, so a near miss of one is a typo too.
CALL_KEYWORDS = frozenset(
    {
        "system",
        "attachments",
        "stream",
        "schema",
        "messages",
        "tools",
        "before_call",
        "after_call",
        "approve",
        "chain_limit",
        "max_cost",
        "max_total_tokens",
        "deps",
        "output_validator",
        "output_retries",
        "history_processors",
    }
)

#: Real provider fields that sit close to a neutral name: accepted as extras, and
#: suggested for their own near misses. ``top_k`` (Anthropic, vLLM, llama.cpp) and
#: ``top_a`` (OpenRouter) are one letter from ``top_p``; ``reasoning_format`` is Groq's;
#: OpenAI's ``prompt_cache_key`` is as close to ``prompt_cache_ttl``.
KNOWN_EXTRAS = frozenset(
    {"top_k", "top_a", "reasoning_format", "prompt_cache_key", "prompt_cache_retention"}
)

#: How alike (difflib's ratio) a name must be to a known one to be taken for its typo.
#: At 0.8 every one-letter slip in a neutral name is caught, and no documented provider
#: field outside KNOWN_EXTRAS is.
TYPO_CUTOFF = 0.8

_EXTRAS_HINT = (
    "Provider-specific fields go in extra_body={...}, which is sent in the request body as is."
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


#: The names `check_option_names` knows by default, made once (a batch asks per prompt).
_CALL_CANDIDATES = NEUTRAL_OPTIONS | KNOWN_EXTRAS | CALL_KEYWORDS | {EXTRA_BODY}


def check_option_names(
    options: Mapping[str, Any], *, known: Collection[str] = CALL_KEYWORDS
) -> None:
    """Refuse an option whose name is a near miss of a known one, naming both.

    Known names are the neutral options, ``known`` (by default the keyword
    arguments of ``prompt()`` and ``chain()``) and `KNOWN_EXTRAS`. Any
    other name passes, as a provider-specific extra. ``extra_body`` must be a
    dict; its fields are not checked.
    """
    if not options:
        return  # most calls: nothing to check, and the set below is not free
    candidates = (
        _CALL_CANDIDATES
        if known is CALL_KEYWORDS
        else NEUTRAL_OPTIONS | KNOWN_EXTRAS | frozenset(known) | {EXTRA_BODY}
    )
    for name in options:
        if name in candidates:
            continue
        suggestion = near_miss(name, candidates)
        if suggestion is not None:
            raise UnknownOptionError(
                f"Unknown option {name!r}; did you mean {suggestion!r}? {_EXTRAS_HINT}",
                option=name,
                suggestion=suggestion,
            )
    extra_body(options)


def check_keywords(given: Mapping[str, Any], accepted: Collection[str], *, call: str) -> None:
    """Refuse a keyword argument ``call`` does not take, suggesting the closest accepted one.

    Made for model factories (``get_model(name, **kwargs)``): an option name
    given there, exact or misspelt, is pointed to ``options={...}``, where a
    model's default options go.
    """
    name = next((n for n in given if n not in accepted), None)
    if name is None:
        return
    suggestion = name if name in NEUTRAL_OPTIONS else near_miss(name, {*accepted, *NEUTRAL_OPTIONS})
    if suggestion == name:
        hint = f"default options go in options={{{name!r}: ...}}."
    elif suggestion in NEUTRAL_OPTIONS:
        hint = f"did you mean options={{{suggestion!r}: ...}}? Default options go there."
    elif suggestion is not None:
        hint = f"did you mean {suggestion!r}?"
    else:
        hint = f"it takes {', '.join(sorted(accepted))}."
    raise UnknownOptionError(
        f"{call} takes no keyword argument {name!r}; {hint}", option=name, suggestion=suggestion
    )


def check_model_keywords(cls: type, name: str, kwargs: Mapping[str, Any]) -> None:
    """For a model factory (``get_model(name, **kwargs)``): refuse a keyword argument
    ``cls`` does not take, and a misspelt name among its default ``options=``."""
    check_keywords(kwargs, keyword_only(cls), call=f"get_model({name!r})")
    options = kwargs.get("options")
    if isinstance(options, Mapping):
        check_option_names(options, known=())


def keyword_only(cls: type) -> frozenset[str]:
    """The keyword-only arguments of ``cls(...)``, following ``**kwargs`` passed to a base."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        parameters = inspect.signature(init).parameters.values()
        names.update(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            break
    return frozenset(names)


def near_miss(name: str, candidates: Collection[str]) -> str | None:
    """The candidate ``name`` was probably meant to be, or None when none is close.

    Case, hyphens and camelCase are forgiven first (``maxTokens``, ``top-p``),
    then difflib finds a one- or two-letter slip.
    """
    normalized = _CAMEL.sub("_", name).replace("-", "_").lower()
    if normalized in candidates:
        return normalized
    matches = difflib.get_close_matches(normalized, sorted(candidates), n=1, cutoff=TYPO_CUTOFF)
    return matches[0] if matches else None


def extras_of(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options that are not neutral, and the fields of ``extra_body``: the
    provider-specific extras (``extra_body``'s win over a same-named option)."""
    extras = {k: v for k, v in options.items() if k not in NEUTRAL_OPTIONS and k != EXTRA_BODY}
    extras.update(extra_body(options))
    return extras


def extra_body(options: Mapping[str, Any]) -> Mapping[str, Any]:
    """The fields of ``extra_body=`` (none when it is not given)."""
    body = options.get(EXTRA_BODY)
    if body is None:
        return {}
    if not isinstance(body, Mapping):
        raise OptionError(
            f"extra_body= takes a dict of request body fields, not {type(body).__name__}"
        )
    return body


def merge_extras(
    body: dict[str, Any], extras: Mapping[str, Any], *, extend: Collection[str] = ()
) -> dict[str, Any]:
    """Write ``extras`` into ``body`` (in place, and returned).

    A dict the encoder already wrote is merged, recursively, the user winning
    on conflicts (so ``generationConfig={"topK": 3}`` keeps the encoder's other
    settings). For keys in ``extend`` two lists are joined instead (the user's
    built-in tools next to ours). Anything else replaces what was there.
    """
    for key, value in extras.items():
        body[key] = _merged(body.get(key), value, key in extend)
    return body


def _merged(current: Any, value: Any, extend: bool = False) -> Any:
    if isinstance(current, dict) and isinstance(value, Mapping):
        out = dict(current)
        for key, item in value.items():
            out[key] = _merged(out.get(key), item)
        return out
    if extend and isinstance(current, list) and isinstance(value, list):
        return current + [copy.deepcopy(v) for v in value if v not in current]
    return copy.deepcopy(value)


def check_request_tools(value: Any) -> None:
    """``tools=`` given to a conversation's call is the provider's raw ``tools`` field.

    Python tools passed there would be sent as they are; they belong to the
    conversation, so say where.
    """
    items = value if isinstance(value, list | tuple) else [value]
    if value is not None and not all(isinstance(item, dict) for item in items):
        raise ToolDefinitionError(
            "tools= on a conversation's prompt(), chain() or resume() is the provider's own "
            "'tools' request field (a list of dicts). Give Python tools when making the "
            "conversation: model.conversation(tools=[...]), or model.chain(..., tools=[...])."
        )
