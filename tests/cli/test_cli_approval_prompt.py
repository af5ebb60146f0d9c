"""The approval prompt shows what will run: no character can hide or rearrange it."""

from __future__ import annotations

import io

import pytest

import agentloop
from agentloop.cli.hooks import ToolHooks
from agentloop.cli.render import Output
from agentloop.messages import ToolCall


def asked_for(call: ToolCall) -> str:
    asked: list[str] = []
    output = Output(stdout=io.StringIO())

    def confirm(question: str) -> bool:
        asked.append(question)
        return False

    output.confirm = confirm  # type: ignore[method-assign]

    def run(command: str) -> str:
        "Run a command."
        return command

    tool = agentloop.Tool.function(agentloop.tool(requires_approval=True)(run))
    assert ToolHooks(output, interactive=True).approve(tool, call) is False
    assert len(asked) == 1
    return asked[0]


@pytest.mark.parametrize(
    ("argument", "shown"),
    [
        ("echo safe \u202e;hs.daol/pmt/ hs", "echo safe \\u202e;hs.daol/pmt/ hs"),  # RLO
        ("rm -rf x\u2066\u2069", "rm -rf x\\u2066\\u2069"),  # bidi isolates
        ("ls\u200b -la", "ls\\u200b -la"),  # zero-width space
        ("echo \x1b[2K\x1b[1Ahidden", "echo \\u001b[2K\\u001b[1Ahidden"),  # JSON escapes ESC
        ("echo \x85next", "echo \\x85next"),  # C1 control (NEL)
        ("echo a\u2028b", "echo a\\u2028b"),  # line separator
        ("cat caf\u00e9.txt", "cat caf\u00e9.txt"),  # ordinary text stays as it is
    ],
)
def test_hidden_characters_in_arguments_are_shown_as_escapes(argument: str, shown: str) -> None:
    question = asked_for(ToolCall("run", {"command": argument}, "c1"))
    assert question == f'run needs approval. Run run({{"command": "{shown}"}})?'


def test_raw_arguments_and_names_are_escaped_too() -> None:
    call = ToolCall("run\u202e", {}, "c1", raw_arguments="{bad \x1b[31m json\u202e")
    question = asked_for(call)
    assert question == "run needs approval. Run run\\u202e({bad \\x1b[31m json\\u202e)?"
    assert all(c.isprintable() for c in question)


def test_visible_leaves_printable_text_alone_and_escapes_every_hidden_kind() -> None:
    from agentloop.cli.render import visible

    assert visible("plain text, ünïcode, 中文, emoji 🙂") == "plain text, ünïcode, 中文, emoji 🙂"
    assert (
        visible("\t\n\r\x00\x7f\ufeff\U000e0001") == "\\x09\\x0a\\x0d\\x00\\x7f\\ufeff\\U000e0001"
    )


def test_the_tool_call_line_of_td_shows_hidden_characters_too() -> None:
    stream = io.StringIO()
    output = Output(stdout=stream, stderr=stream)
    output.tool_call(ToolCall("Shell_run", {"command": "echo \u202egnp.exe"}, "c1"))
    assert "\\u202e" in stream.getvalue()
    assert "\u202e" not in stream.getvalue()
