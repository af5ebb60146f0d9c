"""One ``tools/call``: the same steps as a chain's, answered as an MCP result.

The arguments are validated by `Tool.validate` (the model reads the same error it would in a
chain), a tool that requires approval asks the client through MCP elicitation, the tool runs
(a blocking one on a worker thread, so other sessions go on), and its result becomes MCP
content: text, images as image content, files as embedded resources. Whatever goes wrong comes
back as a result with ``isError: true`` that the client's model can read; the server goes on.
"""

from __future__ import annotations

import base64
import inspect
import json
import logging
from typing import Any

import anyio.to_thread
import mcp_types as types
from mcp.server.context import ServerRequestContext

from agentloop.media import File, Image
from agentloop.messages import ToolCall, ToolResult
from agentloop.tools import ErrorMode, Tool

__all__ = ["call_tool", "mcp_tool", "result_content", "unavailable"]

logger = logging.getLogger("agentloop.mcp")

#: What the approval question asks for: nothing but the choice (accept or decline).
_APPROVAL_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


def mcp_tool(item: Tool) -> types.Tool:
    """The MCP listing of a tool: its name, description and the schema agentloop sends models."""
    return types.Tool(name=item.name, description=item.description, input_schema=item.parameters)


async def call_tool(
    ctx: ServerRequestContext[Any, Any],
    tools: dict[str, Tool],
    name: str,
    arguments: dict[str, Any] | None,
    errors: ErrorMode,
) -> types.CallToolResult:
    """Run the call ``name(arguments)`` and answer it as MCP does; never raises for the call's
    own failures."""
    try:
        return await _call(ctx, tools, name, arguments, errors)
    except Exception as exc:  # a fault of ours, or an SDK's: the session goes on
        logger.exception("The MCP call to %s failed", name)
        return _error(f"The call to {name!r} failed in the server: {type(exc).__name__}: {exc}")


async def _call(
    ctx: ServerRequestContext[Any, Any],
    tools: dict[str, Tool],
    name: str,
    arguments: dict[str, Any] | None,
    errors: ErrorMode,
) -> types.CallToolResult:
    call = ToolCall(name, dict(arguments or {}), f"mcp-{ctx.request_id}")
    item = tools.get(name)
    if item is None:
        offered = ", ".join(sorted(tools)) or "none"
        return _error(f"Unknown tool {name!r}. Tools on offer: {offered}.")
    try:
        kwargs = item.validate(call)
    except Exception as exc:  # ToolArgumentsError, worded for the model
        return _as_result(item.error_result(call, exc, "report"))
    refusal = await _approval(ctx, item, call)
    if refusal is not None:
        return _error(refusal)
    try:
        value = await _run(item, kwargs)
    except Exception as exc:
        logger.info("Tool %s failed: %s: %s", name, type(exc).__name__, exc)
        mode: ErrorMode = "report" if errors == "raise" else errors
        return _as_result(item.error_result(call, exc, mode))
    return _as_result(item.result(call, value))


async def _run(item: Tool, kwargs: dict[str, Any]) -> Any:
    if item.is_async:
        return await item.invoke(kwargs)
    value = await anyio.to_thread.run_sync(lambda: item.invoke(kwargs))
    if inspect.isawaitable(value):  # a plain def that returned a coroutine
        return await value
    return value


async def _approval(ctx: ServerRequestContext[Any, Any], item: Tool, call: ToolCall) -> str | None:
    """None when the call may run; else why not, for the model.

    Fails closed: a client that cannot be asked (no elicitation capability, or no channel
    for a request back to it) never gets to run the tool.
    """
    if not item.requires_approval:
        return None
    session = ctx.session
    wanted = types.ClientCapabilities(elicitation=types.ElicitationCapability())
    if not session.check_client_capability(wanted) or not session.can_send_request:
        return (
            f"Tool {item.name!r} requires approval, and this MCP client cannot ask its user "
            "(it does not support elicitation), so the call was refused and did not run."
        )
    arguments = _shown(call.arguments)
    question = f"Allow the tool {item.name} to run with {arguments}?"
    try:
        answer = await session.elicit_form(question, _APPROVAL_SCHEMA, ctx.request_id)
    except Exception as exc:  # the client failed to answer: refuse, as for a decline
        logger.info("Approval of %s failed: %s", item.name, exc)
        return f"Tool {item.name!r} requires approval, and asking for it failed ({exc}): refused."
    if answer.action == "accept":
        return None
    return f"The user declined the call to {item.name!r} ({answer.action}): it did not run."


def _shown(arguments: Any, limit: int = 300) -> str:
    text = json.dumps(arguments, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def result_content(result: ToolResult) -> list[types.ContentBlock]:
    """A tool result as MCP content: its text, then each attachment."""
    blocks: list[types.ContentBlock] = []
    if result.output or not result.attachments:
        blocks.append(types.TextContent(type="text", text=result.output))
    for index, part in enumerate(result.attachments):
        blocks.append(_attachment(part, index))
    return blocks


def _attachment(part: Image | File, index: int) -> types.ContentBlock:
    data = part.data
    name = getattr(part, "filename", None) or f"attachment-{index + 1}"
    if data is None:  # a URL the tool did not fetch: the client may
        return types.ResourceLink(type="resource_link", uri=str(part.url), name=name)
    encoded = base64.b64encode(data).decode("ascii")
    mime = part.media_type or "application/octet-stream"
    if isinstance(part, Image):
        return types.ImageContent(type="image", data=encoded, mime_type=mime)
    resource = types.BlobResourceContents(
        uri=f"attachment://{index + 1}/{name}", mime_type=mime, blob=encoded
    )
    return types.EmbeddedResource(type="resource", resource=resource)


def unavailable(name: str, exc: BaseException) -> types.CallToolResult:
    """The error result of a call made while the session's toolboxes cannot be prepared."""
    reason = f"{type(exc).__name__}: {exc}"
    return _error(f"The tools are not available ({reason}); {name!r} did not run.")


def _as_result(result: ToolResult) -> types.CallToolResult:
    return types.CallToolResult(content=result_content(result), is_error=result.is_error)


def _error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)
