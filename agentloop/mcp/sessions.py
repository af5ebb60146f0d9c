"""What each MCP session gets: its own toolbox instances, prepared once, closed at its end.

`ServedTools` holds what `serve()` was given. Functions and `Tool`s are shared by every
session (they keep no state of their own). A `Toolbox` is made anew for each session: a class
is called with no arguments, an instance is deep-copied (an unprepared copy, its locks made
anew). So two HTTP clients never share a toolbox's state, unless ``share_toolboxes=True`` says
the toolboxes are built to be shared: then every session uses the instances given, prepared on
first use and closed when the server stops.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Iterable
from typing import Any

from agentloop.errors import ToolDefinitionError
from agentloop.server_tools import ServerTool
from agentloop.toolbox import Toolbox, close_toolboxes, prepare_toolboxes
from agentloop.tools import Tool, Tools, ToolSource, collect_tools, tool_sources

__all__ = ["ServedTools", "SessionTools"]

_LOCKS: tuple[type, ...] = (type(threading.Lock()), type(threading.RLock()))


class ServedTools:
    """The tools a server offers, and how each session gets its own copy of them."""

    def __init__(self, tools: Tools | type[Toolbox], *, share_toolboxes: bool = False) -> None:
        self.share_toolboxes = share_toolboxes
        self.sources: list[ToolSource | type[Toolbox]] = []
        items = [tools] if isinstance(tools, type) else tools
        for item in _as_list(items):
            if isinstance(item, type) and issubclass(item, Toolbox):
                self.sources.append(item)
            else:
                self.sources.extend(tool_sources(item))
        for source in self.sources:
            if isinstance(source, ServerTool):
                raise ToolDefinitionError(
                    f"{source.kind} is a provider-side tool: the model's provider runs it, so an "
                    "MCP server cannot offer it"
                )
            if isinstance(source, Toolbox) and source.prepared and not share_toolboxes:
                raise ToolDefinitionError(
                    f"{source!r} is already prepared: give it unprepared, so that each MCP "
                    "session gets a fresh copy (or share_toolboxes=True to share this one)"
                )
        # Made once now so that a duplicate name or a toolbox that cannot be copied is an
        # error when the server is built, not when the first client connects.
        collect_tools(self.session_sources())

    def session_sources(self) -> list[ToolSource]:
        """The tool sources of one new session."""
        return [self._for_session(source) for source in self.sources]

    def shared_toolboxes(self) -> list[Toolbox]:
        """The toolbox instances every session shares (only with ``share_toolboxes=True``)."""
        if not self.share_toolboxes:
            return []
        return [s for s in self.sources if isinstance(s, Toolbox)]

    def _for_session(self, source: ToolSource | type[Toolbox]) -> ToolSource:
        if isinstance(source, type):
            try:
                made: Toolbox = source()
            except TypeError as exc:
                raise ToolDefinitionError(
                    f"{source.__name__}() failed ({exc}): serve an instance configured as "
                    f"you need, e.g. {source.__name__}(...), which each session gets a copy of"
                ) from exc
            return made
        if isinstance(source, Toolbox) and not self.share_toolboxes:
            return session_copy(source)
        return source


class SessionTools:
    """One session's tools: its toolboxes are prepared on first use and closed by `close`."""

    def __init__(self, served: ServedTools) -> None:
        self._sources = served.session_sources()
        self._shared = {id(box) for box in served.shared_toolboxes()}
        self._tools: dict[str, Tool] | None = None
        self._lock = asyncio.Lock()

    async def tools(self) -> dict[str, Tool]:
        """The session's tools by name, with those its toolboxes add in ``prepare()``."""
        async with self._lock:
            if self._tools is None:
                await prepare_toolboxes(self._sources)
                self._tools = collect_tools(self._sources)
            return self._tools

    async def close(self) -> None:
        """Close this session's own toolboxes (shared ones stay open for other sessions)."""
        own = [s for s in self._sources if id(s) not in self._shared]
        await close_toolboxes(own)


def session_copy(box: Toolbox) -> Toolbox:
    """A fresh, unprepared copy of ``box`` for one session.

    A lock cannot be deep-copied, and a copy must not share its original's: each lock the
    toolbox holds becomes a new one.
    """
    memo: dict[int, Any] = {}
    for value in vars(box).values():
        if isinstance(value, _LOCKS):
            memo[id(value)] = (
                threading.RLock() if "RLock" in type(value).__name__ else threading.Lock()
            )
    try:
        return copy.deepcopy(box, memo)
    except Exception as exc:
        raise ToolDefinitionError(
            f"Cannot copy {box!r} for each MCP session ({type(exc).__name__}: {exc}): serve its "
            "class, built anew for each session, or pass share_toolboxes=True if one instance "
            "may serve every session"
        ) from exc


def _as_list(items: Any) -> Iterable[Any]:
    if isinstance(items, Iterable) and not isinstance(items, str | bytes | Toolbox):
        return list(items)
    return [items]
