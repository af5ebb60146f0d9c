"""docs/cli.md shows what the command line really prints, and its Python example runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from terminal import run_cli

DOC = Path(__file__).parents[2] / "docs" / "cli.md"


def console_blocks() -> list[str]:
    return re.findall(r"```console\n(.*?)```", DOC.read_text(), re.DOTALL)


def test_the_td_transcript_is_what_the_chain_prints(env: dict[str, str]) -> None:
    [block] = [b for b in console_blocks() if "--td" in b and "Tool call:" in b]
    command, _, shown = block.replace("\\\n", " ").partition("\n")
    arguments = shlex.split(command.removeprefix("$ "))
    assert arguments[0] == "agentloop"
    result = run_cli(*arguments[1:], env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == shown


def test_the_python_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    [code] = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(DOC), "exec"), {})
    printed = capsys.readouterr().out
    assert re.search(r"^\w{26} Convert panda to uppercase 2$", printed, re.MULTILINE)
    assert (tmp_path / "logs.db").exists()


def test_the_error_examples_are_what_the_command_line_prints(env: dict[str, str]) -> None:
    [block] = [b for b in console_blocks() if "\nError: " in b]
    examples = re.findall(r"^\$ (.*)\n((?:Error: .*\n)+)", block, re.MULTILINE)
    assert len(examples) >= 3
    for command, shown in examples:
        arguments = shlex.split(command)
        assert arguments[0] == "agentloop"
        result = run_cli(*arguments[1:], env=env)
        assert result.returncode in (1, 2), command
        assert (result.stdout, result.stderr) == ("", shown), command
