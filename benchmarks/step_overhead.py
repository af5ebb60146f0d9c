"""The framework's own cost per chain step, sync and async (a benchmark, not a test).

A FunctionModel calls a trivial tool N times, then answers. Each step is one
model call plus one tool call; the model and the tool do almost nothing, so
the time measured is agentloop's. Prints the median of repeated runs for
N = 10, 50, 200.

Targets (issue 4): <= 0.03 ms per step at N = 50, and the per-step cost at
N = 200 at most 1.5x that at N = 10 (no growth with history).

The "events read" row runs the same chain with an observer reading every event
(docs/events.md): what the events cost when someone reads them; unread, the chain
makes none, so the first two rows are what a run costs with nobody reading. The "traced"
row runs it with `agentloop.tracing.instrument()` on, spans made by the OpenTelemetry SDK
(a TracerProvider with no exporter: the cost of building them, docs/tracing.md).

Where `llm` or `pydantic-ai` are installed, the same scenario runs through
them and the ratios are printed.

    python benchmarks/step_overhead.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

from agentloop import FunctionModel, Request, ToolCall

SIZES = (10, 50, 200)


def bump(n: int) -> int:
    "Add one."
    return n + 1


async def abump(n: int) -> int:
    "Add one."
    return n + 1


def counting_model(steps: int, tool: str) -> FunctionModel:
    def play(request: Request) -> Any:
        done = len(request.messages) // 2  # user, then (assistant, tool) pairs
        if done >= steps:
            return "finished"
        return ToolCall(tool, {"n": done}, f"c{done}")

    return FunctionModel(play)


def agentloop_sync(steps: int) -> float:
    conversation = counting_model(steps, "bump").conversation(tools=[bump], chain_limit=steps + 1)
    started = time.perf_counter()
    response = conversation.chain("go")
    elapsed = time.perf_counter() - started
    assert response.text() == "finished", response.text()
    return elapsed


def agentloop_sync_events(steps: int) -> float:
    conversation = counting_model(steps, "bump").conversation(tools=[bump], chain_limit=steps + 1)
    seen: list[Any] = []
    conversation.on_event.append(seen.append)
    started = time.perf_counter()
    response = conversation.chain("go")
    elapsed = time.perf_counter() - started
    assert response.text() == "finished", response.text()
    assert len(seen) == 5 * steps + 4, len(seen)  # 5 a step, and the start and end
    return elapsed


def agentloop_sync_traced(steps: int) -> float:
    from opentelemetry.sdk.trace import TracerProvider

    from agentloop import tracing

    model = counting_model(steps, "bump")
    tracing.instrument(model, tracer_provider=TracerProvider())
    try:
        conversation = model.conversation(tools=[bump], chain_limit=steps + 1)
        started = time.perf_counter()
        response = conversation.chain("go")
        elapsed = time.perf_counter() - started
    finally:
        tracing.uninstrument(model)
    assert response.text() == "finished", response.text()
    return elapsed


def agentloop_async(steps: int) -> float:
    model = counting_model(steps, "abump").to_async()
    conversation = model.conversation(tools=[abump], chain_limit=steps + 1)

    async def run() -> float:
        started = time.perf_counter()
        response = await conversation.chain("go")
        elapsed = time.perf_counter() - started
        assert response.text() == "finished"
        return elapsed

    return asyncio.run(run())


def median_per_step_ms(run: Callable[[int], float], steps: int, repeat: int) -> float:
    run(steps)  # warm up caches (schemas, validators)
    return statistics.median(run(steps) for _ in range(repeat)) / steps * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    rows: dict[str, dict[int, float]] = {
        "agentloop sync": {},
        "agentloop async": {},
        "agentloop sync, events read": {},
        "agentloop sync, traced": {},
    }
    for steps in SIZES:
        rows["agentloop sync"][steps] = median_per_step_ms(agentloop_sync, steps, args.repeat)
        rows["agentloop async"][steps] = median_per_step_ms(agentloop_async, steps, args.repeat)
        rows["agentloop sync, events read"][steps] = median_per_step_ms(
            agentloop_sync_events, steps, args.repeat
        )
        rows["agentloop sync, traced"][steps] = median_per_step_ms(
            agentloop_sync_traced, steps, args.repeat
        )
    peers = _peer_rows(args.repeat)
    rows.update(peers)

    print(f"{'ms per step':<28}" + "".join(f"{f'N={n}':>12}" for n in SIZES) + f"{'N200/N10':>12}")
    for label, by_size in rows.items():
        growth = by_size[200] / by_size[10]
        cells = "".join(f"{by_size[n]:>12.4f}" for n in SIZES)
        print(f"{label:<28}{cells}{growth:>12.2f}")
    ours = rows["agentloop sync"][50]
    verdict = "meets" if ours <= 0.03 else "misses"
    print(f"\nagentloop sync at N=50: {ours:.4f} ms per step ({verdict} the 0.03 ms target)")
    for label in peers:
        print(f"{label} / agentloop at N=50: {rows[label][50] / ours:.1f}x")


def _peer_rows(repeat: int) -> dict[str, dict[int, float]]:
    """Run the same scenario through llm and pydantic-ai where they are installed."""
    from peers import available_peers  # local module beside this script

    out: dict[str, dict[int, float]] = {}
    for label, run in available_peers().items():
        out[label] = {n: median_per_step_ms(run, n, repeat) for n in SIZES}
    return out


if __name__ == "__main__":
    main()
