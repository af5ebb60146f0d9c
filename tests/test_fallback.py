"""FallbackModel: what falls through to the next model and what surfaces, sync and async,
streamed and not, offline and over local HTTP (an Anthropic-shaped server answering 529, an
OpenAI-shaped one taking over mid-chain with tool calls)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import anthropic_wire
import openai_chat_wire
import pytest
from local_server import LocalServer

import agentloop
from agentloop import (
    AuthenticationError,
    BadRequestError,
    ContextTooLongError,
    Delta,
    FallbackModel,
    FunctionModel,
    InvalidOptionError,
    Message,
    Model,
    OverloadedError,
    ProviderConnectionError,
    RateLimitError,
    Reply,
    Request,
    ServerError,
    StreamIncomplete,
    Text,
    ToolCall,
    Usage,
)
from agentloop.providers.openai_chat import OpenAIChatModel


def failing(error: Exception, model_id: str = "broken/a") -> FunctionModel:
    def fn(request: Request) -> str:
        raise error

    return FunctionModel(fn, model_id=model_id)


def answering(text: str, model_id: str) -> FunctionModel:
    return FunctionModel(lambda request: text, model_id=model_id)


def error(kind: type[Exception]) -> Exception:
    return kind("failed", provider="p")


@pytest.mark.parametrize(
    "kind",
    [RateLimitError, OverloadedError, ServerError, ProviderConnectionError, StreamIncomplete],
)
def test_a_failure_a_retry_may_cure_falls_through(kind: type[Exception]) -> None:
    model = FallbackModel([failing(error(kind)), answering("from b", "second/b")])
    response = model.prompt("hi")
    assert response.text() == "from b"
    assert response.answered_by == "second/b"
    assert response.model == "broken/a"  # the model asked: the first member


@pytest.mark.parametrize("kind", [AuthenticationError, BadRequestError])
def test_authentication_and_bad_requests_never_fall_through(kind: type[Exception]) -> None:
    calls: list[str] = []
    second = FunctionModel(lambda r: calls.append("b") or "b", model_id="second/b")
    model = FallbackModel([failing(error(kind)), second])
    with pytest.raises(kind):
        model.prompt("hi").text()
    assert calls == []


def test_the_last_error_surfaces_with_notes_of_the_earlier_ones() -> None:
    model = FallbackModel(
        [failing(error(RateLimitError), "a/a"), failing(error(OverloadedError), "b/b")]
    )
    with pytest.raises(OverloadedError) as caught:
        model.prompt("hi").text()
    assert any("a/a failed first" in note for note in caught.value.__notes__)


def test_context_too_long_moves_to_a_larger_window_only() -> None:
    tried: list[str] = []

    def member(model_id: str, fails: bool) -> FunctionModel:
        def fn(request: Request) -> str:
            tried.append(model_id)
            if fails:
                raise ContextTooLongError("too long", provider="p")
            return model_id

        return FunctionModel(fn, model_id=model_id)

    small, same, large = member("a/small", True), member("b/same", False), member("c/large", False)
    windows = {"a/small": 8000, "b/same": 8000, "c/large": 200_000}
    model = FallbackModel([small, same, large], context_windows=windows)
    assert model.prompt("hi").text() == "c/large"
    assert tried == ["a/small", "c/large"]  # the member no larger was skipped
    tried.clear()
    no_windows = FallbackModel([member("a/small", True), member("b/same", False)])
    with pytest.raises(ContextTooLongError):
        no_windows.prompt("hi").text()
    assert tried == ["a/small"]


def test_context_windows_are_checked() -> None:
    members = [answering("a", "a/a"), answering("b", "b/b")]
    with pytest.raises(InvalidOptionError, match="no member"):
        FallbackModel(members, context_windows={"c/c": 10})
    with pytest.raises(InvalidOptionError, match="positive int"):
        FallbackModel(members, context_windows={"a/a": 0})
    with pytest.raises(InvalidOptionError):
        FallbackModel([])
    with pytest.raises(InvalidOptionError, match="must be a model"):
        FallbackModel([answering("a", "a/a"), 3])  # type: ignore[list-item]


def streaming(model_id: str, chunks: list[str], then: Exception | None) -> FunctionModel:
    def fn(request: Request) -> Iterator[str]:
        yield from chunks
        if then is not None:
            raise then

    return FunctionModel(fn, model_id=model_id)


def test_a_stream_falls_through_only_before_its_first_delta() -> None:
    before = FallbackModel(
        [streaming("a/a", [], error(OverloadedError)), streaming("b/b", ["he", "llo"], None)]
    )
    response = before.prompt("hi", stream=True)
    assert list(response) == ["he", "llo"]
    assert response.answered_by == "b/b"
    after = FallbackModel(
        [streaming("a/a", ["par"], error(OverloadedError)), streaming("b/b", ["x"], None)]
    )
    chunks: list[str] = []
    with pytest.raises(OverloadedError):
        chunks.extend(after.prompt("hi", stream=True))
    assert chunks == ["par"]  # never a second model's text spliced onto the first's


def test_async_complete_and_stream_fall_through() -> None:
    async def main() -> tuple[str, str, list[str]]:
        model = FallbackModel([failing(error(ServerError)), answering("b", "b/b")]).to_async()
        response = await model.prompt("hi")
        streamed = FallbackModel(
            [streaming("a/a", [], error(RateLimitError)), streaming("b/b", ["s", "t"], None)]
        ).to_async()
        chunks = [c async for c in streamed.prompt("hi", stream=True)]
        return response.text(), response.answered_by, chunks

    assert asyncio.run(main()) == ("b", "b/b", ["s", "t"])


class Closing(FunctionModel):
    def __init__(self, model_id: str) -> None:
        super().__init__(lambda r: "x", model_id=model_id)
        self.closed: list[str] = []

    def close(self) -> None:
        self.closed.append("close")

    async def aclose(self) -> None:
        self.closed.append("aclose")


def test_close_and_aclose_close_every_member() -> None:
    a, b = Closing("a/a"), Closing("b/b")
    model = FallbackModel([a, b])
    model.close()
    asyncio.run(model.aclose())
    assert a.closed == b.closed == ["close", "aclose"]


def test_get_model_with_fallbacks() -> None:
    model = agentloop.get_model("test", fallbacks=["test"], context_windows={"test": 100})
    assert isinstance(model, FallbackModel)
    assert [m.model_id for m in model.models] == ["test", "test"]
    assert model.context_windows == [100, 100]
    assert agentloop.get_async_model("test", fallbacks=["test"]).model_id == "test"
    assert "FallbackModel" in repr(model)


def test_usage_and_cost_stay_per_model() -> None:
    usage = Usage(input_tokens=1000, output_tokens=100)

    def member(model_id: str, fails: bool) -> FunctionModel:
        def fn(request: Request) -> Reply:
            if fails:
                raise RateLimitError("slow down", provider="p")
            return Reply(Message("assistant", [Text("ok")]), Usage(1000, 100))

        return FunctionModel(fn, model_id=model_id)

    model = FallbackModel(
        [member("anthropic/claude-sonnet-4-5", True), member("openai/gpt-4.1-mini", False)]
    )
    response = model.prompt("hi")
    expected = agentloop.prices.cost(usage, "openai/gpt-4.1-mini")
    assert expected is not None
    assert response.usage().cost == pytest.approx(expected)
    assert expected != agentloop.prices.cost(usage, "anthropic/claude-sonnet-4-5")
    assert response.to_dict()["answered_by"] == "openai/gpt-4.1-mini"
    rebuilt = agentloop.Response.from_dict(json.loads(json.dumps(response.to_dict())))
    assert rebuilt.answered_by == "openai/gpt-4.1-mini"


def test_max_cost_prices_each_call_as_the_model_that_answered() -> None:
    def fn(request: Request) -> Reply:
        return Reply(Message("assistant", [Text("ok")]), Usage(1000, 100))

    cheap = FunctionModel(fn, model_id="openai/gpt-4.1-mini")
    model = FallbackModel([failing(error(ServerError), "anthropic/claude-sonnet-4-5"), cheap])
    response = model.chain("hi", max_cost=1.0)
    expected = agentloop.prices.cost(Usage(1000, 100), "openai/gpt-4.1-mini")
    assert response.usage().cost == pytest.approx(expected)


# -- over local HTTP: Anthropic overloaded, OpenAI takes over mid-chain ------------------------

OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def weather(city: str) -> str:
    "The weather in a city."
    return f"sunny in {city}"


@pytest.fixture
def servers() -> Iterator[tuple[LocalServer, LocalServer]]:
    claude, openai = LocalServer(), LocalServer()
    claude.start()
    openai.start()
    yield claude, openai
    claude.stop()
    openai.stop()


def http_fallback(claude: LocalServer, openai: LocalServer) -> FallbackModel:
    first = anthropic_wire.model(claude, "claude-sonnet-4-5", max_retries=1)
    second = OpenAIChatModel("gpt-4.1-mini", base_url=openai.url, api_key="sk-1", retry_backoff=0)
    return FallbackModel([first, second])


def script_overload_mid_chain(claude: LocalServer, openai: LocalServer, *, stream: bool) -> None:
    call = [anthropic_wire.tool_use("toolu_1", "weather", {"city": "Paris"})]
    if stream:
        sse = anthropic_wire.SSE
        claude.reply(anthropic_wire.sse_body(call, "tool_use"), headers=sse)
    else:
        claude.reply(anthropic_wire.message_body(call, "tool_use"))
    claude.reply(OVERLOADED, status=529)  # the model's own retry...
    claude.reply(OVERLOADED, status=529)  # ...spent: OpenAI takes the second call
    reply = openai_chat_wire.completion(
        tool_calls=[openai_chat_wire.tool_call("weather", {"city": "Rome"}, "call_2")]
    )
    final = openai_chat_wire.completion("Sunny in Paris and Rome.")
    if stream:
        openai.reply(openai_chat_wire.as_stream(reply), headers=openai_chat_wire.SSE)
        openai.reply(openai_chat_wire.as_stream(final), headers=openai_chat_wire.SSE)
    else:
        openai.reply(reply)
        openai.reply(final)
    claude.reply(OVERLOADED, status=529)  # still down for the third call


@pytest.mark.parametrize("stream", [False, True])
def test_an_overloaded_anthropic_hands_a_tool_chain_to_openai(
    servers: tuple[LocalServer, LocalServer], stream: bool
) -> None:
    claude, openai = servers
    script_overload_mid_chain(claude, openai, stream=stream)
    model = http_fallback(claude, openai)
    response = model.chain("Weather in Paris and Rome?", tools=[weather], stream=stream)
    text = "".join(response) if stream else response.text()
    assert text == "Sunny in Paris and Rome."
    assert [r.answered_by for r in response.responses] == [
        "anthropic/claude-sonnet-4-5",
        "openai/gpt-4.1-mini",
        "openai/gpt-4.1-mini",
    ]
    assert [r.output for r in response.tool_results()] == ["sunny in Paris", "sunny in Rome"]
    # OpenAI was sent Anthropic's tool call and its result in its own wire format.
    sent = openai.requests[0].json()["messages"]
    assert sent[1]["tool_calls"][0]["id"] == "toolu_1"
    assert sent[2] == {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny in Paris"}
    assert len(claude.requests) == 1 + 2 + 2  # each failing call spent its own retry first
    usages = [r.usage() for r in response.responses]
    assert usages[0].input_tokens == 10
    assert usages[1].input_tokens == 10
    model.close()


def test_the_same_fallback_over_async_http(servers: tuple[LocalServer, LocalServer]) -> None:
    claude, openai = servers
    script_overload_mid_chain(claude, openai, stream=True)

    async def main() -> tuple[str, list[str]]:
        model = http_fallback(claude, openai).to_async()
        try:
            response = model.chain("Weather?", tools=[weather], stream=True)
            text = "".join([c async for c in response])
            return text, [r.answered_by for r in response.responses]
        finally:
            await model.aclose()

    text, answered = asyncio.run(main())
    assert text == "Sunny in Paris and Rome."
    assert answered[1:] == ["openai/gpt-4.1-mini", "openai/gpt-4.1-mini"]


def test_an_authentication_error_over_http_does_not_fall_through(
    servers: tuple[LocalServer, LocalServer],
) -> None:
    claude, openai = servers
    denied = {"type": "error", "error": {"type": "authentication_error", "message": "bad key"}}
    claude.reply(denied, status=401)
    model = http_fallback(claude, openai)
    with pytest.raises(AuthenticationError):
        model.prompt("hi").text()
    assert openai.requests == []
    model.close()


def test_a_stream_broken_after_its_first_delta_surfaces_over_http(
    servers: tuple[LocalServer, LocalServer],
) -> None:
    claude, openai = servers
    body = anthropic_wire.sse_body([anthropic_wire.text("Hello there, a long answer")])
    claude.reply(body, headers=anthropic_wire.SSE, truncate_at=len(body) // 2, promise_more=True)
    model = http_fallback(claude, openai)
    chunks: list[str] = []
    with pytest.raises(StreamIncomplete):
        chunks.extend(model.prompt("hi", stream=True))
    assert chunks
    assert openai.requests == []
    model.close()


def test_a_model_with_fallbacks_is_a_model() -> None:
    model: Model = FallbackModel([answering("a", "a/a")])
    assert model.count_tokens("hello").input_tokens > 0
    assert model.token_rules is model.models[0].token_rules
    call = ToolCall("weather", {"city": "Paris"}, "c1")
    assert FallbackModel([FunctionModel(lambda r: call)]).prompt("x").tool_calls() == [call]
    assert isinstance(next(iter(FallbackModel([answering("a", "a/a")]).stream(Request([])))), Delta)


class ListStreaming(Model):
    """A custom model whose stream is a plain iterator (no close()): still fine as a member."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id

    def complete(self, request: Request) -> Reply:
        return Reply(Message("assistant", [Text("listed")]))

    def stream(self, request: Request) -> Iterator[Any]:
        return iter([Delta("listed"), self.complete(request)])


def test_a_member_streaming_a_plain_iterator() -> None:
    model = FallbackModel([failing(error(ServerError)), ListStreaming("c/c")])
    response = model.prompt("hi", stream=True)
    assert list(response) == ["listed"]
    assert response.answered_by == "c/c"


def test_the_log_stores_and_prices_each_call_as_the_model_that_answered(tmp_path: Any) -> None:
    from agentloop.log import Log

    def fn(request: Request) -> Reply:
        return Reply(Message("assistant", [Text("ok")]), Usage(1000, 100))

    backup = FunctionModel(fn, model_id="openai/gpt-4.1-mini")
    model = FallbackModel([failing(error(ServerError), "anthropic/claude-sonnet-4-5"), backup])
    conversation = model.conversation(
        history_processors=[agentloop.KeepRecent(1)]  # the log keeps every message all the same
    )
    with Log(tmp_path / "logs.db") as log:
        log.attach(conversation)
        conversation.prompt("one")
        conversation.prompt("two")
        logged = log.latest()
    assert logged is not None
    assert [r.model for r in logged.responses] == ["openai/gpt-4.1-mini"] * 2
    assert [m.text for m in logged.messages] == ["one", "ok", "two", "ok"]
    expected = agentloop.prices.cost(Usage(1000, 100), "openai/gpt-4.1-mini")
    assert logged.responses[0].usage.cost == pytest.approx(expected)
