"""The options scheme shared by every provider: neutral names mapped, extras merged."""

from __future__ import annotations

import pytest

from agentloop import Message, Request
from agentloop.providers.anthropic import AnthropicModel
from agentloop.providers.gemini import GeminiModel
from agentloop.providers.openai_chat import OpenAIChatModel
from agentloop.providers.openai_responses import OpenAIResponsesModel
from agentloop.providers.options import NEUTRAL_OPTIONS, extras_of, merge_extras

MODELS = [
    OpenAIChatModel("gpt-4.1-mini", api_key="k"),
    OpenAIResponsesModel("gpt-4.1-mini", api_key="k"),
    AnthropicModel("claude-sonnet-4-5", api_key="k"),
    GeminiModel("gemini-2.5-flash", api_key="k"),
]


def test_extras_merge_deeply_and_the_user_wins() -> None:
    body = {"generationConfig": {"temperature": 0.1, "topK": 2}, "a": [1]}
    merge_extras(body, {"generationConfig": {"topK": 5}, "a": [2], "b": True})
    assert body == {"generationConfig": {"temperature": 0.1, "topK": 5}, "a": [2], "b": True}


def test_listed_keys_extend_instead_of_replacing() -> None:
    body = {"include": ["x"]}
    merge_extras(body, {"include": ["x", "y"]}, extend=("include",))
    assert body == {"include": ["x", "y"]}


def test_extras_of_keeps_only_provider_specific_options() -> None:
    assert extras_of({"temperature": 1, "service_tier": "flex"}) == {"service_tier": "flex"}


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.provider)
def test_no_neutral_option_leaks_into_a_body_verbatim(model: object) -> None:
    options = {"temperature": 0.5, "max_tokens": 64, "strict_tools": "auto", "custom_flag": 1}
    options |= {"prompt_cache": "auto", "prompt_cache_ttl": "1h"}
    body = model.encode(  # type: ignore[attr-defined]
        Request([Message.user("hi")], options=options), stream=False
    ).body
    assert "strict_tools" not in body
    assert body["custom_flag"] == 1
    leaked = NEUTRAL_OPTIONS & set(body) - {"temperature", "max_tokens", "top_p", "seed"}
    assert not leaked
