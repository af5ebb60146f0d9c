"""Anthropic Messages requests: the options scheme, keys, base URLs and headers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic_wire import KEY, message_body, model, text
from local_server import LocalServer

import agentloop
from agentloop import Message, Request
from agentloop.providers.anthropic import AnthropicModel, create
from agentloop.tools import Tool


def lookup(city: str, days: int = 1) -> str:
    "Look up a forecast."
    return city


def tally(counts: dict[str, int]) -> int:
    "Sum counts."
    return sum(counts.values())


def body(*, tools: tuple[Any, ...] = (), schema: Any = None, **options: Any) -> dict[str, Any]:
    claude = AnthropicModel("claude-test", api_key=KEY)
    request = Request(
        [Message.system("Be brief."), Message.user("hi")],
        [Tool.function(t) for t in tools],
        options,
        schema=schema,
    )
    return claude.encode(request, stream=False).body


# -- the options scheme ------------------------------------------------------------------


def test_a_plain_request_has_the_required_fields_only() -> None:
    assert body(prompt_cache="off") == {
        "model": "claude-test",
        "max_tokens": 4096,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "stream": False,
    }


def test_by_default_the_system_prompt_and_the_newest_message_are_cached() -> None:
    mark = {"type": "ephemeral"}
    assert body() == {
        "model": "claude-test",
        "max_tokens": 4096,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": mark}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": mark}]}
        ],
        "stream": False,
    }


def test_sampling_options_map_to_their_fields() -> None:
    sent = body(temperature=0.2, top_p=0.9, max_tokens=100, stop="END")
    assert (sent["temperature"], sent["top_p"], sent["max_tokens"]) == (0.2, 0.9, 100)
    assert sent["stop_sequences"] == ["END"]
    assert body(stop=["a", "b"])["stop_sequences"] == ["a", "b"]


def test_a_thinking_budget_enables_thinking_and_leaves_room_to_answer() -> None:
    sent = body(thinking_budget=2048)
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert sent["max_tokens"] > 2048
    assert body(thinking_budget=2048, max_tokens=9000)["max_tokens"] == 9000
    assert body(thinking_budget=0)["thinking"] == {"type": "disabled"}


def test_a_max_tokens_within_the_thinking_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="must exceed thinking_budget"):
        body(thinking_budget=2048, max_tokens=1000)


def test_reasoning_effort_becomes_output_config_effort() -> None:
    assert body(reasoning_effort="high")["output_config"] == {"effort": "high"}
    assert body(reasoning_effort="minimal")["output_config"] == {"effort": "low"}


def test_a_seed_cannot_be_expressed() -> None:
    with pytest.raises(ValueError, match="seed"):
        body(seed=1)


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        ("lookup", {"type": "tool", "name": "lookup"}),
    ],
)
def test_tool_choice_maps_to_anthropic_shapes(choice: str, expected: dict[str, Any]) -> None:
    assert body(tools=(lookup,), tool_choice=choice)["tool_choice"] == expected


def test_parallel_tool_calls_false_disables_parallel_tool_use() -> None:
    sent = body(tools=(lookup,), parallel_tool_calls=False)
    assert sent["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    sent = body(tools=(lookup,), tool_choice="required", parallel_tool_calls=False)
    assert sent["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}


def test_tools_carry_name_description_and_schema() -> None:
    (spec,) = body(tools=(lookup,), prompt_cache="off")["tools"]
    assert spec == {
        "name": "lookup",
        "description": "Look up a forecast.",
        "input_schema": Tool.function(lookup).schema(),
    }


def test_strict_tools_close_their_schema_where_it_has_a_closed_form() -> None:
    strict, loose = body(tools=(lookup, tally), strict_tools="auto")["tools"]
    assert strict["strict"] is True
    assert strict["input_schema"]["additionalProperties"] is False
    assert "strict" not in loose  # dict[str, int] has free-form keys
    assert loose["input_schema"] == Tool.function(tally).schema()


def test_other_options_pass_through_and_dicts_merge_caller_first() -> None:
    sent = body(top_k=5, metadata={"user_id": "u1"}, reasoning_effort="low")
    assert (sent["top_k"], sent["metadata"]) == (5, {"user_id": "u1"})
    merged = body(reasoning_effort="low", output_config={"effort": "high", "other": 1})
    assert merged["output_config"] == {"effort": "high", "other": 1}


def test_schema_and_effort_share_output_config() -> None:
    sent = body(schema={"type": "object", "properties": {}}, reasoning_effort="medium")
    assert sent["output_config"]["effort"] == "medium"
    assert sent["output_config"]["format"]["type"] == "json_schema"


def test_model_options_apply_and_call_options_win(local_server: LocalServer) -> None:
    local_server.reply(message_body([text("ok")]))
    claude = model(local_server, options={"temperature": 0.1, "max_tokens": 50})
    claude.prompt("hi", temperature=0.7)
    sent = local_server.requests[0].json()
    assert (sent["temperature"], sent["max_tokens"]) == (0.7, 50)


# -- keys, endpoints, headers --------------------------------------------------------------


def test_key_and_base_url_come_from_the_environment(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", local_server.url)
    local_server.reply(message_body([text("ok")]))
    assert AnthropicModel("claude-test", retry_backoff=0).prompt("hi").text() == "ok"
    sent = local_server.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == "sk-ant-from-env"
    assert sent.headers["anthropic-version"] == "2023-06-01"


def test_arguments_win_over_the_environment(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
    local_server.reply(message_body([text("ok")]))
    model(local_server).prompt("hi")
    assert local_server.requests[0].headers["x-api-key"] == KEY


def test_the_default_endpoint_is_the_anthropic_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    assert AnthropicModel("claude-test").url() == "https://api.anthropic.com/v1/messages"
    with_v1 = AnthropicModel("claude-test", base_url="http://proxy.local/v1/")
    assert with_v1.url() == "http://proxy.local/v1/messages"


def test_a_missing_key_names_the_variable_before_any_request(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    claude = AnthropicModel("claude-test", base_url=local_server.url)
    with pytest.raises(agentloop.MissingKeyError, match="ANTHROPIC_API_KEY"):
        claude.prompt("hi")
    assert local_server.requests == []


def test_extra_headers_go_with_every_request(local_server: LocalServer) -> None:
    local_server.reply(message_body([text("ok")]))
    model(local_server, headers={"anthropic-beta": "files-api-2025-04-14"}).prompt("hi")
    assert local_server.requests[0].headers["anthropic-beta"] == "files-api-2025-04-14"


def test_the_key_never_shows_in_reprs_or_saved_responses(local_server: LocalServer) -> None:
    local_server.reply(message_body([text("ok")]))
    claude = model(local_server)
    response = claude.prompt("hi")
    assert KEY not in repr(claude)
    assert KEY not in str(vars(claude))
    assert KEY not in json.dumps(response.to_dict())


def test_the_factory_builds_a_named_model() -> None:
    claude = create("claude-sonnet-4-5", api_key=KEY)
    assert isinstance(claude, AnthropicModel)
    assert claude.model_id == "anthropic/claude-sonnet-4-5"
