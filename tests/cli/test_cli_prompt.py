"""`agentloop prompt`: streaming, Markdown on a terminal, options, attachments, errors."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from local_server import LocalServer
from openai_chat_wire import SSE, as_stream, completion
from terminal import Ran, Terminal, run_cli

from agentloop import Usage, prices
from agentloop.log import Log

# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
)


def answer(server: LocalServer, text: str) -> None:
    server.reply(as_stream(completion(text)), headers=SSE)


def test_the_answer_streams_as_plain_text_when_piped(
    local_server: LocalServer, openai_env: dict[str, str]
) -> None:
    answer(local_server, "Pelicans are **large** birds.")
    result = run_cli("prompt", "-m", "gpt-4o", "Tell me about pelicans", env=openai_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Pelicans are **large** birds.\n"
    body = local_server.requests[0].json()
    assert body["stream"] is True
    assert body["messages"] == [{"role": "user", "content": "Tell me about pelicans"}]


def test_a_bare_prompt_means_the_prompt_command(cli_in_process: Callable[..., Ran]) -> None:
    ran = cli_in_process("-m", "test", "Hello")  # the offline model needs no key
    assert (ran.status, ran.stdout) == (0, "success (no tool calls)\n")


def test_the_answer_is_rendered_as_markdown_on_a_terminal(
    local_server: LocalServer, openai_env: dict[str, str]
) -> None:
    answer(local_server, "# Pelicans\n\nThey are **large** birds.\n\n- one\n- two\n")
    with Terminal("prompt", "-m", "gpt-4o", "Tell me", env=openai_env) as terminal:
        assert terminal.wait() == 0
        shown = terminal.shown
    assert "They are large birds." in shown
    assert "**" not in shown
    assert "# Pelicans" not in shown
    assert "• one" in shown


def test_system_prompt_and_options_reach_the_request_with_json_values(
    local_server: LocalServer, openai_in_process: Callable[..., Ran]
) -> None:
    answer(local_server, "Brief.")
    ran = openai_in_process(
        "prompt", "-m", "gpt-4o", "-s", "Be brief", "-o", "temperature=0.2", "-o", "seed=7",
        "-o", "stop=[\"END\"]", "-o", "user=a-name", "Hello",
    )  # fmt: skip
    assert ran.status == 0, ran.stderr
    body = local_server.requests[0].json()
    assert body["messages"][0] == {"role": "system", "content": "Be brief"}
    assert (body["temperature"], body["seed"], body["stop"]) == (0.2, 7, ["END"])
    assert body["user"] == "a-name"


def test_piped_input_comes_before_the_prompt(
    local_server: LocalServer, openai_in_process: Callable[..., Ran]
) -> None:
    answer(local_server, "A summary.")
    ran = openai_in_process("prompt", "-m", "gpt-4o", "Summarize this", input="one\ntwo\n")
    assert ran.status == 0, ran.stderr
    sent = local_server.requests[0].json()["messages"][-1]["content"]
    assert sent == "one\ntwo\n\nSummarize this"


def test_an_attachment_is_sent_with_the_prompt(
    local_server: LocalServer, openai_in_process: Callable[..., Ran], tmp_path: Path
) -> None:
    (tmp_path / "dot.png").write_bytes(PNG)
    answer(local_server, "A dot.")
    ran = openai_in_process(
        "prompt", "-m", "gpt-4o", "-a", str(tmp_path / "dot.png"), "What is this?"
    )
    assert ran.status == 0, ran.stderr
    content = local_server.requests[0].json()["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "What is this?"}
    assert content[1]["image_url"]["url"].startswith("data:image/png;base64,")


def test_a_missing_key_exits_1_with_one_line_naming_the_variable(
    env: dict[str, str], home: Path
) -> None:
    result = run_cli("prompt", "-m", "gpt-4o", "Hello", env=env)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: ")
    assert "OPENAI_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_adds_the_traceback(cli_in_process: Callable[..., Ran]) -> None:
    ran = cli_in_process("prompt", "--debug", "-m", "gpt-4o", "Hello")
    assert ran.status == 1
    assert ran.stderr.startswith("Error: No API key for openai")
    assert "Traceback (most recent call last)" in ran.stderr
    assert "MissingKeyError" in ran.stderr


def test_a_rejected_key_exits_1_naming_the_variable_to_check(
    local_server: LocalServer, openai_in_process: Callable[..., Ran]
) -> None:
    error = {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}
    local_server.reply(error, status=401)
    ran = openai_in_process("prompt", "-m", "gpt-4o", "Hello")
    assert ran.status == 1
    assert ran.stderr.count("\n") == 1
    assert "Incorrect API key provided" in ran.stderr
    assert "OPENAI_API_KEY" in ran.stderr


def test_a_usage_error_exits_2_with_one_line_before_any_model_call(
    local_server: LocalServer, openai_env: dict[str, str]
) -> None:
    result = run_cli("prompt", "-m", "gpt-4o", "Hi", "-o", "temperature", env=openai_env)
    assert result.returncode == 2
    assert result.stderr == "Error: -o expects KEY VALUE or KEY=VALUE, got 'temperature'\n"
    assert local_server.requests == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["prompt", "-m", "no-such-model", "Hi"], "Unknown model 'no-such-model'"),
        (["chain", "-T", "NoSuchToolbox", "Hi"], "Unknown tool 'NoSuchToolbox'"),
        (["chain", "-T", "Files", "Hi"], "--tool-option Files.root="),
        (["prompt", "--no-such-flag", "Hi"], "agentloop prompt has no option --no-such-flag"),
        # The unknown option is named, not the prompt argparse left over after it.
        (["logs", "-T", "Memory", "Hi"], "agentloop logs has no option -T "),
        (["prompt", "-m", "test", "two", "words"], "unexpected argument 'words'"),
        (["prompt", "-m", "test", "--cl", "0", "Hi"], "--cl/--chain-limit: must be at least 1"),
        (["-m", "test", "--cl", "-2", "Hi"], "--cl/--chain-limit: must be at least 1"),
        (["chain", "--cl", "1.5", "Hi"], "--cl/--chain-limit: expects a whole number"),
        (
            ["-m", "test", "-T", "Memory", "--tool-option", "Memory.max_keys=abc", "Hi"],
            "--tool-option Memory.max_keys=abc: Memory.max_keys must be int",
        ),
        (
            ["chain", "-T", "Memory", "--tool-option", "Memory.colour=teal", "Hi"],
            "Memory has no option 'colour'; it takes path, max_keys",
        ),
        (["-m", "test", "--functions", "tools.py", "Hi"], "--functions tools.py: no such file"),
        (["prompt", "-a", "missing.png", "Hi"], "missing.png"),
        (["prompt", "-m", "test"], "No prompt"),
        (["prompt", "-m", "test", "--cid", "nope", "Hi"], "No logged conversation 'nope'"),
        (
            ["-m", "test", "-o", "tempreature", "0.2", "Hi"],
            "did you mean 'temperature'? Provider-specific fields go in -o extra_body '{...}'",
        ),
    ],
)
def test_usage_errors_exit_2(
    cli_in_process: Callable[..., Ran], arguments: list[str], message: str
) -> None:
    ran = cli_in_process(*arguments)
    assert ran.status == 2
    assert message in ran.stderr
    assert ran.stderr.startswith("Error: ")
    assert ran.stderr.count("\n") == 1
    assert "Traceback" not in ran.stderr


@pytest.mark.parametrize("flag", ["--no-log", "-n"])
def test_no_log_leaves_the_conversation_out_of_the_log(
    cli_in_process: Callable[..., Ran], home: Path, flag: str
) -> None:
    assert cli_in_process("prompt", "-m", "test", flag, "Hello").status == 0
    assert cli_in_process("-m", "test", flag, "Hello").status == 0
    with Log(home / "logs.db") as log:
        assert log.conversations() == []


@pytest.mark.parametrize(
    "options",
    [
        ["-o", "temperature", "0.2", "-o", "stop", '["END"]'],
        ["-o", "temperature=0.2", "-o", "stop", '["END"]'],
        ["-otemperature", "0.2", "--option", 'stop=["END"]'],
    ],
)
def test_o_takes_key_and_value_as_two_arguments_too(
    local_server: LocalServer, openai_in_process: Callable[..., Ran], options: list[str]
) -> None:
    answer(local_server, "Brief.")
    ran = openai_in_process("-m", "gpt-4o", *options, "Hello")
    assert ran.status == 0, ran.stderr
    body = local_server.requests[0].json()
    assert (body["temperature"], body["stop"]) == (0.2, ["END"])
    assert body["messages"][-1] == {"role": "user", "content": "Hello"}


@pytest.mark.parametrize("command", [["prompt"], []])  # agentloop prompt, and the bare form
def test_tools_on_a_prompt_run_the_tool_loop(
    env: dict[str, str], tools_dir: Path, command: list[str]
) -> None:
    result = run_cli(
        *command, "-m", "test", "-T", "my_tools:Counter", "--tool-option", "Counter.start=41",
        "Count", env=env, cwd=tools_dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"Counter_increment": "42"}  # the tool ran


def test_a_prompt_takes_functions_inline_and_the_chain_options(
    cli_in_process: Callable[..., Ran],
) -> None:
    ran = cli_in_process(
        "-m", "test", "--functions", "def answer() -> int:\n    return 42", "--td", "--cl", "2",
        "What is the answer?",
    )  # fmt: skip
    assert ran.status == 0, ran.stderr
    assert ran.stdout == 'Tool call: answer({})\n  42\n{"answer": "42"}\n'


def test_tools_on_a_prompt_are_approved_like_a_chain(cli_in_process: Callable[..., Ran]) -> None:
    ran = cli_in_process(
        "-m", "test", "--functions", "def answer() -> int: return 42", "--ta", "Answer"
    )
    assert ran.status == 0, ran.stderr
    assert "no terminal to ask on" in json.loads(ran.stdout)["answer"]  # refused: no terminal


def test_the_chain_limit_applies_to_a_prompt_with_tools(cli_in_process: Callable[..., Ran]) -> None:
    ran = cli_in_process("-m", "test", "-T", "Memory", "--cl", "1", "Remember")
    assert ran.status == 1
    assert "chain_limit=1" in ran.stderr
    assert ran.stderr.count("\n") == 1


def test_u_shows_the_tokens_cached_and_the_cost(
    local_server: LocalServer, openai_in_process: Callable[..., Ran]
) -> None:
    tokens = {
        "prompt_tokens": 1200,
        "completion_tokens": 30,
        "total_tokens": 1230,
        "prompt_tokens_details": {"cached_tokens": 1024},
    }
    local_server.reply(as_stream(completion("Hi.", usage_=tokens)), headers=SSE)
    ran = openai_in_process("prompt", "-m", "gpt-4o", "-u", "Hello")
    assert ran.status == 0, ran.stderr
    line = ran.stderr.strip().splitlines()[-1]
    cost = prices.cost(Usage(1200, 30, cached_input_tokens=1024), "openai/gpt-4o")
    assert line == f"Token usage: 1,200 input, 30 output (1,024 cached), cost ${cost:.6f}"
