"""OpenAI Responses provider: the request body, options, keys, base URLs, structured output."""

from __future__ import annotations

import json
from typing import Any

import pytest
from local_server import LocalServer
from pydantic import BaseModel
from responses_events import message, reply

import agentloop
from agentloop import Message, Text, Thinking, ToolCall, ToolResult
from agentloop.providers.base import Request
from agentloop.providers.openai_responses import OpenAIResponsesModel, create
from agentloop.tools import Tool

PROVIDER = "openai-responses"


def model(name: str = "gpt-4.1-mini", **kwargs: Any) -> OpenAIResponsesModel:
    return create(name, api_key="sk-test", base_url="http://127.0.0.1:9/v1", **kwargs)


def body(
    messages: list[Message] | None = None,
    name: str = "gpt-4.1-mini",
    tools: tuple[Tool, ...] = (),
    stream: bool = False,
    **options: Any,
) -> dict[str, Any]:
    request = Request(messages or [Message.user("hi")], tools, options)
    return model(name).encode(request, stream=stream).body


def get_weather(city: str) -> str:
    "Get the weather for a city."
    return f"Sunny in {city}"


def store(values: dict[str, int]) -> str:
    "Store free-form counters."
    return "ok"


WEATHER = Tool.function(get_weather)


# -- the body ---------------------------------------------------------------------------


def test_a_plain_prompt_is_one_user_item_posted_to_responses() -> None:
    call = model().encode(
        Request([Message.user("hi")], options={"prompt_cache": "off"}), stream=False
    )
    assert call.url == "http://127.0.0.1:9/v1/responses"
    assert call.headers["authorization"] == "Bearer sk-test"
    assert call.body == {
        "model": "gpt-4.1-mini",
        "input": [{"role": "user", "content": "hi"}],
        "stream": False,
    }


def test_a_leading_system_message_becomes_instructions() -> None:
    sent = body([Message.system("Be brief"), Message.user("hi")])
    assert sent["instructions"] == "Be brief"
    assert sent["input"] == [{"role": "user", "content": "hi"}]


def test_a_later_system_message_stays_an_input_item() -> None:
    sent = body([Message.user("hi"), Message.system("Now be formal")])
    assert "instructions" not in sent
    assert sent["input"][1] == {"role": "system", "content": "Now be formal"}


def test_the_stream_flag_follows_the_call() -> None:
    assert body(stream=True)["stream"] is True


def test_tools_are_function_tools_sent_non_strict_by_default() -> None:
    (tool,) = body(tools=(WEATHER,))["tools"]
    assert tool == {
        "type": "function",
        "name": "get_weather",
        "description": "Get the weather for a city.",
        "parameters": WEATHER.parameters,
        "strict": False,  # the Responses API would otherwise default to strict
    }


def test_strict_tools_send_the_strict_schema() -> None:
    (tool,) = body(tools=(WEATHER,), strict_tools=True)["tools"]
    assert tool["strict"] is True
    assert tool["parameters"]["additionalProperties"] is False


def test_a_tool_strict_mode_cannot_express_is_sent_non_strict() -> None:
    (tool,) = body(tools=(Tool.function(store),), strict_tools="auto")["tools"]
    assert tool["strict"] is False
    assert tool["parameters"] == Tool.function(store).parameters


# -- options ----------------------------------------------------------------------------


def test_neutral_options_map_to_responses_fields() -> None:
    sent = body(
        tools=(WEATHER,),
        temperature=0.2,
        top_p=0.9,
        max_tokens=100,
        parallel_tool_calls=False,
        tool_choice="required",
    )
    assert sent["temperature"] == 0.2
    assert sent["top_p"] == 0.9
    assert sent["max_output_tokens"] == 100
    assert sent["parallel_tool_calls"] is False
    assert sent["tool_choice"] == "required"
    assert "max_tokens" not in sent


def test_a_tool_name_as_tool_choice_forces_that_function() -> None:
    sent = body(tools=(WEATHER,), tool_choice="get_weather")
    assert sent["tool_choice"] == {"type": "function", "name": "get_weather"}


def test_a_tool_choice_naming_no_offered_tool_is_refused() -> None:
    with pytest.raises(ValueError, match="get_weather"):
        body(tools=(WEATHER,), tool_choice="get_time")


@pytest.mark.parametrize("option", ["stop", "seed", "thinking_budget"])
def test_options_the_api_cannot_express_are_refused(option: str) -> None:
    with pytest.raises(ValueError, match=option):
        body(**{option: 1})


def test_reasoning_effort_becomes_reasoning_effort_and_merges_with_user_extras() -> None:
    sent = body(reasoning_effort="low", reasoning={"summary": "auto"})
    assert sent["reasoning"] == {"effort": "low", "summary": "auto"}


def test_other_options_pass_through_and_the_user_wins_on_conflicts() -> None:
    sent = body(service_tier="flex", text={"verbosity": "low"}, metadata={"run": "1"})
    assert sent["service_tier"] == "flex"
    assert sent["text"] == {"verbosity": "low"}
    assert sent["metadata"] == {"run": "1"}


def test_user_tools_and_include_extend_what_the_encoder_wrote() -> None:
    options = {"tools": [{"type": "web_search"}], "include": ["web_search_call.action.sources"]}
    request = Request([Message.user("hi")], (WEATHER,), options)
    sent = model("gpt-5-mini").encode(request, stream=False).body
    assert [t.get("name", t["type"]) for t in sent["tools"]] == ["get_weather", "web_search"]
    assert sent["include"] == ["reasoning.encrypted_content", "web_search_call.action.sources"]


def test_model_options_apply_first_and_call_options_win() -> None:
    configured = create("gpt-4.1", api_key="k", options={"temperature": 0.1, "top_p": 0.5})
    sent = configured.encode(
        Request([Message.user("hi")], options={"temperature": 0.9}), stream=False
    )
    assert (sent.body["temperature"], sent.body["top_p"]) == (0.9, 0.5)


# -- reasoning: stateless by default ----------------------------------------------------


def test_a_reasoning_model_asks_for_encrypted_reasoning_without_storing() -> None:
    sent = body(name="gpt-5-mini")
    assert sent["include"] == ["reasoning.encrypted_content"]
    assert sent["store"] is False


def test_a_model_that_does_not_reason_is_sent_neither_include_nor_store() -> None:
    sent = body(name="gpt-4o")
    assert "include" not in sent
    assert "store" not in sent


def test_a_reasoning_effort_turns_stateless_reasoning_on_for_any_model_name() -> None:
    assert body(name="my-proxy-model", reasoning_effort="high")["store"] is False


def reasoning_history(encrypted: str | None) -> list[Message]:
    extra = {PROVIDER: {"id": "rs_1"}}
    call_extra = {PROVIDER: {"id": "fc_1", "status": "completed"}}
    text_extra = {PROVIDER: {"item": {"id": "msg_1", "type": "message", "status": "completed"}}}
    return [
        Message.user("weather?"),
        Message(
            "assistant",
            [
                Thinking("Checking.", encrypted, PROVIDER, extra=extra),
                Text("Let me look.", extra=text_extra),
                ToolCall("get_weather", {"city": "Paris"}, "call_1", extra=call_extra),
            ],
        ),
        Message("tool", [ToolResult("get_weather", "Sunny", "call_1")]),
    ]


def test_stateless_requests_send_reasoning_encrypted_and_no_item_ids() -> None:
    sent = body(reasoning_history("gAAA-secret"), name="gpt-5-mini")
    reasoning, text, call, output = sent["input"][1:]
    assert reasoning["encrypted_content"] == "gAAA-secret"
    assert reasoning["id"] == "rs_1"
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Checking."}]
    assert "id" not in text
    assert "id" not in call
    assert output == {"type": "function_call_output", "call_id": "call_1", "output": "Sunny"}


def test_stateless_requests_leave_out_reasoning_the_server_alone_could_resolve() -> None:
    sent = body(reasoning_history(None), name="gpt-5-mini")
    assert [item.get("type", "message") for item in sent["input"]] == [
        "message",
        "message",
        "function_call",
        "function_call_output",
    ]


def test_with_store_on_the_items_keep_their_ids() -> None:
    sent = body(reasoning_history(None), name="gpt-5-mini", store=True)
    assert sent["store"] is True
    assert sent["input"][1] == {
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "Checking."}],
        "id": "rs_1",
    }
    assert sent["input"][3]["id"] == "fc_1"


def test_thinking_from_another_provider_is_left_out() -> None:
    history = [
        Message.user("hi"),
        Message("assistant", [Thinking("hmm", "sig", "anthropic"), Text("Hello")]),
    ]
    sent = body(history, name="gpt-4o")
    assert sent["input"][1] == {"role": "assistant", "content": "Hello"}
    assert "include" not in sent


# -- structured output ------------------------------------------------------------------


class City(BaseModel):
    name: str
    population: int


class Forecast(BaseModel):
    city: str
    rain: bool = False


def test_a_schema_is_sent_as_a_strict_json_schema_format() -> None:
    request = Request([Message.user("x")], schema=City.model_json_schema(), schema_name="City")
    fmt = model().encode(request, stream=False).body["text"]["format"]
    assert fmt["type"] == "json_schema"
    assert fmt["name"] == "City"
    assert fmt["strict"] is True
    assert fmt["schema"]["required"] == ["name", "population"]
    assert fmt["schema"]["additionalProperties"] is False


def test_a_schema_with_optional_fields_is_sent_non_strict() -> None:
    schema = Forecast.model_json_schema()
    request = Request([Message.user("x")], schema=schema, schema_name="my forecast!")
    fmt = model().encode(request, stream=False).body["text"]["format"]
    assert (fmt["strict"], fmt["schema"], fmt["name"]) == (False, schema, "my_forecast_")


def test_structured_output_parses_the_reply(local_server: LocalServer) -> None:
    answer = json.dumps({"name": "Paris", "population": 2100000})
    local_server.reply(reply(message(answer)))
    served = create("gpt-4.1", api_key="k", base_url=f"{local_server.url}/v1")
    response = served.prompt("Biggest French city", schema=City)
    assert response.parsed() == City(name="Paris", population=2100000)
    assert local_server.requests[0].json()["text"]["format"]["name"] == "City"


def test_structured_output_that_is_not_json_is_a_typed_error_carrying_the_text(
    local_server: LocalServer,
) -> None:
    local_server.reply(reply(message("Paris, I think")))
    served = create("gpt-4.1", api_key="k", base_url=f"{local_server.url}/v1")
    with pytest.raises(agentloop.StructuredOutputError) as info:
        served.prompt("Biggest French city", schema=City).parsed()
    assert info.value.text == "Paris, I think"


# -- keys and base URLs -----------------------------------------------------------------


def test_the_key_and_base_url_come_from_the_environment(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_BASE_URL", f"{local_server.url}/v1/")
    local_server.reply(reply(message("hi")))
    assert create("gpt-4.1").prompt("x").text() == "hi"
    assert local_server.requests[0].path == "/v1/responses"
    assert local_server.requests[0].headers["authorization"] == "Bearer sk-env"


def test_explicit_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env.invalid/v1")
    configured = create("gpt-4.1", api_key="sk-arg", base_url="http://arg.invalid/v1")
    call = configured.encode(Request([Message.user("x")]), stream=False)
    assert call.url == "http://arg.invalid/v1/responses"
    assert call.headers["authorization"] == "Bearer sk-arg"


def test_the_default_base_url_is_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert create("gpt-4.1", api_key="k").base_url == "https://api.openai.com/v1"


def test_a_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(agentloop.MissingKeyError, match="OPENAI_API_KEY"):
        create("gpt-4.1", base_url="http://127.0.0.1:9/v1").prompt("x")


def test_the_key_never_shows_in_reprs_or_saved_responses(local_server: LocalServer) -> None:
    local_server.reply(reply(message("hi")))
    served = create("gpt-4.1", api_key="sk-very-secret", base_url=f"{local_server.url}/v1")
    response = served.prompt("x")
    assert "sk-very-secret" not in repr(served)
    assert "sk-very-secret" not in str(vars(served))
    assert "sk-very-secret" not in json.dumps(response.to_dict())


def test_the_factory_names_the_model_for_the_registry() -> None:
    made = create("gpt-4.1-mini", api_key="k")
    assert isinstance(made, OpenAIResponsesModel)
    assert made.model_id == "openai-responses/gpt-4.1-mini"
