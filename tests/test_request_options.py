"""The same options are checked once, not at every request or every prompt (`check_options`).

Every request of a chain, and every prompt of a batch, carries the same options and tools;
the checked answer is kept for the process. Whatever could make the answer differ is
checked again: options that differ (in value or in type), tools with other names, another
format's support, an option value that could have changed in place (a list).
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
from agentloop.tools import collect_tools

SUPPORT = OptionSupport("Test format", max_stop=2)


def bump(n: int) -> int:
    "Add one."
    return n + 1


def upper(text: str) -> str:
    "Upper."
    return text.upper()


def request(tools: list[Any] | None = None) -> Request:
    offered = tuple(collect_tools(tools if tools is not None else [bump]).values())
    return Request([Message.user("hi")], offered)


def test_the_same_question_is_answered_once() -> None:
    options = {"temperature": 0.5, "tool_choice": "bump"}
    first = check_request_options(options, request(), SUPPORT)
    assert check_request_options(dict(options), request(), SUPPORT) is first
    assert check_options(options, tools=request().tools, support=SUPPORT) is first
    assert check_options(options, tools=request().tools, support=None) is not first


def test_whatever_could_change_the_answer_is_checked_again() -> None:
    check_request_options({"tool_choice": "bump"}, request(), SUPPORT)
    with pytest.raises(InvalidOptionError, match="names no tool on offer"):
        check_request_options({"tool_choice": "bump"}, request([upper]), SUPPORT)
    with pytest.raises(InvalidOptionError, match="temperature"):
        check_request_options({"temperature": 5}, request(), SUPPORT)
    other = OptionSupport("Other format", unsupported={"seed": "it has none"})
    check_request_options({"seed": 1}, request(), SUPPORT)
    with pytest.raises(InvalidOptionError, match="Other format"):
        check_request_options({"seed": 1}, request(), other)


def test_an_equal_value_of_another_type_is_checked_again() -> None:
    check_request_options({"max_tokens": 1}, request(), SUPPORT)  # True == 1, but not a count
    with pytest.raises(InvalidOptionError, match="max_tokens"):
        check_request_options({"max_tokens": True}, request(), SUPPORT)


def test_a_list_option_is_checked_at_every_request() -> None:
    stop = ["a", "b"]
    check_request_options({"stop": stop}, request(), SUPPORT)
    stop.append("c")  # the same list, changed in place: past the format's two
    with pytest.raises(InvalidOptionError, match="at most 2 stop sequences"):
        check_request_options({"stop": stop}, request(), SUPPORT)


def test_a_body_owns_its_stop_list_though_the_check_is_shared() -> None:
    from agentloop.providers.anthropic import AnthropicModel

    model = AnthropicModel("claude-sonnet-4-5", api_key="sk-test")
    request = Request([Message.user("hi")], options={"stop": "END"})
    first = model.encode(request, stream=False).body
    first["stop_sequences"].append("changed after encoding")
    assert model.encode(request, stream=False).body["stop_sequences"] == ["END"]
