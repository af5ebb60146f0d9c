"""Switching provider mid-conversation keeps every tool call and result.

A conversation starts on OpenAI Chat (a local server answering like OpenAI),
makes a tool call, and carries on through Anthropic, Gemini and the Responses
API; another goes on to Vertex AI, Azure OpenAI, an OpenAI-compatible host,
Bedrock and Cohere, and back. Each provider must receive the whole history, tool calls and
results included, in its own wire format.
"""

from __future__ import annotations

from typing import Any

import anthropic_wire
import cohere_wire
import gemini_replies
import openai_chat_wire
import pytest
from local_server import LocalServer

import agentloop
from agentloop.providers.openai_chat import OpenAIChatModel
from agentloop.providers.openai_responses import OpenAIResponsesModel


def weather(city: str) -> str:
    "The weather in a city."
    return f"sunny in {city}"


@pytest.fixture
def servers() -> Any:
    made = [LocalServer() for _ in range(4)]
    for server in made:
        server.start()
    yield made
    for server in made:
        server.stop()


def responses_reply(text: str) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "model": "gpt-4.1-mini",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ],
        "usage": {"input_tokens": 10, "output_tokens": 3, "total_tokens": 13},
    }


def test_history_with_tool_calls_survives_four_providers(servers: list[LocalServer]) -> None:
    chat, claude, gemini, responses = servers
    chat.reply(
        openai_chat_wire.completion(
            tool_calls=[openai_chat_wire.tool_call("weather", {"city": "Paris"}, "call_1")]
        )
    ).reply(openai_chat_wire.completion("It is sunny in Paris."))
    claude.reply(anthropic_wire.message_body([anthropic_wire.text("Still sunny.")]))
    gemini.reply(gemini_replies.reply(gemini_replies.text("Yes, sunny.")))
    responses.reply(responses_reply("Sunny, as everyone said."))

    conversation = OpenAIChatModel(
        "gpt-4.1-mini", base_url=chat.url, api_key="sk-1", retry_backoff=0
    ).conversation(tools=[weather])
    assert conversation.chain("Weather in Paris?").text() == "It is sunny in Paris."

    conversation.model = anthropic_wire.model(claude)
    assert conversation.prompt("Still?").text() == "Still sunny."
    sent = claude.requests[-1].json()["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user", "assistant", "user"]
    assert sent[1]["content"][0] == {
        "type": "tool_use",
        "id": "call_1",
        "name": "weather",
        "input": {"city": "Paris"},
    }
    assert sent[2]["content"][0]["type"] == "tool_result"
    assert sent[2]["content"][0]["tool_use_id"] == "call_1"

    conversation.model = gemini_replies.gemini(gemini)
    assert conversation.prompt("Sure?").text() == "Yes, sunny."
    contents = gemini.requests[-1].json()["contents"]
    call = contents[1]["parts"][0]["functionCall"]
    assert (call["name"], call["args"]) == ("weather", {"city": "Paris"})
    answer = contents[2]["parts"][0]["functionResponse"]
    assert answer["name"] == "weather"
    assert "sunny in Paris" in str(answer["response"])

    conversation.model = OpenAIResponsesModel(
        "gpt-4.1-mini", base_url=responses.url, api_key="sk-1", retry_backoff=0
    )
    assert conversation.prompt("Last check?").text() == "Sunny, as everyone said."
    items = responses.requests[-1].json()["input"]
    kinds = [i.get("type", "message") for i in items]
    assert "function_call" in kinds
    assert "function_call_output" in kinds
    output = next(i for i in items if i.get("type") == "function_call_output")
    assert output["call_id"] == "call_1"
    assert output["output"] == "sunny in Paris"


def test_thinking_is_not_sent_to_another_provider(servers: list[LocalServer]) -> None:
    claude, chat = servers[0], servers[1]
    claude.reply(
        anthropic_wire.message_body(
            [anthropic_wire.thinking("let me think"), anthropic_wire.text("42")]
        )
    )
    chat.reply(openai_chat_wire.completion("43"))
    conversation = anthropic_wire.model(claude).conversation()
    assert conversation.prompt("answer?").text() == "42"
    conversation.model = OpenAIChatModel(
        "gpt-4.1-mini", base_url=chat.url, api_key="sk-1", retry_backoff=0
    )
    conversation.prompt("and plus one?")
    sent = chat.requests[-1].json()["messages"]
    assert sent[1] == {"role": "assistant", "content": "42"}
    assert "let me think" not in str(sent)


def test_registry_names_resolve_to_each_provider() -> None:
    expected = {
        "gpt-4.1-mini": "openai",
        "openai/gpt-4.1-mini": "openai",
        "o3-mini": "openai",
        "openai-responses/gpt-4.1-mini": "openai-responses",
        "claude-sonnet-4-5": "anthropic",
        "anthropic/claude-opus-9": "anthropic",
        "gemini-2.5-flash": "gemini",
        "gemini/gemini-9-pro": "gemini",
        "ollama/qwen3": "ollama",
        "vertex/gemini-2.5-flash": "vertex",
        "azure/my-deployment": "azure",
        "azure-responses/my-deployment": "azure-responses",
    }
    for name, provider in expected.items():
        assert agentloop.get_model(name).model_id.split("/")[0] == provider, name


def test_unknown_names_are_a_clear_error() -> None:
    with pytest.raises(agentloop.UnknownModelError, match="provider/model"):
        agentloop.get_model("no-such-model")


def test_default_model_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTLOOP_MODEL", "test")
    assert agentloop.get_model().model_id == "test"
    monkeypatch.delenv("AGENTLOOP_MODEL")
    assert agentloop.get_model().model_id == "openai/gpt-4.1-mini"


def test_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    agentloop.register_alias("fast-test-alias", "gemini/gemini-2.5-flash")
    assert agentloop.get_model("fast-test-alias").model_id == "gemini/gemini-2.5-flash"


def test_a_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(agentloop.MissingKeyError, match="ANTHROPIC_API_KEY"):
        agentloop.get_model("claude-sonnet-4-5").prompt("hi")


def test_history_with_tool_calls_moves_across_the_clouds_and_back(
    servers: list[LocalServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One conversation with a tool call moves from OpenAI to Anthropic, Gemini, Vertex AI
    (express mode), Azure OpenAI, an OpenAI-compatible host (Groq), AWS Bedrock, Cohere and
    back to OpenAI; each receives the whole history, the call and its result included, in its own
    wire format."""
    monkeypatch.setenv("GOOGLE_API_KEY", "AQ.express-key-for-vertex")
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    chat, claude, google, other = servers
    chat.reply(
        openai_chat_wire.completion(
            tool_calls=[openai_chat_wire.tool_call("weather", {"city": "Paris"}, "call_1")]
        )
    ).reply(openai_chat_wire.completion("It is sunny in Paris."))
    conversation = OpenAIChatModel(
        "gpt-4.1-mini", base_url=chat.url, api_key="sk-1", retry_backoff=0
    ).conversation(tools=[weather])
    assert conversation.chain("Weather in Paris?").text() == "It is sunny in Paris."

    claude.reply(anthropic_wire.message_body([anthropic_wire.text("Still sunny.")]))
    conversation.model = anthropic_wire.model(claude)
    assert conversation.prompt("Still?").text() == "Still sunny."
    assert claude.requests[-1].json()["messages"][1]["content"][0]["id"] == "call_1"

    google.reply(gemini_replies.reply(gemini_replies.text("Yes, sunny.")))
    conversation.model = gemini_replies.gemini(google)
    assert conversation.prompt("Sure?").text() == "Yes, sunny."

    google.reply(gemini_replies.reply(gemini_replies.text("Vertex agrees.")))
    conversation.model = agentloop.get_model("vertex/gemini-2.5-flash", base_url=google.url)
    assert conversation.prompt("Vertex?").text() == "Vertex agrees."
    sent = google.requests[-1]
    assert sent.path == "/v1/publishers/google/models/gemini-2.5-flash:generateContent"
    contents = sent.json()["contents"]
    assert contents[1]["parts"][0]["functionCall"]["args"] == {"city": "Paris"}
    assert "sunny in Paris" in str(contents[2]["parts"][0]["functionResponse"]["response"])

    other.reply(openai_chat_wire.completion("Azure says sunny."))
    conversation.model = agentloop.get_model("azure/gpt-4o", base_url=other.url, api_key="az-1")
    assert conversation.prompt("Azure?").text() == "Azure says sunny."
    sent = other.requests[-1]
    assert sent.path == "/openai/v1/chat/completions"
    messages = sent.json()["messages"]
    assert messages[1]["tool_calls"][0]["id"] == "call_1"
    assert messages[2] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny in Paris"}

    other.reply(openai_chat_wire.completion("Groq too."))
    conversation.model = agentloop.get_model(
        "groq/llama-3.3-70b-versatile", base_url=f"{other.url}/openai/v1", api_key="gsk-1"
    )
    assert conversation.prompt("Groq?").text() == "Groq too."
    assert other.requests[-1].path == "/openai/v1/chat/completions"
    assert other.requests[-1].json()["messages"][2]["tool_call_id"] == "call_1"

    other.reply(
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "Bedrock too."}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 40, "outputTokens": 3, "totalTokens": 43},
        }
    )
    conversation.model = agentloop.get_model(
        "bedrock/us.amazon.nova-micro-v1:0",
        base_url=other.url,
        api_key="ABSK-1",
        region="us-west-2",
    )
    assert conversation.prompt("Bedrock?").text() == "Bedrock too."
    sent = other.requests[-1]
    assert sent.path == "/model/us.amazon.nova-micro-v1%3A0/converse"
    bedrock_messages = sent.json()["messages"]
    assert bedrock_messages[1]["content"][0]["toolUse"]["toolUseId"] == "call_1"
    assert bedrock_messages[2]["content"][0]["toolResult"]["toolUseId"] == "call_1"

    other.reply(cohere_wire.reply("Cohere sees sun."))
    conversation.model = agentloop.get_model(
        "cohere/command-a-03-2025", base_url=other.url, api_key="co-1"
    )
    assert conversation.prompt("Cohere?").text() == "Cohere sees sun."
    sent = other.requests[-1]
    assert sent.path == "/v2/chat"
    cohere_messages = sent.json()["messages"]
    assert cohere_messages[1]["tool_calls"][0]["id"] == "call_1"
    assert cohere_messages[1]["tool_calls"][0]["function"]["arguments"] == '{"city":"Paris"}'
    assert cohere_messages[2] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": "sunny in Paris",
    }

    chat.reply(openai_chat_wire.completion("Back home: sunny."))
    conversation.model = OpenAIChatModel(
        "gpt-4.1-mini", base_url=chat.url, api_key="sk-1", retry_backoff=0
    )
    assert conversation.prompt("And now?").text() == "Back home: sunny."
    messages = chat.requests[-1].json()["messages"]
    assert [m["role"] for m in messages[:3]] == ["user", "assistant", "tool"]
    assert len([m for m in messages if m["role"] == "user"]) == 9
