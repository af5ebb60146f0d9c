"""``agentloop batch IN.jsonl -o OUT.jsonl``: many prompts, live or through the batch APIs.

Each line of the input is one prompt: a JSON string, or a list of messages (``{"role":
"user", "content": "..."}``, or the full form `Message.to_dict` writes). Each result is one
line of the output (a [`BatchResult`][agentloop.batch.BatchResult] record). Running the same
command again asks only the prompts the output does not answer yet; with ``--batch-api`` it
resumes the batch in flight (its handle is kept beside the output) rather than submitting it
again. The cost is printed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from agentloop.batch.client import LLMClient
from agentloop.cli.errors import FAILURE, OK, UsageError
from agentloop.cli.key_values import parse_options
from agentloop.cli.render import Output
from agentloop.cli.tools_option import resolve_tools
from agentloop.errors import SerializationError
from agentloop.messages import Message, Text
from agentloop.registry import DEFAULT_MODEL


def run(args: argparse.Namespace, output: Output) -> int:
    prompts = read_prompts(Path(args.input))
    tools = resolve_tools(args.tool or [], args.functions or [], args.tool_option or [])
    model = args.model or os.environ.get("AGENTLOOP_MODEL") or DEFAULT_MODEL
    client = LLMClient(model, batch_poll_interval=args.poll)
    results = client.process_prompts_sync(
        prompts,
        system=args.system,
        tools=tools,
        chain_limit=args.cl,
        results_file=args.output,
        batch_api=args.batch_api,
        **parse_options(args.option or []),
    )
    failed = sum(not r.ok for r in results)
    resumed = sum(r.resumed for r in results)
    total = sum((r.usage.cost or 0.0) for r in results if not r.resumed)
    unknown = any(r.usage.cost is None for r in results if not r.resumed)
    price = "unknown" if unknown else f"${total:.6f}"
    mode = "batch API" if args.batch_api else "live"
    output.note(
        f"{len(results)} prompts ({mode}): {len(results) - failed} answered, {failed} failed, "
        f"{resumed} from an earlier run; cost of this run {price}"
    )
    return FAILURE if failed else OK


def read_prompts(path: Path) -> list[Any]:
    """The prompts of a JSONL file, one a line (blank lines skipped)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    prompts: list[Any] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            prompts.append(_prompt(json.loads(line)))
        except (ValueError, SerializationError, KeyError, TypeError) as exc:
            raise UsageError(
                f"{path}, line {number}: give a JSON string or a list of messages ({exc})"
            ) from None
    if not prompts:
        raise UsageError(f"{path} holds no prompt")
    return prompts


def _prompt(value: Any) -> str | list[Message]:
    if isinstance(value, str):
        return value
    if not isinstance(value, list) or not value:
        raise TypeError(f"not a string or a list of messages: {str(value)[:60]}")
    return [_message(item) for item in value]


def _message(item: Any) -> Message:
    if not isinstance(item, dict):
        raise TypeError(f"a message is an object, not {str(item)[:60]}")
    content = item.get("content")
    if isinstance(content, str) and item.get("role") in ("system", "user", "assistant"):
        return Message(item["role"], [Text(content)])
    return Message.from_dict(item)
