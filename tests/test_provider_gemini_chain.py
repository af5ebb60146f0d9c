"""Gemini end to end against a local server: chains, streaming, structured output, options,
thinking, finish reasons, usage, keys and base URLs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gemini_replies import KEY, SSE, call, gemini, reply, sse, text, usage
from local_server import LocalServer
from pydantic import BaseModel

import agentloop
from agentloop import Message, Thinking, ToolCall
from agentloop.providers.base import Delta, Reply, Request
from agentloop.providers.gemini import GeminiModel, create
from agentloop.providers.gemini.request import PLACEHOLDER_SIGNATURE
from agentloop.tools import Tool

SIGNATURE = "CusBAXLI2nxjqlNFmkZhFvBKYO2Qbvj3E+G7N6Bm=="


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"Sunny in {city}"


def weather_call_then_answer(server: LocalServer, *, stream: bool) -> None:
    first = reply(call("get_weather", {"city": "Paris"}, thoughtSignature=SIGNATURE))
    second = reply(text("Sunny in Paris."))
    if stream:
        first_chunks = [
            reply(text("Let me check. "), finish=None),
            reply(call("get_weather", {"city": "Paris"}, thoughtSignature=SIGNATURE)),
        ]
        server.reply(sse(*first_chunks), headers=SSE)
        server.reply(sse(reply(text("Sunny "), finish=None), reply(text("in Paris."))), headers=SSE)
    else:
        server.reply(first).reply(second)


def check_second_request(server: LocalServer) -> None:
    history = server.requests[1].json()["contents"]
    model_turn, results = history[1], history[2]
    (signed,) = [p for p in model_turn["parts"] if "functionCall" in p]
    assert signed == {
        "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
        "thoughtSignature": SIGNATURE,
    }
    assert results == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"result": "Sunny in Paris"}}}
        ],
    }


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_chain_runs_over_gemini(local_server: LocalServer, stream: bool) -> None:
    weather_call_then_answer(local_server, stream=stream)
    response = gemini(local_server).chain("Weather in Paris?", tools=[get_weather], stream=stream)
    chunks = list(response) if stream else []
    assert response.text() == "Sunny in Paris."
    if stream:
        assert chunks == ["Let me check. ", "Sunny ", "in Paris."]
    check_second_request(local_server)
    declared = local_server.requests[0].json()["tools"][0]["functionDeclarations"][0]
    assert declared["name"] == "get_weather"
    assert declared["parameters"]["properties"]["city"]["type"] == "string"
    assert response.usage().input_tokens == 20


@pytest.mark.parametrize("stream", [False, True])
async def test_a_tool_chain_runs_over_gemini_async(local_server: LocalServer, stream: bool) -> None:
    weather_call_then_answer(local_server, stream=stream)
    model = gemini(local_server).to_async()
    if stream:
        response = model.chain("Weather in Paris?", tools=[get_weather], stream=True)
        chunks = [c async for c in response]
        assert chunks == ["Let me check. ", "Sunny ", "in Paris."]
    else:
        response = await model.chain("Weather in Paris?", tools=[get_weather])
    assert response.text() == "Sunny in Paris."
    check_second_request(local_server)


def test_parallel_calls_get_distinct_ids_and_their_results_go_back_together(
    local_server: LocalServer,
) -> None:
    both = reply(
        call("get_weather", {"city": "Paris"}, thoughtSignature=SIGNATURE),
        call("get_weather", {"city": "London"}),
    )
    local_server.reply(both).reply(reply(text("Both sunny.")))
    response = gemini(local_server).chain("Paris and London?", tools=[get_weather])
    first, second = response.tool_calls()
    assert first.tool_call_id != second.tool_call_id
    results = local_server.requests[1].json()["contents"][2]["parts"]
    outputs = [p["functionResponse"]["response"]["result"] for p in results]
    assert outputs == ["Sunny in Paris", "Sunny in London"]


def test_call_ids_sent_by_gemini_are_kept_and_sent_back(local_server: LocalServer) -> None:
    with_id = {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}, "id": "fc_7"}}
    local_server.reply(reply(with_id)).reply(reply(text("ok")))
    response = gemini(local_server).chain("Rome?", tools=[get_weather])
    assert response.tool_calls()[0].tool_call_id == "fc_7"
    (result,) = local_server.requests[1].json()["contents"][2]["parts"]
    assert result["functionResponse"]["id"] == "fc_7"


def test_made_up_ids_never_repeat_across_replies(local_server: LocalServer) -> None:
    local_server.reply(reply(call("get_weather", {"city": "Paris"})))
    model = gemini(local_server)
    ids = {model.complete(Request([Message.user("x")])).message.tool_calls[0].id for _ in range(3)}
    assert len(ids) == 3


# -- structured output --------------------------------------------------------------------


class City(BaseModel):
    name: str
    country: str


@pytest.mark.parametrize("stream", [False, True])
def test_structured_output_uses_the_native_json_schema_mode(
    local_server: LocalServer, stream: bool
) -> None:
    answer = reply(text('{"name": "Paris", "country": "France"}'))
    local_server.reply(sse(answer), headers=SSE) if stream else local_server.reply(answer)
    response = gemini(local_server).prompt("Capital of France?", schema=City, stream=stream)
    assert response.parsed() == City(name="Paris", country="France")
    config = local_server.requests[0].json()["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"]["required"] == ["name", "country"]


# -- options --------------------------------------------------------------------------------


def encoded(**options: Any) -> dict[str, Any]:
    request = Request([Message.user("hi")], options=options)
    return GeminiModel("gemini-2.5-flash", api_key="k").encode(request, stream=False).body


def test_neutral_options_map_onto_generation_config() -> None:
    body = encoded(temperature=0.2, top_p=0.9, max_tokens=100, stop="END", seed=7)
    assert body["generationConfig"] == {
        "temperature": 0.2,
        "topP": 0.9,
        "maxOutputTokens": 100,
        "stopSequences": ["END"],
        "seed": 7,
    }


def test_thinking_budget_asks_for_thoughts_and_reasoning_effort_sets_the_level() -> None:
    assert encoded(thinking_budget=1024)["generationConfig"]["thinkingConfig"] == {
        "thinkingBudget": 1024,
        "includeThoughts": True,
    }
    assert encoded(thinking_budget=0)["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 0}
    level = encoded(reasoning_effort="low")["generationConfig"]["thinkingConfig"]
    assert level == {"thinkingLevel": "low"}


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("required", {"mode": "ANY"}),
        ("none", {"mode": "NONE"}),
        ("get_weather", {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}),
    ],
)
def test_tool_choice_maps_onto_function_calling_config(choice: str, config: Any) -> None:
    request = Request([Message.user("hi")], [Tool.function(get_weather)], {"tool_choice": choice})
    body = GeminiModel("gemini-2.5-flash", api_key="k").encode(request, stream=False).body
    assert body["toolConfig"] == {"functionCallingConfig": config}


def test_other_options_pass_through_and_dicts_merge_with_the_users_keys_winning() -> None:
    safety = [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
    body = encoded(
        temperature=0.5,
        thinking_budget=100,
        safetySettings=safety,
        generationConfig={
            "topK": 40,
            "temperature": 0.1,
            "thinkingConfig": {"includeThoughts": False},
        },
    )
    assert body["safetySettings"] == safety
    assert body["generationConfig"] == {
        "temperature": 0.1,
        "topK": 40,
        "thinkingConfig": {"thinkingBudget": 100, "includeThoughts": False},
    }


def test_model_options_apply_first_and_call_options_win(local_server: LocalServer) -> None:
    local_server.reply(reply(text("ok")))
    model = gemini(local_server, options={"temperature": 0.1, "seed": 1})
    model.prompt("hi", temperature=0.9)
    assert local_server.requests[0].json()["generationConfig"] == {"temperature": 0.9, "seed": 1}


def test_options_gemini_cannot_express_are_refused() -> None:
    with pytest.raises(ValueError, match="parallel_tool_calls"):
        encoded(parallel_tool_calls=False)
    with pytest.raises(ValueError, match="thinking_budget"):
        encoded(thinking_budget="lots")


def test_a_recursive_tool_schema_is_sent_as_full_json_schema() -> None:
    node = {
        "type": "object",
        "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
        "$defs": {"Node": {"type": "object", "properties": {"kids": {"$ref": "#/$defs/Node"}}}},
    }
    tree = Tool("walk", "Walk a tree.", node, lambda **kw: "")
    request = Request([Message.user("hi")], tools=[tree])
    body = GeminiModel("gemini-2.5-flash", api_key="k").encode(request, stream=False).body
    (declaration,) = body["tools"][0]["functionDeclarations"]
    assert declaration == {
        "name": "walk",
        "description": "Walk a tree.",
        "parametersJsonSchema": node,
    }


def test_calls_without_a_signature_get_the_placeholder_on_the_first_call_only() -> None:
    calls = [ToolCall("a", {}, "c1"), ToolCall("b", {}, "c2")]
    history = [Message.user("go"), Message.assistant(tool_calls=calls)]
    body = GeminiModel("gemini-3-pro-preview", api_key="k").encode(Request(history), stream=False)
    first, second = body.body["contents"][1]["parts"]
    assert first["thoughtSignature"] == PLACEHOLDER_SIGNATURE
    assert "thoughtSignature" not in second


# -- replies: thinking, finish reasons, usage ------------------------------------------------


def decode(body: dict[str, Any]) -> Reply:
    return GeminiModel("gemini-2.5-flash", api_key="k").decode(body)


def test_thought_parts_become_thinking_with_their_signature() -> None:
    body = reply(text("Let me think.", thought=True, thoughtSignature=SIGNATURE), text("Answer."))
    message = decode(body).message
    thinking, _ = message.parts
    assert isinstance(thinking, Thinking)
    assert (thinking.text, thinking.signature, thinking.provider) == (
        "Let me think.",
        SIGNATURE,
        "gemini",
    )
    assert message.text == "Answer."


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "malformed_function_call"),
    ],
)
def test_finish_reasons_take_neutral_names(reason: str, expected: str) -> None:
    assert decode(reply(text("x"), finish=reason)).finish_reason == expected


def test_a_reply_with_calls_finishes_with_tool_calls() -> None:
    assert decode(reply(call("get_weather", {"city": "Oslo"}))).finish_reason == "tool_calls"


def test_a_blocked_answer_without_content_is_an_empty_reply() -> None:
    body = {"candidates": [{"finishReason": "SAFETY", "index": 0}], "usageMetadata": usage()}
    result = decode(body)
    assert (result.message.parts, result.finish_reason) == ([], "content_filter")


def test_a_blocked_prompt_is_an_empty_reply_with_content_filter(local_server: LocalServer) -> None:
    blocked = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": usage(7, 0)}
    local_server.reply(blocked)
    response = gemini(local_server).prompt("something bad")
    assert response.text() == ""
    assert response.finish_reason == "content_filter"
    local_server.reply(sse(blocked), headers=SSE)
    events = list(gemini(local_server).stream(Request([Message.user("again")])))
    assert isinstance(events[-1], Reply)
    assert events[-1].finish_reason == "content_filter"


def test_usage_counts_thoughts_as_output_and_reports_cached_and_reasoning_tokens() -> None:
    counts = usage(3520, 2, cachedContentTokenCount=3512, thoughtsTokenCount=42)
    result = decode(reply(text("Paris."), usageMetadata=counts)).usage
    assert (result.input_tokens, result.output_tokens) == (3520, 44)
    assert (result.cached_input_tokens, result.reasoning_tokens) == (3512, 42)
    assert result.total_tokens == counts["totalTokenCount"]


def test_usage_not_reported_stays_unknown() -> None:
    result = decode(reply(text("hi"), usageMetadata=usage(4, 1))).usage
    assert (result.cached_input_tokens, result.reasoning_tokens) == (None, None)


# -- streaming ---------------------------------------------------------------------------


def test_streamed_text_and_a_late_signature_become_one_signed_part(
    local_server: LocalServer,
) -> None:
    chunks = [
        reply(text("**Planning**", thought=True), finish=None),
        reply(text("Hello, "), finish=None),
        reply(text("world."), finish=None),
        reply(
            text("", thoughtSignature=SIGNATURE), usageMetadata=usage(5, 3, thoughtsTokenCount=9)
        ),
    ]
    local_server.reply(sse(*chunks), headers=SSE)
    events = list(gemini(local_server).stream(Request([Message.user("hi")])))
    deltas = [(e.text, e.kind) for e in events if isinstance(e, Delta)]
    assert deltas == [("**Planning**", "thinking"), ("Hello, ", "text"), ("world.", "text")]
    final = events[-1]
    assert isinstance(final, Reply)
    sent_back = agentloop.providers.gemini.encode_messages([final.message])[1][0]["parts"]
    assert sent_back == [
        {"text": "**Planning**", "thought": True},
        {"text": "Hello, world.", "thoughtSignature": SIGNATURE},
    ]
    assert (final.usage.output_tokens, final.usage.reasoning_tokens) == (12, 9)


def test_a_json_array_stream_decodes_like_sse(local_server: LocalServer) -> None:
    body = (
        "["
        + ",\r\n".join(json.dumps(c) for c in [reply(text("a"), finish=None), reply(text("b"))])
        + "]"
    )
    local_server.reply(body, headers={"content-type": "application/json; charset=UTF-8"})
    events = list(gemini(local_server).stream(Request([Message.user("hi")])))
    assert [e.text for e in events if isinstance(e, Delta)] == ["a", "b"]


# -- keys, URLs, registry ------------------------------------------------------------------


def test_the_key_travels_in_a_header_and_never_in_the_url(local_server: LocalServer) -> None:
    local_server.reply(reply(text("ok")))
    gemini(local_server, "gemini-2.5-flash").prompt("hi")
    (sent,) = local_server.requests
    assert sent.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert sent.headers["x-goog-api-key"] == KEY


def test_the_key_never_shows_in_reprs_or_saved_responses(local_server: LocalServer) -> None:
    local_server.reply(reply(text("ok")))
    model = gemini(local_server)
    response = model.prompt("hi")
    assert KEY not in repr(model)
    assert KEY not in str(vars(model))
    assert KEY not in json.dumps(response.to_dict())


def test_keys_and_base_url_come_from_the_environment(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("GOOGLE_API_KEY", "google-key")
    monkeypatch.setenv("GEMINI_BASE_URL", local_server.url)
    local_server.reply(reply(text("ok")))
    assert create("gemini-2.5-flash", retry_backoff=0).prompt("hi").text() == "ok"
    assert local_server.requests[0].headers["x-goog-api-key"] == "google-key"
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-key")
    create("gemini-2.5-flash").prompt("hi")
    assert local_server.requests[1].headers["x-goog-api-key"] == "gemini-key"


def test_a_missing_key_names_both_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with pytest.raises(agentloop.MissingKeyError, match="GEMINI_API_KEY or GOOGLE_API_KEY"):
        create("gemini-2.5-flash").prompt("hi")


def test_the_default_endpoint_and_base_urls_that_already_name_a_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GEMINI_BASE_URL", raising=False)
    hello = Request([Message.user("hi")])
    default = GeminiModel("models/gemini-2.5-flash", api_key="k").encode(hello, stream=True)
    assert default.url == (
        "https://generativelanguage.googleapis.com/v1beta/models/"
        "gemini-2.5-flash:streamGenerateContent?alt=sse"
    )
    proxy = GeminiModel("gemini-2.5-flash", api_key="k", base_url="https://proxy.test/v1alpha/")
    assert proxy.encode(hello, stream=False).url == (
        "https://proxy.test/v1alpha/models/gemini-2.5-flash:generateContent"
    )
