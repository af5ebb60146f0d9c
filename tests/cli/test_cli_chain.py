"""`agentloop chain`: each kind of -T, --td, --ta with and without a terminal, limits, crashes."""

from __future__ import annotations

import json
from pathlib import Path

from local_server import LocalServer
from openai_chat_wire import SSE, as_stream, completion, tool_call
from terminal import Terminal, run_cli

from agentloop.log import Log


def test_a_module_function_becomes_a_tool(env: dict[str, str], tools_dir: Path) -> None:
    result = run_cli("chain", "-m", "test", "-T", "my_tools:shout", "Go", env=env, cwd=tools_dir)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"shout": "HELLO!"}


def test_a_toolbox_class_is_built_with_its_tool_options(
    env: dict[str, str], tools_dir: Path
) -> None:
    result = run_cli(
        "chain", "-m", "test", "-T", "my_tools:Counter", "--tool-option", "Counter.start=41",
        "Count", env=env, cwd=tools_dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"Counter_increment": "42"}


def test_built_in_toolboxes_by_name_with_options(env: dict[str, str], tmp_path: Path) -> None:
    root = tmp_path / "files"
    root.mkdir()
    (root / "notes.txt").write_text("pelicans")
    result = run_cli(
        "chain", "-m", "test", "-T", "Files", "--tool-option", f"Files.root={root}",
        "-T", "Memory", "Look around", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    outputs = json.loads(result.stdout)
    assert "notes.txt" in outputs["Files_list"]
    assert "needs the user's approval" in outputs["Files_write"]  # no terminal: refused
    assert "Memory_keys" in outputs


def test_functions_file_offers_its_public_functions_only(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "maths.py").write_text(
        "from os.path import join\n\n"
        "def add(a: int, b: int) -> int:\n    'Add two numbers.'\n    return a + b + 1\n\n"
        "def _helper() -> None:\n    pass\n"
    )
    result = run_cli(
        "chain", "-m", "test", "--functions", str(tmp_path / "maths.py"), "Add", env=env
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"add": "6"}


def test_td_shows_each_tool_call_and_result_between_the_steps(
    local_server: LocalServer, openai_env: dict[str, str], tools_dir: Path
) -> None:
    call = tool_call("shout", {"text": "hello"}, "call_1")
    local_server.reply(as_stream(completion("Let me shout.", tool_calls=[call])), headers=SSE)
    local_server.reply(as_stream(completion("Done: HELLO!")), headers=SSE)
    result = run_cli(
        "chain", "-m", "gpt-4o", "-T", "my_tools:shout", "--td", "Shout hello",
        env=openai_env, cwd=tools_dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        'Let me shout.\nTool call: shout({"text": "hello"})\n  HELLO!\nDone: HELLO!\n'
    )
    sent = local_server.requests[1].json()["messages"][-1]
    assert sent == {"role": "tool", "tool_call_id": "call_1", "content": "HELLO!"}


def test_ta_without_a_terminal_refuses_every_call_and_tells_the_model(
    env: dict[str, str], tools_dir: Path
) -> None:
    result = run_cli(
        "chain", "-m", "test", "-T", "my_tools:shout", "--ta", "Go", env=env, cwd=tools_dir
    )
    assert result.returncode == 0, result.stderr
    refusal = json.loads(result.stdout)["shout"]
    assert "no terminal to ask on" in refusal


def test_ta_on_a_terminal_runs_the_call_the_user_approves(
    env: dict[str, str], tools_dir: Path
) -> None:
    with Terminal(
        "chain", "-m", "test", "-T", "my_tools:shout", "--ta", "Go", env=env, cwd=tools_dir
    ) as terminal:
        terminal.expect('Run shout({"text": "hello"})? [y/n]')
        terminal.type("y\n")
        assert terminal.wait() == 0
        assert '{"shout": "HELLO!"}' in terminal.shown


def test_ta_on_a_terminal_refuses_the_call_the_user_declines(
    env: dict[str, str], tools_dir: Path
) -> None:
    with Terminal(
        "chain", "-m", "test", "-T", "my_tools:shout", "--ta", "Go", env=env, cwd=tools_dir
    ) as terminal:
        terminal.expect('Run shout({"text": "hello"})? [y/n]')
        terminal.type("n\n")
        assert terminal.wait() == 0
        assert "The user declined this tool call." in terminal.shown
        assert "HELLO!" not in terminal.shown


def test_the_chain_limit_stops_the_chain_with_exit_1(env: dict[str, str], tools_dir: Path) -> None:
    result = run_cli(
        "chain", "-m", "test", "-T", "my_tools:shout", "--cl", "1", "Go", env=env, cwd=tools_dir
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ")
    assert "chain_limit=1" in result.stderr
    assert "--cl" in result.stderr


def test_a_crash_mid_chain_keeps_every_completed_step_in_the_log(
    local_server: LocalServer, openai_env: dict[str, str], tmp_path: Path, home: Path
) -> None:
    (tmp_path / "risky.py").write_text(
        "import os\n\n"
        "def record(text: str) -> str:\n    'Record a note.'\n    return 'recorded ' + text\n\n"
        "def explode() -> str:\n    'Crash the process.'\n    os._exit(3)\n"
    )
    first = tool_call("record", {"text": "step one"}, "call_1")
    second = tool_call("explode", {}, "call_2")
    local_server.reply(as_stream(completion("Recording.", tool_calls=[first])), headers=SSE)
    local_server.reply(as_stream(completion(None, tool_calls=[second])), headers=SSE)
    result = run_cli(
        "chain", "-m", "gpt-4o", "--functions", str(tmp_path / "risky.py"), "Do it",
        env=openai_env,
    )  # fmt: skip
    assert result.returncode == 3  # died inside the second tool call
    with Log(home / "logs.db") as log:
        logged = log.latest()
    assert logged is not None
    assert [m.role for m in logged.messages] == ["user", "assistant", "tool", "assistant"]
    assert logged.messages[2].tool_results[0].output == "recorded step one"
    assert [r.tool_calls[0].name for r in logged.responses] == ["record", "explode"]


def test_a_spinner_shows_on_a_terminal_while_a_tool_runs(
    env: dict[str, str], tmp_path: Path
) -> None:
    """The tool waits until the test has seen its spinner (so the spinner was live while it
    ran), then finishes; its answer follows."""
    go = tmp_path / "go"
    (tmp_path / "slow_tools.py").write_text(
        "import pathlib, time\n\n"
        "def wait_for_go(text: str) -> str:\n"
        "    'Wait until told to go.'\n"
        f"    go = pathlib.Path({str(go)!r})\n"
        "    for _ in range(3000):\n"
        "        if go.exists():\n"
        "            return 'went'\n"
        "        time.sleep(0.01)\n"
        "    return 'never told to go'\n"
    )
    with Terminal(
        "chain", "-m", "test", "-T", "slow_tools:wait_for_go", "Go", env=env, cwd=tmp_path
    ) as terminal:
        terminal.expect("Running wait_for_go...")
        go.touch()
        assert terminal.wait() == 0
        assert '"wait_for_go": "went"' in terminal.shown


def test_td_on_a_terminal_shows_the_streamed_call_and_its_result(
    local_server: LocalServer, openai_env: dict[str, str], tools_dir: Path
) -> None:
    call = tool_call("shout", {"text": "hello"}, "call_1")
    local_server.reply(as_stream(completion("Let me shout.", tool_calls=[call])), headers=SSE)
    local_server.reply(as_stream(completion("Done: HELLO!")), headers=SSE)
    with Terminal(
        "chain", "-m", "gpt-4o", "-T", "my_tools:shout", "--td", "Shout hello",
        env=openai_env, cwd=tools_dir,
    ) as terminal:  # fmt: skip
        assert terminal.wait() == 0
        shown = terminal.shown
    lines = [line.strip() for line in shown.splitlines() if line.strip()]
    call_line = lines.index('Tool call: shout({"text": "hello"})')
    assert lines.index("Let me shout.") < call_line < lines.index("HELLO!")
    assert lines.index("HELLO!") < lines.index("Done: HELLO!")
