"""``key=value`` arguments (``-o temperature=0.2``, ``--tool-option Files.root=.``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from agentloop.cli.errors import UsageError


def parse_value(text: str) -> Any:
    """JSON when it parses (numbers, booleans, null, lists, objects), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def split_pair(item: str, flag: str) -> tuple[str, Any]:
    key, equals, value = item.partition("=")
    key = key.strip()
    if not equals or not key:
        raise UsageError(f"{flag} expects key=value, got {item!r}")
    return key, parse_value(value)


def parse_options(items: Iterable[str]) -> dict[str, Any]:
    """Model options from ``-o key=value`` arguments; a later key wins."""
    return dict(split_pair(item, "-o") for item in items)


def parse_tool_options(items: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``--tool-option Class.key=value`` arguments, grouped by class name."""
    grouped: dict[str, dict[str, Any]] = {}
    for item in items:
        dotted, value = split_pair(item, "--tool-option")
        owner, dot, key = dotted.partition(".")
        if not dot or not owner or not key:
            raise UsageError(
                f"--tool-option expects ToolboxName.key=value (Files.root=.), got {item!r}"
            )
        grouped.setdefault(owner, {})[key] = value
    return grouped
