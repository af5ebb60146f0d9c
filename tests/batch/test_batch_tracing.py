"""A batch's prompts traced: a chain span per prompt carrying its index, retries as span events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fast_server import Answer, FastServer, last_user_text
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agentloop
from agentloop import LLMClient, tracing


@pytest.fixture
def server() -> Iterator[FastServer]:
    with FastServer() as running:
        yield running


def test_each_prompt_has_its_spans_and_its_retries_show(server: FastServer) -> None:
    failures = iter([True])  # the first request for prompt "1" fails once

    def respond(body: dict[str, object]) -> Answer | None:
        if last_user_text(body) == "1" and next(failures, False):  # type: ignore[arg-type]
            return Answer(503, {"error": {"message": "busy"}})
        return None

    server.respond = respond  # type: ignore[assignment]
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    model = agentloop.get_model("openai-compatible/fast", base_url=server.base_url, api_key="k")
    tracing.instrument(model, tracer_provider=provider)  # the batch's copies of it are traced
    try:
        client = LLMClient(model, max_attempts=3, retry_backoff=0.001)
        results = client.process_prompts_sync(["0", "1", "2"])
    finally:
        tracing.uninstrument(model)
    assert [r.completion for r in results] == ["echo: 0", "echo: 1", "echo: 2"]

    spans = exported.get_finished_spans()
    chains = {
        s.attributes["agentloop.batch.prompt_index"]: s for s in spans if s.name == "invoke_agent"
    }  # type: ignore[index]
    assert sorted(chains) == [0, 1, 2]
    chats = [s for s in spans if s.name == "chat fast"]
    assert len(chats) == 3
    by_prompt = {}
    for chat in chats:
        [index] = [
            i
            for i, chain in chains.items()
            if chat.parent and chat.parent.span_id == chain.context.span_id
        ]
        by_prompt[index] = chat
    assert [e.name for e in by_prompt[1].events] == ["retry"]
    assert by_prompt[1].events[0].attributes["error.type"] == "ServerError"  # type: ignore[index]
    assert len(by_prompt[0].events) == 0
    assert len(by_prompt[2].events) == 0
