"""The unlimited batch of batch_throughput.py through lm-deluge (run by it, in its own process).

lm-deluge is not a dependency of agentloop, and its dependencies must not
change the versions agentloop runs with, so it lives in an interpreter of its
own (a throwaway venv) and this script imports nothing from agentloop:

    python -m venv /tmp/deluge && /tmp/deluge/bin/pip install lm-deluge
    python benchmarks/batch_throughput.py --lm-deluge-python /tmp/deluge/bin/python

Prints one JSON line: ``{"wall": seconds, "version": "..."}``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from importlib.metadata import version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--prompts", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=500)
    args = parser.parse_args()

    from lm_deluge import LLMClient
    from lm_deluge.models import register_model

    os.environ.setdefault("BENCH_API_KEY", "sk-bench")
    register_model(
        id="bench-local",
        name="bench",
        api_base=args.base_url,
        api_key_env_var="BENCH_API_KEY",
        api_spec="openai",
    )
    client = LLMClient(
        "bench-local",
        max_requests_per_minute=10_000_000,
        max_tokens_per_minute=10_000_000_000,
        max_concurrent_requests=args.concurrency,
        progress="manual",
    )
    prompts = [f"Question number {i}: what is {i} + {i}?" for i in range(args.prompts)]
    started = time.perf_counter()
    results = client.process_prompts_sync(prompts, show_progress=False)
    wall = time.perf_counter() - started
    failed = sum(1 for r in results if r is None or r.is_error)
    print(json.dumps({"wall": wall, "version": version("lm-deluge"), "failed": failed}))


if __name__ == "__main__":
    main()
