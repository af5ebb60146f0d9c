"""A run's options are checked once, not at every request (`check_request_options`).

Every request of a chain carries the same options and tools; with the run's `WireCache` the
checked answer is kept. Whatever could make the answer differ is checked again: options
that differ, tools with other names, another format's support, an option value that could
have changed in place (a list).
"""

from __future__ import annotations

from typing import Any

import pytest

from agentloop import Message, Request
from agentloop.errors import InvalidOptionError
from agentloop.providers.neutral_options import (
    OptionSupport,
    check_options,
    check_request_options,
)
from agentloop.providers.wire_cache import WireCache
from agentloop.tools import collect_tools

SUPPORT = OptionSupport("Test format", max_stop=2)


def bump(n: int) -> int:
    "Add one."
    return n + 1


def upper(text: str) -> str:
    "Upper."
    return text.upper()


def request(cache: WireCache | None, tools: list[Any] | None = None) -> Request:
    offered = tuple(collect_tools(tools if tools is not None else [bump]).values())
    return Request([Message.user("hi")], offered, wire_cache=cache)


def test_the_same_options_of_a_run_are_checked_once() -> None:
    cache = WireCache()
    options = {"temperature": 0.5, "tool_choice": "bump"}
    first = check_request_options(options, request(cache), SUPPORT)
    assert first == check_options(options, tools=request(None).tools, support=SUPPORT)
    assert check_request_options(dict(options), request(cache), SUPPORT) is first
    cache.clear()
    assert check_request_options(options, request(cache), SUPPORT) is not first


def test_whatever_could_change_the_answer_is_checked_again() -> None:
    cache = WireCache()
    check_request_options({"tool_choice": "bump"}, request(cache), SUPPORT)
    with pytest.raises(InvalidOptionError, match="names no tool on offer"):
        check_request_options({"tool_choice": "bump"}, request(cache, [upper]), SUPPORT)
    with pytest.raises(InvalidOptionError, match="temperature"):
        check_request_options({"temperature": 5}, request(cache), SUPPORT)
    other = OptionSupport("Other format", unsupported={"seed": "it has none"})
    check_request_options({"seed": 1}, request(cache), SUPPORT)
    with pytest.raises(InvalidOptionError, match="Other format"):
        check_request_options({"seed": 1}, request(cache), other)


def test_a_list_option_is_checked_at_every_request() -> None:
    cache = WireCache()
    stop = ["a", "b"]
    check_request_options({"stop": stop}, request(cache), SUPPORT)
    stop.append("c")  # the same list, changed in place: past the format's two
    with pytest.raises(InvalidOptionError, match="at most 2 stop sequences"):
        check_request_options({"stop": stop}, request(cache), SUPPORT)


def test_without_a_run_cache_every_request_is_checked() -> None:
    options = {"temperature": 0.5}
    first = check_request_options(options, request(None), SUPPORT)
    assert check_request_options(options, request(None), SUPPORT) is not first
    assert check_request_options(options, request(None), SUPPORT) == first
