"""``agentloop prompt "text"``: one model call, streamed; the tool loop when given tools."""

from __future__ import annotations

import argparse
import sys

from agentloop.cli.render import Output
from agentloop.cli.session import open_session, prompt_text, run_turn


def run(args: argparse.Namespace, output: Output) -> int:
    session = open_session(args, output)
    # As in llm: tools on a prompt mean running the chain, not one call that asks for them.
    chain = bool(args.tool or args.functions)
    try:
        text = prompt_text(args.prompt, sys.stdin)
        run_turn(session, text, system=args.system, attachments=session.attachments, chain=chain)
    finally:
        session.close()
    return 0
