"""A real MCP server, written with the official SDK, for the MCP toolbox tests.

Run ``python mcp_server.py`` for stdio, or ``python mcp_server.py http PORT``
for streamable HTTP on 127.0.0.1.
"""

from __future__ import annotations

import base64
import os
import sys

try:  # mcp 2
    from mcp.server.mcpserver import MCPServer as Server
    from mcp.server.mcpserver.exceptions import ToolError
except ImportError:  # mcp 1
    from mcp.server.fastmcp import FastMCP as Server  # type: ignore[no-redef]
    from mcp.server.fastmcp.exceptions import ToolError  # type: ignore[no-redef]

#: A 1x1 transparent PNG.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
)

app = Server("agentloop-test", log_level="WARNING")
notes: dict[str, str] = {}


@app.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@app.tool()
def remember(key: str, value: str) -> str:
    """Store a note on the server."""
    notes[key] = value
    return f"stored {key}"


@app.tool()
def recall(key: str) -> str:
    """Read a note stored on the server."""
    if key not in notes:
        raise ToolError(f"no note called {key}")
    return notes[key]


@app.tool()
def crash() -> str:
    """Stop the server process abruptly."""
    os._exit(1)


@app.tool(name="dotted.name")
def dotted() -> str:
    """A tool whose name needs cleaning up for model providers."""
    return "dotted ok"


@app.tool()
def pixel() -> object:
    """Return a tiny image."""
    from mcp.types import ImageContent, TextContent

    return [
        TextContent(type="text", text="a pixel"),
        ImageContent(type="image", data=base64.b64encode(PIXEL).decode(), mimeType="image/png"),
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        port = int(sys.argv[2])
        if hasattr(app.settings, "port"):  # mcp 1: the address is a server setting
            app.settings.host, app.settings.port = "127.0.0.1", port
            app.run("streamable-http")
        else:
            app.run("streamable-http", host="127.0.0.1", port=port)
    else:
        app.run()
