"""The offline demo: a multi-step tool chain with a function tool, a Toolbox and hooks.

``agentloop demo`` and ``examples/quickstart.py`` run it. A scripted
:class:`FunctionModel` plays the model, so no API key is needed; name a real
model (``agentloop demo -m gpt-4.1-mini``, or ``AGENTLOOP_MODEL``) and that
provider's key to run the same chain against it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from agentloop.conversation import Conversation
from agentloop.errors import ToolError
from agentloop.messages import ToolCall, ToolResult
from agentloop.model import Model
from agentloop.providers.base import Request
from agentloop.providers.offline import FunctionModel
from agentloop.toolbox import Toolbox
from agentloop.tools import Tool

PROMPT = "How many words are in: the quick brown fox jumps"
SYSTEM = "Use the tools: count the words, write the count to a note, read it back."


def word_count(text: str) -> int:
    """Count the words in a text.

    Args:
        text: The text to count.
    """
    return len(text.split())


class Notes(Toolbox):
    """A notebook the assistant keeps for the rest of the conversation."""

    def __init__(self) -> None:
        self.notes: dict[str, str] = {}

    def write(self, title: str, body: str) -> str:
        """Write a note.

        Args:
            title: A short title to find the note again.
            body: What to remember.
        """
        self.notes[title] = body
        return f"saved {title!r}"

    def read(self, title: str) -> str:
        """Read a note back.

        Args:
            title: The title it was saved under.
        """
        if title not in self.notes:
            raise ToolError(f"No note called {title!r}; known: {sorted(self.notes)}")
        return self.notes[title]


def scripted_model(request: Request) -> Any:
    """Plays a careful assistant: count, note the result, read it back, then answer."""
    results = [r for m in request.messages if m.role == "tool" for r in m.tool_results]
    if not results:
        return [
            "Let me count the words first.",
            ToolCall("word_count", {"text": request.last_user_text}, "call_1"),
        ]
    if len(results) == 1:
        count = results[0].output
        return ToolCall("Notes_write", {"title": "count", "body": count}, "call_2")
    if len(results) == 2:
        return ToolCall("Notes_read", {"title": "count"}, "call_3")
    return f"Your sentence has {results[-1].output} words; I noted that down."


def demo_model(name: str | None = None) -> Model:
    """The model named (or in $AGENTLOOP_MODEL), else the offline scripted one."""
    from agentloop.registry import get_model

    name = name or os.environ.get("AGENTLOOP_MODEL")
    return get_model(name) if name else FunctionModel(scripted_model, model_id="demo")


def main(model_name: str | None = None, console: Console | None = None) -> None:
    console = console or Console()

    def before_call(_tool: Tool | None, call: ToolCall) -> None:
        console.print(f"[bold cyan]→ {call.name}[/] {json.dumps(call.arguments)}")

    def after_call(_tool: Tool | None, call: ToolCall, result: ToolResult) -> None:
        style = "red" if result.is_error else "green"
        console.print(f"[{style}]← {call.name}[/] {result.output}")

    model = demo_model(model_name)
    console.print(Panel(f"agentloop quickstart with model [bold]{model.model_id}[/]"))
    conversation = model.conversation(
        system=SYSTEM,
        tools=[word_count, Notes()],
        before_call=before_call,
        after_call=after_call,
    )
    response = conversation.chain(PROMPT)
    console.print(Panel(response.text(), title="answer", border_style="green"))

    usage = response.usage()
    console.print(
        f"{len(response.responses)} model calls, {len(response.tool_calls())} tool calls, "
        f"{usage.input_tokens} input + {usage.output_tokens} output tokens"
    )
    console.print(wire_formats_table(conversation))
    conversation.close()


def wire_formats_table(conversation: Conversation) -> Table:
    """How many messages and tool calls each provider's encoding of the conversation holds."""
    table = Table(title="The same conversation on every wire format")
    table.add_column("format")
    table.add_column("messages", justify="right")
    table.add_column("tool calls kept", justify="right")
    dumped = {
        "OpenAI Chat": conversation.to_openai(),
        "OpenAI Responses": conversation.to_openai_responses(),
        "Anthropic": conversation.to_anthropic()[1],
        "Gemini": conversation.to_gemini()[1],
    }
    for label, wire in dumped.items():
        text = json.dumps(wire)
        calls = text.count('"tool_calls"') + text.count('"function_call"')
        calls += text.count('"tool_use"') + text.count('"functionCall"')
        table.add_row(label, str(len(wire)), str(calls))
    return table


if __name__ == "__main__":
    main()
