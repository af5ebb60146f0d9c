"""LLMClient: one result per prompt, in order; failures stay per prompt; tools, schemas, models."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fast_server import Answer, FastServer, completion, last_user_text
from pydantic import BaseModel
from rich.console import Console

import agentloop
from agentloop import (
    BatchResult,
    ChainResponse,
    Conversation,
    FunctionModel,
    LLMClient,
    Message,
    Request,
    ToolCall,
)
from agentloop.batch.progress import BatchProgress, wants_progress
from agentloop.errors import (
    BadRequestError,
    ProviderTimeoutError,
    ServerError,
    StructuredOutputError,
)


@pytest.fixture
def server() -> Iterator[FastServer]:
    with FastServer() as running:
        yield running


def http_model(server: FastServer, name: str = "fast") -> agentloop.Model:
    return agentloop.get_model(f"openai-compatible/{name}", base_url=server.base_url)


def test_results_come_back_in_prompt_order_although_they_finish_in_reverse(
    server: FastServer,
) -> None:
    # Prompt i is answered after (20 - i) * 10 ms: the last prompt finishes first.
    server.respond = lambda body: Answer(
        200,
        completion(f"answer {last_user_text(body)}"),
        delay=(20 - int(last_user_text(body))) * 0.01,
    )
    client = LLMClient(http_model(server), max_concurrent_requests=20)

    results = client.process_prompts_sync([str(i) for i in range(20)])

    assert [r.completion for r in results] == [f"answer {i}" for i in range(20)]
    assert [r.index for r in results] == list(range(20))
    finished_first = max(results, key=lambda r: r.elapsed)
    assert finished_first.index == 0  # it really was the slowest


def test_prompts_may_be_strings_messages_message_lists_and_conversations(
    server: FastServer,
) -> None:
    client = LLMClient(http_model(server))
    prompts: list[Any] = [
        "plain",
        Message.user("message"),
        [Message.system("be brief"), Message.user("list")],
        Conversation.system("sys").add(Message.user("conversation")),
    ]

    results = client.process_prompts_sync(prompts)

    assert [r.completion for r in results] == [
        "echo: plain",
        "echo: message",
        "echo: list",
        "echo: conversation",
    ]
    sent = sorted(server.bodies, key=lambda b: last_user_text(b))
    roles = {last_user_text(b): [m["role"] for m in b["messages"]] for b in sent}
    assert roles["list"] == ["system", "user"]
    assert roles["conversation"] == ["system", "user"]


def test_a_failed_prompt_carries_its_error_and_the_others_are_answered(
    server: FastServer,
) -> None:
    server.respond = lambda body: (
        Answer(400, {"error": {"message": "bad prompt", "type": "invalid_request_error"}})
        if last_user_text(body) == "bad"
        else None
    )
    client = LLMClient(http_model(server))

    results = client.process_prompts_sync(["one", "bad", "three"])

    assert [r.ok for r in results] == [True, False, True]
    assert isinstance(results[1].error, BadRequestError)
    assert results[1].completion is None
    assert results[1].attempts == 1  # a 400 is not retried
    assert results[2].completion == "echo: three"


def test_retryable_failures_are_retried_up_to_max_attempts_requests_in_all(
    server: FastServer,
) -> None:
    server.respond = lambda body: Answer(500, {"error": {"message": "boom"}})
    model = agentloop.get_model("openai-compatible/fast", base_url=server.base_url, max_retries=5)
    client = LLMClient(model, max_attempts=3, retry_backoff=0.001)

    [result] = client.process_prompts_sync(["x"])

    assert isinstance(result.error, ServerError)
    # The model's own max_retries=5 is not multiplied in: 3 requests, not 3 x 6.
    assert len(server.arrivals) == 3
    assert result.attempts == 3
    assert model.max_retries == 5  # the batch switched off retries on its own copy only


def test_a_retry_that_succeeds_gives_the_answer_and_counts_the_attempts(
    server: FastServer,
) -> None:
    failures = iter([True, True])
    server.respond = lambda body: (
        Answer(503, {"error": {"message": "busy"}}) if next(failures, False) else None
    )
    client = LLMClient(http_model(server), max_attempts=5, retry_backoff=0.001)

    [result] = client.process_prompts_sync(["x"])

    assert result.completion == "echo: x"
    assert result.attempts == 3


def test_an_attempt_slower_than_request_timeout_fails_with_a_timeout(
    server: FastServer,
) -> None:
    server.respond = lambda body: Answer(200, completion("late"), delay=2.0)
    client = LLMClient(http_model(server), request_timeout=0.1, max_attempts=1)

    [result] = client.process_prompts_sync(["x"])

    assert isinstance(result.error, ProviderTimeoutError)
    assert "request_timeout=0.1" in str(result.error)


def test_the_sync_method_works_inside_a_running_event_loop(server: FastServer) -> None:
    client = LLMClient(http_model(server))

    async def inside_a_loop() -> list[BatchResult]:
        return client.process_prompts_sync(["a", "b"])

    results = asyncio.run(inside_a_loop())

    assert [r.completion for r in results] == ["echo: a", "echo: b"]


async def test_the_async_method_returns_the_same_results(server: FastServer) -> None:
    client = LLMClient(http_model(server))

    results = await client.process_prompts_async(["a", "b"], system="be brief")

    assert [r.completion for r in results] == ["echo: a", "echo: b"]
    assert all(b["messages"][0] == {"role": "system", "content": "be brief"} for b in server.bodies)


def test_options_are_sent_with_every_call(server: FastServer) -> None:
    client = LLMClient(http_model(server))

    client.process_prompts_sync(["a", "b"], temperature=0.25, max_tokens=50)

    assert [(b["temperature"], b["max_tokens"]) for b in server.bodies] == [(0.25, 50)] * 2


def upper(text: str) -> str:
    "Convert text to upper case."
    return text.upper()


def test_tools_run_a_chain_per_prompt() -> None:
    def play(request: Request) -> Any:
        last = request.messages[-1]
        if last.role == "tool":
            return "done: " + last.tool_results[0].output
        return ToolCall("upper", {"text": request.last_user_text}, "")

    client = LLMClient(FunctionModel(play))

    results = client.process_prompts_sync(["panda", "koala"], tools=[upper])
    single = client.process_prompts_sync(["panda"], tools=upper)  # one tool, no list

    assert [r.completion for r in results] == ["done: PANDA", "done: KOALA"]
    assert single[0].completion == "done: PANDA"
    assert isinstance(results[0].response, ChainResponse)
    assert len(results[0].response.responses) == 2  # two model calls per prompt
    assert results[0].attempts == 2
    assert results[0].usage == results[0].response.usage()


class City(BaseModel):
    name: str
    country: str


def test_schema_gives_parsed_answers_and_a_bad_one_fails_alone() -> None:
    answers = {"paris": '{"name": "Paris", "country": "France"}', "nonsense": "not json"}
    client = LLMClient(FunctionModel(lambda request: answers[request.last_user_text]))

    good, bad = client.process_prompts_sync(["paris", "nonsense"], schema=City)

    assert good.parsed == City(name="Paris", country="France")
    assert isinstance(bad.error, StructuredOutputError)
    assert bad.completion == "not json"  # the raw answer is kept


def test_several_models_share_the_prompts_in_turn() -> None:
    first = FunctionModel(lambda request: "first", model_id="first")
    second = FunctionModel(lambda request: "second", model_id="second")
    client = LLMClient([first, second])

    results = client.process_prompts_sync(["a", "b", "c", "d"])

    assert [r.completion for r in results] == ["first", "second", "first", "second"]
    assert [r.model for r in results] == ["first", "second", "first", "second"]


def test_a_failing_model_falls_back_to_the_next_one() -> None:
    def broken(request: Request) -> str:
        raise ServerError("down", provider="broken", status=500)

    client = LLMClient(
        [FunctionModel(broken, model_id="broken"), FunctionModel(lambda r: "ok", model_id="ok")],
        retry_backoff=0.001,
    )

    results = client.process_prompts_sync(["a", "b"])

    assert [r.completion for r in results] == ["ok", "ok"]
    assert [r.model for r in results] == ["ok", "ok"]
    assert [r.attempts for r in results] == [2, 1]  # "a" started on the broken model


def test_a_prompt_of_the_wrong_type_is_refused_naming_its_position() -> None:
    client = LLMClient(FunctionModel(lambda request: "x"))

    with pytest.raises(TypeError, match="prompt 1 is a int"):
        client.process_prompts_sync(["fine", 42])  # type: ignore[list-item]


def test_settings_that_cannot_work_are_refused_at_once() -> None:
    model = FunctionModel(lambda request: "x")
    with pytest.raises(ValueError, match="max_attempts"):
        LLMClient(model, max_attempts=0)
    with pytest.raises(ValueError, match="max_concurrent_requests"):
        LLMClient(model, max_concurrent_requests=0)
    with pytest.raises(ValueError, match="less than one request"):
        LLMClient(model, max_requests_per_minute=30, window_seconds=1)


def test_model_names_are_resolved_with_the_keywords_given() -> None:
    client = LLMClient("openai-compatible/some-model", base_url="http://127.0.0.1:9/v1")

    [model] = client.models

    assert model.model_id == "openai-compatible/some-model"
    assert model.base_url == "http://127.0.0.1:9/v1"  # type: ignore[attr-defined]


def test_the_progress_bar_is_off_without_a_terminal_and_counts_failures_when_on() -> None:
    assert wants_progress(None, Console(file=io.StringIO())) is False
    assert wants_progress(None, Console(file=io.StringIO(), force_terminal=True)) is True

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    with BatchProgress(3, enabled=True, console=console) as bar:
        bar.advance()
        bar.advance(failed=True)
        bar.advance()

    assert (bar.done, bar.failed) == (3, 1)
    assert "3/3" in screen.getvalue()
    assert "1 failed" in screen.getvalue()


def test_an_empty_batch_returns_no_results() -> None:
    client = LLMClient(FunctionModel(lambda request: "x"))

    assert client.process_prompts_sync([]) == []
