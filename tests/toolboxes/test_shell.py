"""Shell: approval always, a confined working folder, a time limit and an output cap."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agentloop import FunctionModel, Request, ToolCall, ToolError
from toolboxes import Shell
from toolboxes import shell as shell_module


def test_run_returns_the_exit_code_and_both_streams(tmp_path: Path) -> None:
    result = Shell(tmp_path).run("echo out; echo err >&2; exit 3")
    assert result == "Exit code: 3\nout\nerr\n"


def test_commands_run_in_the_working_folder_or_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    shell = Shell(tmp_path)
    assert shell.run("pwd") == f"Exit code: 0\n{tmp_path.resolve()}\n"
    assert shell.run("pwd", workdir="sub") == f"Exit code: 0\n{tmp_path.resolve() / 'sub'}\n"


@pytest.mark.parametrize("workdir", ["..", "/", "/tmp", "sub/../..", "link_out", "a\x00b"])
def test_workdir_outside_the_working_folder_is_refused(tmp_path: Path, workdir: str) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "link_out").symlink_to(tmp_path)
    # Outside tmp_path only a harmless command, in case a regression lets it run.
    command = "true" if workdir.startswith("/") else "touch escaped"
    with pytest.raises(ToolError):
        Shell(root).run(command, workdir=workdir)
    assert not (tmp_path / "escaped").exists()


def test_a_command_past_the_time_limit_is_stopped_with_what_it_printed(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(ToolError, match=r"did not finish within 0.3 s(.|\n)*Output so far:\nbegun"):
        Shell(tmp_path, timeout=0.3).run("echo begun; sleep 10; echo never")
    assert time.monotonic() - started < 3


def test_processes_left_in_the_background_are_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shell_module, "_DRAIN_GRACE", 0.2)
    started = time.monotonic()
    result = Shell(tmp_path, timeout=5).run("(sleep 10; touch late) & echo started")
    assert result == "Exit code: 0\nstarted\n"
    assert time.monotonic() - started < 3
    time.sleep(0.1)
    assert not (tmp_path / "late").exists()


def test_long_output_keeps_its_beginning_and_end(tmp_path: Path) -> None:
    result = Shell(tmp_path, max_output_bytes=200).run("seq 1 5000")
    assert result.startswith("Exit code: 0\n1\n2\n3\n")
    assert result.endswith("4999\n5000\n")
    assert "bytes of output left out ...]" in result
    assert len(result) < 400


def test_commands_get_no_input_and_a_minimal_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_API_KEY", "sk-123")
    shell = Shell(tmp_path)
    assert shell.run("cat") == "Exit code: 0\n"  # stdin is empty, not the test's
    assert "sk-123" not in shell.run("env")
    assert Shell(tmp_path, env={"ONLY": "this"}).run("echo $ONLY") == "Exit code: 0\nthis\n"


def test_empty_commands_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="empty"):
        Shell(tmp_path).run("   ")


def _runner(command: str) -> FunctionModel:
    def play(request: Request) -> Any:
        last = request.messages[-1]
        if last.role == "tool":
            return last.tool_results[0].output
        return ToolCall("Shell_run", {"command": command}, "c1")

    return FunctionModel(play)


def test_every_command_needs_approval(tmp_path: Path) -> None:
    shell = Shell(tmp_path)
    assert [t.requires_approval for t in shell.tools()] == [True]
    refused = _runner("touch made").chain("go", tools=[shell]).text()
    assert "requires approval" in refused
    assert not (tmp_path / "made").exists()

    seen: list[str] = []

    def approve(tool: Any, call: ToolCall) -> bool:
        seen.append(call.arguments["command"])
        return True

    conversation = _runner("touch made").conversation(tools=[shell], approve=approve)
    assert conversation.chain("go").text() == "Exit code: 0\n"
    assert seen == ["touch made"]
    assert (tmp_path / "made").exists()


# -- the timeout bounds the whole call; what a command started is killed ---------------

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="the launcher is Linux only")

#: Starts a process in a new session (out of the command's group), writes its pid, and
#: waits (bounded) until it has: it keeps the output pipe open for 20 s unless killed.
ESCAPE = (
    f"{sys.executable} -c 'import os, time; os.setsid(); "
    'open("escaped.pid", "w").write(str(os.getpid())); time.sleep(20)\' & '
    "i=0; while [ ! -s escaped.pid ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done; "
)


def escaped_pid(folder: Path) -> int:
    return int((folder / "escaped.pid").read_text())


def kill_escaped(folder: Path) -> None:
    """Without the launcher the escaped process outlives the call: the test ends it."""
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        os.kill(escaped_pid(folder), signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (ProcessLookupError, FileNotFoundError):
        return False
    return state != "Z"  # a zombie has ended, only not been reaped yet


#: The default (the launcher, on Linux), and the shell run directly.
MODES = pytest.mark.parametrize("options", [{}, {"launcher": False}], ids=["default", "direct"])


@MODES
def test_a_process_that_leaves_the_session_cannot_hold_the_call_open(
    tmp_path: Path, options: dict[str, Any]
) -> None:
    shell = Shell(tmp_path, timeout=15, **options)
    launcher = getattr(shell, "launcher", False)
    started = time.monotonic()
    try:
        result = shell.run(ESCAPE + "echo started")
        elapsed = time.monotonic() - started
        assert result == "Exit code: 0\nstarted\n"
        assert elapsed < 10  # the command ended at once; its escapee sleeps 20 s
        if launcher:
            assert not alive(escaped_pid(tmp_path))  # the launcher adopted it and killed it
    finally:
        kill_escaped(tmp_path)


@MODES
def test_the_timeout_bounds_the_call_whatever_holds_the_output(
    tmp_path: Path, options: dict[str, Any]
) -> None:
    shell = Shell(tmp_path, timeout=3, **options)
    launcher = getattr(shell, "launcher", False)
    started = time.monotonic()
    try:
        with pytest.raises(ToolError, match=r"did not finish within 3 s(.|\n)*Output so far:"):
            shell.run(ESCAPE + "echo busy; sleep 20")
        elapsed = time.monotonic() - started
        assert elapsed < 3 + 5  # the timeout, then at most a bounded clean-up
        if launcher and (tmp_path / "escaped.pid").exists():
            assert not alive(escaped_pid(tmp_path))
    finally:
        kill_escaped(tmp_path)


@linux_only
def test_the_default_launcher_kills_double_forked_daemons(tmp_path: Path) -> None:
    daemon = (
        f"{sys.executable} -c 'import os, sys, time\nif os.fork(): sys.exit()\nos.setsid()\n"
        "if os.fork(): sys.exit()\nos.close(1)\nos.close(2)\n"
        'open("escaped.pid", "w").write(str(os.getpid())); time.sleep(20)\'; '
        "i=0; while [ ! -s escaped.pid ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done"
    )
    try:
        assert Shell(tmp_path, timeout=15).run(daemon) == "Exit code: 0\n"
        assert not alive(escaped_pid(tmp_path))  # it closed its output: only the launcher knew
    finally:
        kill_escaped(tmp_path)


# -- what the command can see of the agent process --------------------------------------

AGENT = """
import sys
from toolboxes import Shell
folder = sys.argv[1]
read_parent = "tr '\\\\0' '\\\\n' < /proc/$PPID/environ"
print("DEFAULT", Shell(folder).run(read_parent), flush=True)
print("DIRECT", Shell(folder, launcher=False).run(read_parent))
"""


@linux_only
def test_the_commands_parent_shows_no_key_from_the_agents_environment(tmp_path: Path) -> None:
    # /proc/PID/environ shows the environment a process started with, so the key must be
    # in the agent's at its start: the agent here is a fresh Python process.
    canary = "sk-canary-0123456789"
    agent = subprocess.run(
        [sys.executable, "-c", AGENT, str(tmp_path)],
        env={**os.environ, "OPENAI_API_KEY": canary},
        capture_output=True,
        text=True,
        timeout=60,
    )
    default, _, direct = agent.stdout.partition("DIRECT")
    assert "PATH=" in default
    assert canary not in default
    assert agent.returncode == 0, agent.stderr
    assert canary in direct  # the documented boundary without the launcher


def test_the_description_says_approval_is_the_control_not_the_folder(tmp_path: Path) -> None:
    described = Shell(tmp_path).description
    assert "can touch any file the user can" in described
    assert "approval is the control" in (shell_module.__doc__ or "")
    assert "in one folder" not in (shell_module.__doc__ or "")
