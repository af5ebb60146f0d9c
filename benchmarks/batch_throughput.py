"""LLMClient throughput against a local server that answers in 100 ms (a benchmark, not a test).

A Chat Completions server (tests/batch/fast_server.py: asyncio, keep-alive) runs
in its own process on 127.0.0.1 and answers every request after ``--delay``
seconds. Three runs of ``--prompts`` prompts (5,000 by default):

1. **rate limited**: ``max_requests_per_minute=--rpm``. The achieved rate is
   measured at the server, from the first request's arrival to the last
   one's: (n - 1) / span. Target: within 5% below the configured rate, never above.
2. **unlimited**: no rate limit, ``--concurrency`` prompts at once. The ideal
   wall time is the server's delay times ceil(prompts / concurrency).
3. **lm-deluge**, when it is installed: the same unlimited workload through
   lm_deluge.LLMClient, and the ratio of the wall times.

    python benchmarks/batch_throughput.py [--prompts 5000] [--rpm 24000] [--concurrency 500]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import agentloop
from agentloop import LLMClient

SERVER = Path(__file__).parents[1] / "tests" / "batch" / "fast_server.py"


class Server:
    """The fast local server, in a process of its own (it must not share our GIL)."""

    def __init__(self, delay: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER), "--delay", str(delay)], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def arrivals(self) -> list[float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats") as reply:
            data: dict[str, list[float]] = json.load(reply)
        return data["arrivals"]

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def most_in_any_window(times: list[float], window: float) -> int:
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def measured(server: Server, run: Callable[[], Any]) -> tuple[float, list[float]]:
    """Wall time of ``run`` and the arrival times of the requests it made."""
    before = len(server.arrivals())
    started = time.perf_counter()
    run()
    wall = time.perf_counter() - started
    return wall, sorted(server.arrivals()[before:])


def rate_limited(server: Server, prompts: list[str], rpm: float, concurrency: int) -> None:
    model = agentloop.get_model("openai-compatible/bench", base_url=server.base_url)
    client = LLMClient(
        model, max_requests_per_minute=rpm, max_concurrent_requests=concurrency, progress=False
    )
    wall, arrivals = measured(server, lambda: client.process_prompts_sync(prompts))
    achieved = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) * 60
    per_second = most_in_any_window(arrivals, 1.0)
    ratio = achieved / rpm
    verdict = "meets" if 0.95 <= ratio <= 1.0 else "misses"
    print(f"rate limited: {len(prompts)} prompts in {wall:.2f} s")
    print(f"  configured   {rpm:>10,.0f} requests/min")
    print(f"  achieved     {achieved:>10,.0f} requests/min  ({ratio:.1%}: {verdict} the target)")
    print(f"  busiest second at the server: {per_second} requests (limit/60 = {rpm / 60:.0f})")


def unlimited(server: Server, prompts: list[str], concurrency: int, delay: float) -> float:
    model = agentloop.get_model("openai-compatible/bench", base_url=server.base_url)
    client = LLMClient(model, max_concurrent_requests=concurrency, progress=False)
    wall, arrivals = measured(server, lambda: client.process_prompts_sync(prompts))
    ideal = math.ceil(len(prompts) / concurrency) * delay
    print(f"unlimited: {len(prompts)} prompts, {concurrency} at once")
    print(f"  wall time {wall:.2f} s, ideal {ideal:.2f} s: {wall / ideal:.2f}x the ideal")
    print(f"  {len(arrivals) / wall:,.0f} requests/s")
    return wall


def lm_deluge_unlimited(server: Server, prompts: list[str], concurrency: int) -> float | None:
    try:
        from lm_deluge import LLMClient as DelugeClient  # type: ignore[import-not-found]
        from lm_deluge.models import register_model  # type: ignore[import-not-found]
    except ImportError:
        print("lm-deluge is not installed: no comparison")
        return None
    os.environ.setdefault("BENCH_API_KEY", "sk-bench")
    register_model(
        id="bench-local",
        name="bench",
        api_base=server.base_url,
        api_key_env_var="BENCH_API_KEY",
        api_spec="openai",
    )
    client = DelugeClient(
        "bench-local",
        max_requests_per_minute=10_000_000,
        max_tokens_per_minute=10_000_000_000,
        max_concurrent_requests=concurrency,
        progress="manual",
    )
    wall, _ = measured(server, lambda: client.process_prompts_sync(prompts, show_progress=False))
    print(f"lm-deluge unlimited: wall time {wall:.2f} s")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=5000)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--rpm", type=float, default=24_000)
    parser.add_argument("--concurrency", type=int, default=500)
    args = parser.parse_args()

    prompts = [f"Question number {i}: what is {i} + {i}?" for i in range(args.prompts)]
    server = Server(args.delay)
    try:
        # Rate limited: enough concurrency that the limit, not the latency, is what binds.
        needed = math.ceil(args.rpm / 60 * args.delay * 2)
        rate_limited(server, prompts, args.rpm, max(needed, 16))
        ours = unlimited(server, prompts, args.concurrency, args.delay)
        theirs = lm_deluge_unlimited(server, prompts, args.concurrency)
        if theirs is not None:
            print(f"\nagentloop / lm-deluge wall time: {ours / theirs:.2f}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
