"""Shell: approval always, a confined working folder, a time limit and an output cap."""

from __future__ import annotations

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
