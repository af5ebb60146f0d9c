"""A batch, offline: many prompts under a rate limit, a failure, a results file, a resume.

The "provider" is a FunctionModel that takes 50 ms to answer, so this runs
without a key or a network. With a real model, pass its name instead:
``LLMClient("gpt-4.1-mini", max_requests_per_minute=...)``.

    python examples/batch.py
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import agentloop
from agentloop import FunctionModel, LLMClient, Request, ToolCall


async def arithmetic(request: Request) -> str:
    """Plays the provider: answers "What is A + B?" after 50 ms, refuses to divide."""
    await asyncio.sleep(0.05)
    question = request.last_user_text
    if "divide" in question:
        raise agentloop.BadRequestError("this model cannot divide", provider="demo", status=400)
    a, b = (int(n) for n in question.removeprefix("What is ").rstrip("?").split(" + "))
    return str(a + b)


def add(a: int, b: int) -> int:
    "Add two integers."
    return a + b


def adder(request: Request) -> str | ToolCall:
    """Plays a model that uses the add tool, then reports its result."""
    last = request.messages[-1]
    if last.role == "tool":
        return f"The sum is {last.tool_results[0].output}."
    a, b = (int(word) for word in request.last_user_text.split() if word.isdigit())
    return ToolCall("add", {"a": a, "b": b}, "")


def main() -> None:
    prompts = [f"What is {i} + {i}?" for i in range(20)] + ["Please divide 1 by 0"]
    client = LLMClient(
        FunctionModel(arithmetic, model_id="demo"),
        max_requests_per_minute=1200,  # 20 a second
        max_concurrent_requests=16,
        progress=False,
    )
    results_file = Path(tempfile.mkdtemp()) / "results.jsonl"

    started = time.monotonic()
    results = client.process_prompts_sync(prompts, results_file=results_file)
    seconds = time.monotonic() - started
    print(f"{len(results)} results in {seconds:.1f} s (20 a second allows {len(prompts) / 20:.1f})")
    print("first:", results[0].completion, "| last good:", results[19].completion)
    failed = [r for r in results if r.error]
    print("failed:", [f"#{r.index}: {r.error}" for r in failed])

    # A rerun with the same file asks only for what is missing (here: the failed prompt).
    again = client.process_prompts_sync(prompts, results_file=results_file)
    print("answered from the file:", sum(r.resumed for r in again), "of", len(again))

    # With tools=, each prompt runs the tool loop: a call to add, then the answer.
    chains = LLMClient(FunctionModel(adder), progress=False).process_prompts_sync(
        ["Add 2 and 3", "Add 4 and 5"], tools=[add]
    )
    print("chains:", [r.completion for r in chains], "model calls each:", chains[0].attempts)


if __name__ == "__main__":
    main()
