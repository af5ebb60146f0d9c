"""Watch a chain as it happens, from its events: the answer as it streams, each tool call while
the model writes it, the tools running side by side, their results, each model call's usage.

Runs offline: a FunctionModel plays the model, with pauses like a real one's.

    python examples/events_live.py
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from agentloop import FunctionModel, Request, ToolCall
from agentloop import events as ev


def get_weather(city: str) -> str:
    "The current weather in a city."
    time.sleep(0.8)  # a slow weather service
    return f"Sunny, 22C in {city}"


def slowly(text: str) -> Iterator[str]:
    for word in text.split(" "):
        time.sleep(0.05)
        yield word + " "


def play(request: Request) -> Iterator[str | ToolCall]:
    """The model: asks for the weather in two cities at once, then answers."""
    if request.messages[-1].role == "user":
        yield from slowly("Let me check both cities.")
        yield ToolCall("get_weather", {"city": "Paris"}, "call_1")
        yield ToolCall("get_weather", {"city": "Rome"}, "call_2")
    else:
        yield from slowly("It is sunny in Paris and in Rome, 22C in both.")


class Screen:
    """Prints each event as it comes; a tool call's line stays open while it is written."""

    def __init__(self) -> None:
        self.writing_call = False

    def show(self, event: ev.Event) -> None:
        match event:
            case ev.TextDelta(text=text):
                print(text, end="", flush=True)
            case ev.ToolCallStarted(name=name):
                self.end_call()
                print(f"\n-> {name}(", end="", flush=True)
                self.writing_call = True
            case ev.ToolArgumentsDelta(fragment=fragment):
                print(fragment, end="", flush=True)
            case ev.ModelCallFinished(usage=usage, error=None):
                self.end_call()
                print(f"\n   [{usage.input_tokens} tokens in, {usage.output_tokens} out]")
            case ev.ToolRunning(call=call):
                print(f"   running {call.name} for {call.arguments['city']}...", flush=True)
            case ev.ToolFinished(call=call, result=result, duration=seconds):
                print(f"   {call.arguments['city']}: {result.output} ({seconds:.1f}s)")

    def end_call(self) -> None:
        if self.writing_call:
            print(")", end="")
            self.writing_call = False


def main() -> None:
    model = FunctionModel(play)
    response = model.chain("Weather in Paris and Rome?", tools=[get_weather], stream=True)
    screen = Screen()
    for event in response.events():
        screen.show(event)


if __name__ == "__main__":
    main()
