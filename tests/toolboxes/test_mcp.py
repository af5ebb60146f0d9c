"""MCP: a real server written with the official SDK, over stdio and streamable HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentloop import FunctionModel, Image, Request, ToolCall, ToolError
from agentloop.shells import portal
from toolboxes import MCP
from toolboxes.mcp import MCPServerError

pytest.importorskip("mcp")

# Under pytest-xdist this module runs on one worker, so its shared servers start once.
pytestmark = pytest.mark.xdist_group("mcp-client")

SERVER = str(Path(__file__).with_name("mcp_server.py"))


def stdio_server(**options: Any) -> MCP:
    return MCP(command=[sys.executable, SERVER], **options)


@pytest.fixture(scope="module")
def stdio_box() -> Iterator[MCP]:
    """One server process over stdio, prepared once and shared by the tests that only call it."""
    box = stdio_server()
    portal.run(box.ensure_prepared())
    try:
        yield box
    finally:
        portal.run(box.aclose())


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    """A server process on 127.0.0.1 (streamable HTTP): its URL. Connecting is quick, so
    tests that need a toolbox of their own connect to this one."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, SERVER, "http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the MCP HTTP server did not start")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


def scripted(*calls: ToolCall) -> FunctionModel:
    """A model that makes ``calls`` one per turn, then answers with every result it saw."""

    def play(request: Request) -> Any:
        results = [r.output for m in request.messages if m.role == "tool" for r in m.tool_results]
        if len(results) < len(calls):
            return calls[len(results)]
        return " | ".join(results)

    return FunctionModel(play)


def test_the_servers_tools_are_offered_and_called_over_stdio(stdio_box: MCP) -> None:
    box = stdio_box
    model = scripted(
        ToolCall("MCP_add", {"a": 2, "b": 40}, "c1"),
        ToolCall("MCP_remember", {"key": "colour", "value": "teal"}, "c2"),
        ToolCall("MCP_recall", {"key": "colour"}, "c3"),
        ToolCall("MCP_dotted_name", {}, "c4"),
    )
    assert model.chain("go", tools=[box]).text() == "42 | stored colour | teal | dotted ok"
    tools = {t.name: t for t in box.tools()}
    assert list(tools) == [
        "MCP_add",
        "MCP_remember",
        "MCP_recall",
        "MCP_crash",
        "MCP_dotted_name",
        "MCP_pixel",
    ]
    assert tools["MCP_add"].description == "Add two integers."
    assert tools["MCP_add"].parameters["required"] == ["a", "b"]
    assert box.remote_names["MCP_dotted_name"] == "dotted.name"


def test_a_tool_error_is_reported_to_the_model(stdio_box: MCP) -> None:
    model = scripted(ToolCall("MCP_recall", {"key": "missing"}, "c1"))
    result = model.chain("go", tools=[stdio_box]).tool_results()[0]
    assert result.is_error
    assert "no note called missing" in result.output
    assert isinstance(result.exception, ToolError)


def test_images_come_back_as_attachments(stdio_box: MCP) -> None:
    result = scripted(ToolCall("MCP_pixel", {}, "c1")).chain("go", tools=[stdio_box])
    [image] = result.tool_results()[0].attachments
    assert result.tool_results()[0].output == "a pixel"
    assert isinstance(image, Image)
    assert image.media_type == "image/png"
    assert image.data is not None
    assert image.data.startswith(b"\x89PNG")


def test_a_server_that_dies_is_reported_to_the_model_and_still_closes() -> None:
    model = scripted(ToolCall("MCP_crash", {}, "c1"), ToolCall("MCP_add", {"a": 1, "b": 2}, "c2"))
    conversation = model.conversation(tools=[stdio_server(call_timeout=10)])
    crashed, after = conversation.chain("go").tool_results()
    conversation.close()
    assert crashed.is_error
    assert "The MCP call to 'crash' failed" in crashed.output
    assert after.is_error


def test_closing_the_conversation_closes_the_session(http_server: str) -> None:
    box = MCP(url=http_server)
    conversation = scripted(ToolCall("MCP_add", {"a": 1, "b": 1}, "c1")).conversation(tools=[box])
    conversation.chain("go")
    tool = next(t for t in box.tools() if t.name == "MCP_add")
    conversation.close()
    assert not box.prepared
    with pytest.raises(ToolError, match="is not connected"):
        portal.run(tool.fn(a=1, b=2))


async def test_async_conversations_prepare_and_close_on_their_own_loop(
    http_server: str,
) -> None:
    box = MCP(url=http_server).named("calc")
    model = scripted(ToolCall("calc_add", {"a": 1, "b": 2}, "c1")).to_async()
    conversation = model.conversation(tools=[box])
    try:
        response = await conversation.chain("go")
        assert response.text() == "3"
    finally:
        await conversation.aclose()
    assert not box.prepared


def test_requires_approval_applies_to_every_tool(http_server: str) -> None:
    box = MCP(url=http_server, requires_approval=True)
    conversation = scripted(ToolCall("MCP_add", {"a": 1, "b": 1}, "c1")).conversation(tools=[box])
    try:
        assert "requires approval" in conversation.chain("go").text()
        assert all(t.requires_approval for t in box.tools())
    finally:
        conversation.close()


def test_a_server_that_cannot_start_is_a_clear_error() -> None:
    box = MCP(command=[sys.executable, "-c", "import sys; sys.exit(3)"], startup_timeout=10)
    conversation = scripted().conversation(tools=[box])
    with pytest.raises(MCPServerError, match="Could not start the MCP server"):
        conversation.chain("go")
    missing = MCP(command=["/nonexistent/mcp-server"])
    with pytest.raises(MCPServerError, match="/nonexistent/mcp-server"):
        scripted().chain("go", tools=[missing])


def test_a_server_that_never_answers_times_out_quickly() -> None:
    silent = MCP(
        command=[sys.executable, "-c", "import sys; sys.stdin.read()"], startup_timeout=0.5
    )
    started = time.monotonic()
    with pytest.raises(MCPServerError, match=r"did not start within 0\.5 s"):
        scripted().chain("go", tools=[silent])
    assert time.monotonic() - started < 5


def test_the_toolbox_needs_exactly_one_way_to_reach_the_server() -> None:
    with pytest.raises(ValueError, match="either command"):
        MCP()
    with pytest.raises(ValueError, match="either command"):
        MCP(command=["x"], url="http://127.0.0.1:1/mcp")
    with pytest.raises(ValueError, match="argv list"):
        MCP(command="python server.py")  # type: ignore[arg-type]


def test_without_the_sdk_using_the_toolbox_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "mcp", None)
    with pytest.raises(MCPServerError, match=r"pip install 'agentloop-kit\[mcp\]'"):
        scripted().chain("go", tools=[stdio_server()])


def test_importing_toolboxes_does_not_import_the_sdk() -> None:
    code = "import sys, toolboxes; print('mcp' in sys.modules, toolboxes.MCP.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "MCP"]


# -- streamable HTTP ------------------------------------------------------------------


def test_the_servers_tools_are_called_over_streamable_http(http_server: str) -> None:
    box = MCP(url=http_server, headers={"X-Client": "agentloop-tests"})
    model = scripted(
        ToolCall("MCP_add", {"a": 20, "b": 22}, "c1"),
        ToolCall("MCP_recall", {"key": "nothing"}, "c2"),
    )
    conversation = model.conversation(tools=[box])
    try:
        response = conversation.chain("go")
        first, second = response.tool_results()
        assert first.output == "42"
        assert second.is_error
        assert "no note called nothing" in second.output
    finally:
        conversation.close()


def test_an_unreachable_url_is_a_clear_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe is closed
    box = MCP(url=f"http://127.0.0.1:{port}/mcp", startup_timeout=10)
    with pytest.raises(MCPServerError):
        scripted().chain("go", tools=[box])
