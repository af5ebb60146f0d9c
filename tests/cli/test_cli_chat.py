"""`agentloop chat`: history, multi-line input, ending, and Ctrl-C, piped and on a terminal."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from local_server import LocalServer
from openai_chat_wire import SSE, as_stream, completion
from terminal import Terminal, run_cli

from agentloop.log import Log


def wait_for(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def answer(server: LocalServer, text: str, **options: float) -> None:
    server.reply(as_stream(completion(text)), headers=SSE, **options)


def roles_and_texts(server: LocalServer, index: int) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in server.requests[index].json()["messages"]]


def test_piped_chat_keeps_the_history_and_reads_multi_line_prompts(
    local_server: LocalServer, openai_env: dict[str, str]
) -> None:
    answer(local_server, "Hello to you.")
    answer(local_server, "Two lines received.")
    typed = "Hello\n!multi\nline one\nline two\n!end\nexit\nnever sent\n"
    result = run_cli("chat", "-m", "gpt-4o", input=typed, env=openai_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello to you.\nTwo lines received.\n"
    assert roles_and_texts(local_server, 1) == [
        ("user", "Hello"),
        ("assistant", "Hello to you."),
        ("user", "line one\nline two"),
    ]
    assert len(local_server.requests) == 2


def test_piped_chat_runs_tools(env: dict[str, str], tools_dir: Path) -> None:
    result = run_cli(
        "chat", "-m", "test", "-T", "my_tools:shout", input="Go\n", env=env, cwd=tools_dir
    )
    assert (result.returncode, result.stdout) == (0, '{"shout": "HELLO!"}\n')


def test_terminal_chat_answers_continues_lines_and_ends_on_ctrl_d(
    local_server: LocalServer, openai_env: dict[str, str]
) -> None:
    answer(local_server, "Paris is the capital.")
    with Terminal("chat", "-m", "gpt-4o", env=openai_env) as terminal:
        terminal.expect("Chatting with openai/gpt-4o")
        terminal.expect("> ")
        terminal.type("What is the capital \\\n")
        terminal.expect("... ")
        terminal.type("of France?\n")
        terminal.expect("Paris is the capital.")
        terminal.expect("> ")
        terminal.type("\x04")  # Ctrl-D
        assert terminal.wait() == 0
    assert roles_and_texts(local_server, 0) == [("user", "What is the capital \nof France?")]


def test_ctrl_c_stops_the_answer_and_keeps_the_session(
    local_server: LocalServer, openai_env: dict[str, str], home: Path
) -> None:
    answer(local_server, "A very slow answer.", delay=10)
    answer(local_server, "Berlin.")
    with Terminal("chat", "-m", "gpt-4o", env=openai_env) as terminal:
        terminal.expect("> ")
        terminal.type("Something slow\n")
        wait_for(lambda: bool(local_server.requests))  # the answer is on its way
        terminal.interrupt()
        terminal.expect("Interrupted.")
        terminal.expect("> ")
        terminal.type("Capital of Germany?\n")
        terminal.expect("Berlin.")
        terminal.expect("> ")
        terminal.type("exit\n")
        assert terminal.wait() == 0
    # The interrupted prompt got no answer, so it is not part of the history.
    assert roles_and_texts(local_server, 1) == [("user", "Capital of Germany?")]
    with Log(home / "logs.db") as log:
        logged = log.latest()
    assert logged is not None
    assert [m.text for m in logged.messages] == ["Capital of Germany?", "Berlin."]
