"""--max-cost and --max-total-tokens: a chain's budget from the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from terminal import Ran, run_cli

from agentloop import FunctionModel, Message, Reply, Request, ToolCall, Usage, prices
from agentloop.log import Log

SONNET = "anthropic/claude-sonnet-4-5"


@pytest.fixture
def looping(monkeypatch: pytest.MonkeyPatch) -> list[Request]:
    """Every model the CLI asks for is one that calls ``shout`` forever, 1,100 tokens a
    call, priced as Claude Sonnet; returns the requests it was sent."""
    calls: list[Request] = []

    def fn(request: Request) -> Reply:
        calls.append(request)
        call = ToolCall("shout", {"text": "again"}, f"call_{len(calls)}")
        return Reply(Message("assistant", [call]), Usage(1_000, 100), "tool_calls")

    def get_model(name: str | None = None, **_: Any) -> FunctionModel:
        return FunctionModel(fn, model_id=SONNET)

    monkeypatch.setattr("agentloop.cli.session.get_model", get_model)
    return calls


@pytest.fixture
def in_tools_dir(tools_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tools_dir)
    monkeypatch.syspath_prepend(str(tools_dir))
    return tools_dir


@pytest.mark.parametrize(
    ("arguments", "shown"),
    [
        (["--max-cost", "0"], "argument --max-cost: must be a positive number of USD, got 0"),
        (["--max-cost", "-1"], "argument --max-cost: must be a positive number of USD, got -1"),
        (["--max-cost", "nan"], "argument --max-cost: must be a positive number of USD, got nan"),
        (["--max-cost", "lots"], "argument --max-cost: expects a number of USD, like 0.50"),
        (["--max-total-tokens", "0"], "argument --max-total-tokens: must be at least 1 token"),
        (["--max-total-tokens", "1.5"], "expects a whole number of tokens, got '1.5'"),
    ],
)
@pytest.mark.parametrize("command", [["prompt", "-T", "Memory"], ["chain"], ["chat"], []])
def test_a_bad_limit_is_a_usage_error_before_any_call(
    cli_in_process: Callable[..., Ran], command: list[str], arguments: list[str], shown: str
) -> None:
    prompt = [] if command == ["chat"] else ["Hello"]
    ran = cli_in_process(*command, "-m", "test", *arguments, *prompt)
    assert ran.status == 2
    assert ran.stderr.startswith("Error: ")
    assert ran.stderr.count("\n") == 1
    assert shown in ran.stderr


def test_a_token_budget_stops_the_chain_with_one_line_and_status_1(
    cli_in_process: Callable[..., Ran], looping: list[Request], in_tools_dir: Path, home: Path
) -> None:
    ran = cli_in_process(
        "chain", "-T", "my_tools:shout", "-o", "max_tokens=1000", "--max-total-tokens", "3000", "Go"
    )
    assert ran.status == 1
    # Two calls spent 2,200 tokens; a third (its input, 1,000 output reserved) would pass 3,000.
    assert len(looping) == 2
    [line] = ran.stderr.splitlines()
    assert line.startswith("Error: The chain has spent 2200 tokens and the next model call")
    assert "would pass max_total_tokens=3000" in line
    assert line.endswith("On the command line: --max-total-tokens N.")
    with Log(home / "logs.db") as log:  # the calls made are logged
        latest = log.latest()
        assert latest is not None
        assert len(latest.responses) == 2


@pytest.mark.parametrize("command", [["prompt"], ["chain"], []])
def test_a_cost_budget_stops_the_chain_with_what_it_spent(
    cli_in_process: Callable[..., Ran],
    looping: list[Request],
    in_tools_dir: Path,
    command: list[str],
) -> None:
    per_call = prices.cost(Usage(1_000, 100), SONNET)
    assert per_call is not None
    # After one call ($0.0045), the next one's estimate (its input, 100 output tokens
    # reserved: about $0.0017) would take the chain past $0.0054.
    limit = f"{per_call * 1.2:g}"
    ran = cli_in_process(
        *command, "-T", "my_tools:shout", "-o", "max_tokens=100", "--max-cost", limit, "Go"
    )
    assert ran.status == 1
    assert len(looping) == 1
    [line] = ran.stderr.splitlines()
    assert f"has spent {per_call:g} USD" in line
    assert f"would pass max_cost={float(limit):g}" in line
    assert line.endswith("On the command line: --max-cost USD.")


def test_chat_reports_a_breached_budget_and_carries_on(
    cli_in_process: Callable[..., Ran], looping: list[Request], in_tools_dir: Path
) -> None:
    ran = cli_in_process(
        "chat", "-T", "my_tools:shout", "--max-total-tokens", "1500", input="Go\nAgain\n"
    )
    assert ran.status == 1
    lines = ran.stderr.splitlines()
    assert len(lines) == 2  # each turn has its own budget, and each passed it
    assert all("max_total_tokens=1500" in line for line in lines)


def test_max_cost_on_a_model_with_no_known_price_is_a_usage_error(
    cli_in_process: Callable[..., Ran],
) -> None:
    for command in (["chain", "-T", "Memory", "Go"], ["chat"], ["Go"]):
        ran = cli_in_process(*command, "-m", "test", "--max-cost", "0.5", input="Go\n")
        assert ran.status == 2, command
        assert ran.stderr == (
            "Error: --max-cost needs the price of 'test', and the price table (genai-prices) "
            "does not know it. Use --max-total-tokens to cap this model's spending instead.\n"
        )
        assert ran.stdout == ""


def test_a_budget_within_reach_changes_nothing(cli_in_process: Callable[..., Ran]) -> None:
    ran = cli_in_process(
        "chain", "-m", "test", "-T", "Memory", "--max-total-tokens", "100000", "Go"
    )
    assert ran.status == 0, ran.stderr
    assert '"Memory_set"' in ran.stdout


def test_the_test_model_breaches_a_small_token_budget_as_a_subprocess(
    env: dict[str, str],
) -> None:
    result = run_cli(
        "-m", "test", "-T", "Memory", "--max-total-tokens", "50", "Remember this", env=env
    )
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "has spent 0 tokens" in line
    assert line.endswith(
        "would pass max_total_tokens=50. Raise max_total_tokens to go on. "
        "On the command line: --max-total-tokens N."
    )
