"""OpenTelemetry spans of prompts and chains, read back from the SDK's in-memory exporter.

A two-step chain with two tools run side by side, sync and async, streamed and not, gives
one ``invoke_agent`` span, a ``chat`` span per model call and an ``execute_tool`` span per
call, all children of the chain span (the tools' spans too, though their events came from
worker threads or tasks); attributes follow the GenAI conventions; errors set the status and
``error.type``; content is recorded only when asked for; an API key never lands in a span.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from local_server import LocalServer
from openai_chat_wire import as_stream, completion, tool_call, usage
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from agentloop import FunctionModel, Request, TestModel, ToolCall, tracing
from agentloop import tool as agentloop_tool
from agentloop.errors import AuthenticationError, ServerError
from agentloop.providers.openai_chat import OpenAIChatModel

ROOT = Path(__file__).parents[1]
KEY = "sk-live-0123456789abcdefSECRET"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    tracing.instrument(tracer_provider=provider)
    try:
        yield exported
    finally:
        tracing.uninstrument()


def by_name(spans: tuple[ReadableSpan, ...] | list[ReadableSpan]) -> dict[str, list[ReadableSpan]]:
    out: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        out.setdefault(span.name, []).append(span)
    return out


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


# -- a two-step chain with two tools side by side -------------------------------------


def both_cities(request: Request) -> Any:
    """Asks for two cities at once, then answers."""
    if not any(m.role == "tool" for m in request.messages):
        return [
            ToolCall("weather", {"city": "Paris"}, "c1"),
            ToolCall("weather", {"city": "Rome"}, "c2"),
        ]
    return "Sunny in both."


def both_cities_streamed(request: Request) -> Iterator[Any]:
    if len(request.messages) == 1:
        yield ToolCall("weather", {"city": "Paris"}, "c1")
        yield ToolCall("weather", {"city": "Rome"}, "c2")
    else:
        yield "Sunny "
        yield "in both."


def side_by_side() -> tuple[Any, Any]:
    """A sync and an async tool that each wait until both are running: they can only finish
    if they run at the same time (threads for the sync one, tasks for the async one)."""
    barrier = threading.Barrier(2, timeout=10)

    def weather(city: str) -> str:
        "The weather in a city."
        barrier.wait()
        return f"Sunny in {city}"

    arrived: list[str] = []
    both = asyncio.Event()

    async def aweather(city: str) -> str:
        "The weather in a city."
        arrived.append(city)
        if len(arrived) == 2:
            both.set()
        await asyncio.wait_for(both.wait(), 10)
        return f"Sunny in {city}"

    aweather.__name__ = "weather"
    return weather, aweather


def check_chain_spans(spans: tuple[ReadableSpan, ...], *, streamed: bool) -> None:
    named = by_name(spans)
    assert sorted(named) == ["chat function", "execute_tool weather", "invoke_agent"]
    [chain] = named["invoke_agent"]
    chats = sorted(named["chat function"], key=lambda s: s.start_time or 0)
    tools = named["execute_tool weather"]
    assert len(chats) == 2
    assert len(tools) == 2
    assert chain.parent is None
    assert chain.kind is SpanKind.INTERNAL
    for span in [*chats, *tools]:
        assert parent_of(span) == chain.context.span_id
        assert span.context.trace_id == chain.context.trace_id
    assert {s.kind for s in chats} == {SpanKind.CLIENT}
    assert {s.kind for s in tools} == {SpanKind.INTERNAL}

    assert chain.attributes is not None
    assert chain.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert chain.attributes["gen_ai.provider.name"] == "function"
    assert chain.attributes["agentloop.model_calls"] == 2
    first, second = (s.attributes or {} for s in chats)
    assert first["gen_ai.operation.name"] == "chat"
    assert first["gen_ai.request.model"] == "function"
    assert first["gen_ai.request.stream"] is streamed
    assert first["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert second["gen_ai.response.finish_reasons"] == ("stop",)
    total_in = first["gen_ai.usage.input_tokens"] + second["gen_ai.usage.input_tokens"]
    assert chain.attributes["gen_ai.usage.input_tokens"] == total_in
    if streamed:
        assert "gen_ai.response.time_to_first_chunk" in first
    assert {(s.attributes or {})["gen_ai.tool.call.id"] for s in tools} == {"c1", "c2"}
    for tool in tools:
        attributes = tool.attributes or {}
        assert attributes["gen_ai.operation.name"] == "execute_tool"
        assert attributes["gen_ai.tool.name"] == "weather"
        assert tool.status.status_code is StatusCode.UNSET
        # Each tool ran within the chain, after the first model call and before the second.
        assert chats[0].end_time <= tool.start_time <= tool.end_time <= chats[1].start_time  # type: ignore[operator]
    assert chain.start_time <= chats[0].start_time
    assert chats[1].end_time <= chain.end_time
    # No content unless asked for.
    for span in spans:
        keys = set(span.attributes or {})
        assert not keys & {
            "gen_ai.input.messages",
            "gen_ai.output.messages",
            "gen_ai.tool.call.arguments",
            "gen_ai.tool.call.result",
            "gen_ai.tool.definitions",
        }


@pytest.mark.parametrize("streamed", [False, True])
def test_a_sync_chain_with_tools_run_side_by_side(
    exporter: InMemorySpanExporter, streamed: bool
) -> None:
    weather, _ = side_by_side()
    play = both_cities_streamed if streamed else both_cities
    response = FunctionModel(play).chain("Paris and Rome?", tools=[weather], stream=streamed)
    assert response.text() == "Sunny in both."
    check_chain_spans(exporter.get_finished_spans(), streamed=streamed)


@pytest.mark.parametrize("streamed", [False, True])
async def test_an_async_chain_with_tools_run_side_by_side(
    exporter: InMemorySpanExporter, streamed: bool
) -> None:
    _, aweather = side_by_side()
    play = both_cities_streamed if streamed else both_cities
    model = FunctionModel(play).to_async()
    response = model.chain("Paris and Rome?", tools=[aweather], stream=streamed)
    if streamed:
        assert "".join([chunk async for chunk in response]) == "Sunny in both."
    else:
        assert (await response).text() == "Sunny in both."
    check_chain_spans(exporter.get_finished_spans(), streamed=streamed)


def test_the_chain_span_is_a_child_of_the_callers_span(exporter: InMemorySpanExporter) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("app").start_as_current_span("handle request") as outer:
        TestModel().prompt("hi").text()
    named = by_name(exporter.get_finished_spans())
    [chain] = named["invoke_agent"]
    assert parent_of(chain) == outer.get_span_context().span_id
    assert parent_of(named["chat test"][0]) == chain.context.span_id


def test_content_is_recorded_when_asked_for() -> None:
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    tracing.instrument(tracer_provider=provider, record_content=True, agent_name="Forecaster")
    try:
        weather, _ = side_by_side()
        conversation = FunctionModel(both_cities).conversation(system="Be brief.", tools=[weather])
        conversation.chain("Paris and Rome?").text()
    finally:
        tracing.uninstrument()
    named = by_name(exported.get_finished_spans())
    [chain] = named["invoke_agent Forecaster"]
    assert (chain.attributes or {})["gen_ai.agent.name"] == "Forecaster"
    first, second = sorted(named["chat function"], key=lambda s: s.start_time or 0)
    attributes = first.attributes or {}
    assert json.loads(str(attributes["gen_ai.system_instructions"])) == [
        {"type": "text", "content": "Be brief."}
    ]
    assert json.loads(str(attributes["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "Paris and Rome?"}]}
    ]
    [definition] = json.loads(str(attributes["gen_ai.tool.definitions"]))
    assert definition["name"] == "weather"
    [output] = json.loads(str(attributes["gen_ai.output.messages"]))
    assert output["finish_reason"] == "tool_calls"
    assert output["parts"][0] == {
        "type": "tool_call",
        "id": "c1",
        "name": "weather",
        "arguments": {"city": "Paris"},
    }
    sent = json.loads(str((second.attributes or {})["gen_ai.input.messages"]))
    assert sent[-1]["role"] == "tool"
    assert {p["response"] for p in sent[-1]["parts"]} == {"Sunny in Paris", "Sunny in Rome"}
    tools = {
        (s.attributes or {})["gen_ai.tool.call.id"]: s.attributes or {}
        for s in named["execute_tool weather"]
    }
    assert json.loads(str(tools["c2"]["gen_ai.tool.call.arguments"])) == {"city": "Rome"}
    assert tools["c2"]["gen_ai.tool.call.result"] == "Sunny in Rome"


# -- errors ------------------------------------------------------------------------------


def test_a_tool_that_fails_and_a_refused_call_are_spans_in_error(
    exporter: InMemorySpanExporter,
) -> None:
    def fails(city: str) -> str:
        "Always fails."
        raise ValueError("no such city")

    def play(request: Request) -> Any:
        if len(request.messages) == 1:
            return [ToolCall("fails", {"city": "X"}, "c1"), ToolCall("missing", {}, "c2")]
        return "sorry"

    FunctionModel(play).chain("?", tools=[fails]).text()
    named = by_name(exporter.get_finished_spans())
    [failed] = named["execute_tool fails"]
    assert failed.status.status_code is StatusCode.ERROR
    assert (failed.attributes or {})["error.type"] == "ValueError"
    [refused] = named["execute_tool missing"]
    assert refused.status.status_code is StatusCode.ERROR
    assert (refused.attributes or {})["agentloop.tool.ran"] is False
    assert refused.start_time == refused.end_time
    [chain] = named["invoke_agent"]
    assert chain.status.status_code is StatusCode.UNSET  # the chain itself answered


def test_a_failed_model_call_marks_its_span_and_the_chains(
    exporter: InMemorySpanExporter,
) -> None:
    def play(request: Request) -> Any:
        raise ServerError("the provider fell over", provider="function", status=500)

    with pytest.raises(ServerError):
        FunctionModel(play).prompt("hi").text()
    named = by_name(exporter.get_finished_spans())
    for span in (named["chat function"][0], named["invoke_agent"][0]):
        assert span.status.status_code is StatusCode.ERROR
        assert (span.attributes or {})["error.type"] == "ServerError"
        [event] = [e for e in span.events if e.name == "exception"]
        assert "fell over" in str((event.attributes or {})["exception.message"])


# -- keys ----------------------------------------------------------------------------------


def every_text(spans: tuple[ReadableSpan, ...]) -> str:
    """Every attribute, event and status text of the spans, as one string."""
    texts: list[str] = []
    for span in spans:
        texts.append(json.dumps(dict(span.attributes or {}), default=str))
        texts.append(span.status.description or "")
        for event in span.events:
            texts.append(event.name + json.dumps(dict(event.attributes or {}), default=str))
    return "\n".join(texts)


def test_no_api_key_lands_in_a_span(local_server: LocalServer) -> None:
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    model = OpenAIChatModel("gpt-4.1-mini", base_url=local_server.url, api_key=KEY, max_retries=1)
    tracing.instrument(model, tracer_provider=provider, record_content=True)
    try:
        # A 503 echoing the key (retried), then a 401 echoing it: both in the spans, masked.
        echo = {"error": {"message": f"bad key {KEY}", "type": "invalid_request_error"}}
        local_server.reply(echo, status=503).reply(echo, status=401)
        with pytest.raises(AuthenticationError):
            model.prompt(f"my key is {KEY}").text()
    finally:
        tracing.uninstrument(model)
    spans = exported.get_finished_spans()
    assert {s.name for s in spans} == {"invoke_agent", "chat gpt-4.1-mini"}
    text = every_text(spans)
    assert KEY not in text
    assert "[redacted]" in text
    [chat] = [s for s in spans if s.name.startswith("chat")]
    [retry] = [e for e in chat.events if e.name == "retry"]
    assert (retry.attributes or {})["error.type"] in ("OverloadedError", "ServerError")
    assert (retry.attributes or {})["agentloop.retry.attempt"] == 1
    assert (chat.attributes or {})["gen_ai.provider.name"] == "openai"


def test_an_http_chain_records_the_wire_usage_and_model(local_server: LocalServer) -> None:
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    model = OpenAIChatModel("gpt-4.1-mini", base_url=local_server.url, api_key=KEY)
    calls = [tool_call("shout", {"text": "hi"}, "call_1")]
    first = completion(tool_calls=calls, usage_=usage(12, 7, cached=4))
    local_server.reply(as_stream(first), headers={"content-type": "text/event-stream"})
    local_server.reply(as_stream(completion("HI")), headers={"content-type": "text/event-stream"})

    def shout(text: str) -> str:
        "Shout."
        return text.upper()

    tracing.instrument(model, tracer_provider=provider)
    try:
        assert "".join(model.chain("shout hi", tools=[shout], stream=True)) == "HI"
        FunctionModel(lambda r: "not traced").prompt("x").text()  # another model: no spans
    finally:
        tracing.uninstrument(model)
    named = by_name(exported.get_finished_spans())
    assert sorted(named) == ["chat gpt-4.1-mini", "execute_tool shout", "invoke_agent"]
    first_call = min(named["chat gpt-4.1-mini"], key=lambda s: s.start_time or 0)
    attributes = first_call.attributes or {}
    assert attributes["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert attributes["gen_ai.usage.input_tokens"] == 12
    assert attributes["gen_ai.usage.output_tokens"] == 7
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 4
    assert attributes["gen_ai.request.stream"] is True


# -- on and off ----------------------------------------------------------------------------


def test_instrumenting_one_model_leaves_the_others_alone() -> None:
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    traced, other = TestModel(), TestModel()
    tracing.instrument(traced.to_async(), tracer_provider=provider)
    try:
        assert tracing.is_instrumented(traced)
        assert not tracing.is_instrumented(other)
        other.prompt("not traced").text()
        assert exported.get_finished_spans() == ()
        traced.prompt("traced").text()
        assert len(exported.get_finished_spans()) == 2
    finally:
        tracing.uninstrument(traced)
    traced.prompt("no longer traced").text()
    assert len(exported.get_finished_spans()) == 2
    assert not tracing.is_instrumented(traced)
    from agentloop.run import run_watchers

    assert run_watchers == []


def test_nothing_imports_opentelemetry_until_tracing_is_turned_on() -> None:
    code = """
import sys
import agentloop
import agentloop.tracing

def shout(text: str) -> str:
    "Shout."
    return text.upper()

agentloop.get_model("test").chain("say hello", tools=[shout]).text()
assert not [m for m in sys.modules if m.startswith("opentelemetry")], "loaded too early"
agentloop.tracing.instrument()
assert "opentelemetry.trace" in sys.modules
print("ok")
"""
    ran = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "ok"


def test_the_global_tracer_provider_is_used_by_default() -> None:
    code = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import agentloop, agentloop.tracing

agentloop.tracing.instrument()  # before the provider is set: the tracer follows it
exported = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exported))
trace.set_tracer_provider(provider)
agentloop.get_model("test").prompt("hi").text()
print(sorted(s.name for s in exported.get_finished_spans()))
"""
    ran = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "['chat test', 'invoke_agent']"


def test_approvals_are_events_on_the_chain_span(exporter: InMemorySpanExporter) -> None:
    @agentloop_tool(requires_approval=True)
    def delete(path: str) -> str:
        "Delete a file."
        return f"deleted {path}"

    def play(request: Request) -> Any:
        if not any(m.role == "tool" for m in request.messages):
            return ToolCall("delete", {"path": "a.txt"}, "c1")
        return "done"

    FunctionModel(play).chain("?", tools=[delete], approve=lambda tool, call: False).text()
    named = by_name(exporter.get_finished_spans())
    [chain] = named["invoke_agent"]
    assert [e.name for e in chain.events] == ["approval requested", "approval decided"]
    decided = chain.events[1].attributes or {}
    assert decided["gen_ai.tool.call.id"] == "c1"
    assert decided["agentloop.approval.approved"] is False
    [refused] = named["execute_tool delete"]
    assert refused.status.status_code is StatusCode.ERROR
