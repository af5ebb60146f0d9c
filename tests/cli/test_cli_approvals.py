"""--ta is the chain's ``approve_all``: each call's approval is in the run's events."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from agentloop.cli.app import build_parser
from agentloop.cli.hooks import DECLINED
from agentloop.cli.render import Output
from agentloop.cli.session import open_session, run_turn
from agentloop.events import ApprovalDecided, ApprovalRequested, Event, ToolFinished


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_ta_asks_through_the_chain_and_an_observer_sees_each_approval(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTLOOP_HOME", str(home))
    monkeypatch.setattr("sys.stdin", Terminal())
    functions = "def upper(text: str) -> str: return text.upper()\n"
    functions += "def lower(text: str) -> str: return text.lower()"
    args = build_parser().parse_args(
        ["chain", "-m", "test", "--no-log", "--functions", functions, "--ta", "go: Ab"]
    )
    asked: list[str] = []
    output = Output(stdout=io.StringIO())

    def confirm(question: str) -> bool:
        asked.append(question)
        return "upper" in question

    monkeypatch.setattr(output, "confirm", confirm)
    session = open_session(args, output)
    seen: list[Event] = []
    session.conversation.on_event.append(seen.append)
    try:
        run_turn(session, args.prompt)
    finally:
        session.close()
    assert sorted(asked) == ['Run lower({"text": "Ab"})?', 'Run upper({"text": "Ab"})?']
    assert sorted(e.call.name for e in seen if isinstance(e, ApprovalRequested)) == [
        "lower",
        "upper",
    ]
    decided = {e.call.name: e.approved for e in seen if isinstance(e, ApprovalDecided)}
    assert decided == {"upper": True, "lower": False}
    finished = {e.call.name: e.result.output for e in seen if isinstance(e, ToolFinished)}
    assert finished == {"upper": "AB", "lower": DECLINED}
