"""A run's tools are encoded once (`kept_tools`) and sent byte for byte as encoded afresh."""

from __future__ import annotations

import json

import pytest

from agentloop import Message, Request, Text, ToolCall, ToolResult
from agentloop.providers.anthropic import AnthropicModel
from agentloop.providers.bedrock import BedrockModel
from agentloop.providers.cohere import CohereModel
from agentloop.providers.gemini import GeminiModel
from agentloop.providers.http import HTTPModel
from agentloop.providers.http_call import wire_request
from agentloop.providers.openai_chat import OpenAIChatModel
from agentloop.providers.openai_responses import OpenAIResponsesModel
from agentloop.providers.wire_cache import WireCache
from agentloop.tools import collect_tools


def upper(text: str) -> str:
    "Upper."
    return text.upper()


def count(n: int) -> int:
    "Count."
    return n


MODELS: list[HTTPModel] = [
    OpenAIChatModel("gpt-4.1-mini", api_key="sk-test"),
    OpenAIResponsesModel("gpt-4.1", api_key="sk-test"),
    AnthropicModel("claude-sonnet-4-5", api_key="sk-test"),
    AnthropicModel("claude-sonnet-4-5", api_key="sk-test", options={"prompt_cache": "auto"}),
    GeminiModel("gemini-2.5-flash", api_key="sk-test"),
    BedrockModel("amazon.nova-lite-v1:0", region="us-east-1", api_key="sk-test"),
    CohereModel("command-a-03-2025", api_key="sk-test"),
]


def body(model: HTTPModel, messages: list[Message], cache: WireCache | None) -> bytes:
    tools = list(collect_tools([upper, count]).values())
    request = Request(list(messages), tools=tools, wire_cache=cache)
    return wire_request(model.encode(request, stream=False)).body


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_the_second_request_of_a_chain_equals_a_fresh_encoding(model: HTTPModel) -> None:
    cache = WireCache()
    first = [Message("user", [Text("shout hi")])]
    assert body(model, first, cache) == body(model, first, None)
    second = [
        *first,
        Message("assistant", [ToolCall(tool_call_id="c1", name="upper", arguments={"text": "hi"})]),
        Message("tool", [ToolResult(name="upper", output="HI", tool_call_id="c1")]),
    ]
    kept = dict(cache.memo)
    assert body(model, second, cache) == body(model, second, None)
    # the tools were encoded once: the second request used the very same kept items
    tool_keys = [key for key in kept if key.endswith(" tools")]
    assert tool_keys
    assert all(cache.memo[key] is kept[key] for key in tool_keys)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_changed_tools_are_encoded_again(model: HTTPModel) -> None:
    cache = WireCache()
    messages = [Message("user", [Text("hi")])]
    body(model, messages, cache)
    request = Request(list(messages), tools=list(collect_tools([upper]).values()), wire_cache=cache)
    fresh = Request(list(messages), tools=list(collect_tools([upper]).values()))
    assert (
        wire_request(model.encode(request, stream=False)).body
        == wire_request(model.encode(fresh, stream=False)).body
    )


def test_a_breakpoint_on_the_last_tool_never_reaches_the_kept_tools() -> None:
    model = AnthropicModel("claude-sonnet-4-5", api_key="sk-test", options={"prompt_cache": "auto"})
    cache = WireCache()
    messages = [Message("user", [Text("hi")])]
    first = json.loads(body(model, messages, cache))
    assert "cache_control" in first["tools"][-1]
    kept = [value for key, value in cache.memo.items() if key.endswith(" tools")]
    assert kept
    assert all("cache_control" not in item for item in kept[0][2])
    second = [*messages, Message("assistant", [Text("hello")]), Message("user", [Text("again")])]
    assert body(model, second, cache) == body(model, second, None)
