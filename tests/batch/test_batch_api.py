"""The batch-API mode over local servers shaped like OpenAI, Anthropic and Gemini batch APIs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from batch_servers import AnthropicFake, BatchServer, GeminiFake, OpenAIFake, running
from pydantic import BaseModel

from agentloop import LLMClient, Message
from agentloop.errors import (
    BadRequestError,
    BatchCancelledError,
    BatchExpiredError,
    BatchFailedError,
    BatchUnsupportedError,
    ChainLimitExceeded,
    PauseChain,
    ResponseFormatError,
)
from agentloop.model import Model
from agentloop.providers.anthropic.model import AnthropicModel
from agentloop.providers.gemini.model import GeminiModel
from agentloop.providers.openai_chat.model import OpenAIChatModel
from agentloop.providers.openai_responses.model import OpenAIResponsesModel
from agentloop.tools import tool


@dataclass
class Provider:
    name: str
    fake: type[BatchServer]
    make: Callable[[str], Model]
    #: How many requests the live endpoint got, among the server's requests.
    live_path: str


PROVIDERS = [
    Provider(
        "openai-chat",
        OpenAIFake,
        lambda url: OpenAIChatModel(
            "gpt-4.1-mini", base_url=f"{url}/v1", api_key="sk-test", retry_backoff=0
        ),
        "/v1/chat/completions",
    ),
    Provider(
        "openai-responses",
        OpenAIFake,
        lambda url: OpenAIResponsesModel(
            "gpt-4.1-mini", base_url=f"{url}/v1", api_key="sk-test", retry_backoff=0
        ),
        "/v1/responses",
    ),
    Provider(
        "anthropic",
        AnthropicFake,
        lambda url: AnthropicModel(
            "claude-sonnet-4-5", base_url=url, api_key="sk-ant-test", retry_backoff=0
        ),
        "/v1/messages",
    ),
    Provider(
        "gemini",
        GeminiFake,
        lambda url: GeminiModel(
            "gemini-2.5-flash", base_url=url, api_key="g-test", retry_backoff=0
        ),
        ":generateContent",
    ),
]
BY_NAME = {p.name: p for p in PROVIDERS}


@pytest.fixture(params=PROVIDERS, ids=[p.name for p in PROVIDERS])
def provider(request: pytest.FixtureRequest) -> Provider:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def fake(provider: Provider) -> Iterator[BatchServer]:
    with running(provider.fake()) as server:
        yield server


def client_for(provider: Provider, fake: BatchServer) -> LLMClient:
    return LLMClient(provider.make(fake.url), progress=False, batch_poll_interval=0)


@tool
def add(a: int, b: int) -> str:
    """Add two numbers."""
    return f"RESULT={a + b}"


@tool(requires_approval=True)
def vault(name: str) -> str:
    """Read a secret."""
    return f"RESULT={len(name)}"


def creates(fake: BatchServer) -> int:
    """Batch jobs the server was asked to create."""
    return len(fake.jobs)


def live_calls(fake: BatchServer, provider: Provider) -> int:
    return sum(r.path.split("?")[0].endswith(provider.live_path) for r in fake.requests)


def test_batch_mode_gives_the_live_results_at_half_the_cost(
    provider: Provider, fake: BatchServer
) -> None:
    prompts: list[Any] = ["echo one", [Message.user("echo two")], Message.user("echo three")]
    client = client_for(provider, fake)
    live = client.process_prompts_sync(prompts)
    batched = client.process_prompts_sync(prompts, batch_api=True)
    assert [r.completion for r in batched] == [r.completion for r in live]
    assert [r.completion for r in batched] == ["echo: one", "echo: two", "echo: three"]
    assert [r.index for r in batched] == [0, 1, 2]
    assert creates(fake) == 1
    assert live_calls(fake, provider) == 3
    for result, paid_live in zip(batched, live, strict=True):
        assert result.ok
        assert result.response is not None
        assert paid_live.usage.cost  # the table knows the model (as the provider reported it)
        assert result.usage.cost == pytest.approx(paid_live.usage.cost / 2)


def test_a_batch_request_is_byte_for_byte_the_live_body(
    provider: Provider, fake: BatchServer
) -> None:
    client = client_for(provider, fake)
    client.process_prompts_sync(["echo bytes é"], system="Be brief.", temperature=0.5)
    live = next(r.body for r in fake.requests if r.path.split("?")[0].endswith(provider.live_path))
    client.submit_batch_sync(["echo bytes é"], system="Be brief.", temperature=0.5)
    (upload,) = fake.uploads
    assert live in upload
    (job,) = fake.jobs.values()
    if provider.fake is OpenAIFake:  # the line's body is spliced in unchanged
        assert job.lines[0][1] == live


def test_tool_chains_run_locally_between_rounds(provider: Provider, fake: BatchServer) -> None:
    ran: list[tuple[str, str]] = []
    client = client_for(provider, fake)
    handle = client.submit_batch_sync(
        ["add 2 3", "echo plain", "add 10 5"],
        tools=[add],
        before_call=lambda tool, call: ran.append(("before", call.name)),
    )
    assert handle.round == 1
    assert creates(fake) == 1
    results = handle.wait()
    assert [r.completion for r in results] == ["sum=5", "echo: plain", "sum=15"]
    assert handle.round == 2
    assert creates(fake) == 2
    # Round 2 holds only the conversations that called a tool.
    assert sorted(handle.prompts[i].calls for i in range(3)) == [1, 2, 2]
    assert ran == [("before", "add"), ("before", "add")]
    assert live_calls(fake, provider) == 0
    assert results[0].usage.input_tokens == 2 * results[1].usage.input_tokens


def test_an_approval_that_pauses_stops_that_conversation_only(
    provider: Provider, fake: BatchServer
) -> None:
    def ask_a_human(tool: Any, call: Any) -> bool:
        raise PauseChain("a human decides")

    client = client_for(provider, fake)
    handle = client.submit_batch_sync(
        ["secret door", "add 1 2"], tools=[add, vault], approve=ask_a_human
    )
    paused, answered = handle.wait()
    assert isinstance(paused.error, PauseChain)
    assert paused.response is not None
    assert paused.response.state is not None
    assert answered.completion == "sum=3"
    (state,) = handle.paused().values()
    assert [call.name for call in state.pending] == ["vault"]
    assert handle.paused()[0].to_dict() == paused.response.state.to_dict()  # type: ignore[union-attr]


def test_a_failed_request_fails_its_prompt_only(provider: Provider, fake: BatchServer) -> None:
    client = client_for(provider, fake)
    results = client.process_prompts_sync(["echo a", "fail now", "echo b"], batch_api=True)
    assert [r.completion for r in results] == ["echo: a", None, "echo: b"]
    assert isinstance(results[1].error, BadRequestError)
    assert "refused" in str(results[1].error)


def test_an_unreadable_reply_fails_its_prompt_only(provider: Provider, fake: BatchServer) -> None:
    client = client_for(provider, fake)
    results = client.process_prompts_sync(["echo a", "garbled"], batch_api=True)
    assert results[0].completion == "echo: a"
    assert isinstance(results[1].error, ResponseFormatError)


def test_job_states_as_the_provider_reports_them(provider: Provider, fake: BatchServer) -> None:
    client = client_for(provider, fake)
    handle = client.submit_batch_sync(["echo a"])
    seen = [handle.jobs[0].state]
    while handle.status().jobs[0].state not in ("completed", "expired", "cancelled", "failed"):
        seen.append(handle.jobs[0].state)
    seen.append(handle.jobs[0].state)
    expected = {
        "openai-chat": ["validating", "in_progress", "finalizing", "completed"],
        "openai-responses": ["validating", "in_progress", "finalizing", "completed"],
        "anthropic": ["in_progress", "in_progress", "in_progress", "completed"],
        "gemini": ["validating", "in_progress", "in_progress", "completed"],
    }
    assert seen == expected[provider.name]
    assert handle.wait()[0].completion == "echo: a"


@pytest.mark.parametrize("name", ["openai-chat", "anthropic", "gemini"])
def test_an_expired_job_keeps_what_it_answered(name: str) -> None:
    provider = BY_NAME[name]
    with running(provider.fake()) as fake:
        fake.states = ["validating", "in_progress", "expired"]
        fake.partial = 1
        results = client_for(provider, fake).process_prompts_sync(
            ["echo a", "echo b", "echo c"], batch_api=True
        )
    assert results[0].completion == "echo: a"
    assert all(isinstance(r.error, BatchExpiredError) for r in results[1:])


@pytest.mark.parametrize("name", ["openai-chat", "gemini"])
def test_a_failed_job_fails_each_prompt(name: str) -> None:
    provider = BY_NAME[name]
    with running(provider.fake()) as fake:
        fake.states = ["validating", "failed"]
        results = client_for(provider, fake).process_prompts_sync(
            ["echo a", "echo b"], batch_api=True
        )
    assert all(isinstance(r.error, BatchFailedError) for r in results)


@pytest.mark.parametrize("name", ["openai-chat", "anthropic", "gemini"])
def test_cancel_gives_the_partial_results(name: str) -> None:
    provider = BY_NAME[name]
    with running(provider.fake()) as fake:
        fake.partial = 1
        handle = client_for(provider, fake).submit_batch_sync(["echo a", "echo b", "echo c"])
        assert handle.cancel().cancelled
        results = handle.wait()
    assert results[0].completion == "echo: a"
    assert all(isinstance(r.error, BatchCancelledError) for r in results[1:])
    assert creates(fake) == 1


def test_a_chain_cancelled_between_rounds_does_not_go_on(
    fake: BatchServer, provider: Provider
) -> None:
    handle = client_for(provider, fake).submit_batch_sync(["add 1 1", "echo a"], tools=[add])
    handle.cancel()
    fake.partial = 2
    chained, plain = handle.wait()
    assert plain.completion == "echo: a"
    assert isinstance(chained.error, BatchCancelledError)
    assert chained.usage.input_tokens > 0  # the round it was answered in is paid for
    assert creates(fake) == 1


def test_a_provider_without_a_batch_api_fails_before_any_upload(local_server: Any) -> None:
    from agentloop.providers.openai_chat.model import OpenAICompatibleModel

    model = OpenAICompatibleModel("llama", base_url=f"{local_server.url}/v1")
    client = LLMClient(model, progress=False)
    with pytest.raises(BatchUnsupportedError, match="no batch API"):
        client.process_prompts_sync(["echo a"], batch_api=True)
    with pytest.raises(BatchUnsupportedError):
        LLMClient("test", progress=False).submit_batch_sync(["echo a"])
    assert local_server.requests == []


def test_limits_split_a_round_into_several_jobs(
    fake: BatchServer, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentloop.providers.batch_wire import BatchLimits

    api = type(provider.make(fake.url).batch_api())  # type: ignore[attr-defined]
    monkeypatch.setattr(api, "limits", BatchLimits(max_requests=2, max_bytes=10**6))
    prompts = [f"echo {n}" for n in range(5)]
    results = client_for(provider, fake).process_prompts_sync(prompts, batch_api=True)
    assert [r.completion for r in results] == [f"echo: {n}" for n in range(5)]
    assert [len(job.lines) for job in fake.jobs.values()] == [2, 2, 1]


def test_the_handle_serializes(fake: BatchServer, provider: Provider, tmp_path: Any) -> None:
    path = tmp_path / "job.json"
    client = client_for(provider, fake)
    handle = client.submit_batch_sync(["add 2 2", "echo x"], tools=[add], handle_file=path)
    saved = json.loads(path.read_text())
    assert saved["round"] == 1
    (job,) = saved["jobs"]
    assert job["model"] == client.models[0].model_id
    assert job["custom_ids"] == {"r1-p0": 0, "r1-p1": 1}
    assert saved == handle.to_dict()


def test_a_large_gemini_job_goes_as_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentloop.providers.gemini import batch

    monkeypatch.setattr(batch, "INLINE_BYTES", 100)
    provider = BY_NAME["gemini"]
    with running(GeminiFake()) as fake:
        client = client_for(provider, fake)
        client.process_prompts_sync(["echo live"], tools=[add])
        live = next(r.body for r in fake.requests if r.path.endswith(":generateContent"))
        results = client_for(provider, fake).process_prompts_sync(
            ["echo live", "fail here", "add 1 2"], batch_api=True, tools=[add]
        )
        assert [r.completion for r in results] == ["echo: live", None, "sum=3"]
        assert isinstance(results[1].error, BadRequestError)
        file_lines = fake.uploads[0].splitlines()
        assert file_lines[0] == b'{"key":"r1-p0","request":' + live + b"}"
        assert len(fake.jobs) == 2  # round 2: the chain's second call, inline
        assert "file_name" in json.loads(fake.uploads[1])["batch"]["input_config"]


def test_split_keeps_each_job_within_the_bytes() -> None:
    from agentloop.batch.jobs import split

    lines = [(f"c{n}", n, b"x" * 40) for n in range(5)]
    chunks = split(lines, max_requests=100, max_bytes=100)
    assert [[c for c, _, _ in chunk] for chunk in chunks] == [["c0", "c1"], ["c2", "c3"], ["c4"]]
    assert split([("big", 0, b"x" * 500)], 10, 100) == [[("big", 0, b"x" * 500)]]


def test_batch_prices_use_the_tables_batch_price_else_half() -> None:
    from agentloop.prices import cost
    from agentloop.usage import Usage

    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    for model_id in ("openai/gpt-4.1-mini", "gemini/gemini-2.5-flash", "anthropic/claude-opus-4-5"):
        full, batched = cost(usage, model_id), cost(usage, model_id, batch=True)
        assert full is not None
        assert batched == pytest.approx(full / 2)
    assert cost(usage, "openai-compatible/llama", batch=True) is None
    assert cost(Usage(), "openai/gpt-4.1-mini", batch=True) is None


class Answer(BaseModel):
    answer: int


def test_structured_output_and_chain_limits_as_live(provider: Provider, fake: BatchServer) -> None:
    client = client_for(provider, fake)
    (result,) = client.process_prompts_sync(["json four"], schema=Answer, batch_api=True)
    assert result.parsed == Answer(answer=4)
    live, batched = (
        client.process_prompts_sync(["add 1 2"], tools=[add], chain_limit=1, batch_api=mode)[0]
        for mode in (False, True)
    )
    assert isinstance(live.error, ChainLimitExceeded)
    assert isinstance(batched.error, ChainLimitExceeded)
    assert batched.usage.input_tokens > 0


async def test_the_async_api(fake: BatchServer, provider: Provider) -> None:
    client = client_for(provider, fake)
    job = await client.submit_batch_async(["echo async"])
    status = await job.status_async()
    assert status.round == 1
    assert not status.done
    (result,) = await job.wait_async()
    assert result.completion == "echo: async"
    assert job.status().done
