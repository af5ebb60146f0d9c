"""Results streamed to JSONL as they finish; a rerun after a crash asks only what is missing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fast_server import Answer, FastServer, completion, last_user_text
from pydantic import BaseModel

import agentloop
from agentloop import FunctionModel, LLMClient, Message, Response
from agentloop.batch.jsonl import RecordWriter, fingerprint, prompt_key, read_done
from agentloop.batch.results import BatchResult, PromptFailed, error_from_dict, error_to_dict
from agentloop.errors import BadRequestError, RateLimitError


@pytest.fixture
def server() -> Iterator[FastServer]:
    with FastServer() as running:
        yield running


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_each_result_is_written_as_a_json_line_when_it_finishes(
    server: FastServer, tmp_path: Path
) -> None:
    file = tmp_path / "results.jsonl"
    client = LLMClient(agentloop.get_model("openai-compatible/m", base_url=server.base_url))

    results = client.process_prompts_sync(["a", "b", "c"], results_file=file)

    records = lines(file)
    assert sorted(r["completion"] for r in records) == ["echo: a", "echo: b", "echo: c"]
    assert {r["key"] for r in records} == {r.key for r in results}
    assert all(
        r["usage"] == {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15} for r in records
    )


async def test_a_rerun_after_a_crash_asks_the_server_only_for_the_prompts_not_done(
    server: FastServer, tmp_path: Path
) -> None:
    file = tmp_path / "results.jsonl"
    prompts = [f"p{i}" for i in range(10)]
    # First run: prompts 0-5 are answered at once, the rest hang until the process "dies".
    server.respond = lambda body: (
        Answer(200, completion("late"), delay=30) if int(last_user_text(body)[1:]) >= 6 else None
    )
    model = agentloop.get_model("openai-compatible/m", base_url=server.base_url)
    first = LLMClient(model, max_concurrent_requests=10)
    run = asyncio.create_task(first.process_prompts_async(prompts, results_file=file))
    while not file.exists() or len(lines(file)) < 6:
        await asyncio.sleep(0.01)
    run.cancel()  # the crash: nothing after this point is written
    with pytest.raises(asyncio.CancelledError):
        await run
    assert len(lines(file)) == 6

    server.respond = None
    server.bodies.clear()
    again = await LLMClient(model).process_prompts_async(prompts, results_file=file)

    assert sorted(last_user_text(b) for b in server.bodies) == ["p6", "p7", "p8", "p9"]
    assert [r.completion for r in again] == [f"echo: p{i}" for i in range(10)]
    assert [r.resumed for r in again] == [True] * 6 + [False] * 4
    assert len(lines(file)) == 10


def test_a_line_cut_short_by_a_crash_is_ignored_and_its_prompt_asked_again(
    tmp_path: Path,
) -> None:
    file = tmp_path / "results.jsonl"
    asked: list[str] = []

    def model(request: agentloop.Request) -> str:
        asked.append(request.last_user_text)
        return request.last_user_text.upper()

    client = LLMClient(FunctionModel(model), max_concurrent_requests=1)
    client.process_prompts_sync(["a", "b"], results_file=file)
    text = file.read_text()
    file.write_text(text[: len(text) - 20])  # the last line lost its end

    results = client.process_prompts_sync(["a", "b"], results_file=file)

    assert asked == ["a", "b", "b"]
    assert [r.completion for r in results] == ["A", "B"]
    assert len(lines_ignoring_broken(file)) == 2


def lines_ignoring_broken(path: Path) -> list[dict[str, object]]:
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def test_failed_prompts_are_asked_again_on_a_rerun(tmp_path: Path) -> None:
    file = tmp_path / "results.jsonl"
    broken = {"yes": True}

    def model(request: agentloop.Request) -> str:
        if broken["yes"] and request.last_user_text == "b":
            raise BadRequestError("not now", provider="fn", status=400)
        return "ok"

    client = LLMClient(FunctionModel(model))
    first = client.process_prompts_sync(["a", "b"], results_file=file)
    broken["yes"] = False

    second = client.process_prompts_sync(["a", "b"], results_file=file)

    assert [r.ok for r in first] == [True, False]
    assert [(r.ok, r.resumed) for r in second] == [(True, True), (True, False)]


def test_changing_the_options_or_the_model_asks_again(tmp_path: Path) -> None:
    file = tmp_path / "results.jsonl"
    asked: list[str] = []
    model = FunctionModel(lambda r: asked.append(r.last_user_text) or "ok", model_id="m1")

    LLMClient(model).process_prompts_sync(["a"], results_file=file, temperature=0)
    LLMClient(model).process_prompts_sync(["a"], results_file=file, temperature=0)
    LLMClient(model).process_prompts_sync(["a"], results_file=file, temperature=1)
    other = FunctionModel(lambda r: asked.append(r.last_user_text) or "ok", model_id="m2")
    LLMClient(other).process_prompts_sync(["a"], results_file=file, temperature=1)

    assert asked == ["a", "a", "a"]  # the second run was answered from the file


def test_the_key_depends_on_the_prompt_and_settings_not_on_the_position() -> None:
    settings = fingerprint({"models": ["m"], "options": {"temperature": 0}})

    key = prompt_key([Message.user("a")], settings)

    assert key == prompt_key([Message.user("a")], settings)
    assert key != prompt_key([Message.user("b")], settings)
    assert key != prompt_key([Message.user("a")], fingerprint({"models": ["m"]}))
    assert len(key) == 64


class Answered(BaseModel):
    value: int


def test_a_resumed_result_has_its_response_and_parsed_output_back(tmp_path: Path) -> None:
    file = tmp_path / "results.jsonl"
    # "test" is a registered name, so the stored response can find its model again.
    model = FunctionModel(lambda r: '{"value": 7}', model_id="test")
    LLMClient(model).process_prompts_sync(["a"], results_file=file, schema=Answered)
    never = FunctionModel(lambda r: pytest.fail("asked again"), model_id="test")

    [result] = LLMClient(never).process_prompts_sync(["a"], results_file=file, schema=Answered)

    assert result.resumed
    assert result.parsed == Answered(value=7)
    assert isinstance(result.response, Response)
    assert result.response.text() == '{"value": 7}'


def test_errors_survive_a_record_as_the_same_type() -> None:
    error = RateLimitError("slow", provider="openai", status=429, retry_after=2.0)

    rebuilt = error_from_dict(error_to_dict(error))

    assert isinstance(rebuilt, RateLimitError)
    assert (rebuilt.provider, rebuilt.status, rebuilt.retry_after) == ("openai", 429, 2.0)
    assert str(rebuilt) == str(error)
    foreign = error_from_dict(error_to_dict(KeyError("x")))
    assert isinstance(foreign, PromptFailed)
    assert foreign.type_name == "KeyError"


def test_a_result_round_trips_through_its_record() -> None:
    result = BatchResult(3, "text", agentloop.Usage(4, 5), model="m", attempts=2, key="k")

    again = BatchResult.from_record(json.loads(json.dumps(result.to_record())))

    assert (again.index, again.completion, again.usage, again.model, again.attempts) == (
        3,
        "text",
        agentloop.Usage(4, 5),
        "m",
        2,
    )


def test_the_writer_starts_a_fresh_line_after_a_torn_one(tmp_path: Path) -> None:
    file = tmp_path / "results.jsonl"
    file.write_text('{"key": "a", "error": null}\n{"key": "b", "err')

    with RecordWriter(file) as writer:
        writer.write({"key": "c", "error": None})

    assert set(read_done(file)) == {"a", "c"}


def test_a_resumed_response_whose_model_cannot_be_rebuilt_is_none(
    server: FastServer, tmp_path: Path
) -> None:
    file = tmp_path / "results.jsonl"
    model = agentloop.get_model("openai-compatible/m", base_url=server.base_url)
    LLMClient(model).process_prompts_sync(["a"], results_file=file)

    # "openai-compatible/m" needs a base_url, which a stored response does not keep.
    [result] = LLMClient(model).process_prompts_sync(["a"], results_file=file)

    assert result.resumed
    assert result.completion == "echo: a"
    assert result.response is None
