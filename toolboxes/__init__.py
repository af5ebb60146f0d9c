"""Ready-made toolboxes for agentloop, safe by default.

Each is a plain [`agentloop.Toolbox`][agentloop.Toolbox] subclass (and an example of how to
write one): `Memory`, `Files`, `HTTP`, `SQLite`,
`Shell` and `MCP`. ``MCP`` needs the optional ``mcp`` package
(``pip install 'agentloop-kit[mcp]'``) only once it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolboxes.files import Files
from toolboxes.http import HTTP
from toolboxes.memory import Memory
from toolboxes.shell import Shell
from toolboxes.sqlite import SQLite

if TYPE_CHECKING:
    from toolboxes.mcp import MCP

__all__ = ["HTTP", "MCP", "Files", "Memory", "SQLite", "Shell"]


def __getattr__(name: str) -> Any:
    # toolboxes.mcp imports the SDK lazily anyway; deferring the module keeps
    # `import toolboxes` as light as the toolboxes actually used.
    if name == "MCP":
        from toolboxes.mcp import MCP

        return MCP
    raise AttributeError(f"module 'toolboxes' has no attribute {name!r}")
