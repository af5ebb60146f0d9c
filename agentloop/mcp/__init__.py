"""Serve agentloop tools over the Model Context Protocol: ``serve([Files(root=".")])``.

Functions, `Tool`s, `Toolbox` instances and classes become the tools of an MCP server, over
stdio (the default) or streamable HTTP (``http=PORT``), through the official ``mcp`` SDK
(``pip install 'agentloop-kit[mcp]'``). A client sees the schemas agentloop sends models, its
arguments are validated as a chain validates them, and a tool that requires approval asks the
client's user through MCP elicitation. The other direction, an MCP server's tools in a chain,
is the `toolboxes.MCP` toolbox.
"""

from __future__ import annotations

import asyncio

try:
    import mcp_types as _sdk_types  # noqa: F401  (new in mcp 2, whose server API this uses)
except ImportError as exc:  # pragma: no cover - the extra is part of the dev install
    raise ImportError(
        "Serving tools over MCP needs the mcp package, version 2.3 or later: "
        "pip install 'agentloop-kit[mcp]' 'mcp>=2.3'"
    ) from exc

from agentloop.mcp.server import aserve, build_server, check_host
from agentloop.toolbox import Toolbox
from agentloop.tools import ErrorMode, Tools

__all__ = ["aserve", "build_server", "check_host", "serve"]


def serve(
    tools: Tools | type[Toolbox],
    *,
    http: int | None = None,
    host: str = "127.0.0.1",
    allow_remote: bool = False,
    name: str = "agentloop",
    instructions: str | None = None,
    errors: ErrorMode = "report",
    share_toolboxes: bool = False,
) -> None:
    """Serve ``tools`` over MCP, blocking until the client leaves or the process is stopped:
    [`aserve`][agentloop.mcp.aserve] on a new event loop, with the same options."""
    asyncio.run(
        aserve(
            tools,
            http=http,
            host=host,
            allow_remote=allow_remote,
            name=name,
            instructions=instructions,
            errors=errors,
            share_toolboxes=share_toolboxes,
        )
    )
