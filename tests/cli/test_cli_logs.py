"""The conversation log from the command line: logs, -c, --cid, and what is never stored."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from local_server import LocalServer
from openai_chat_wire import SSE, as_stream, completion
from terminal import Ran, run_cli

import agentloop
from agentloop.log import Log
from agentloop.providers.offline import FunctionModel


def seed(home: Path, *prompts: str) -> list[str]:
    """One logged conversation per prompt (offline), oldest first; returns their ids."""
    ids = []
    with Log(home / "logs.db") as log:
        for prompt in prompts:
            conversation = agentloop.get_model("test").conversation()
            log.attach(conversation)
            conversation.prompt(prompt)
            ids.append(log.conversation_id(conversation))
    return ids


def test_a_prompt_and_its_answer_are_logged_without_the_api_key(
    local_server: LocalServer, openai_env: dict[str, str], home: Path
) -> None:
    local_server.reply(as_stream(completion("Pelicans fish.")), headers=SSE)
    assert (
        run_cli("prompt", "-m", "gpt-4o", "-s", "Brief", "Pelicans?", env=openai_env).returncode
        == 0
    )
    result = run_cli("logs", "--json", env=openai_env)
    assert result.returncode == 0, result.stderr
    [logged] = json.loads(result.stdout)
    assert logged["model"] == "openai/gpt-4o"
    assert [m["role"] for m in logged["messages"]] == ["system", "user", "assistant"]
    [response] = logged["responses"]
    assert (response["prompt"], response["system"], response["text"]) == (
        "Pelicans?",
        "Brief",
        "Pelicans fish.",
    )
    assert response["usage"]["input_tokens"] == 10
    assert b"sk-test-key" not in (home / "logs.db").read_bytes()


def test_continue_sends_the_history_of_the_latest_conversation(
    local_server: LocalServer, openai_env: dict[str, str], home: Path
) -> None:
    seed(home, "An older conversation")
    local_server.reply(as_stream(completion("Bonjour.")), headers=SSE)
    local_server.reply(as_stream(completion("Hallo.")), headers=SSE)
    assert run_cli("prompt", "-m", "gpt-4o", "Say hello in French", env=openai_env).returncode == 0
    result = run_cli("prompt", "-c", "Now in German", env=openai_env)  # the logged model
    assert result.returncode == 0, result.stderr
    assert [m["content"] for m in local_server.requests[1].json()["messages"]] == [
        "Say hello in French",
        "Bonjour.",
        "Now in German",
    ]
    with Log(home / "logs.db") as log:
        latest = log.latest()
        assert latest is not None
        assert [r.text for r in latest.responses] == ["Bonjour.", "Hallo."]
        assert len(log.conversations()) == 2


def test_cid_continues_the_conversation_it_names_by_the_start_of_its_id(
    env: dict[str, str], home: Path
) -> None:
    first, _ = seed(home, "First", "Second")
    result = run_cli("prompt", "--cid", first[:20], "-m", "test", "Again", env=env)
    assert result.returncode == 0, result.stderr
    with Log(home / "logs.db") as log:
        assert [m.text for m in log.get(first).messages if m.role == "user"] == ["First", "Again"]


def test_continuing_with_nothing_logged_is_a_usage_error(
    cli_in_process: Callable[..., Ran],
) -> None:
    ran = cli_in_process("prompt", "-c", "-m", "test", "Hello")
    assert ran.status == 2
    assert "No logged conversation to continue" in ran.stderr


def test_logs_lists_recent_conversations_newest_first(
    cli_in_process: Callable[..., Ran], home: Path
) -> None:
    old, new = seed(home, "Tell me about pelicans", "Tell me about herons")
    ran = cli_in_process("logs", "-n", "5")
    assert ran.status == 0, ran.stderr
    assert "Recent conversations" in ran.stdout
    assert ran.stdout.index(new) < ran.stdout.index(old)
    assert "Tell me about herons" in ran.stdout


def test_logs_path_is_under_agentloop_home(cli_in_process: Callable[..., Ran], home: Path) -> None:
    assert cli_in_process("logs", "--path").stdout == f"{home / 'logs.db'}\n"


def test_logs_cid_shows_one_conversation_message_by_message(
    env: dict[str, str], home: Path
) -> None:
    def shout(text: str) -> str:
        "Shout the text."
        return text.upper() + "!"

    with Log(home / "logs.db") as log:
        conversation = agentloop.get_model("test").conversation(tools=[shout])
        log.attach(conversation)
        conversation.chain("Go")
        conversation_id = log.conversation_id(conversation)
    result = run_cli("logs", "--cid", conversation_id, env=env)
    assert result.returncode == 0, result.stderr
    for expected in [
        "user",
        "Go",
        'Tool call: shout({"text": "hello"})',
        "shout: HELLO!",
        '{"shout": "HELLO!"}',
    ]:
        assert expected in result.stdout


@pytest.mark.parametrize("columns", [120, 100, 80, 60])
def test_logs_keeps_ids_whole_and_cuts_the_prompt_to_fit_the_width(
    env: dict[str, str], home: Path, columns: int
) -> None:
    prompts = {
        "openai/gpt-4.1-mini": "Tell me everything you know about how pelicans migrate in winter",
        "anthropic/claude-sonnet-4-5": "Short one",
    }
    ids = {}
    with Log(home / "logs.db") as log:
        for model_id, prompt in prompts.items():
            conversation = FunctionModel(lambda _: "Noted.", model_id=model_id).conversation()
            log.attach(conversation)
            conversation.prompt(prompt)
            ids[prompt] = log.conversation_id(conversation)
    result = run_cli("logs", env={**env, "COLUMNS": str(columns)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    long, short = prompts.values()
    [long_row] = [line for line in lines if ids[long] in line]  # the ids are whole
    [short_row] = [line for line in lines if ids[short] in line]
    assert short_row.rstrip().endswith(short)
    shown = long_row.rstrip().rpartition("  ")[2]
    assert len(shown) >= 20
    assert shown.endswith("…")
    assert long.startswith(shown[:-1])


def test_logs_shows_what_a_conversation_cost_when_it_is_known(
    env: dict[str, str], home: Path
) -> None:
    priced = FunctionModel(
        lambda _: agentloop.Reply(
            agentloop.Message.assistant("Noted."), agentloop.Usage(1_000, 100), "stop"
        ),
        model_id="anthropic/claude-sonnet-4-5",
    )
    with Log(home / "logs.db") as log:
        conversation = priced.conversation()
        log.attach(conversation)
        conversation.prompt("Priced")
        conversation.prompt("Again")
        priced_id = log.conversation_id(conversation)
        unpriced = agentloop.get_model("test").conversation()
        log.attach(unpriced)
        unpriced.prompt("Unpriced")
        unpriced_id = log.conversation_id(unpriced)
    per_call = agentloop.prices.cost(agentloop.Usage(1_000, 100), "anthropic/claude-sonnet-4-5")
    assert per_call is not None
    shown = f"${2 * per_call:.6f}"
    for columns in (120, 80):
        result = run_cli("logs", env={**env, "COLUMNS": str(columns)})
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert max(len(line) for line in lines) <= columns
        assert any("cost" in line.split() for line in lines)  # the column's header
        [priced_row] = [line for line in lines if priced_id in line]
        [unpriced_row] = [line for line in lines if unpriced_id in line]
        assert shown in priced_row
        assert "$" not in unpriced_row  # unknown: left blank, never $0
    one = run_cli("logs", "--cid", priced_id, env={**env, "COLUMNS": "120"})
    assert shown in one.stdout
    costs = {
        c["id"]: c["usage"].get("cost")
        for c in json.loads(run_cli("logs", "--json", env=env).stdout)
    }
    assert costs == {priced_id: pytest.approx(2 * per_call), unpriced_id: None}
