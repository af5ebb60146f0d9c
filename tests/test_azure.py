"""Azure OpenAI over a local server shaped like Azure: its two URL forms, ``api-key`` and
Entra ID tokens, and its replies' content-filter fields. Chains with tool calls run on both
codecs (Chat Completions and Responses), streamed and not, blocking and async."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from local_server import LocalServer
from openai_chat_wire import SSE, as_stream, completion, sse, tool_call
from paris_weather import achain, chain, weather
from responses_events import SSE_HEADERS, event_stream

import agentloop
from agentloop.errors import MissingKeyError
from agentloop.providers.openai_chat.azure import AzureChatModel
from agentloop.providers.openai_responses.azure import AzureResponsesModel

KEY = "azure-key-0123456789"
FILTERS = {
    "hate": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": False, "severity": "safe"},
}


@pytest.fixture(autouse=True)
def azure_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "OPENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)


def filtered(body: dict[str, Any]) -> dict[str, Any]:
    """A Chat Completions body as Azure sends it: the content filters' results beside it."""
    body["prompt_filter_results"] = [{"prompt_index": 0, "content_filter_results": FILTERS}]
    for choice in body["choices"]:
        choice["content_filter_results"] = FILTERS
    return body


def azure_stream(body: dict[str, Any]) -> str:
    """Azure's stream: a first chunk with no choices, only the prompt's filter results."""
    first = {
        "choices": [],
        "created": 0,
        "id": "",
        "model": "",
        "object": "",
        **{"prompt_filter_results": [{"prompt_index": 0, "content_filter_results": FILTERS}]},
    }
    return sse(first) + as_stream(body)


def script_chat_chain(server: LocalServer, *, stream: bool) -> None:
    call = completion(tool_calls=[tool_call("weather", {"city": "Paris"}, "call_1")])
    for body in (filtered(call), filtered(completion("Sunny in Paris."))):
        if stream:
            server.reply(azure_stream(body), headers=SSE)
        else:
            server.reply(body)


def check_chat_chain(server: LocalServer, path: str, *, model: str | None) -> None:
    assert [r.path for r in server.requests] == [path] * 2
    for sent in server.requests:
        assert sent.headers["api-key"] == KEY
        assert "authorization" not in {name.lower() for name in sent.headers}
        assert sent.json().get("model") == model
    messages = server.requests[1].json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]
    assert messages[2] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny in Paris"}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_a_chat_chain_on_the_v1_api_from_the_environment(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch, stream: bool
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", local_server.url + "/")
    script_chat_chain(local_server, stream=stream)
    assert chain(agentloop.get_model("azure/my-gpt-4o"), stream=stream) == "Sunny in Paris."
    check_chat_chain(local_server, "/openai/v1/chat/completions", model="my-gpt-4o")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_an_async_chat_chain_on_the_deployment_form(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch, stream: bool
) -> None:
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    script_chat_chain(local_server, stream=stream)
    model = agentloop.get_async_model("azure/my-gpt-4o", base_url=local_server.url, api_key=KEY)
    assert await achain(model, stream=stream) == "Sunny in Paris."
    path = "/openai/deployments/my-gpt-4o/chat/completions?api-version=2024-10-21"
    check_chat_chain(local_server, path, model=None)  # the deployment is in the path
    await model.aclose()


def test_a_content_filter_stop_is_a_reply_not_an_error(local_server: LocalServer) -> None:
    body = filtered(completion("Partial answer"))
    body["choices"][0]["finish_reason"] = "content_filter"
    body["choices"][0]["content_filter_results"] = {
        **FILTERS,
        "violence": {"filtered": True, "severity": "medium"},
    }
    local_server.reply(body)
    model = AzureChatModel("dep", base_url=local_server.url, api_key=KEY)
    response = model.prompt("tell me")
    assert response.text() == "Partial answer"
    assert response.finish_reason == "content_filter"


# -- Entra ID tokens ------------------------------------------------------------------------


def test_an_entra_id_token_provider_replaces_the_key(
    local_server: LocalServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "env-key-never-sent-with-a-token")
    issued: list[str] = []

    def token_provider() -> str:
        issued.append(f"entra-token-{len(issued) + 1}-abcdef")
        return issued[-1]

    local_server.reply(filtered(completion("one"))).reply(filtered(completion("two")))
    model = agentloop.get_model(
        "azure/dep", base_url=local_server.url, azure_ad_token_provider=token_provider
    )
    with caplog.at_level(logging.DEBUG, logger="agentloop"):
        assert model.prompt("1").text() == "one"
        assert model.prompt("2").text() == "two"
    sent = [r.headers for r in local_server.requests]
    assert [h["authorization"] for h in sent] == [f"Bearer {t}" for t in issued]
    assert all("api-key" not in {name.lower() for name in h} for h in sent)
    assert not any(token in caplog.text for token in issued)


async def test_an_async_token_provider_is_awaited(local_server: LocalServer) -> None:
    async def token_provider() -> str:
        return "async-entra-token-123456"

    local_server.reply(filtered(completion("hi")))
    model = AzureChatModel(
        "dep", base_url=local_server.url, azure_ad_token_provider=token_provider
    ).to_async()
    assert (await model.prompt("hi")).text() == "hi"
    assert local_server.requests[0].headers["authorization"] == "Bearer async-entra-token-123456"


def test_a_token_provider_returning_no_token_is_an_authentication_error(
    local_server: LocalServer,
) -> None:
    model = AzureChatModel("dep", base_url=local_server.url, azure_ad_token_provider=lambda: None)
    with pytest.raises(agentloop.AuthenticationError, match="azure_ad_token_provider"):
        model.prompt("hi").text()
    assert local_server.requests == []


def test_a_token_echoed_in_an_error_is_masked(local_server: LocalServer) -> None:
    token = "entra-token-echoed-back-1234"
    local_server.reply({"error": {"message": f"bad token {token}", "code": "401"}}, status=401)
    model = AzureChatModel(
        "dep", base_url=local_server.url, azure_ad_token_provider=lambda: token, max_retries=0
    )
    with pytest.raises(agentloop.AuthenticationError) as info:
        model.prompt("hi").text()
    assert token not in str(info.value)
    assert token not in (info.value.body or "")


# -- the Responses API on Azure -------------------------------------------------------------


def responses_body(output: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "model": "gpt-4.1-mini",
        "output": output,
        "usage": {"input_tokens": 10, "output_tokens": 3, "total_tokens": 13},
        "content_filters": [{"blocked": False, "source_type": "prompt"}],  # Azure's own
    }


def responses_call() -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_1",
        "name": "weather",
        "arguments": '{"city": "Paris"}',
        "status": "completed",
    }


def responses_text(value: str) -> dict[str, Any]:
    content = [{"type": "output_text", "text": value, "annotations": []}]
    return {"type": "message", "id": "msg_1", "role": "assistant", "content": content}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("version", [None, "2025-04-01-preview"], ids=["v1", "dated"])
def test_a_responses_chain_on_azure(
    local_server: LocalServer, stream: bool, version: str | None
) -> None:
    for body in (responses_body([responses_call()]), responses_body([responses_text("Sunny.")])):
        if stream:
            local_server.reply(event_stream(body), headers=SSE_HEADERS)
        else:
            local_server.reply(body)
    model = agentloop.get_model(
        "azure-responses/my-deployment",
        base_url=f"{local_server.url}/openai/v1",
        api_key=KEY,
        api_version=version,
    )
    assert isinstance(model, AzureResponsesModel)
    conversation = model.conversation(tools=[weather])
    assert conversation.chain("Weather?", stream=stream).text() == "Sunny."
    path = "/openai/v1/responses" if version is None else f"/openai/responses?api-version={version}"
    assert [r.path for r in local_server.requests] == [path] * 2
    for sent in local_server.requests:
        assert sent.headers["api-key"] == KEY
        assert sent.json()["model"] == "my-deployment"
    items = local_server.requests[1].json()["input"]
    output = next(i for i in items if i.get("type") == "function_call_output")
    assert (output["call_id"], output["output"]) == ("call_1", "sunny in Paris")
    assert model.batch_api() is None


# -- configuration errors ---------------------------------------------------------------------


def test_a_missing_key_names_what_to_set(local_server: LocalServer) -> None:
    model = agentloop.get_model("azure/dep", base_url=local_server.url)
    with pytest.raises(MissingKeyError, match=r"AZURE_OPENAI_API_KEY.*azure_ad_token_provider"):
        model.prompt("hi").text()
    assert local_server.requests == []


def test_a_missing_endpoint_names_the_variable() -> None:
    model = agentloop.get_model("azure/dep", api_key=KEY)
    with pytest.raises(MissingKeyError, match="AZURE_OPENAI_ENDPOINT"):
        model.prompt("hi").text()


def test_the_urls_of_both_forms() -> None:
    base = "https://res.openai.azure.com"
    assert AzureChatModel("d", base_url=base).url() == f"{base}/openai/v1/chat/completions"
    v1 = AzureChatModel("d", base_url=f"{base}/openai/v1/", api_version="v1")
    assert v1.url() == f"{base}/openai/v1/chat/completions"
    dated = AzureChatModel("gpt 4o", base_url=f"{base}/openai/v1", api_version="2024-10-21")
    assert dated.url() == (
        f"{base}/openai/deployments/gpt%204o/chat/completions?api-version=2024-10-21"
    )


def test_a_streamed_reply_whose_first_chunk_has_only_filter_results(
    local_server: LocalServer,
) -> None:
    body = completion("Hello there")
    local_server.reply(azure_stream(body), headers=SSE)
    model = AzureChatModel("dep", base_url=local_server.url, api_key=KEY)
    events = list(model.stream(agentloop.Request([agentloop.Message.user("hi")])))
    assert "".join(e.text for e in events if isinstance(e, agentloop.Delta)) == "Hello there"
