"""``key=value`` arguments (``-o temperature=0.2``, ``--tool-option Files.root=.``).

``-o`` also takes llm's two-argument form, ``-o temperature 0.2``:
`join_option_pairs` rewrites it to ``-o temperature=0.2`` before argparse
reads the command line, since argparse has no "one or two values" option.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from agentloop.cli.errors import UsageError

OPTION_FLAGS = ("-o", "--option")


def parse_value(text: str) -> Any:
    """JSON when it parses (numbers, booleans, null, lists, objects), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def split_pair(item: str, flag: str, expected: str = "key=value") -> tuple[str, str]:
    """``key=value`` as ``(key, value text)``."""
    key, equals, value = item.partition("=")
    key = key.strip()
    if not equals or not key:
        raise UsageError(f"{flag} expects {expected}, got {item!r}")
    return key, value


def parse_options(items: Iterable[str]) -> dict[str, Any]:
    """Model options from ``-o key=value`` arguments; a later key wins."""
    options: dict[str, Any] = {}
    for item in items:
        key, value = split_pair(item, "-o", "KEY VALUE or KEY=VALUE")
        options[key] = parse_value(value)
    return options


def join_option_pairs(arguments: Sequence[str]) -> list[str]:
    """The arguments with every ``-o KEY VALUE`` written ``-o KEY=VALUE``.

    A key that already holds ``=`` is left alone, as is a key with nothing
    after it (``parse_options`` then says what ``-o`` expects). Everything after
    ``--`` is text, never an option.
    """
    joined: list[str] = []
    index = 0
    while index < len(arguments):
        token = arguments[index]
        if token == "--":
            return [*joined, *arguments[index:]]
        flag, key, taken = _option_key(arguments, index)
        if key is not None and "=" not in key and index + taken < len(arguments):
            joined += [flag, f"{key}={arguments[index + taken]}"]
            index += taken + 1
        else:
            joined.append(token)
            index += 1
    return joined


def _option_key(arguments: Sequence[str], index: int) -> tuple[str, str | None, int]:
    """For an ``-o`` at ``index``: the flag, its key, and how many tokens they span."""
    token = arguments[index]
    if token in OPTION_FLAGS:
        if index + 1 < len(arguments):
            return token, arguments[index + 1], 2
        return token, None, 1
    if token.startswith("--option="):
        return "--option", token.removeprefix("--option="), 1
    if token.startswith("-o") and len(token) > 2:  # -oKEY, glued as getopt allows
        return "-o", token[2:], 1
    return token, None, 1


def parse_tool_options(items: Iterable[str]) -> dict[str, dict[str, str]]:
    """``--tool-option Class.key=value`` arguments, grouped by class name.

    The values stay text: what they mean depends on the type the toolbox's
    constructor gives that option (see `agentloop.cli.toolbox_options`).
    """
    grouped: dict[str, dict[str, str]] = {}
    for item in items:
        dotted, value = split_pair(item, "--tool-option")
        owner, dot, key = dotted.partition(".")
        if not dot or not owner or not key:
            raise UsageError(
                f"--tool-option expects ToolboxName.key=value (Files.root=.), got {item!r}"
            )
        grouped.setdefault(owner, {})[key] = value
    return grouped
