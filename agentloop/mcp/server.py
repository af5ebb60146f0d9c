"""The MCP server: agentloop tools behind the official SDK's low-level ``Server``.

A session's toolboxes live on the SDK's ``Connection`` (its ``state``, with their close on its
``exit_stack``, which the SDK unwinds when the connection ends: stdin closed, the HTTP session
deleted or idle). The server speaks the session protocol (the ``initialize`` handshake): it
answers ``server/discover`` with "method not found", so that SDK clients fall back to it, since
the stateless 2026-07-28 protocol has neither sessions to keep a toolbox's state in nor requests
from server to client to ask for approval with. A client that insists on it still works, each
request being a session of its own (and a tool that requires approval is refused).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.shared.exceptions import MCPError

from agentloop.mcp.calls import call_tool, mcp_tool, unavailable
from agentloop.mcp.sessions import ServedTools, SessionTools
from agentloop.toolbox import Toolbox, close_toolboxes
from agentloop.tools import ERROR_MODES, ErrorMode, Tools

__all__ = ["aserve", "build_server", "check_host"]

logger = logging.getLogger("agentloop.mcp")

_STATE_KEY = "agentloop.mcp.session"
_LOOPBACK_NAMES = ("localhost",)


def build_server(
    tools: Tools | type[Toolbox],
    *,
    name: str = "agentloop",
    instructions: str | None = None,
    errors: ErrorMode = "report",
    share_toolboxes: bool = False,
) -> tuple[Server[Any], ServedTools]:
    """The SDK ``Server`` offering ``tools``, and what it serves (see `aserve`)."""
    if errors not in ERROR_MODES:
        raise ValueError(f"errors= must be one of {', '.join(ERROR_MODES)}, not {errors!r}")
    served = ServedTools(tools, share_toolboxes=share_toolboxes)

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], _params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        session = await _session_tools(ctx, served)
        return types.ListToolsResult(tools=[mcp_tool(t) for t in (await session.tools()).values()])

    async def call(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        session = await _session_tools(ctx, served)
        try:
            tools = await session.tools()
        except Exception as exc:  # a toolbox's prepare() failed: said, and tried again next call
            logger.exception("Preparing the session's toolboxes failed")
            return unavailable(params.name, exc)
        return await call_tool(ctx, tools, params.name, params.arguments, errors)

    async def initialized(
        ctx: ServerRequestContext[Any, Any], _params: types.NotificationParams
    ) -> None:
        # The session starts: prepare its toolboxes now rather than on its first request.
        await (await _session_tools(ctx, served)).tools()

    server: Server[Any] = Server(
        name,
        version=_version(),
        instructions=instructions,
        on_list_tools=list_tools,
        on_call_tool=call,
    )
    server.add_request_handler("server/discover", types.RequestParams, _no_discover)
    server.add_notification_handler(
        "notifications/initialized", types.NotificationParams, initialized
    )
    return server, served


async def _no_discover(
    _ctx: ServerRequestContext[Any, Any], _params: types.RequestParams | None
) -> types.DiscoverResult:
    # "Method not found" is what a session-protocol server answers: the client falls back
    # to the initialize handshake (see the module documentation).
    raise MCPError(code=types.METHOD_NOT_FOUND, message="Method not found", data="server/discover")


async def _session_tools(ctx: ServerRequestContext[Any, Any], served: ServedTools) -> SessionTools:
    """The tools of the session ``ctx`` belongs to, made on its first request."""
    connection = _connection(ctx)
    session = connection.state.get(_STATE_KEY)
    if session is None:
        session = connection.state[_STATE_KEY] = SessionTools(served)
        connection.exit_stack.push_async_callback(_close_session, session)
        logger.debug("New MCP session %s", connection.session_id or "(stdio)")
    assert isinstance(session, SessionTools)
    return session


async def _close_session(session: SessionTools) -> None:
    try:
        await session.close()
    except Exception:
        logger.exception("Closing an MCP session's toolboxes failed")


def _connection(ctx: ServerRequestContext[Any, Any]) -> Any:
    """The SDK's per-connection object behind a request: its ``state`` and ``exit_stack``
    are documented for handlers, but mcp 2.3 reaches handlers only through the session."""
    connection = getattr(ctx, "connection", None)
    return connection if connection is not None else ctx.session._connection


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse a host other machines can reach unless ``allow_remote``; warn when allowed."""
    if _is_loopback(host):
        return
    if not allow_remote:
        raise ValueError(
            f"Serving MCP on {host} lets other machines run these tools, with no "
            "authentication: bind to 127.0.0.1 (the default), or allow it explicitly "
            "(allow_remote=True, --allow-remote)"
        )
    logger.warning(
        "The MCP server on %s is reachable from other machines, with no authentication: "
        "anyone who can reach it can run its tools",
        host,
    )


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def aserve(
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
    """Serve ``tools`` over MCP until the client leaves (stdio) or the process is stopped.

    Over stdio by default; ``http=PORT`` serves streamable HTTP at ``/mcp`` on ``host``
    (127.0.0.1; another address needs ``allow_remote=True``; port 0 picks a free one, logged).
    ``tools`` takes what ``tools=`` takes, plus Toolbox classes; each session gets its own
    toolbox instances (see `agentloop.mcp.sessions`). ``errors`` is how a tool's unexpected
    exception reads (as in a chain: "report" or "redact"; the server never stops for one).
    """
    if http is not None:
        check_host(host, allow_remote)
    server, served = build_server(
        tools, name=name, instructions=instructions, errors=errors, share_toolboxes=share_toolboxes
    )
    try:
        if http is None:
            await _serve_stdio(server)
        else:
            await _serve_http(server, host, http)
    finally:
        await close_toolboxes(served.shared_toolboxes())


async def _serve_stdio(server: Server[Any]) -> None:
    from mcp.server.runner import serve_loop
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read, write):
        # The handshake loop only: see the module documentation.
        await serve_loop(server, read, write, lifespan_state={})


async def _serve_http(server: Server[Any], host: str, port: int) -> None:
    import uvicorn

    app = server.streamable_http_app(host=host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError:
        sock.close()
        raise
    bound = sock.getsockname()[1]
    shown = f"[{host.strip('[]')}]" if family == socket.AF_INET6 else host
    logger.info("MCP server on http://%s:%d/mcp", shown, bound)
    config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False)
    await uvicorn.Server(config).serve(sockets=[sock])


def _version() -> str:
    from agentloop import __version__

    return __version__
