"""How the command line fails: exit statuses and the one line of text that says why."""

from __future__ import annotations

from agentloop.errors import (
    AgentloopError,
    ChainLimitExceeded,
    DuplicateToolError,
    OptionError,
    ToolDefinitionError,
)
from agentloop.registry import UnknownModelError

#: Exit statuses: success, a model or provider error, a mistake in the command line.
OK, FAILURE, USAGE = 0, 1, 2
#: What shells expect from a program stopped by Ctrl-C (128 + SIGINT).
INTERRUPTED = 130


class UsageError(Exception):
    """A mistake in the command line, found before any model call: exit status 2."""


def exit_status(error: BaseException) -> int:
    """The exit status for an error that ended a command."""
    if isinstance(error, UsageError | UnknownModelError | ToolDefinitionError | OptionError):
        return USAGE
    if isinstance(error, DuplicateToolError):
        return USAGE
    if isinstance(error, ValueError) and not isinstance(error, AgentloopError):
        # A provider refusing an option it cannot express: the -o the user gave.
        return USAGE
    return FAILURE


def describe(error: BaseException) -> str:
    """One line saying what went wrong (and, where the error knows it, how to fix it)."""
    text = " ".join(str(error).split())
    if isinstance(error, ChainLimitExceeded):
        return f"{text} On the command line: --cl N."
    if isinstance(error, OptionError):
        # The library's hint names Python's extra_body={...}; here it is an -o.
        return text.replace("extra_body={...}", "-o extra_body '{...}'")
    if isinstance(error, UsageError | AgentloopError):
        return text or type(error).__name__
    if isinstance(error, ValueError) and text:
        return text
    # Not one of ours: the type says more than the message alone.
    detail = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return f"{detail} (--debug shows the traceback)"
