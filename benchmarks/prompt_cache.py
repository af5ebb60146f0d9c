"""What prompt_cache="auto" saves on a 20-step tool chain, billed as Anthropic bills (a
benchmark, not a test).

A local Anthropic Messages server (a thread on 127.0.0.1) answers each request of a chain
with a call to ``read_file`` until the history holds ``--steps - 1`` results, then with text,
and bills the request as Anthropic does:

- the request is a sequence of blocks, in Anthropic's order: tool definitions, system blocks,
  then each message's content blocks (a block's role is part of it; its ``cache_control`` is
  not). Tokens are approximated as ``len(json) / 4`` per block;
- a prefix ending at a marked block (a ``cache_control`` breakpoint) is written to the cache,
  if it holds at least ``--min-cacheable`` tokens (1024 for Sonnet);
- the longest prefix already written, ending at a breakpoint or up to 20 blocks before one, is
  read from the cache; the tokens after it up to the last breakpoint are a cache write, the rest
  is uncached input. Nothing expires (a chain's steps are seconds apart).

It runs the chain with ``prompt_cache="auto"`` and ``"off"`` and prints, for each, the input
tokens billed uncached, the cache reads and writes, the output and the cost at Sonnet's
prices (input $3/M, cache write 1.25x, cache read 0.1x, output $15/M). Goal: with "auto",
at least 70 % of the input tokens of steps 2 to 20 are cache reads, and the chain costs at
most 40 % of the uncached one.

    python benchmarks/prompt_cache.py [--steps 20] [--system-tokens 1500] [--result-tokens 400]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agentloop.providers.anthropic import AnthropicModel

Block = dict[str, Any]
#: USD per million tokens: Claude Sonnet 4.5.
INPUT, OUTPUT = 3.0, 15.0
WRITE, READ = INPUT * 1.25, INPUT * 0.1
#: How far before a breakpoint Anthropic looks for an earlier write.
LOOKBACK = 20


def tokens(value: Any) -> int:
    return max(1, len(json.dumps(value, separators=(",", ":"))) // 4)


def blocks_of(body: Block) -> tuple[list[tuple[str, int]], list[int]]:
    """The request as (prefix hash, prefix tokens) after each block, and the indices of the
    marked blocks."""
    system = body.get("system") or []
    if isinstance(system, str):
        system = [{"type": "text", "text": system}]
    sequence: list[tuple[str, Block]] = [("tool", t) for t in body.get("tools", [])]
    sequence += [("system", b) for b in system]
    for message in body["messages"]:
        sequence += [(message["role"], b) for b in message["content"]]
    digest, total = hashlib.sha256(), 0
    prefixes, marked = [], []
    for index, (place, block) in enumerate(sequence):
        if "cache_control" in block:
            marked.append(index)
        unmarked = {k: v for k, v in block.items() if k != "cache_control"}
        digest.update(json.dumps([place, unmarked], sort_keys=True).encode())
        total += tokens(unmarked)
        prefixes.append((digest.hexdigest(), total))
    return prefixes, marked


@dataclass
class Biller:
    """Anthropic's prompt cache, as a set of written prefixes."""

    min_cacheable: int
    written: set[str] = field(default_factory=set)
    steps: list[dict[str, int]] = field(default_factory=list)

    def bill(self, body: Block) -> dict[str, int]:
        prefixes, marked = blocks_of(body)
        total = prefixes[-1][1] if prefixes else 0
        read = 0
        for mark in marked:
            for index in range(mark, max(-1, mark - LOOKBACK - 1), -1):
                if prefixes[index][0] in self.written:
                    read = max(read, prefixes[index][1])
                    break
        cached_to = max([read] + [prefixes[m][1] for m in marked])
        for mark in marked:
            if prefixes[mark][1] >= self.min_cacheable:
                self.written.add(prefixes[mark][0])
        written = cached_to - read if cached_to >= self.min_cacheable else 0
        usage = {
            "input_tokens": total - read - written,
            "cache_read_input_tokens": read,
            "cache_creation_input_tokens": written,
        }
        self.steps.append(usage)
        return usage


def answer(body: Block, steps: int) -> Block:
    """A call to read_file until ``steps - 1`` results are in, then the answer."""
    done = sum(1 for m in body["messages"] for b in m["content"] if b.get("type") == "tool_result")
    if done < steps - 1:
        call = {"type": "tool_use", "id": f"toolu_{done:02}", "name": "read_file"}
        content = [
            {"type": "text", "text": f"Next I read part {done} of the report."},
            {**call, "input": {"path": f"report/part-{done}.txt"}},
        ]
        return {"content": content, "stop_reason": "tool_use"}
    text = {"type": "text", "text": f"The report has {done} parts; all of them are read."}
    return {"content": [text], "stop_reason": "end_turn"}


@contextmanager
def server(biller: Biller, steps: int) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            reply = answer(body, steps)
            usage = {**biller.bill(body), "output_tokens": tokens(reply["content"])}
            biller.steps[-1]["output_tokens"] = usage["output_tokens"]
            payload = json.dumps(
                {
                    "id": f"msg_{len(biller.steps)}",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-sonnet-4-5-20250929",
                    **reply,
                    "stop_sequence": None,
                    "usage": usage,
                }
            ).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def filler(topic: str, tokens_wanted: int) -> str:
    """Deterministic prose of about ``tokens_wanted`` tokens (4 characters each)."""
    sentence = f"This paragraph of the {topic} says one more thing about quarterly figures. "
    return (sentence * (tokens_wanted * 4 // len(sentence) + 1))[: tokens_wanted * 4]


def run(mode: str, args: argparse.Namespace) -> list[dict[str, int]]:
    biller = Biller(args.min_cacheable)

    def read_file(path: str) -> str:
        "Read a file of the report."
        return filler(path, args.result_tokens)

    def list_files(folder: str) -> list[str]:
        "List the files in a folder."
        return []

    def search(query: str, limit: int = 10) -> list[str]:
        "Search the report's text."
        return []

    system = "You are a careful analyst. " + filler("house style guide", args.system_tokens)
    with server(biller, args.steps) as url:
        claude = AnthropicModel("claude-sonnet-4-5", base_url=url, api_key="bench")
        claude.chain(
            "Read the whole report, part by part.",
            system=system,
            tools=[list_files, search, read_file],
            prompt_cache=mode,
            chain_limit=args.steps,
        ).text()
    assert len(biller.steps) == args.steps, biller.steps
    return biller.steps


def cost(steps: list[dict[str, int]]) -> float:
    return (
        sum(
            s["input_tokens"] * INPUT
            + s["cache_creation_input_tokens"] * WRITE
            + s["cache_read_input_tokens"] * READ
            + s["output_tokens"] * OUTPUT
            for s in steps
        )
        / 1e6
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--system-tokens", type=int, default=1500)
    parser.add_argument("--result-tokens", type=int, default=400)
    parser.add_argument("--min-cacheable", type=int, default=1024)
    args = parser.parse_args()
    results = {mode: run(mode, args) for mode in ("auto", "off")}
    print(f"{args.steps}-step chain, Sonnet prices (tokens approximated as len(json) / 4)\n")
    print("| prompt_cache | input billed | cache reads | cache writes | output | cost |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for mode, steps in results.items():
        total = {key: sum(s[key] for s in steps) for key in steps[0]}
        print(
            f"| {mode} | {total['input_tokens']:,} | {total['cache_read_input_tokens']:,} | "
            f"{total['cache_creation_input_tokens']:,} | {total['output_tokens']:,} | "
            f"${cost(steps):.4f} |"
        )
    later = results["auto"][1:]
    read = sum(s["cache_read_input_tokens"] for s in later)
    sent = sum(
        s["input_tokens"] + s["cache_read_input_tokens"] + s["cache_creation_input_tokens"]
        for s in later
    )
    share, ratio = read / sent, cost(results["auto"]) / cost(results["off"])
    print(
        f"\nauto, steps 2..{args.steps}: {share:.1%} of input tokens read from cache (goal >= 70%)"
    )
    print(f"auto costs {ratio:.1%} of off (goal <= 40%)")
    print("goal met" if share >= 0.7 and ratio <= 0.4 else "goal NOT met")


if __name__ == "__main__":
    main()
