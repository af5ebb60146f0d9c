"""The hooks the command line gives a chain: asking before tool calls (--ta, and tools that
need approval); tool calls are shown from the run's events (`Output.event`).

Approval fails closed: with no terminal to ask on, a call that needs a yes is
refused, and the model is told why. The question shows the call with control,
format (bidirectional overrides, zero-width) and separator characters written
as escapes, so the user approves exactly what runs: a U+202E cannot make a
command appear reordered, nor an escape sequence rewrite the terminal.
"""

from __future__ import annotations

import sys
import threading

from agentloop.cli.render import Output, describe_call
from agentloop.errors import CancelToolCall
from agentloop.messages import ToolCall
from agentloop.tools import Tool

NO_TERMINAL = (
    "Not run: the user asked to approve every tool call (--ta) and there is no terminal to ask on."
)
NEEDS_APPROVAL = "Not run: this tool needs the user's approval and there is no terminal to ask on."
DECLINED = "The user declined this tool call."


class ToolHooks:
    """``before_call`` and ``approve`` for one command.

    --ta is the chain's ``approve_all`` (pass ``hooks.approve_all`` to the conversation):
    the chain asks `approve` about every call, so the run's events show each approval.
    """

    def __init__(
        self,
        output: Output,
        *,
        approve_all: bool = False,
        interactive: bool | None = None,
    ) -> None:
        self.output = output
        self.approve_all = approve_all
        self.interactive = sys.stdin.isatty() if interactive is None else interactive
        self._asking = threading.Lock()  # concurrent calls ask one at a time

    def before_call(self, tool: Tool | None, call: ToolCall) -> None:
        self.output.end_text()  # the step's text is over; tools run now (shown from the events)
        needs_yes = self.approve_all or (tool is not None and tool.requires_approval)
        if needs_yes and not self.interactive:
            raise CancelToolCall(NO_TERMINAL if self.approve_all else NEEDS_APPROVAL)

    def approve(self, tool: Tool, call: ToolCall) -> bool | str:
        """Ask about the call: every call with --ta, else tools that always need a yes."""
        if not self.interactive:
            return False
        if self.approve_all:
            return True if self._ask(call) else DECLINED
        return self._ask(call, f"{tool.name} needs approval. ")

    def _ask(self, call: ToolCall, preface: str = "") -> bool:
        with self._asking:
            return self.output.confirm(f"{preface}Run {describe_call(call)}?")
