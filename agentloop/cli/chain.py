"""``agentloop chain "text" -T TOOL``: the tool loop, every step streamed."""

from __future__ import annotations

import argparse
import sys

from agentloop.cli.render import Output
from agentloop.cli.session import open_session, prompt_text, run_turn


def run(args: argparse.Namespace, output: Output) -> int:
    session = open_session(args, output)
    try:
        text = prompt_text(args.prompt, sys.stdin)
        run_turn(session, text, system=args.system, attachments=session.attachments)
    finally:
        session.close()
    return 0
