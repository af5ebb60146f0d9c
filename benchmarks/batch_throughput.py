"""LLMClient throughput against a local server that answers in 100 ms (a benchmark, not a test).

A Chat Completions server (tests/batch/fast_server.py: asyncio, keep-alive) runs
in its own process on 127.0.0.1 and answers every request after ``--delay``
seconds. With ``--prompts`` prompts (5,000 by default):

1. **rate limited**: ``max_requests_per_minute=--rpm``. The achieved rate is
   measured at the server, from the first request's arrival to the last
   one's: (n - 1) / span. Target: 95 to 100% of the configured rate, never above.
2. **unlimited**: no rate limit, ``--concurrency`` prompts at once, through
   agentloop's async transport (aiohttp) on the loop a batch makes for itself
   (uvloop's when installed) and on asyncio's own; and, when the ``httpx-aiohttp``
   package is importable, through httpx over it instead; each beside the same
   number of raw POSTs through that transport alone (the floor agentloop adds to).
   The ideal wall time is the server's delay times ceil(prompts / concurrency).
   Beside each wall time, CPU time: the event loop thread's (where a batch's Python
   work runs: the thread that calls ``process_prompts_sync``) and the whole process's
   (every thread's; the server's and lm-deluge's processes are not counted).
3. **lm-deluge**: the same unlimited workload through lm_deluge.LLMClient, in a
   process of its own (``benchmarks/lm_deluge_batch.py``) run by
   ``--lm-deluge-python`` (default: this interpreter, if it can import lm_deluge),
   and every wall time as a ratio to lm-deluge's. Goal: agentloop at most 0.7.

The unlimited runs are repeated ``--repeat`` times (3 by default), one of each
per round, and the report gives each one's median: the machine these run on
is shared, and one run can be 20-30% off. The ratio to lm-deluge is the median
of the rounds' ratios, each taken within one round. Every timed run starts
after half a second of quiet and a full garbage collection, so that none pays for
what an earlier one left.

    python benchmarks/batch_throughput.py [--prompts 5000] [--rpm 24000] [--concurrency 500]
        [--repeat 3] [--lm-deluge-python /tmp/deluge/bin/python]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import agentloop
from agentloop import LLMClient
from agentloop.batch import event_loop

HERE = Path(__file__).parent
SERVER = HERE.parent / "tests" / "batch" / "fast_server.py"
DELUGE = HERE / "lm_deluge_batch.py"
BODY = json.dumps({"model": "bench", "messages": [{"role": "user", "content": "hi"}]}).encode()
JSON = {"content-type": "application/json"}
#: Seconds of quiet before each timed run (`settle`).
SETTLE = 0.5
#: What each run took: wall seconds, the event loop thread's and the process's CPU seconds.
Timing = tuple[float, float, float]


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


def settle() -> None:
    """Start a timed run from a quiet machine: a pause for the server and the kernel to
    finish with the previous run's connections, then a full garbage collection, so that no
    run pays for what an earlier one left. Each lm-deluge run starts a process of its own,
    which pauses as long; without this the run just after another paid for it (its CPU
    time 10 to 30% higher on this 2-core machine)."""
    time.sleep(SETTLE)
    gc.collect()


def timer(since: Timing = (0.0, 0.0, 0.0)) -> Timing:
    """Wall, this thread's and the process's CPU clocks, minus ``since``."""
    now = (time.perf_counter(), time.thread_time(), time.process_time())
    return (now[0] - since[0], now[1] - since[1], now[2] - since[2])


def measured(server: Server, run: Callable[[], Any]) -> tuple[Timing, list[float]]:
    """Wall and CPU time of ``run`` and the arrival times of the requests it made."""
    before = len(server.arrivals())
    settle()
    started = timer()
    run()
    timing = timer(started)
    return timing, sorted(server.arrivals()[before:])


def rate_limited(server: Server, prompts: list[str], rpm: float, concurrency: int) -> None:
    model = agentloop.get_model("openai-compatible/bench", base_url=server.base_url)
    client = LLMClient(
        model, max_requests_per_minute=rpm, max_concurrent_requests=concurrency, progress=False
    )
    (wall, *_), arrivals = measured(server, lambda: client.process_prompts_sync(prompts))
    achieved = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) * 60
    per_second = most_in_any_window(arrivals, 1.0)
    ratio = achieved / rpm
    verdict = "meets" if 0.95 <= ratio <= 1.0 else "misses"
    print(f"rate limited: {len(prompts)} prompts in {wall:.2f} s")
    print(f"  configured   {rpm:>10,.0f} requests/min")
    print(f"  achieved     {achieved:>10,.0f} requests/min  ({ratio:.1%}: {verdict} the target)")
    print(f"  busiest second at the server: {per_second} requests (limit/60 = {rpm / 60:.0f})")


def unlimited(server: Server, prompts: list[str], concurrency: int) -> Timing:
    """Wall and CPU time of the unlimited batch through LLMClient."""
    model = agentloop.get_model("openai-compatible/bench", base_url=server.base_url)
    client = LLMClient(model, max_concurrent_requests=concurrency, progress=False)
    timing, arrivals = measured(server, lambda: client.process_prompts_sync(prompts))
    assert len(arrivals) == len(prompts), f"{len(arrivals)} requests for {len(prompts)} prompts"
    return timing


async def raw_posts(post: Callable[[], Any], count: int, concurrency: int) -> Timing:
    """Wall and CPU time of ``count`` POSTs, ``concurrency`` at once, through ``post`` alone."""
    queue = iter(range(count))

    async def worker() -> None:
        for _ in queue:
            await post()

    settle()
    started = timer()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return timer(started)


def raw_aiohttp(server: Server, count: int, concurrency: int, loop: str = "asyncio") -> Timing:
    """The floor: plain aiohttp POSTs on ``loop`` (``asyncio`` or ``uvloop``)."""
    import aiohttp

    async def run() -> Timing:
        url = f"{server.base_url}/chat/completions"
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def post() -> Any:
                async with session.post(url, data=BODY, headers=JSON) as reply:
                    return json.loads(await reply.read())

            return await raw_posts(post, count, concurrency)

    with standard_loop(loop == "asyncio"):
        return event_loop.run(run())


@contextmanager
def standard_loop(chosen: bool = True) -> Iterator[None]:
    """Run batches on asyncio's own loop instead of uvloop (``AGENTLOOP_EVENT_LOOP``)."""
    before = os.environ.get(event_loop.LOOP_VARIABLE)
    if chosen:
        os.environ[event_loop.LOOP_VARIABLE] = "asyncio"
    try:
        yield
    finally:
        os.environ.pop(event_loop.LOOP_VARIABLE, None)
        if before is not None:
            os.environ[event_loop.LOOP_VARIABLE] = before


def raw_httpx_aiohttp(server: Server, count: int, concurrency: int) -> Timing:
    import httpx
    from httpx_aiohttp import HttpxAiohttpClient  # type: ignore[import-not-found]

    async def run() -> Timing:
        url = f"{server.base_url}/chat/completions"
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with HttpxAiohttpClient(limits=limits) as client:

            async def post() -> Any:
                return (await client.post(url, content=BODY, headers=JSON)).json()

            return await raw_posts(post, count, concurrency)

    return asyncio.run(run())


@contextmanager
def batches_over_httpx_aiohttp() -> Iterator[None]:
    """Make LLMClient's batch send through httpx over httpx-aiohttp instead of aiohttp."""
    import httpx
    from httpx_aiohttp import HttpxAiohttpClient

    from agentloop.providers import aiohttp_transport
    from agentloop.providers.httpx_transport import HTTPXAsyncTransport, httpx_timeout

    def transport(*, timeout: Any, connections: int, **_: Any) -> HTTPXAsyncTransport:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        return HTTPXAsyncTransport(
            HttpxAiohttpClient(timeout=httpx_timeout(timeout), limits=limits)
        )

    original = aiohttp_transport.AiohttpTransport
    aiohttp_transport.AiohttpTransport = transport  # type: ignore[assignment,misc]
    try:
        yield
    finally:
        aiohttp_transport.AiohttpTransport = original  # type: ignore[misc]


def lm_deluge(python: str | None, server: Server, prompts: int, concurrency: int) -> Timing | None:
    if python is None:
        if importlib.util.find_spec("lm_deluge") is None:
            print("lm-deluge: not importable here (see --lm-deluge-python): no comparison")
            return None
        python = sys.executable
    command = [python, str(DELUGE), "--base-url", server.base_url]
    command += ["--prompts", str(prompts), "--concurrency", str(concurrency)]
    before = len(server.arrivals())
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    sent = len(server.arrivals()) - before
    print(f"lm-deluge {result['version']}: {sent} requests, {result['failed']} failed")
    return float(result["wall"]), math.nan, math.nan  # its CPU is another process's


def report(rounds: list[dict[str, Timing]], prompts: int, concurrency: int, delay: float) -> None:
    """Each run's median wall and CPU time over the rounds, and ratios to lm-deluge's."""
    ideal = math.ceil(prompts / concurrency) * delay
    walls = {name: statistics.median(r[name][0] for r in rounds) for name in rounds[0]}
    loop_cpus = {name: statistics.median(r[name][1] for r in rounds) for name in rounds[0]}
    cpus = {name: statistics.median(r[name][2] for r in rounds) for name in rounds[0]}
    deluge = walls.get("lm-deluge")
    print(f"\nunlimited: {prompts} prompts, {concurrency} at once (ideal {ideal:.2f} s)")
    print(f"  medians of {len(rounds)} rounds; /lm-deluge: the median of each round's ratio;")
    print("  CPU seconds: the event loop thread's (loop), the whole process's (all)")
    header = f"{'wall s':>8}{'loop':>7}{'all':>7}{'req/s':>8}{'/ideal':>8}{'/lm-deluge':>12}"
    print(f"  {'run':<38}{header}")
    for name, wall in walls.items():
        ratio = (
            statistics.median(r[name][0] / r["lm-deluge"][0] for r in rounds) if deluge else None
        )
        versus = f"{ratio:.2f}" if ratio is not None else "-"
        cpu = "".join(
            f"{c:>7.2f}" if not math.isnan(c) else f"{'-':>7}"
            for c in (loop_cpus[name], cpus[name])
        )
        print(
            f"  {name:<38}{wall:>8.2f}{cpu}{prompts / wall:>8,.0f}{wall / ideal:>8.2f}{versus:>12}"
        )
    if deluge:
        ours = "agentloop LLMClient"
        ratios = [r[ours][0] / r["lm-deluge"][0] for r in rounds]
        ratio = statistics.median(ratios)
        verdict = "meets" if ratio <= 0.7 else "misses"
        each = ", ".join(f"{x:.2f}" for x in ratios)
        print(f"\nagentloop / lm-deluge wall time: {ratio:.2f} ({verdict} the 0.7 goal)")
        print(f"  each round: {each}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=5000)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--rpm", type=float, default=24_000)
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the unlimited runs")
    parser.add_argument("--lm-deluge-python", help="an interpreter that can import lm_deluge")
    args = parser.parse_args()

    prompts = [f"Question number {i}: what is {i} + {i}?" for i in range(args.prompts)]
    n, c = args.prompts, args.concurrency
    server = Server(args.delay)
    rounds: list[dict[str, Timing]] = []
    try:
        # Rate limited: enough concurrency that the limit, not the latency, is what binds.
        needed = math.ceil(args.rpm / 60 * args.delay * 2)
        rate_limited(server, prompts, args.rpm, max(needed, 16))
        with_httpx = importlib.util.find_spec("httpx_aiohttp") is not None
        if not with_httpx:
            print("httpx-aiohttp: not importable: its runs are left out")
        uvloop = event_loop.loop_factory() is not None
        if not uvloop:
            print("uvloop: not installed: every run is on asyncio's loop")
        for _ in range(max(args.repeat, 1)):
            walls: dict[str, Timing] = {}
            walls["raw aiohttp POSTs (asyncio)"] = raw_aiohttp(server, n, c)
            if uvloop:
                walls["raw aiohttp POSTs (uvloop)"] = raw_aiohttp(server, n, c, "uvloop")
            walls["agentloop LLMClient"] = unlimited(server, prompts, c)
            if uvloop:
                with standard_loop():
                    walls["agentloop LLMClient (asyncio)"] = unlimited(server, prompts, c)
            if with_httpx:
                walls["raw httpx over httpx-aiohttp POSTs"] = raw_httpx_aiohttp(server, n, c)
                with batches_over_httpx_aiohttp(), standard_loop():
                    walls["agentloop LLMClient (httpx-aiohttp)"] = unlimited(server, prompts, c)
            deluge = lm_deluge(args.lm_deluge_python, server, n, c)
            if deluge is not None:
                walls["lm-deluge"] = deluge
            rounds.append(walls)
    finally:
        server.stop()
    report(rounds, n, c, args.delay)


if __name__ == "__main__":
    main()
