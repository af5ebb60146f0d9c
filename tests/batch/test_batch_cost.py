"""A batch's cost: on each result and summed; budgets per prompt and for the whole batch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentloop import (
    BudgetExceeded,
    FunctionModel,
    LLMClient,
    Message,
    PromptNotRun,
    Reply,
    Request,
    UnknownPriceError,
    Usage,
    prices,
)
from agentloop.batch.progress import BatchProgress

SONNET = "anthropic/claude-sonnet-4-5"


def billing(asked: list[str], usage: Usage = Usage(1_000, 100)) -> FunctionModel:  # noqa: B008
    def fn(request: Request) -> Reply:
        asked.append(request.last_user_text)
        return Reply(Message.assistant(f"re: {request.last_user_text}"), usage, "stop")

    return FunctionModel(fn, model_id=SONNET)


def test_each_result_carries_its_cost_and_the_batch_sums_them() -> None:
    results = LLMClient(billing([])).process_prompts_sync(["a", "b", "c"])
    per_prompt = prices.cost(Usage(1_000, 100), SONNET)
    assert [r.usage.cost for r in results] == pytest.approx([per_prompt] * 3)
    total = Usage.sum(r.usage for r in results)
    assert total.cost == pytest.approx(3 * (per_prompt or 0))
    assert total.total_tokens == 3_300


def test_an_unpriced_model_gives_results_without_cost() -> None:
    model = FunctionModel(lambda r: Reply(Message.assistant("ok"), Usage(10, 1), "stop"))
    results = LLMClient(model).process_prompts_sync(["a", "b"])
    assert [r.usage.cost for r in results] == [None, None]
    assert Usage.sum(r.usage for r in results).cost is None


def test_the_cost_is_kept_in_the_results_file(tmp_path: Path) -> None:
    file = tmp_path / "results.jsonl"
    LLMClient(billing([])).process_prompts_sync(["a"], results_file=file)
    record = json.loads(file.read_text().splitlines()[0])
    assert record["usage"]["cost"] == pytest.approx(prices.cost(Usage(1_000, 100), SONNET))
    again = LLMClient(billing([])).process_prompts_sync(["a"], results_file=file)
    assert again[0].resumed
    assert again[0].usage.cost == record["usage"]["cost"]


def test_a_prompt_over_its_own_budget_fails_and_the_others_go_on() -> None:
    asked: list[str] = []
    results = LLMClient(billing(asked)).process_prompts_sync(["a", "b"], max_total_tokens=100)
    assert all(isinstance(r.error, BudgetExceeded) for r in results)
    assert asked == []  # each stopped before its call
    ok = LLMClient(billing(asked)).process_prompts_sync(["a"], max_total_tokens=10_000)
    assert ok[0].ok


def test_the_batch_budget_stops_starting_prompts_and_the_rest_resume(tmp_path: Path) -> None:
    file = tmp_path / "results.jsonl"
    asked: list[str] = []
    client = LLMClient(billing(asked), max_concurrent_requests=1)
    prompts = ["a", "b", "c", "d", "e"]

    results = client.process_prompts_sync(prompts, results_file=file, batch_max_total_tokens=2_000)

    # One prompt at a time: after two (2,200 tokens) the budget is reached.
    assert asked == ["a", "b"]
    assert [r.ok for r in results] == [True, True, False, False, False]
    assert all(isinstance(r.error, PromptNotRun) for r in results[2:])
    assert "batch_max_total_tokens=2000" in str(results[2].error)
    assert len(file.read_text().splitlines()) == 2  # what did not run is not recorded

    rerun = client.process_prompts_sync(prompts, results_file=file, batch_max_total_tokens=10_000)
    assert asked == ["a", "b", "c", "d", "e"]  # only the prompts that never ran
    assert [r.ok for r in rerun] == [True] * 5
    assert [r.resumed for r in rerun] == [True, True, False, False, False]


def test_a_batch_cost_budget_counts_cost() -> None:
    asked: list[str] = []
    per_prompt = prices.cost(Usage(1_000, 100), SONNET) or 0
    results = LLMClient(billing(asked), max_concurrent_requests=1).process_prompts_sync(
        ["a", "b", "c"], batch_max_cost=per_prompt * 1.5
    )
    assert asked == ["a", "b"]  # the second started below the budget and finished above it
    assert isinstance(results[2].error, PromptNotRun)


def test_batch_limits_are_checked_at_the_call() -> None:
    client = LLMClient(billing([]))
    with pytest.raises(ValueError, match="max_cost must be a positive number"):
        client.process_prompts_sync(["a"], batch_max_cost=-1)
    with pytest.raises(ValueError, match="max_total_tokens must be a positive int"):
        client.process_prompts_sync(["a"], max_total_tokens=0)
    unpriced = LLMClient(FunctionModel(lambda r: "ok"))
    with pytest.raises(UnknownPriceError):
        unpriced.process_prompts_sync(["a"], batch_max_cost=1.0)
    with pytest.raises(UnknownPriceError):
        unpriced.process_prompts_sync(["a"], max_cost=1.0)


def test_the_progress_bar_shows_the_running_cost() -> None:
    from io import StringIO

    from rich.console import Console

    console = Console(file=StringIO(), force_terminal=True, width=120)
    bar = BatchProgress(2, enabled=True, console=console)
    with bar:
        bar.advance(cost=0.0123)
    task = bar._progress.tasks[0] if bar._progress is not None else None
    assert task is not None
    assert task.fields["cost"] == "$0.0123"
    bar.advance(cost=None)  # unknown: shown as nothing, never as $0
    assert task.fields["cost"] == ""
