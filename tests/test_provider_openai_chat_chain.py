"""OpenAI Chat Completions end to end: tool chains, structured output, keys and base URLs.

A local server answers exactly like the API (bodies from openai_chat_wire), so
each test runs the real model class over real HTTP, sync and async, streamed
and not.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from local_server import LocalServer
from openai_chat_wire import SSE, as_stream, completion, http_client, tool_call, usage
from pydantic import BaseModel

import agentloop
from agentloop.providers.openai_chat import (
    OllamaModel,
    OpenAIChatModel,
    OpenAICompatibleModel,
    create,
    create_compatible,
    create_ollama,
    ollama_base_url,
)


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"Sunny, 22C in {city}"


class City(BaseModel):
    name: str
    country: str


def model(server: LocalServer, **kwargs: Any) -> OpenAIChatModel:
    kwargs.setdefault("retry_backoff", 0)
    kwargs.setdefault("http_client", http_client())
    return OpenAIChatModel("gpt-4o", api_key="sk-test", base_url=f"{server.url}/v1", **kwargs)


def script(server: LocalServer, *bodies: dict[str, Any], stream: bool) -> None:
    for body in bodies:
        if stream:
            server.reply(as_stream(body), headers=SSE)
        else:
            server.reply(body)


WEATHER_ROUND = completion(None, tool_calls=[tool_call("get_weather", {"city": "Paris"}, "c1")])
ANSWER = completion("It is sunny in Paris.", usage_=usage(40, 8, cached=32, reasoning=4))


def assert_weather_chain_went_over_the_wire(server: LocalServer, *, stream: bool) -> None:
    first, second = (r.json() for r in server.requests)
    assert [t["function"]["name"] for t in first["tools"]] == ["get_weather"]
    assert first["stream"] is stream
    assert second["messages"][-2:] == [
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "Sunny, 22C in Paris"},
    ]
    assert all(r.path == "/v1/chat/completions" for r in server.requests)
    assert all(r.headers["authorization"] == "Bearer sk-test" for r in server.requests)


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_chain(local_server: LocalServer, stream: bool) -> None:
    script(local_server, WEATHER_ROUND, ANSWER, stream=stream)
    response = model(local_server).chain("Weather in Paris?", tools=[get_weather], stream=stream)
    chunks = list(response) if stream else []
    assert response.text() == "It is sunny in Paris."
    assert chunks == (["It is s", "unny in", " Paris."] if stream else [])
    assert [c.name for c in response.tool_calls()] == ["get_weather"]
    total = response.usage()
    assert (total.input_tokens, total.output_tokens) == (50, 13)
    assert (total.cached_input_tokens, total.reasoning_tokens) == (32, 4)
    assert_weather_chain_went_over_the_wire(local_server, stream=stream)


@pytest.mark.parametrize("stream", [False, True])
async def test_a_tool_chain_async(local_server: LocalServer, stream: bool) -> None:
    script(local_server, WEATHER_ROUND, ANSWER, stream=stream)
    amodel = model(local_server).to_async()
    response = amodel.chain("Weather in Paris?", tools=[get_weather], stream=stream)
    if stream:
        assert "".join([chunk async for chunk in response]) == "It is sunny in Paris."
    else:
        await response
    assert response.text() == "It is sunny in Paris."
    assert_weather_chain_went_over_the_wire(local_server, stream=stream)


@pytest.mark.parametrize("stream", [False, True])
def test_parallel_calls_run_and_answer_in_order(local_server: LocalServer, stream: bool) -> None:
    calls = [
        tool_call("get_weather", {"city": "Paris"}, "c1"),
        tool_call("get_weather", {"city": "Rome"}, "c2"),
    ]
    script(
        local_server, completion(None, tool_calls=calls), completion("Both sunny."), stream=stream
    )
    response = model(local_server).chain("Paris and Rome?", tools=[get_weather], stream=stream)
    assert response.text() == "Both sunny."
    tool_messages = local_server.requests[1].json()["messages"][-2:]
    assert [(m["role"], m["tool_call_id"], m["content"]) for m in tool_messages] == [
        ("tool", "c1", "Sunny, 22C in Paris"),
        ("tool", "c2", "Sunny, 22C in Rome"),
    ]


def test_thinking_streams_as_thinking_deltas_and_goes_back(local_server: LocalServer) -> None:
    body = completion("Paris.", reasoning_content="The capital is Paris.")
    script(local_server, body, completion("Yes."), stream=True)
    chat = model(local_server)
    question = agentloop.Message.user("?")
    *deltas, reply = list(chat.stream(agentloop.Request([question])))
    thinking = [d.text for d in deltas if isinstance(d, agentloop.Delta) and d.kind == "thinking"]
    assert "".join(thinking) == "The capital is Paris."
    assert isinstance(reply, agentloop.Reply)
    list(chat.prompt("Sure?", messages=[question, reply.message], stream=True))
    sent_back = local_server.requests[1].json()["messages"][1]
    assert sent_back == {
        "role": "assistant",
        "reasoning_content": "The capital is Paris.",
        "content": "Paris.",
    }


# -- structured output ---------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_structured_output_uses_strict_json_schema(local_server: LocalServer, stream: bool) -> None:
    script(local_server, completion('{"name": "Paris", "country": "France"}'), stream=stream)
    response = model(local_server).prompt("Capital of France?", schema=City, stream=stream)
    if stream:
        list(response)
    assert response.parsed() == City(name="Paris", country="France")
    sent = local_server.requests[0].json()["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["name"] == "City"
    assert sent["json_schema"]["strict"] is True
    assert sent["json_schema"]["schema"]["additionalProperties"] is False


def test_a_schema_with_optional_properties_is_sent_without_strict(
    local_server: LocalServer,
) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "title": "Count"}
    script(local_server, completion('{"n": 3}'), stream=False)
    assert model(local_server).prompt("n?", schema=schema).parsed() == {"n": 3}
    sent = local_server.requests[0].json()["response_format"]["json_schema"]
    assert sent == {"name": "Count", "schema": schema}


def test_invalid_json_from_the_model_is_a_typed_error_with_the_text(
    local_server: LocalServer,
) -> None:
    script(local_server, completion("Paris, France"), stream=False)
    response = model(local_server).prompt("Capital?", schema=City)
    with pytest.raises(agentloop.StructuredOutputError) as info:
        response.parsed()
    assert info.value.text == "Paris, France"


def test_in_a_chain_the_schema_shapes_the_final_answer(local_server: LocalServer) -> None:
    final = completion('{"name": "Paris", "country": "France"}')
    script(local_server, WEATHER_ROUND, final, stream=False)
    response = model(local_server).chain("Where?", tools=[get_weather], schema=City)
    assert response.parsed() == City(name="Paris", country="France")


# -- keys, base URLs and the compatible servers --------------------------------------------------


def test_the_key_and_base_url_come_from_the_environment(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_BASE_URL", f"{local_server.url}/v1/")
    script(local_server, completion("hi"), stream=False)
    chat = OpenAIChatModel("gpt-4o", retry_backoff=0)
    assert chat.prompt("x").text() == "hi"
    assert local_server.requests[0].headers["authorization"] == "Bearer sk-env"
    assert local_server.requests[0].path == "/v1/chat/completions"


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env.invalid/v1")
    chat = OpenAIChatModel("gpt-4o", api_key="sk-arg", base_url="http://arg.invalid/v1")
    call = chat.encode(agentloop.Request([agentloop.Message.user("x")]), stream=False)
    assert call.url == "http://arg.invalid/v1/chat/completions"
    assert call.headers["authorization"] == "Bearer sk-arg"


def test_the_default_base_url_is_openais(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert OpenAIChatModel("gpt-4o").base_url == "https://api.openai.com/v1"


def test_a_missing_key_names_the_variable_before_any_request(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    chat = OpenAIChatModel("gpt-4o", base_url=local_server.url)
    with pytest.raises(agentloop.MissingKeyError, match="OPENAI_API_KEY"):
        chat.prompt("x")
    assert local_server.requests == []


def test_the_key_never_shows(local_server: LocalServer) -> None:
    script(local_server, completion("hi"), stream=False)
    chat = OpenAIChatModel("gpt-4o", api_key="sk-secret-123", base_url=local_server.url)
    response = chat.prompt("x")
    assert "sk-secret-123" not in repr(chat)
    assert "sk-secret-123" not in str(vars(chat))
    assert "sk-secret-123" not in json.dumps(response.to_dict())


def test_a_compatible_server_needs_a_base_url_but_no_key(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-only")
    with pytest.raises(ValueError, match="base_url"):
        OpenAICompatibleModel("llama")
    script(local_server, completion("hi"), stream=False)
    local = OpenAICompatibleModel("llama", base_url=f"{local_server.url}/v1", retry_backoff=0)
    assert local.prompt("x", max_tokens=5).text() == "hi"
    sent = local_server.requests[0]
    assert "authorization" not in sent.headers  # the OpenAI key never goes elsewhere
    assert sent.json()["max_tokens"] == 5
    assert local.model_id == "openai-compatible/llama"


def test_a_compatible_server_gets_the_key_it_was_given(local_server: LocalServer) -> None:
    script(local_server, completion("hi"), stream=False)
    groq = create_compatible("openai/gpt-oss-120b", base_url=local_server.url, api_key="gsk-1")
    groq.prompt("x")
    assert local_server.requests[0].headers["authorization"] == "Bearer gsk-1"
    assert local_server.requests[0].json()["model"] == "openai/gpt-oss-120b"


@pytest.mark.parametrize(
    ("host", "base_url"),
    [
        (None, "http://localhost:11434/v1"),
        ("127.0.0.1", "http://127.0.0.1:11434/v1"),
        ("0.0.0.0:8080", "http://0.0.0.0:8080/v1"),
        ("https://ollama.example.com", "https://ollama.example.com/v1"),
        ("http://box:11434/", "http://box:11434/v1"),
        ("http://box:11434/v1", "http://box:11434/v1"),
    ],
)
def test_ollama_host_forms(host: str | None, base_url: str) -> None:
    assert ollama_base_url(host) == base_url


def test_ollama_runs_without_a_key_at_ollama_host(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", local_server.url)
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-only")
    script(local_server, completion("hello"), stream=True)
    ollama = create_ollama("qwen3", retry_backoff=0)
    assert isinstance(ollama, OllamaModel)
    assert ollama.model_id == "ollama/qwen3"
    assert "".join(ollama.prompt("hi", stream=True)) == "hello"
    sent = local_server.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert "authorization" not in sent.headers


def test_the_factories_build_the_right_models() -> None:
    openai = create("gpt-4.1-mini", api_key="k")
    assert type(openai) is OpenAIChatModel
    assert openai.model_id == "openai/gpt-4.1-mini"
    compatible = create_compatible("m", base_url="http://h/v1")
    assert type(compatible) is OpenAICompatibleModel
