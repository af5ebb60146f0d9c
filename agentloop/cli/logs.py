"""``agentloop logs``: recent conversations from the log, as tables or JSON."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from rich import box
from rich.console import Console
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
        output.show(overview(found, output.console))
    return 0


#: The overview's columns, widest layout first: a narrower terminal drops the columns that
#: matter least. The id is always whole (it is what --cid takes); the prompt gets the rest.
LAYOUTS: tuple[tuple[str, ...], ...] = (
    ("id", "model", "updated (UTC)", "calls", "cost", "prompt"),
    ("id", "model", "updated (UTC)", "cost", "prompt"),
    ("id", "updated (UTC)", "cost", "prompt"),
    ("id", "cost", "prompt"),
    ("id", "prompt"),
)
#: Right-aligned columns: the numbers.
NUMBERS = ("calls", "cost")
#: The prompt is cut (with an ellipsis) to at most this, and a layout is chosen only if
#: it leaves at least NARROWEST_PROMPT characters of it (or all of a shorter one).
SHOWN_PROMPT_CHARS = 60
NARROWEST_PROMPT = 20


def overview(conversations: list[LoggedConversation], console: Console) -> Table:
    """The recent conversations as a table that fits the console's width."""
    rows = [
        {
            "id": logged.id,
            "model": logged.model or "",
            "updated (UTC)": _when(logged.updated_utc),
            "calls": str(len(logged.responses)),
            "cost": money(logged.usage().cost),
            "prompt": " ".join((logged.name or "").split()),
        }
        for logged in conversations
    ]
    wide = console.options.update_width(10_000)
    for columns in LAYOUTS[:-1]:
        narrowest = _table(columns, rows, NARROWEST_PROMPT)
        if console.measure(narrowest, options=wide).maximum <= console.width:
            break
    else:
        columns = LAYOUTS[-1]
    return _table(columns, rows, SHOWN_PROMPT_CHARS)


def _table(columns: Sequence[str], rows: list[dict[str, str]], prompt_chars: int) -> Table:
    table = Table(title="Recent conversations", title_justify="left", box=box.SIMPLE_HEAD)
    for name in columns:
        # The prompt is the only column rich may narrow; its cells end in an ellipsis then.
        table.add_column(
            name, no_wrap=name != "prompt", justify="right" if name in NUMBERS else "left"
        )
    for row in rows:
        table.add_row(
            *(
                Text(_short(row[name], prompt_chars), no_wrap=True, overflow="ellipsis")
                if name == "prompt"
                else row[name]
                for name in columns
            )
        )
    return table


def transcript(logged: LoggedConversation) -> Table:
    usage = logged.usage()
    title = (
        f"Conversation {logged.id} · {logged.model or 'unknown model'} · "
        f"{len(logged.responses)} model calls · "
        f"{usage.input_tokens:,} in / {usage.output_tokens:,} out tokens"
    )
    if usage.cost is not None:
        title = f"{title} · {money(usage.cost)}"
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


def money(cost: float | None) -> str:
    """A cost in USD as ``-u`` shows it; nothing when unknown (never a made-up $0)."""
    return "" if cost is None else f"${cost:.6f}"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(timestamp: str) -> str:
    return timestamp[:16].replace("T", " ")
