"""The tool chain the provider chain tests run: one tool, one question, sync or async,
streamed or not, against whatever local server stands in for the provider."""

from __future__ import annotations

import asyncio
from typing import Any

QUESTION = "Weather in Paris?"


def get_weather(city: str) -> str:
    "The current weather in a city."
    return f"Sunny, 22C in {city}"


def run_chain(model: Any, *, stream: bool, use_async: bool, **kwargs: Any) -> tuple[Any, list[Any]]:
    """``model.chain(QUESTION, tools=[get_weather])``, or its async model's: the response
    and, when streamed, the chunks read from it."""
    if not use_async:
        response = model.chain(QUESTION, tools=[get_weather], stream=stream, **kwargs)
        chunks = list(response) if stream else []
        return response, chunks

    async def go() -> tuple[Any, list[Any]]:
        amodel = model.to_async()
        response = amodel.chain(QUESTION, tools=[get_weather], stream=stream, **kwargs)
        chunks = [c async for c in response] if stream else []
        if not stream:
            response = await response
        await amodel.aclose()
        return response, chunks

    return asyncio.run(go())
