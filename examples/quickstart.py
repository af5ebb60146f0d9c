"""agentloop quickstart: plain-function tools, a Toolbox, hooks and the chain.

Runs offline (python examples/quickstart.py, make demo, or agentloop demo): a scripted model
plays the assistant. For a real one, set AGENTLOOP_MODEL=gpt-4.1-mini and OPENAI_API_KEY.
"""

import json

import agentloop
from agentloop.demo import demo_model

PROMPT = "How many words are in: the quick brown fox jumps"


def word_count(text: str) -> int:
    """Count the words in a text.

    Args:
        text: The text to count.
    """
    return len(text.split())


class Notes(agentloop.Toolbox):
    """A notebook the assistant keeps. Its methods are the tools Notes_write and Notes_read."""

    def __init__(self) -> None:
        self.notes: dict[str, str] = {}  # state lives on the instance, across calls

    def write(self, title: str, body: str) -> str:
        "Write a note under a short title."
        self.notes[title] = body
        return f"saved {title!r}"

    def read(self, title: str) -> str:
        "Read a note back by its title."
        if title not in self.notes:
            raise agentloop.ToolError(f"No note called {title!r}")  # the model reads this
        return self.notes[title]


def before_call(tool: agentloop.Tool | None, call: agentloop.ToolCall) -> None:
    print(f"-> {call.name}({json.dumps(call.arguments)})")  # may also edit or cancel the call


def after_call(tool: agentloop.Tool, call: agentloop.ToolCall, result: agentloop.ToolResult):
    print(f"<- {result.output}")


def main(model: agentloop.Model) -> None:
    conversation = model.conversation(
        system="Use the tools: count the words, write the count to a note, read it back.",
        tools=[word_count, Notes()],
        before_call=before_call,
        after_call=after_call,
    )
    response = conversation.chain(PROMPT)  # runs the tools the model asks for, until it answers
    print(response.text())


if __name__ == "__main__":
    main(demo_model())  # the offline scripted model, or $AGENTLOOP_MODEL
