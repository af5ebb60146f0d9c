"""What our provider call adds over a raw httpx post of the same body (a benchmark).

A local keep-alive HTTP server on 127.0.0.1 answers every POST with the same
Chat Completions reply. We time, many times over:

- raw: ``httpx.Client.post(url, json=body)`` then ``response.json()``;
- agentloop: ``OpenAIChatModel.complete(request)``: encode the request, send it
  through the blocking transport (httpx; the retry policy included), decode the
  reply into a ``Reply``.

and print the median of each and their ratio (target: at most 1.2). Also the
same through ``model.prompt()``, the full user-facing path.

    python benchmarks/http_overhead.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


if __name__ == "__main__":
    main()
