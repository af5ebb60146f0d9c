"""``agentloop chat``: an interactive session that keeps its history.

Type a prompt per line; ``!multi`` ... ``!end`` (or a line ending in ``\\``)
sends several lines at once; ``exit``, ``quit`` or Ctrl-D ends the session.
Ctrl-C stops the answer being written and keeps the session: the history is
left as if that turn had been cut short (no unanswered prompt, no tool call
without a result), so the next prompt carries on cleanly.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable

from agentloop.cli.errors import describe
from agentloop.cli.render import Output
from agentloop.cli.session import Session, open_session, run_turn
from agentloop.conversation import Conversation
from agentloop.history import unanswered_calls
from agentloop.messages import Message, ToolResult

INTERRUPTED_CALL = "The user interrupted the answer before this tool call finished."
EXIT_WORDS = ("exit", "quit")

#: Reads one line, given the prompt to show; raises EOFError at the end of input.
ReadLine = Callable[[str], str]


def run(args: argparse.Namespace, output: Output) -> int:
    session = open_session(args, output)
    interactive = sys.stdin.isatty()
    if interactive:
        _enable_line_editing()
        model = session.conversation.require_model().model_id
        output.note(
            f"Chatting with {model}. Type exit or quit (or press Ctrl-D) to end, "
            "!multi ... !end for several lines; Ctrl-C stops an answer."
        )
    read = input if interactive else _read_piped
    failed = False
    try:
        first = True
        while (text := next_prompt(read, output)) is not None:
            failed = not _turn(session, text, first=first, args=args) or failed
            first = False
    finally:
        session.close()
    return 1 if failed else 0


def _turn(session: Session, text: str, *, first: bool, args: argparse.Namespace) -> bool:
    """One exchange; False when it failed (the error is shown and the session goes on)."""
    conversation, output = session.conversation, session.output
    before = len(conversation.messages)
    try:
        run_turn(
            session,
            text,
            system=args.system if first else None,
            attachments=session.attachments if first else (),
        )
    except KeyboardInterrupt:
        output.end_answer()
        settle(conversation, before, interrupted=True)
        output.note("Interrupted. Ask again, or type exit to end.")
    except Exception as exc:
        output.error(describe(exc))
        settle(conversation, before, interrupted=False)
        return False
    return True


def next_prompt(read: ReadLine, output: Output) -> str | None:
    """The next prompt typed, or None when the session should end."""
    while True:
        try:
            line = read("> ")
        except EOFError:
            return None
        except KeyboardInterrupt:
            output.line()
            output.note("(type exit or press Ctrl-D to end the session)")
            continue
        command = line.strip()
        if command.lower() in EXIT_WORDS:
            return None
        if command == "!multi" or command.startswith("!multi "):
            end = ("!end " + command[len("!multi ") :].strip()).strip()
            text = _read_until(read, end)
        elif line.endswith("\\"):
            text = _read_continued(read, line)
        else:
            text = line
        if text.strip():
            return text


def _read_until(read: ReadLine, end: str) -> str:
    lines: list[str] = []
    while True:
        try:
            line = read("")
        except EOFError:
            break
        if line.strip() == end:
            break
        lines.append(line)
    return "\n".join(lines)


def _read_continued(read: ReadLine, first: str) -> str:
    lines = [first[:-1]]
    while True:
        try:
            line = read("... ")
        except EOFError:
            break
        if not line.endswith("\\"):
            lines.append(line)
            break
        lines.append(line[:-1])
    return "\n".join(lines)


def settle(conversation: Conversation, before: int, *, interrupted: bool) -> None:
    """Leave the history valid after a turn that did not finish.

    A prompt that got no answer is taken back out. After an interruption, tool
    calls left without a result get one saying so, rather than running again
    at the next prompt.
    """
    messages = conversation.messages
    if len(messages) > before and messages[-1].role == "user":
        del messages[-1]
    pending = unanswered_calls(messages) if len(messages) > before else []
    if interrupted and pending:
        results = [
            ToolResult(call.name, INTERRUPTED_CALL, call.tool_call_id, is_error=True)
            for call in pending
        ]
        messages.append(Message("tool", list(results)))


def _read_piped(_prompt: str) -> str:
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")


def _enable_line_editing() -> None:
    with contextlib.suppress(ImportError):  # Windows has no readline
        import readline  # noqa: F401  (arrow keys and history for input())
