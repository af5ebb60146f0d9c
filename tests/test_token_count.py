"""``model.count_tokens``: the providers' counting endpoints over the local server, and the
local counts (tiktoken offline only, else the estimate)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from local_server import LocalServer

import agentloop
from agentloop import Message, Request, TestModel, TokenCount, ToolCall, ToolResult
from agentloop.model import Model
from agentloop.providers.anthropic import AnthropicModel
from agentloop.providers.gemini.model import GeminiModel
from agentloop.providers.openai_chat.count import (
    ENCODING_FILES,
    REPLY_PRIMING,
    TOKENS_PER_MESSAGE,
    cached_offline,
    tiktoken_cache_dir,
)
from agentloop.providers.openai_chat.model import OpenAIChatModel, OpenAICompatibleModel
from agentloop.providers.openai_responses.model import OpenAIResponsesModel
from agentloop.token_count import counted_request
from agentloop.tokens import input_tokens

KEY = "sk-count-test-key"


def add(a: int, b: int) -> int:
    "Add two numbers."
    return a + b


HISTORY = [Message.system("Be brief."), Message.user("What is 2 + 3?")]


def anthropic(server: LocalServer, **kwargs: Any) -> AnthropicModel:
    return AnthropicModel("claude-sonnet-4-5", api_key=KEY, base_url=server.url, **kwargs)


def gemini(server: LocalServer) -> GeminiModel:
    return GeminiModel("gemini-2.5-flash", api_key=KEY, base_url=server.url)


def responses(server: LocalServer) -> OpenAIResponsesModel:
    return OpenAIResponsesModel("gpt-5-mini", api_key=KEY, base_url=f"{server.url}/v1")


def completion_body(model: Model, request: Request) -> dict[str, Any]:
    """What a completion of ``request`` would send: the count must encode the same way."""
    assert hasattr(model, "encode")
    body: dict[str, Any] = model.encode(request, stream=False).body
    return body


def counted(messages: list[Message], options: dict[str, Any] | None = None) -> Request:
    return counted_request(messages, tools=[add], options=options)


# -- the providers' endpoints ------------------------------------------------------------


def test_anthropic_counts_with_its_endpoint(local_server: LocalServer) -> None:
    local_server.reply({"input_tokens": 42})
    model = anthropic(local_server)
    count = model.count_tokens(HISTORY, tools=[add], options={"temperature": 0.5})
    assert count == TokenCount(42, True, "anthropic count_tokens")
    sent = local_server.requests[0]
    assert sent.path == "/v1/messages/count_tokens"
    assert sent.headers["x-api-key"] == KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    completion = completion_body(model, counted(HISTORY, {"temperature": 0.5}))
    assert sent.json() == {
        key: completion[key] for key in ("model", "system", "messages", "tools")
    }  # no max_tokens, stream or sampling: the endpoint refuses them


def test_anthropic_keeps_thinking_and_a_base_url_with_its_v1(local_server: LocalServer) -> None:
    local_server.reply({"input_tokens": 7})
    model = AnthropicModel("claude-sonnet-4-5", api_key=KEY, base_url=f"{local_server.url}/v1")
    model.count_tokens("Hi", options={"thinking_budget": 1024})
    sent = local_server.requests[0]
    assert sent.path == "/v1/messages/count_tokens"
    assert sent.json()["thinking"] == {"type": "enabled", "budget_tokens": 1024}


def test_gemini_counts_the_whole_generate_content_request(local_server: LocalServer) -> None:
    local_server.reply({"totalTokens": 17, "promptTokensDetails": []})
    model = gemini(local_server)
    count = model.count_tokens(HISTORY, tools=[add])
    assert count == TokenCount(17, True, "gemini countTokens")
    sent = local_server.requests[0]
    assert sent.path == "/v1beta/models/gemini-2.5-flash:countTokens"
    assert sent.headers["x-goog-api-key"] == KEY
    generate = completion_body(model, counted(HISTORY))
    assert sent.json() == {
        "generateContentRequest": {"model": "models/gemini-2.5-flash", **generate}
    }
    assert {"contents", "systemInstruction", "tools"} <= set(generate)


def test_responses_counts_with_input_tokens(local_server: LocalServer) -> None:
    local_server.reply({"object": "response.input_tokens", "input_tokens": 23})
    model = responses(local_server)
    count = model.count_tokens(HISTORY, tools=[add])
    assert count == TokenCount(23, True, "openai responses input_tokens")
    sent = local_server.requests[0]
    assert sent.path == "/v1/responses/input_tokens"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    completion = completion_body(model, counted(HISTORY))
    body = sent.json()
    assert body == {key: completion[key] for key in ("model", "instructions", "input", "tools")}
    assert "store" in completion
    assert "stream" in completion


def test_a_conversation_is_counted_with_its_tools(local_server: LocalServer) -> None:
    local_server.reply({"input_tokens": 5})
    model = anthropic(local_server)
    conversation = model.conversation(system="Be brief.", tools=[add])
    conversation.messages.append(Message.user("What is 2 + 3?"))
    assert model.count_tokens(conversation).input_tokens == 5
    body = local_server.requests[0].json()
    assert body["system"]
    assert [t["name"] for t in body["tools"]] == ["add"]
    assert body["messages"] == completion_body(model, counted(HISTORY))["messages"]


def test_a_text_is_one_user_message_and_system_sets_the_prompt(
    local_server: LocalServer,
) -> None:
    local_server.reply({"input_tokens": 3})
    anthropic(local_server).count_tokens(
        "Hello", system="Be brief.", options={"prompt_cache": "off"}
    )
    body = local_server.requests[0].json()
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}]
    assert "Be brief." in str(body["system"])


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, agentloop.AuthenticationError),
        (400, agentloop.BadRequestError),
        (404, agentloop.ModelNotFoundError),
    ],
)
def test_a_provider_error_is_typed_and_the_key_masked(
    local_server: LocalServer, status: int, error: type[agentloop.ProviderError]
) -> None:
    local_server.reply({"error": {"type": "x", "message": f"bad key {KEY}"}}, status=status)
    with pytest.raises(error) as raised:
        anthropic(local_server).count_tokens("Hi")
    assert KEY not in str(raised.value)
    assert KEY not in (raised.value.body or "")
    assert len(local_server.requests) == 1


def test_a_busy_provider_is_retried(local_server: LocalServer) -> None:
    local_server.reply({"error": {"message": "busy"}}, status=529).reply({"input_tokens": 9})
    assert anthropic(local_server, retry_backoff=0.01).count_tokens("Hi").input_tokens == 9
    assert len(local_server.requests) == 2


@pytest.mark.parametrize("reply", [{"tokens": 3}, {"input_tokens": "3"}, [1], {"input_tokens": -1}])
def test_a_reply_without_a_count_is_a_format_error(local_server: LocalServer, reply: Any) -> None:
    local_server.reply(reply)
    with pytest.raises(agentloop.ResponseFormatError):
        anthropic(local_server).count_tokens("Hi")


async def test_async_counts_go_through_the_async_transport(local_server: LocalServer) -> None:
    local_server.reply({"totalTokens": 11}).reply({"input_tokens": 12})
    first, second = gemini(local_server), responses(local_server)
    assert await first.to_async().count_tokens("Hi") == TokenCount(11, True, "gemini countTokens")
    count = await second.to_async().count_tokens(HISTORY, tools=[add])
    assert count.input_tokens == 12
    assert [r.path for r in local_server.requests] == [
        "/v1beta/models/gemini-2.5-flash:countTokens",
        "/v1/responses/input_tokens",
    ]
    await first.aclose()
    await second.aclose()


async def test_async_errors_are_typed(local_server: LocalServer) -> None:
    local_server.reply({"error": {"type": "x", "message": "no"}}, status=403)
    model = anthropic(local_server)
    with pytest.raises(agentloop.PermissionDeniedError):
        await model.to_async().count_tokens("Hi")
    await model.aclose()


# -- local counts ----------------------------------------------------------------------


def test_offline_models_count_with_the_estimate() -> None:
    request = Request([Message.user("Hello there")])
    assert TestModel().count_tokens("Hello there") == TokenCount(
        input_tokens(request), False, "estimate"
    )


async def test_offline_models_count_when_awaited() -> None:
    count = await TestModel().to_async().count_tokens(HISTORY, tools=[add])
    assert count.source == "estimate"
    assert count.input_tokens > 10


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """An empty tiktoken cache and no encoding in memory; any download tiktoken tries is
    recorded (it fails at once) and fails the test."""
    load = pytest.importorskip("tiktoken.load")
    registry = pytest.importorskip("tiktoken.registry")
    downloads: list[str] = []

    def download(blobpath: str) -> bytes:
        downloads.append(blobpath)
        raise OSError("no network in tests")

    monkeypatch.setattr(load, "read_file", download)
    monkeypatch.setattr(registry, "ENCODINGS", {})
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    yield tmp_path
    assert downloads == []


def chat_model() -> OpenAIChatModel:
    # Never contacted: Chat Completions counts locally.
    return OpenAIChatModel("gpt-4o", api_key=KEY, base_url="http://127.0.0.1:9/v1")


def test_chat_without_the_encoding_on_disk_falls_back_to_the_estimate(no_network: Path) -> None:
    count = chat_model().count_tokens(HISTORY, tools=[add])
    rules = OpenAIChatModel.token_rules
    assert count == TokenCount(input_tokens(counted(HISTORY), rules), False, "estimate")


def cached_path(folder: Path, name: str) -> Path:
    return folder / hashlib.sha1(ENCODING_FILES[name][0].encode()).hexdigest()


def test_a_corrupt_cached_file_falls_back_without_downloading(no_network: Path) -> None:
    # tiktoken would delete it and download the file again: it is never asked.
    cached_path(no_network, "o200k_base").write_bytes(b"not a bpe file")
    assert not cached_offline("o200k_base")
    assert chat_model().count_tokens("Hi").source == "estimate"


def test_a_whole_cached_file_is_found(no_network: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"a BPE file"
    cached_path(no_network, "cl100k_base").write_bytes(data)
    url = ENCODING_FILES["cl100k_base"][0]
    monkeypatch.setitem(ENCODING_FILES, "cl100k_base", (url, hashlib.sha256(data).hexdigest()))
    assert cached_offline("cl100k_base")
    assert not cached_offline("o200k_base")


def test_chat_without_tiktoken_counts_with_the_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "tiktoken", None)  # an import of it raises ImportError
    monkeypatch.setitem(sys.modules, "tiktoken.model", None)
    assert chat_model().count_tokens("Hi").source == "estimate"


def byte_encoding(name: str) -> Any:
    """A tokenizer of one token per byte, standing in for a real encoding offline."""
    import tiktoken

    ranks = {bytes([i]): i for i in range(256)}
    return tiktoken.Encoding(name=name, pat_str=r"[\s\S]", mergeable_ranks=ranks, special_tokens={})


def test_chat_counts_with_tiktoken_when_the_encoding_is_loaded(
    no_network: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tiktoken.registry

    monkeypatch.setitem(tiktoken.registry.ENCODINGS, "o200k_base", byte_encoding("o200k_base"))
    count = chat_model().count_tokens("Hi <|endoftext|>")
    # One user message, wrapped as OpenAI's cookbook counts it; special tokens counted as text.
    expected = REPLY_PRIMING + TOKENS_PER_MESSAGE + len("user") + len("Hi <|endoftext|>")
    assert count == TokenCount(expected, False, "tiktoken")


def test_compatible_hosts_pick_the_encoding_by_model_name(
    no_network: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tiktoken.registry

    monkeypatch.setitem(tiktoken.registry.ENCODINGS, "cl100k_base", byte_encoding("cl100k_base"))
    compatible = OpenAICompatibleModel("openai/gpt-3.5-turbo", base_url="http://127.0.0.1:9/v1")
    assert compatible.count_tokens("Hi").source == "tiktoken"  # cl100k_base, by the name
    unknown = OpenAICompatibleModel("llama-3.3-70b", base_url="http://127.0.0.1:9/v1")
    assert unknown.count_tokens("Hi").source == "estimate"  # o200k_base: not on disk


def test_tiktoken_tools_and_calls_are_counted(
    no_network: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tiktoken.registry

    monkeypatch.setitem(tiktoken.registry.ENCODINGS, "o200k_base", byte_encoding("o200k_base"))
    bare = chat_model().count_tokens(HISTORY).input_tokens
    with_tools = chat_model().count_tokens(HISTORY, tools=[add]).input_tokens
    assert with_tools > bare + len("Add two numbers.")
    call = ToolCall("add", {"a": 2, "b": 3}, "call_1")
    answered = [
        *HISTORY,
        Message("assistant", [call]),
        Message.tool(ToolResult("add", "5", "call_1")),
    ]
    assert chat_model().count_tokens(answered).input_tokens > bare + len('{"a":2,"b":3}')


def test_the_cache_folder_follows_tiktoken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    monkeypatch.setenv("DATA_GYM_CACHE_DIR", "/somewhere")
    assert tiktoken_cache_dir() == Path("/somewhere")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    assert tiktoken_cache_dir() is None  # caching off: every load would download
    assert not cached_offline("o200k_base")
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR")
    monkeypatch.delenv("DATA_GYM_CACHE_DIR")
    folder = tiktoken_cache_dir()
    assert folder is not None
    assert folder.name == "data-gym-cache"
    assert not cached_offline("gpt2")  # two files of its own: never looked up
