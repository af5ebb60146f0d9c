"""``agentloop logs``: recent conversations from the log, as tables or JSON."""

from __future__ import annotations

import argparse

from rich import box
from rich.table import Table
from rich.text import Text

from agentloop.cli.errors import UsageError
from agentloop.cli.render import Output, describe_call
from agentloop.log import Log, LogError, LoggedConversation, default_path
from agentloop.messages import Message, ToolCall, ToolResult
from agentloop.messages import Text as TextPart

#: How much of a long message a table shows.
SHOWN_CHARS = 600


def run(args: argparse.Namespace, output: Output) -> int:
    if args.path:
        output.line(str(default_path()))
        return 0
    with Log() as log:
        try:
            found = [log.get(args.cid)] if args.cid else log.conversations(limit=args.n)
        except LogError as exc:
            raise UsageError(str(exc)) from exc
    if args.json:
        output.json([c.to_dict() for c in found])
    elif not found:
        output.note(f"No conversations logged yet (the log is {default_path()}).")
    elif args.cid:
        output.show(transcript(found[0]))
    else:
        output.show(overview(found))
    return 0


def overview(conversations: list[LoggedConversation]) -> Table:
    table = Table(title="Recent conversations", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("id", no_wrap=True)
    table.add_column("model", no_wrap=True)
    table.add_column("updated (UTC)", no_wrap=True)
    table.add_column("calls", justify="right", no_wrap=True)
    table.add_column("prompt")
    for logged in conversations:
        table.add_row(
            logged.id,
            logged.model or "",
            _when(logged.updated_utc),
            str(len(logged.responses)),
            _short(" ".join((logged.name or "").split()), 60),
        )
    return table


def transcript(logged: LoggedConversation) -> Table:
    usage = logged.usage()
    title = (
        f"Conversation {logged.id} · {logged.model or 'unknown model'} · "
        f"{len(logged.responses)} model calls · "
        f"{usage.input_tokens:,} in / {usage.output_tokens:,} out tokens"
    )
    table = Table(title=title, title_justify="left", show_lines=True)
    table.add_column("role", style="bold")
    table.add_column("content")
    for message in logged.messages:
        table.add_row(message.role, message_text(message))
    return table


def message_text(message: Message) -> Text:
    """A message as table text: its text, its tool calls and results, its attachments."""
    text = Text()
    for part in message.parts:
        if text:
            text.append("\n")
        if isinstance(part, TextPart):
            text.append(_short(part.text, SHOWN_CHARS))
        elif isinstance(part, ToolCall):
            text.append(f"Tool call: {describe_call(part)}", style="cyan")
        elif isinstance(part, ToolResult):
            style = "red" if part.is_error else "green"
            text.append(f"{part.name}: ", style=style)
            text.append(_short(part.output, SHOWN_CHARS))
        else:
            text.append(f"[{type(part).__name__.lower()}]", style="dim")
    return text


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(timestamp: str) -> str:
    return timestamp[:16].replace("T", " ")
