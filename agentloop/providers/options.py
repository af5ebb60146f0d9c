"""The options scheme every provider shares.

Neutral names (``temperature``, ``max_tokens``, ``reasoning_effort``...) are
mapped by each provider's request encoder. Every other option is a
provider-specific extra, written verbatim into the request body by
:func:`merge_extras`.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from typing import Any

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
    }
)


def extras_of(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options that are not neutral: the provider-specific extras."""
    return {k: v for k, v in options.items() if k not in NEUTRAL_OPTIONS}


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
