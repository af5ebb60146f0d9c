"""``agentloop mcp serve``: tools given as for ``chain`` (``-T``, ``--functions``,
``--tool-option``), served over MCP on stdio, or streamable HTTP with ``--http PORT``.

Over stdio, standard output is the protocol's: everything this command says goes to standard
error, through the ``agentloop.mcp`` logger.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys

from agentloop.cli.errors import UsageError
from agentloop.cli.render import Output
from agentloop.cli.tools_option import resolve_tools


def run(args: argparse.Namespace, _output: Output) -> int:
    tools = resolve_tools(args.tool or [], args.functions or [], args.tool_option or [])
    if not tools:
        raise UsageError("agentloop mcp serve needs tools to serve: -T TOOL or --functions")
    if args.http is None and (args.host is not None or args.allow_remote):
        raise UsageError("--host and --allow-remote go with --http PORT")
    _log_to_stderr()
    from agentloop.mcp import serve

    with contextlib.suppress(KeyboardInterrupt):
        serve(
            tools,
            http=args.http,
            host=args.host or "127.0.0.1",
            allow_remote=args.allow_remote,
            name=args.name,
        )
    return 0


def _log_to_stderr() -> None:
    """What the server says (its address, warnings) on stderr, unless --debug set it up."""
    logger = logging.getLogger("agentloop.mcp")
    if logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("agentloop mcp: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
