"""The MCP toolbox: the tools of a Model Context Protocol server in a conversation.

This file is both sides. Run as ``python examples/toolbox_mcp.py`` it starts itself with
``--serve`` as an MCP server (written with the official SDK) over stdio, and a scripted
FunctionModel calls the server's tools, so it runs offline. Needs the SDK:
pip install 'agentloop-kit[mcp]'
"""

from __future__ import annotations

import sys
from typing import Any

from agentloop import FunctionModel, Request, ToolCall


def serve() -> None:
    try:  # mcp 2
        from mcp.server.mcpserver import MCPServer as Server
        from mcp.server.mcpserver.exceptions import ToolError
    except ImportError:  # mcp 1
        from mcp.server.fastmcp import FastMCP as Server  # type: ignore[no-redef]
        from mcp.server.fastmcp.exceptions import ToolError  # type: ignore[no-redef]

    app = Server("weather", log_level="WARNING")
    forecasts = {"oslo": "snow, -3 C", "lisbon": "sunny, 21 C"}

    @app.tool()
    def forecast(city: str) -> str:
        """Tomorrow's weather for a city."""
        if city.lower() not in forecasts:
            raise ToolError(f"No forecast for {city}; try one of: {', '.join(forecasts)}")
        return forecasts[city.lower()]

    app.run()


def play(request: Request) -> Any:
    """Asks for a city the server does not know, corrects itself, then answers."""
    results = [r for m in request.messages if m.role == "tool" for r in m.tool_results]
    if not results:
        return ToolCall("weather_forecast", {"city": "Atlantis"}, "")
    if len(results) == 1:
        return ToolCall("weather_forecast", {"city": "Lisbon"}, "")
    return f"Tomorrow in Lisbon: {results[-1].output}."


def main() -> None:
    from toolboxes import MCP

    weather = MCP(command=[sys.executable, __file__, "--serve"]).named("weather")
    conversation = FunctionModel(play).conversation(
        tools=[weather],
        after_call=lambda tool, call, result: print(
            f"-> {call.name}({call.arguments}) = {result.output!r}"
            + (" [error]" if result.is_error else "")
        ),
    )
    print(conversation.chain("What's the weather in Lisbon tomorrow?").text())
    print("tools offered:", [tool.name for tool in weather.tools()])
    conversation.close()


if __name__ == "__main__":
    serve() if sys.argv[1:] == ["--serve"] else main()
