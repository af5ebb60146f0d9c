"""What prompt, chain and chat share: from the arguments to a conversation, and one turn of it.

Everything the user can get wrong (options, tools, attachments, the model name,
the conversation to continue) is checked here, before any model call.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from agentloop import prices
from agentloop.cli.errors import UsageError
from agentloop.cli.hooks import ToolHooks
from agentloop.cli.key_values import parse_options
from agentloop.cli.render import Output
from agentloop.cli.tools_option import resolve_tools
from agentloop.conversation import Conversation
from agentloop.errors import MediaError, UnknownPriceError
from agentloop.log import Log, LogError
from agentloop.media import Attachment, File, Image
from agentloop.registry import get_model
from agentloop.tools import ToolSource
from agentloop.usage import Usage


@dataclass(slots=True)
class Session:
    """A conversation ready for the command's turns, and how to show them."""

    conversation: Conversation
    output: Output
    stream: bool = True
    show_usage: bool = False
    attachments: list[Image | File] = field(default_factory=list)
    log: Log | None = None
    #: ``--max-cost`` and ``--max-total-tokens``: the limits of each turn's chain.
    max_cost: float | None = None
    max_total_tokens: int | None = None

    def close(self) -> None:
        """Close the toolboxes that hold a process or a file (MCP, SQLite), and the log."""
        try:
            self.conversation.close()
        finally:
            if self.log is not None:
                self.log.close()


def open_session(args: argparse.Namespace, output: Output) -> Session:
    """The conversation the arguments describe: new, or continued from the log."""
    options = parse_options(args.option or [])
    attachments = [attachment(item) for item in getattr(args, "attachment", None) or []]
    tools: list[ToolSource] = resolve_tools(
        args.tool or [], args.functions or [], args.tool_option or []
    )
    hooks = ToolHooks(output, approve_all=args.ta)
    output.show_tools = args.td
    settings: dict[str, Any] = {
        "options": options,
        "tools": tools,
        "before_call": hooks.before_call,
        "approve": hooks.approve,
        "approve_all": hooks.approve_all,
        "chain_limit": args.cl,
    }
    log = None if args.no_log else Log()
    try:
        conversation = _conversation(args, log, settings)
    except BaseException:
        if log is not None:
            log.close()
        raise
    session = Session(
        conversation,
        output,
        stream=not getattr(args, "no_stream", False),
        show_usage=args.usage,
        attachments=attachments,
        log=log,
        max_cost=getattr(args, "max_cost", None),
        max_total_tokens=getattr(args, "max_total_tokens", None),
    )
    try:
        _check_price(session)
    except BaseException:
        session.close()
        raise
    if log is not None:
        log.attach(conversation)
    if output.show_tools or output.markdown:  # piped without --td, nothing is shown of them
        conversation.on_event.append(output.event)
    return session


def _check_price(session: Session) -> None:
    """``--max-cost`` on a model with no known price: a usage error now, before any call
    (the chain would raise the same at its first call, but ``chat`` only once typed to)."""
    if session.max_cost is None:
        return
    model_id = session.conversation.require_model().model_id
    if prices.cost(Usage(1_000, 100), model_id) is None:
        raise UnknownPriceError(model_id, prices.available())


def _conversation(
    args: argparse.Namespace, log: Log | None, settings: dict[str, Any]
) -> Conversation:
    if not (args.continue_ or args.cid):
        return get_model(args.model).conversation(**settings)
    if log is None:
        with Log() as reader:  # --no-log still reads the history it continues
            return _continued(args, reader, settings)
    return _continued(args, log, settings)


def _continued(args: argparse.Namespace, log: Log, settings: dict[str, Any]) -> Conversation:
    conversation_id = args.cid
    if conversation_id is None:
        latest = log.latest()
        if latest is None:
            raise UsageError("No logged conversation to continue: start one without -c first")
        conversation_id = latest.id
    try:
        return log.load(conversation_id, model=args.model, **settings)
    except LogError as exc:
        raise UsageError(str(exc)) from exc


def attachment(item: str) -> Image | File:
    """``-a PATH_OR_URL`` as an image or file part; a path must exist now."""
    try:
        if item.startswith(("http://", "https://")):
            return Attachment(url=item).to_part()
        return Attachment(path=item).to_part()
    except (MediaError, OSError) as exc:
        raise UsageError(f"-a {item}: {exc}") from exc


def prompt_text(argument: str | None, stdin: TextIO) -> str:
    """The prompt: piped standard input, then the argument (as the llm CLI does)."""
    piped = "" if stdin.isatty() else stdin.read().rstrip("\n")
    parts = [text for text in (piped, argument) if text]
    if not parts:
        raise UsageError("No prompt: give one as an argument, or pipe it to standard input")
    return "\n\n".join(parts)


def run_turn(
    session: Session,
    text: str | None,
    *,
    system: str | None = None,
    attachments: Sequence[Image | File] = (),
    chain: bool = True,
) -> None:
    """Send one user turn and show the answer as it arrives."""
    conversation, output = session.conversation, session.output
    send = conversation.chain if chain else conversation.prompt
    response = send(
        text,
        system=system,
        attachments=attachments,
        stream=session.stream,
        max_cost=session.max_cost,
        max_total_tokens=session.max_total_tokens,
    )
    try:
        if session.stream:
            for chunk in response:
                output.write(chunk)
        else:
            output.write(response.text())
    finally:
        output.end_answer()
    if session.show_usage:
        output.note(usage_line(response.usage()))


def usage_line(usage: Usage) -> str:
    line = f"Token usage: {usage.input_tokens:,} input, {usage.output_tokens:,} output"
    extras = []
    if usage.cached_input_tokens:
        extras.append(f"{usage.cached_input_tokens:,} cached")
    if usage.cache_write_tokens:
        extras.append(f"{usage.cache_write_tokens:,} written to cache")
    if usage.reasoning_tokens:
        extras.append(f"{usage.reasoning_tokens:,} reasoning")
    line = f"{line} ({', '.join(extras)})" if extras else line
    # Unknown stays unsaid rather than shown as $0: a local model, or no price table.
    return line if usage.cost is None else f"{line}, cost ${usage.cost:.6f}"
