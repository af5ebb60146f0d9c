"""How the command line fails: exit statuses and the one line of text that says why."""

from __future__ import annotations

from agentloop.errors import (
    AgentloopError,
    BudgetExceeded,
    ChainLimitExceeded,
    DuplicateToolError,
    OptionError,
    ToolDefinitionError,
    UnknownPriceError,
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
    if isinstance(error, DuplicateToolError | UnknownPriceError):
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
    if isinstance(error, BudgetExceeded):
        return f"{text} On the command line: {LIMIT_OPTIONS[error.limit]}."
    if isinstance(error, UnknownPriceError):
        return _with_options(text)
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


#: The library's names for the spending limits, and the options that set them here.
LIMIT_OPTIONS = {"max_cost": "--max-cost USD", "max_total_tokens": "--max-total-tokens N"}


def _with_options(text: str) -> str:
    """An unknown price's text with the options in place of the library's keywords."""
    for name, option in LIMIT_OPTIONS.items():
        text = text.replace(name, option.partition(" ")[0])
    return text
