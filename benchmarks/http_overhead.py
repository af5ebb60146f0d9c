"""What our provider call adds over a raw httpx post of the same body (a benchmark).

A local keep-alive HTTP server on 127.0.0.1 answers every POST with the same
Chat Completions reply. We time, many times over:

- raw: ``httpx.Client.post(url, json=body)`` then ``response.json()``;
- agentloop: ``OpenAIChatModel.complete(request)``: encode the request, send it
  through the blocking transport (httpx; the retry policy included), decode the
  reply into a ``Reply``.

and print the median of each and their ratio (target: at most 1.2). Also the
same through ``model.prompt()``, the full user-facing path.

Then an N-step chain (N = 10, 50, 200; the server, in its own process, answers
with a tool call until N tools ran): the client's CPU time per model call for
``model.chain(..., tools=[bump])`` against the floor, a hand-written loop that
keeps the message list as dicts and posts the whole history with httpx at each
step. Target: at most 1.2 times the floor at every N, and flat in N.

    python benchmarks/http_overhead.py [--calls 2000] [--chains 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from agentloop import Message, Request
from agentloop.providers.httpx_transport import httpx_timeout
from agentloop.providers.openai_chat import OpenAIChatModel

REPLY = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4.1-mini-2025-04-14",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Paris.", "refusal": None},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14},
    }
).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real providers do
    disable_nagle_algorithm = True  # else delayed ACKs add 40 ms to every call

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(REPLY)))
        self.end_headers()
        self.wfile.write(REPLY)

    def log_message(self, format: str, *args: Any) -> None:
        pass


CHAIN_SERVER = Path(__file__).with_name("chain_server.py")
CHAIN_SIZES = (10, 50, 200)


def bump(n: int) -> int:
    "Add one."
    return n + 1


BUMP_TOOL = {
    "type": "function",
    "function": {
        "name": "bump",
        "description": "Add one.",
        "parameters": {
            "type": "object",
            "properties": {"n": {"type": "integer"}},
            "required": ["n"],
        },
    },
}


def hand_written_chain(client: httpx.Client, url: str, steps: int) -> str:
    """The floor: what a user writes without a library, history kept as dicts."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": f"steps:{steps}"}]
    headers = {"authorization": "Bearer sk-bench"}
    while True:
        body = {"model": "gpt-4.1-mini", "messages": messages, "tools": [BUMP_TOOL]}
        message = client.post(url, json=body, headers=headers).json()["choices"][0]["message"]
        messages.append(message)
        calls = message.get("tool_calls") or []
        if not calls:
            return str(message["content"])
        for call in calls:
            output = bump(**json.loads(call["function"]["arguments"]))
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": str(output)})


def cpu_per_call(run: Callable[[], Any], steps: int, repeat: int) -> float:
    """Median client CPU (ms) per model call over ``repeat`` chains of ``steps`` tool steps."""
    samples = []
    for _ in range(repeat):
        started = time.process_time()
        run()
        samples.append((time.process_time() - started) / (steps + 1))
    return statistics.median(samples) * 1000


def chain_section(repeat: int) -> None:
    server = subprocess.Popen(
        [sys.executable, str(CHAIN_SERVER)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        base_url = f"http://127.0.0.1:{int(server.stdout.readline())}/v1"
        model = OpenAIChatModel("gpt-4.1-mini", base_url=base_url, api_key="sk-bench")
        client = httpx.Client(timeout=httpx_timeout(model.timeout))
        url = f"{base_url}/chat/completions"
        print(f"\nN-step chain: client CPU per model call (ms), median of {repeat} chains")
        print(f"{'N':>6}{'hand-written':>15}{'agentloop':>12}{'ratio':>8}")
        ratios, costs = [], []
        for steps in CHAIN_SIZES:

            def floor_run(steps: int = steps) -> str:
                return hand_written_chain(client, url, steps)

            def ours_run(steps: int = steps) -> str:
                return model.chain(f"steps:{steps}", tools=[bump], chain_limit=steps + 1).text()

            floor_run(), ours_run()  # warm up
            floor = cpu_per_call(floor_run, steps, repeat)
            ours = cpu_per_call(ours_run, steps, repeat)
            ratios.append(ours / floor)
            costs.append((floor, ours))
            print(f"{steps:>6}{floor:>15.3f}{ours:>12.3f}{ours / floor:>8.2f}")
        verdict = "meets" if max(ratios) <= 1.2 else "misses"
        print(f"worst ratio {max(ratios):.2f} ({verdict} the 1.2 target)")
        (floor_first, ours_first), (floor_last, ours_last) = costs[0], costs[-1]
        print(
            f"growth per call from N={CHAIN_SIZES[0]} to N={CHAIN_SIZES[-1]}: "
            f"hand-written {floor_last / floor_first:.2f}x, agentloop {ours_last / ours_first:.2f}x"
        )
    finally:
        server.kill()
        server.wait()


def timed(call: Callable[[], Any], calls: int) -> float:
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--chains", type=int, default=5, help="chains per N in the chain part")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"

    model = OpenAIChatModel("gpt-4.1-mini", base_url=base_url, api_key="sk-bench")
    request = Request([Message.user("What is the capital of France?")])
    call = model.encode(request, stream=False)
    raw = httpx.Client(timeout=httpx_timeout(model.timeout))

    def raw_post() -> Any:
        return raw.post(call.url, json=call.body, headers=call.headers).json()

    def ours() -> Any:
        return model.complete(request)

    def prompt() -> Any:
        return model.prompt("What is the capital of France?").text()

    for warm in (raw_post, ours, prompt):
        timed(warm, 50)
    rounds = {"raw httpx": [], "agentloop complete()": [], "agentloop prompt()": []}
    for _ in range(5):  # interleave, so drift in the machine hits every contender alike
        rounds["raw httpx"].append(timed(raw_post, args.calls // 5))
        rounds["agentloop complete()"].append(timed(ours, args.calls // 5))
        rounds["agentloop prompt()"].append(timed(prompt, args.calls // 5))
    medians = {label: statistics.median(values) for label, values in rounds.items()}
    base = medians["raw httpx"]
    print(f"{'path':<24}{'ms per call':>14}{'ratio':>10}")
    for label, value in medians.items():
        print(f"{label:<24}{value:>14.4f}{value / base:>10.2f}")
    ratio = medians["agentloop complete()"] / base
    verdict = "meets" if ratio <= 1.2 else "misses"
    print(f"\nprovider call / raw httpx: {ratio:.2f} ({verdict} the 1.2 target)")
    server.shutdown()
    chain_section(args.chains)


if __name__ == "__main__":
    main()
