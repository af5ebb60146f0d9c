"""The chain the clouds' tests run on each host: "Weather in Paris?", the model calls
`weather`, then answers. Each test scripts those two replies in its host's wire format;
these run the chain over them, blocking or async, streamed or not."""

from __future__ import annotations

from typing import Any

from agentloop.model import Model

QUESTION = "Weather in Paris?"


def weather(city: str) -> str:
    "The weather in a city."
    return f"sunny in {city}"


def chain(model: Model, *, stream: bool) -> str:
    """The chain's answer."""
    return model.conversation(tools=[weather]).chain(QUESTION, stream=stream).text()


async def achain(model: Any, *, stream: bool) -> str:
    """The chain's answer through an `AsyncModel` (a stream's chunks joined)."""
    conversation = model.conversation(tools=[weather])
    if stream:
        return "".join([chunk async for chunk in conversation.chain(QUESTION, stream=True)])
    return str((await conversation.chain(QUESTION)).text())
