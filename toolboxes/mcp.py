"""MCP: the tools of a Model Context Protocol server, as a toolbox.

``MCP(command=[...])`` starts a server as a subprocess and talks to it over
stdio; ``MCP(url=...)`` connects to one over streamable HTTP. Both go through
the official ``mcp`` SDK (``pip install 'agentloop-kit[mcp]'``), imported only
when the toolbox is prepared, so this module imports without it.

The SDK's connection lives in async context managers that must be entered
and left by one task. ``prepare()`` therefore starts a task that owns the
connection for the toolbox's whole life and parks until ``close()`` asks it
to leave; tool calls from other tasks on the same event loop share its session.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import importlib
import os
import re
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from typing import Any, TextIO

import agentloop
from agentloop import File, Image, Tool, ToolError, ToolReturn

__all__ = ["MCP", "MCPServerError"]

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")
_MAX_NAME = 64


class MCPServerError(agentloop.AgentloopError):
    """The MCP server could not be started, reached or listed."""


class MCP(agentloop.Toolbox):
    """The tools of a Model Context Protocol server."""

    def __init__(
        self,
        command: Sequence[str] | None = None,
        *,
        url: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        headers: Mapping[str, str] | None = None,
        errlog: TextIO | None = None,
        requires_approval: bool = False,
        startup_timeout: float = 30.0,
        call_timeout: float | None = 300.0,
        instance_name: str | None = None,
    ) -> None:
        """Give ``command`` (the server's argv, e.g. ``["python", "server.py"]``) or
        ``url`` (a streamable HTTP endpoint), not both. ``env`` adds environment
        variables for the command (the SDK passes only a safe default set otherwise),
        ``errlog`` receives its stderr (default: this process's);
        ``headers`` go with every HTTP request. ``requires_approval=True`` makes every
        tool of this server ask the conversation's ``approve`` callback first."""
        super().__init__(instance_name=instance_name)
        if (command is None) == (url is None):
            raise ValueError("MCP needs either command=[...] (stdio) or url=... (HTTP)")
        if command is not None and (isinstance(command, str) or not command):
            raise ValueError('command is the argv list, e.g. ["python", "server.py"]')
        self.command = list(command) if command is not None else None
        self.url = url
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.headers = dict(headers) if headers is not None else None
        self.errlog = errlog
        self.requires_approval = requires_approval
        self.startup_timeout = startup_timeout
        self.call_timeout = call_timeout
        #: The server's own name for each tool, by the name the model sees.
        self.remote_names: dict[str, str] = {}
        self._session: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._owner: asyncio.Task[None] | None = None

    @property
    def server(self) -> str:
        """The server, for messages: its command line or URL."""
        return " ".join(self.command) if self.command is not None else str(self.url)

    # -- life cycle --------------------------------------------------------------------

    async def prepare(self) -> None:
        """Start the server (or connect to it) and add its tools to this toolbox."""
        sdk = _import_sdk()
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[Any] = loop.create_future()
        self._stop = asyncio.Event()
        self._loop = loop
        self._owner = loop.create_task(self._own_connection(sdk, ready))
        try:
            self._session = await asyncio.wait_for(asyncio.shield(ready), self.startup_timeout)
        except TimeoutError:
            await self.close()
            raise MCPServerError(
                f"The MCP server {self.server} did not start within {self.startup_timeout} s"
            ) from None
        except Exception as exc:
            await self.close()
            raise MCPServerError(f"Could not start the MCP server {self.server}: {exc}") from exc
        try:
            listed = await self._list_tools()
        except Exception as exc:
            await self.close()
            raise MCPServerError(f"Could not list the tools of {self.server}: {exc}") from exc
        for remote in listed:
            self._add_remote_tool(remote)

    async def close(self) -> None:
        """Close the session and stop the server process."""
        connected = self._session is not None
        self._session = None
        owner, self._owner = self._owner, None
        if owner is None:
            return
        if connected and self._stop is not None:
            self._stop.set()  # leave the SDK's context managers in their own task
            done, _ = await asyncio.wait({owner}, timeout=self.startup_timeout)
        else:
            done = set()  # still starting (or stuck): nothing to wait for
        if not done:
            owner.cancel()
            await asyncio.wait({owner})
        # asyncio.wait never raises the task's own error: a connection that already
        # failed has nothing left to close.
        if not owner.cancelled():
            owner.exception()  # mark it retrieved

    async def _own_connection(self, sdk: Any, ready: asyncio.Future[Any]) -> None:
        """Enter the SDK's context managers, hand out the session, wait for close()."""
        assert self._stop is not None
        try:
            async with AsyncExitStack() as stack:
                read, write = (await stack.enter_async_context(self._transport(sdk)))[:2]
                session = await stack.enter_async_context(sdk.ClientSession(read, write))
                await session.initialize()
                ready.set_result(session)
                await self._stop.wait()
        except asyncio.CancelledError:
            ready.cancel()  # a no-op once the session was handed out
            raise
        except Exception as exc:
            if not ready.done():
                ready.set_exception(_unwrap(exc))
        finally:
            self._session = None

    def _transport(self, sdk: Any) -> contextlib.AbstractAsyncContextManager[Any]:
        if self.command is not None:
            params = sdk.StdioServerParameters(
                command=self.command[0], args=self.command[1:], env=self.env, cwd=self.cwd
            )
            errlog = self.errlog or _stderr_with_fileno()
            return sdk.stdio_client(params, errlog=errlog)  # type: ignore[no-any-return]
        return _http_transport(str(self.url), self.headers)

    # -- tools -------------------------------------------------------------------------

    async def _list_tools(self) -> list[Any]:
        found: list[Any] = []
        cursor: str | None = None
        while True:
            if cursor is None:
                page = await self._session.list_tools()
            else:
                params = _import_sdk().types.PaginatedRequestParams(cursor=cursor)
                page = await self._session.list_tools(params=params)
            found.extend(page.tools)
            cursor = _field(page, "next_cursor", "nextCursor")
            if not cursor:
                return found

    def _add_remote_tool(self, remote: Any) -> None:
        name = self._local_name(remote.name)
        if name in self.remote_names:  # prepared again after a close: already offered
            return
        schema = dict(_field(remote, "input_schema", "inputSchema") or {})
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        description = remote.description or getattr(remote, "title", None) or remote.name
        self.remote_names[name] = remote.name
        self.add_tool(
            Tool(
                name=name,
                description=description,
                parameters=schema,
                fn=self._caller(remote.name),
                requires_approval=self.requires_approval,
            )
        )

    def _local_name(self, remote: str) -> str:
        base = f"{self.toolbox_name}_{_UNSAFE_NAME.sub('_', remote)}"[:_MAX_NAME]
        taken = {n for n, r in self.remote_names.items() if r != remote}
        name, n = base, 2
        while name in taken:
            suffix = f"_{n}"
            name, n = base[: _MAX_NAME - len(suffix)] + suffix, n + 1
        return name

    def _caller(self, remote: str) -> Callable[..., Awaitable[str | ToolReturn]]:
        async def call(**arguments: Any) -> str | ToolReturn:
            session = self._current_session()
            errors = _sdk_errors()
            try:
                async with asyncio.timeout(self.call_timeout):
                    result = await session.call_tool(remote, arguments)
            except TimeoutError:
                raise ToolError(
                    f"The MCP tool {remote!r} did not answer within {self.call_timeout} s"
                ) from None
            except errors as exc:
                raise ToolError(f"The MCP call to {remote!r} failed: {exc}") from None
            return _tool_return(remote, result)

        return call

    def _current_session(self) -> Any:
        if self._session is None:
            raise ToolError(f"The MCP server {self.server} is not connected (it stopped?)")
        if asyncio.get_running_loop() is not self._loop:
            raise RuntimeError(
                "This MCP toolbox was prepared on another event loop: use it from one loop "
                "(one sync or one async conversation at a time)"
            )
        return self._session


def _tool_return(remote: str, result: Any) -> str | ToolReturn:
    """What the model reads for a CallToolResult: its text, with images and files attached."""
    texts: list[str] = []
    attachments: list[Image | File] = []
    for block in result.content or ():
        kind = getattr(block, "type", "")
        if kind == "text":
            texts.append(block.text)
        elif kind == "image":
            mime = _field(block, "mime_type", "mimeType")
            attachments.append(Image(data=base64.b64decode(block.data), media_type=mime))
        elif kind == "audio":
            mime = _field(block, "mime_type", "mimeType")
            attachments.append(File(data=base64.b64decode(block.data), media_type=mime))
        elif kind == "resource":
            _embedded_resource(block.resource, texts, attachments)
        elif kind == "resource_link":
            texts.append(f"[resource: {block.uri}]")
    structured = _field(result, "structured_content", "structuredContent")
    if not texts and not attachments and structured is not None:
        texts.append(agentloop.tools.format_return(structured)[0])
    output = "\n".join(texts)
    if _field(result, "is_error", "isError"):
        raise ToolError(output or f"The MCP tool {remote!r} failed")
    return ToolReturn(output, attachments) if attachments else output


def _embedded_resource(resource: Any, texts: list[str], attachments: list[Image | File]) -> None:
    text = getattr(resource, "text", None)
    if text is not None:
        texts.append(f"[resource {resource.uri}]\n{text}")
        return
    mime = _field(resource, "mime_type", "mimeType")
    name = str(resource.uri).rstrip("/").rsplit("/", 1)[-1] or None
    attachments.append(File(data=base64.b64decode(resource.blob), media_type=mime, filename=name))


def _field(obj: Any, name: str, legacy: str) -> Any:
    """A field of an SDK object: mcp 2 names them in snake_case, mcp 1 in camelCase."""
    return getattr(obj, name, getattr(obj, legacy, None))


def _import_sdk() -> Any:
    try:
        return importlib.import_module("mcp")
    except ImportError as exc:
        raise MCPServerError(
            "The MCP toolbox needs the mcp package: pip install 'agentloop-kit[mcp]'"
        ) from exc


def _sdk_errors() -> tuple[type[BaseException], ...]:
    module = importlib.import_module("mcp.shared.exceptions")
    names = ("MCPError", "McpError")
    return tuple({getattr(module, n) for n in names if hasattr(module, n)})


@contextlib.asynccontextmanager
async def _http_transport(url: str, headers: dict[str, str] | None) -> Any:
    """The SDK's streamable HTTP client: ``streamable_http_client`` (mcp 2 and late 1.x,
    headers set on the HTTP client), else ``streamablehttp_client`` (earlier 1.x)."""
    module = importlib.import_module("mcp.client.streamable_http")
    connect = getattr(module, "streamable_http_client", None)
    async with AsyncExitStack() as stack:
        if connect is None:
            streams = await stack.enter_async_context(
                module.streamablehttp_client(url, headers=headers)
            )
        elif headers:
            utils = importlib.import_module("mcp.shared._httpx_utils")
            client = await stack.enter_async_context(utils.create_mcp_http_client(headers=headers))
            streams = await stack.enter_async_context(connect(url, http_client=client))
        else:
            streams = await stack.enter_async_context(connect(url))
        yield streams


def _stderr_with_fileno() -> TextIO:
    """Where the server's stderr goes: a subprocess needs a real file, which sys.stderr
    is not in a notebook or under output capture; then the original stderr, or nowhere."""
    for stream in (sys.stderr, sys.__stderr__):
        try:
            if stream is not None:
                stream.fileno()
                return stream
        except (AttributeError, OSError, ValueError):
            continue
    return _devnull()


@functools.cache
def _devnull() -> TextIO:
    return open(os.devnull, "w")  # one handle, kept for the life of the process


def _unwrap(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups from the SDK's task groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc
