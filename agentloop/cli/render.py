"""Everything the command line shows: answers, tool calls, questions, notes and errors.

On a terminal an answer is rendered as Markdown while it streams: finished
blocks (paragraphs, lists, code blocks) are printed for good, and only the block
still arriving is redrawn, so a long answer never outgrows the screen. Piped,
the text goes out exactly as the model sent it.

Tool calls are shown from the run's events (`Output.event`): on a terminal a call
appears while the model writes it, its arguments growing as they arrive, then a
spinner while it runs and its result (the spinner alone without ``--td``); piped,
with ``--td``, a line for each call once complete and its result once it ran.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import unicodedata
from typing import Any, Protocol, TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markdown import Markdown
from rich.prompt import Confirm
from rich.spinner import Spinner
from rich.text import Text

from agentloop.events import (
    Event,
    ToolArgumentsDelta,
    ToolCallReady,
    ToolCallStarted,
    ToolFinished,
    ToolRunning,
)
from agentloop.messages import ToolCall, ToolResult

#: Tool results longer than this many lines are cut in --td output (the model sees them whole).
SHOWN_RESULT_LINES = 20

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"\s*([-*+]|\d{1,9}[.)])(\s|$)")


def split_blocks(text: str) -> tuple[str, str]:
    """Split streamed Markdown into ``(finished blocks, the block still arriving)``.

    A block is finished once a blank line follows it and the next line has
    begun something new: not inside a code fence, not an indented
    continuation, not another item of the same list.
    """
    lines = text.split("\n")
    cut = 0  # offset where the unfinished part starts
    offset = 0
    fence: str | None = None
    previous_blank = False
    for index, line in enumerate(lines):
        complete = index < len(lines) - 1
        decidable = complete or len(line) >= 4
        if (
            decidable
            and fence is None
            and previous_blank
            and offset > 0
            and line.strip()
            and not line[0].isspace()
            and not _LIST_ITEM.match(line)
        ):
            cut = offset
        if not complete:
            break
        marker = _FENCE.match(line)
        if marker and (fence is None or marker.group(1).startswith(fence)):
            fence = marker.group(1)[:3] if fence is None else None
        previous_blank = not line.strip()
        offset += len(line) + 1
    return text[:cut].rstrip("\n"), text[cut:]


class _Segment(Protocol):
    def write(self, text: str) -> None: ...

    def close(self) -> None: ...


class _PlainSegment:
    """Text as it comes, ending on a newline so what follows starts a line."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.last = "\n"

    def write(self, text: str) -> None:
        if text:
            self.out.write(text)
            self.out.flush()
            self.last = text[-1]

    def close(self) -> None:
        if self.last != "\n":
            self.out.write("\n")
            self.out.flush()


class _MarkdownSegment:
    """Markdown on a terminal: finished blocks printed once, the last one live."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.pending = ""
        self.printed = False
        self.live = Live(
            console=console,
            transient=True,
            refresh_per_second=12,
            vertical_overflow="ellipsis",
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.live.start()

    def write(self, text: str) -> None:
        done, self.pending = split_blocks(self.pending + text)
        if done.strip():
            self._print(done)
        self.live.update(Markdown(self.pending))

    def close(self) -> None:
        self.live.update(Text(""))
        self.live.stop()
        if self.pending.strip():
            self._print(self.pending)
        self.pending = ""

    def _print(self, markdown: str) -> None:
        if self.printed:
            self.console.print()  # the blank line Markdown puts between blocks
        self.console.print(Markdown(markdown))
        self.printed = True


class _ToolActivity:
    """The tool calls in progress, live below the output on a terminal: each call as the model
    writes it, a spinner for each tool running."""

    def __init__(self, console: Console) -> None:
        self.console = console
        #: Calls being written: id -> (the tool's name, the arguments so far).
        self.writing: dict[str, tuple[str, str]] = {}
        #: Tools running: id -> the spinner shown.
        self.running: dict[str, Spinner] = {}
        self.live: Live | None = None

    def refresh(self) -> None:
        shown: list[RenderableType] = [
            Text(visible(f"Tool call: {name}({arguments}"), style="cyan")
            for name, arguments in self.writing.values()
        ]
        shown.extend(self.running.values())
        if not shown:
            self.stop()
            return
        if self.live is None:
            self.live = Live(
                console=self.console,
                transient=True,
                refresh_per_second=12,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self.live.start()
        self.live.update(Group(*shown))

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


class Output:
    """The command line's two streams: answers and tables on stdout, the rest on stderr."""

    def __init__(
        self,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        *,
        markdown: bool | None = None,
    ) -> None:
        self.stdout = stdout or sys.stdout
        self.console = Console(file=self.stdout, highlight=False)
        # soft_wrap: an error stays one line, however narrow the terminal.
        self.errors = Console(file=stderr or sys.stderr, highlight=False, soft_wrap=True)
        self.markdown = self.console.is_terminal if markdown is None else markdown
        self._lock = threading.RLock()
        self._segment: _Segment | None = None
        self._tools = _ToolActivity(self.console)
        #: Whether tool calls and results are shown (``--td``); else only a spinner, on a
        #: terminal, while a tool runs.
        self.show_tools = False

    # -- answers ---------------------------------------------------------------

    def write(self, text: str) -> None:
        """Part of an answer, as it streams."""
        with self._lock:
            self._tools.stop()  # the answer goes on: no live tool area below it
            if self._segment is None:
                self._segment = (
                    _MarkdownSegment(self.console) if self.markdown else _PlainSegment(self.stdout)
                )
            self._segment.write(text)

    def end_answer(self) -> None:
        """The current answer (or chain step) is over: settle its output, and the tools'."""
        with self._lock:
            self.end_text()
            self._tools.stop()

    def end_text(self) -> None:
        """The text of the current step is over (tools run now): settle it."""
        with self._lock:
            segment, self._segment = self._segment, None
            if segment is not None:
                segment.close()

    # -- tool calls ------------------------------------------------------------

    def event(self, event: Event) -> None:
        """Show a run's event: the tool calls as they are written, run and answered."""
        if not isinstance(
            event, ToolCallStarted | ToolArgumentsDelta | ToolCallReady | ToolRunning | ToolFinished
        ):
            return
        with self._lock:
            if self.markdown:
                self._live_event(event)
            elif self.show_tools and isinstance(event, ToolCallReady):
                self.tool_call(event.call)
            elif self.show_tools and isinstance(event, ToolFinished):
                self.tool_result(event.result)

    def _live_event(self, event: Event) -> None:
        tools = self._tools
        if isinstance(event, ToolCallStarted) and self.show_tools:
            self.end_text()
            tools.writing[event.tool_call_id] = (event.name, "")
        elif isinstance(event, ToolArgumentsDelta) and event.tool_call_id in tools.writing:
            name, arguments = tools.writing[event.tool_call_id]
            tools.writing[event.tool_call_id] = (name, arguments + event.fragment)
        elif isinstance(event, ToolCallReady) and self.show_tools:
            tools.writing.pop(event.call.tool_call_id, None)
            self.tool_call(event.call)
        elif isinstance(event, ToolRunning):
            self.end_text()
            spinner = Spinner("dots", Text(visible(f"Running {event.call.name}..."), "dim"))
            tools.running[event.call.tool_call_id] = spinner
        elif isinstance(event, ToolFinished):
            tools.running.pop(event.call.tool_call_id, None)
            if self.show_tools:
                self.tool_result(event.result)
        tools.refresh()

    def tool_call(self, call: ToolCall) -> None:
        with self._lock:
            self.end_text()
            self._line(f"Tool call: {describe_call(call)}", "bold cyan")

    def tool_result(self, result: ToolResult) -> None:
        lines = result.output.splitlines() or [""]
        if len(lines) > SHOWN_RESULT_LINES:
            hidden = len(lines) - SHOWN_RESULT_LINES
            lines = [*lines[:SHOWN_RESULT_LINES], f"... ({hidden} more lines)"]
        if result.is_error:
            lines[0] = f"Error: {lines[0]}"
        with self._lock:
            self.end_text()
            for line in lines:
                self._line(f"  {line}", "red" if result.is_error else "dim")

    # -- everything else -------------------------------------------------------

    def line(self, text: str = "") -> None:
        """A line of ordinary output on stdout."""
        with self._lock:
            self._line(text, None)

    def show(self, renderable: RenderableType) -> None:
        """A rich table or panel on stdout."""
        with self._lock:
            self.console.print(renderable)

    def json(self, value: Any) -> None:
        with self._lock:
            self.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
            self.stdout.flush()

    def note(self, text: str) -> None:
        """Something about the run rather than the answer (usage, hints), on stderr."""
        with self._lock:
            self.errors.print(Text(text, style="dim"))

    def error(self, text: str) -> None:
        with self._lock:
            self.end_answer()
            self.errors.print(Text(f"Error: {text}", style="bold red"))

    def confirm(self, question: str) -> bool:
        """Ask a yes/no question on the terminal; end of input counts as no."""
        with self._lock:
            self.end_answer()
            console = self.console if self.console.is_terminal else self.errors
            try:
                return Confirm.ask(Text(question), console=console)
            except EOFError:
                return False

    def _line(self, text: str, style: str | None) -> None:
        if self.markdown:
            self.console.print(Text(text, style=style or ""), soft_wrap=True)
        else:
            self.stdout.write(text + "\n")
            self.stdout.flush()


def describe_call(call: ToolCall) -> str:
    """``name({"argument": "value"})``, as the model sent it, with hidden characters shown
    (what a user reads, or approves, is what runs)."""
    if call.raw_arguments is not None and not call.arguments:
        return visible(f"{call.name}({call.raw_arguments})")
    return visible(f"{call.name}({json.dumps(call.arguments, ensure_ascii=False)})")


#: Categories shown as escapes: controls, formats (bidi, zero-width), line and paragraph
#: separators, surrogates, private use and unassigned code points.
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def visible(text: str) -> str:
    """``text`` with every character that could hide or rearrange what is shown escaped,
    e.g. U+202E as ``\\u202e`` and ESC as ``\\x1b``; everything else as is."""
    return "".join(_escape(c) if unicodedata.category(c) in _HIDDEN else c for c in text)


def _escape(character: str) -> str:
    code = ord(character)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
