"""agentloop tools served over MCP, driven by the official SDK's client over stdio and HTTP.

The servers are `agentloop mcp serve` processes: one over stdio for the ready-made toolboxes,
one over streamable HTTP (127.0.0.1, a free port) shared by the session, approval and
isolation tests, and one consumed by agentloop's own MCP toolbox for the round trip.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

import mcp_served
import mcp_types as types
from local_server import LocalServer
from mcp import Client, StdioServerParameters

from agentloop import (
    DuplicateToolError,
    FunctionModel,
    Request,
    Tool,
    Toolbox,
    ToolCall,
    ToolDefinitionError,
    WebSearch,
)
from agentloop.cli.app import main
from agentloop.mcp import build_server, check_host
from agentloop.mcp.sessions import ServedTools
from agentloop.tools import collect_tools
from toolboxes import MCP, Files, Memory, SQLite

HERE = Path(__file__).parent
SERVED = str(HERE / "mcp_served.py")
ROOT = HERE.parents[1]
ENV = {"PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}
CLI = [sys.executable, "-m", "agentloop.cli", "mcp", "serve"]

# Under pytest-xdist this module runs on one worker, so its HTTP server starts once.
pytestmark = pytest.mark.xdist_group("mcp-serve")


def text(result: types.CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, types.TextContent))


# -- stdio: the ready-made toolboxes ---------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_text("first line\nsecond line\n")
    import sqlite3

    with sqlite3.connect(tmp_path / "birds.db") as db:
        db.execute("create table birds (name text, wingspan real)")
        db.execute("insert into birds values ('pelican', 3.0), ('wren', 0.15)")
    return tmp_path


def stdio_params(workspace: Path) -> StdioServerParameters:
    args = [
        *CLI[1:],
        "-T", "Files", "--tool-option", f"Files.root={workspace}",
        "-T", "SQLite", "--tool-option", f"SQLite.path={workspace / 'birds.db'}",
        "-T", "Memory",
        "-T", "Shell", "--tool-option", f"Shell.cwd={workspace}",
        "-T", "HTTP", "--tool-option", 'HTTP.allow_private_hosts=["127.0.0.1"]',
        "--functions", SERVED,
    ]  # fmt: skip
    return StdioServerParameters(command=CLI[0], args=args, env=ENV, cwd=str(workspace))


async def accept(context: Any, params: Any) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={})


async def decline(context: Any, params: Any) -> types.ElicitResult:
    return types.ElicitResult(action="decline")


async def test_the_ready_made_toolboxes_over_stdio(
    workspace: Path, local_server: LocalServer
) -> None:
    local_server.reply("<p>hello from the web</p>", headers={"content-type": "text/html"})
    async with Client(stdio_params(workspace), elicitation_callback=accept) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}

        # What the client sees is what agentloop sends a model: names, descriptions, schemas.
        local = collect_tools(
            [
                Files(root=workspace),
                SQLite(workspace / "birds.db"),
                Memory(),
                mcp_served.add,
                mcp_served.launch,
            ]
        )
        for name, item in local.items():
            assert listed[name].input_schema == item.parameters, name
            assert listed[name].description == item.description
        assert {"Shell_run", "HTTP_fetch", "Files_write"} <= set(listed)

        read = await client.call_tool("Files_read", {"path": "notes.txt"})
        assert "second line" in text(read)
        assert not read.is_error
        rows = await client.call_tool("SQLite_query", {"sql": "select name from birds"})
        assert "pelican" in text(rows)
        assert "wren" in text(rows)
        assert not (await client.call_tool("Memory_set", {"key": "k", "value": "v"})).is_error
        assert "v" in text(await client.call_tool("Memory_get", {"key": "k"}))
        shell = await client.call_tool("Shell_run", {"command": "echo from-the-shell"})
        assert "from-the-shell" in text(shell), text(shell)
        fetched = await client.call_tool("HTTP_fetch", {"url": local_server.url + "/page"})
        assert "hello from the web" in text(fetched), text(fetched)
        # The HTTP toolbox's own address policy still holds: other internal hosts are refused.
        refused = await client.call_tool("HTTP_fetch", {"url": "http://10.0.0.1/"})
        assert refused.is_error

        # Files write needs approval (not writable): the client was asked and accepted.
        wrote = await client.call_tool("Files_write", {"path": "new.txt", "content": "hi"})
        assert not wrote.is_error, text(wrote)
    assert (workspace / "new.txt").read_text() == "hi"


async def test_errors_and_media_over_stdio(workspace: Path) -> None:
    async with Client(stdio_params(workspace)) as client:
        invalid = await client.call_tool("add", {"a": "many"})
        assert invalid.is_error
        direct = Tool.function(mcp_served.add)
        with pytest.raises(Exception) as expected:
            direct.validate(ToolCall("add", {"a": "many"}, "c1"))
        assert text(invalid) == str(expected.value)  # the model reads the chain's own message

        refused = await client.call_tool("refuse", {"reason": "no"})
        assert refused.is_error
        assert text(refused) == "refused: no"
        crashed = await client.call_tool("crash", {})
        assert crashed.is_error
        assert text(crashed) == "RuntimeError: kaput"
        unknown = await client.call_tool("nothing", {})
        assert unknown.is_error
        assert "Unknown tool 'nothing'" in text(unknown)
        # Still serving after all that.
        assert text(await client.call_tool("add", {"a": 2, "b": 40})) == "42"

        media = await client.call_tool("pixel", {})
        kinds = [block.type for block in media.content]
        assert kinds == ["text", "image", "resource"]
        image, resource = media.content[1], media.content[2]
        assert isinstance(image, types.ImageContent)
        assert image.mime_type == "image/png"
        assert base64.b64decode(image.data).startswith(b"\x89PNG")
        assert isinstance(resource, types.EmbeddedResource)
        assert isinstance(resource.resource, types.BlobResourceContents)
        assert resource.resource.mime_type == "application/pdf"
        assert str(resource.resource.uri).endswith("/report.pdf")

        # No elicitation callback: a tool that requires approval is refused, and never runs.
        launch = await client.call_tool("launch", {"target": "rocket"})
        assert launch.is_error
        assert "cannot ask its user" in text(launch)
        assert "did not run" in text(launch)


# -- streamable HTTP: sessions, approval, isolation ------------------------------------------


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`agentloop mcp serve --http 0` on 127.0.0.1: its URL and the Tracker's log."""
    folder = tmp_path_factory.mktemp("mcp-http")
    log, errors = folder / "tracker.log", folder / "stderr.txt"
    command = [
        *CLI,
        "-T", "Memory",
        "-T", "mcp_served:Tracker", "--tool-option", f"Tracker.log={log}",
        "--functions", SERVED,
        "--http", "0",
    ]  # fmt: skip
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            command, env={**os.environ, **ENV}, stdout=subprocess.DEVNULL, stderr=stderr
        )
    try:
        deadline = time.monotonic() + 30
        while not (found := re.search(r"http://127\.0\.0\.1:\d+/mcp", errors.read_text())):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the MCP HTTP server did not start: {errors.read_text()}")
            time.sleep(0.05)
        yield found.group(), log
    finally:
        process.terminate()
        process.wait(10)


async def test_approval_through_elicitation_over_http(http_server: tuple[str, Path]) -> None:
    url, _ = http_server
    async with Client(url, elicitation_callback=accept) as client:
        launched = await client.call_tool("launch", {"target": "rocket"})
        assert not launched.is_error
        assert text(launched) == "launched rocket"
    async with Client(url, elicitation_callback=decline) as client:
        declined = await client.call_tool("launch", {"target": "rocket"})
        assert declined.is_error
        assert "declined" in text(declined)
        assert "did not run" in text(declined)
    async with Client(url) as client:
        refused = await client.call_tool("launch", {"target": "rocket"})
        assert refused.is_error
        assert "cannot ask its user" in text(refused)


async def test_each_session_has_its_own_toolboxes(http_server: tuple[str, Path]) -> None:
    url, log = http_server
    earlier = len(log.read_text()) if log.exists() else 0

    def logged() -> str:
        return log.read_text()[earlier:]

    async with Client(url) as first, Client(url) as second:
        await first.call_tool("Memory_set", {"key": "colour", "value": "teal"})
        assert (await second.call_tool("Memory_get", {"key": "colour"})).is_error
        await second.call_tool("Memory_set", {"key": "colour", "value": "red"})
        assert "teal" in text(await first.call_tool("Memory_get", {"key": "colour"}))
        assert text(await first.call_tool("Tracker_bump", {})) == "1"
        assert text(await first.call_tool("Tracker_bump", {})) == "2"
        assert text(await second.call_tool("Tracker_bump", {})) == "1"
        prepared = [line for line in logged().splitlines() if line.startswith("prepared")]
        assert len(prepared) == 2
    # Each session's toolboxes are closed when it ends (the client deletes it on leaving).
    deadline = time.monotonic() + 60  # a bound for a loaded machine, not a timing check
    while logged().count("closed") < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    lines = logged().split()
    instances = {lines[i + 1] for i, word in enumerate(lines) if word == "prepared"}
    assert {lines[i + 1] for i, word in enumerate(lines) if word == "closed"} == instances


# -- the round trip: agentloop's MCP toolbox consuming an agentloop server -------------------


def scripted(*calls: ToolCall) -> FunctionModel:
    """A model that makes ``calls`` one per turn, then answers with every result it saw."""

    def play(request: Request) -> Any:
        results = [r.output for m in request.messages if m.role == "tool" for r in m.tool_results]
        if len(results) < len(calls):
            return calls[len(results)]
        return " | ".join(results)

    return FunctionModel(play)


def test_a_chain_through_the_mcp_toolbox_matches_the_tools_used_directly() -> None:
    def calls(prefix: str) -> list[ToolCall]:
        return [
            ToolCall(f"{prefix}add", {"a": 2, "b": 40}, "c1"),
            ToolCall(f"{prefix}Memory_set", {"key": "k", "value": "v"}, "c2"),
            ToolCall(f"{prefix}Memory_get", {"key": "k"}, "c3"),
            ToolCall(f"{prefix}add", {"a": "x", "b": 1}, "c4"),
            ToolCall(f"{prefix}refuse", {"reason": "no"}, "c5"),
            ToolCall(f"{prefix}pixel", {}, "c6"),
        ]

    direct = scripted(*calls("")).chain(
        "go", tools=[mcp_served.add, Memory(), mcp_served.refuse, mcp_served.pixel]
    )
    served = MCP(
        command=[*CLI, "-T", "Memory", "--functions", SERVED],
        env=ENV,
        startup_timeout=60,
    )
    through = scripted(*calls("MCP_")).chain("go", tools=[served])
    assert through.text() == direct.text()
    ours, theirs = direct.tool_results(), through.tool_results()
    assert [r.is_error for r in theirs] == [r.is_error for r in ours]
    assert [(a.media_type, a.data) for a in theirs[-1].attachments] == [
        (a.media_type, a.data) for a in ours[-1].attachments
    ]


# -- in process: what serve() accepts, the host rule, the stateless protocol -----------------


class Counter(Toolbox):
    """Counts, per instance."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def bump(self) -> int:
        """One more."""
        with self.lock:
            self.count += 1
            return self.count


def test_each_session_gets_a_copy_or_a_new_instance() -> None:
    template = Counter()
    served = ServedTools([template, Memory, mcp_served.add])
    first, second = served.session_sources(), served.session_sources()
    assert first[0] is not template
    assert first[0] is not second[0]
    assert isinstance(first[0], Counter)
    assert first[0].lock is not template.lock
    assert isinstance(first[1], Memory)
    assert first[1] is not second[1]
    assert first[2] is second[2] is mcp_served.add  # functions keep no state: shared
    shared = ServedTools([template], share_toolboxes=True)
    assert shared.session_sources()[0] is template
    assert shared.shared_toolboxes() == [template]


def test_what_cannot_be_served_is_refused_when_the_server_is_built() -> None:
    with pytest.raises(ToolDefinitionError, match="provider-side tool"):
        ServedTools([WebSearch()])
    with pytest.raises(DuplicateToolError):
        ServedTools([mcp_served.add, mcp_served.add])
    unpicklable = Counter()
    unpicklable.generator = (n for n in range(3))  # type: ignore[attr-defined]
    with pytest.raises(ToolDefinitionError, match="Cannot copy"):
        ServedTools([unpicklable])
    with pytest.raises(ValueError, match="errors= must be one of"):
        build_server([mcp_served.add], errors="loud")  # type: ignore[arg-type]


def test_only_loopback_unless_remote_is_allowed(caplog: pytest.LogCaptureFixture) -> None:
    for host in ("127.0.0.1", "localhost", "::1", "[::1]"):
        check_host(host, allow_remote=False)
    with pytest.raises(ValueError, match="allow_remote=True"):
        check_host("0.0.0.0", allow_remote=False)
    with caplog.at_level(logging.WARNING, logger="agentloop.mcp"):
        check_host("0.0.0.0", allow_remote=True)
    assert "reachable from other machines" in caplog.text


def test_the_command_line_refuses_mistakes_before_serving(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["mcp", "serve"]) == 2
    assert "needs tools to serve" in capsys.readouterr().err
    assert main(["mcp", "serve", "-T", "Memory", "--host", "0.0.0.0"]) == 2
    assert "go with --http" in capsys.readouterr().err
    assert main(["mcp", "serve", "-T", "Memory", "--http", "0", "--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err
    assert main(["mcp", "serve", "-T", "Memory", "--http", "70000"]) == 2
    assert main(["mcp", "serve", "-T", "WebSearch"]) == 2
    assert "provider-side tool" in capsys.readouterr().err


async def test_a_client_of_the_stateless_protocol_gets_a_session_per_request() -> None:
    server, _ = build_server([Counter(), mcp_served.launch])
    async with Client(server, mode="2026-07-28", elicitation_callback=accept) as client:
        assert text(await client.call_tool("Counter_bump", {})) == "1"
        assert text(await client.call_tool("Counter_bump", {})) == "1"
        refused = await client.call_tool("launch", {"target": "rocket"})
        assert refused.is_error
        assert "did not run" in text(refused)
    async with Client(server, mode="legacy") as client:  # the session protocol: one instance
        assert text(await client.call_tool("Counter_bump", {})) == "1"
        assert text(await client.call_tool("Counter_bump", {})) == "2"


class Unready(Toolbox):
    """Cannot start."""

    async def prepare(self) -> None:
        raise OSError("no database")

    def ping(self) -> str:
        """Never runs."""
        return "pong"


async def test_a_toolbox_that_cannot_prepare_fails_the_call_not_the_server() -> None:
    server, _ = build_server([Unready, mcp_served.add])
    async with Client(server, mode="legacy") as client:
        failed = await client.call_tool("Unready_ping", {})
        assert failed.is_error
        assert "OSError: no database" in text(failed)
        # Its tools are listed with the toolboxes prepared: every call of the session waits.
        assert (await client.call_tool("add", {"a": 1, "b": 1})).is_error
