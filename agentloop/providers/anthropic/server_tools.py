"""Anthropic's server-side tools: the blocks the service writes for tools it runs itself.

``server_tool_use`` (and ``mcp_tool_use``) is the call, every ``*_tool_result`` block
(``web_search_tool_result``, ``web_fetch_tool_result``, ``code_execution_tool_result``,
``bash_code_execution_tool_result``, ...) its outcome. Each becomes a
[`ProviderPart`][agentloop.ProviderPart] holding the block as received and goes back as it
is; for other providers a result is rendered as text and the call left out (the rule of
`agentloop.portable.portable`). A text block's ``citations`` stay in its extra for the wire
and are read into ``Text.citations``.

On the way out, the neutral `agentloop.server_tools` become Anthropic's native tools:
``WebSearch`` is ``web_search_20250305`` (every option maps), ``CodeExecution`` is
``code_execution_20250825`` with its ``anthropic-beta`` flag.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from agentloop.messages import Citation, ProviderPart, clip
from agentloop.providers.anthropic.format import ANTHROPIC
from agentloop.server_tools import CodeExecution, ServerTool, WebSearch, unsupported

Block = dict[str, Any]

CALLS = ("server_tool_use", "mcp_tool_use")
RESULT_SUFFIX = "_tool_result"


def is_server_block(kind: str) -> bool:
    """Whether an assistant block of this type is a server tool's call or result."""
    return kind in CALLS or (kind.endswith(RESULT_SUFFIX) and kind != "tool_result")


def decode_server_block(block: Block) -> ProviderPart:
    kind = str(block["type"])
    text = "" if kind in CALLS else _render(kind, block.get("content"))
    return ProviderPart(ANTHROPIC, kind, block, text)


def encode_server_block(part: ProviderPart) -> Block:
    return dict(part.payload)


def citations(block: Block) -> list[Citation]:
    """The neutral reading of a text block's ``citations`` (web results, document ranges)."""
    listed = block.get("citations")
    if not isinstance(listed, list):
        return []
    return [
        Citation(
            _string(c.get("url")),
            _string(c.get("title")) or _string(c.get("document_title")),
            _string(c.get("cited_text")),
        )
        for c in listed
        if isinstance(c, dict)
    ]


def _render(kind: str, content: Any) -> str:
    label = kind.removesuffix(RESULT_SUFFIX).replace("_", " ")
    return clip(f"[{label} result]\n{_describe(content)}".rstrip())


def _describe(content: Any) -> str:
    """What a result says, in a few lines: search hits, fetched text, a program's output."""
    if isinstance(content, list):
        return "\n".join(_describe(item) for item in content)
    if not isinstance(content, dict):
        return "" if content is None else str(content)
    if "error_code" in content:
        return f"error: {content['error_code']}"
    if "stdout" in content or "stderr" in content:
        lines = [str(content.get("stdout") or ""), str(content.get("stderr") or "")]
        code = content.get("return_code")
        return "\n".join(filter(None, [*lines, f"(exit code {code})" if code else ""]))
    if isinstance(content.get("url"), str) and "title" in content:
        return f"- {content.get('title')}: {content['url']}"
    if isinstance(content.get("url"), str):
        return f"{content['url']}\n{_document_text(content.get('content'))}"
    return json.dumps(content, ensure_ascii=False)


def _document_text(document: Any) -> str:
    source = document.get("source") if isinstance(document, dict) else None
    if not isinstance(source, dict) or source.get("type") != "text":
        return ""
    data = source.get("data")
    return data if isinstance(data, str) else ""


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# -- the neutral tools, as request tools -----------------------------------------------

#: The native tools `WebSearch` and `CodeExecution` become. ``code_execution_20250825``
#: (bash and file editing) runs on every Claude model that has code execution; the newer
#: ``code_execution_20260120`` only on some, so the older one is the neutral choice.
WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search"}
CODE_EXECUTION = {"type": "code_execution_20250825", "name": "code_execution"}
#: The ``anthropic-beta`` flag ``code_execution_20250825`` needs.
CODE_EXECUTION_BETA = "code-execution-2025-08-25"
BETA_HEADER = "anthropic-beta"


def encode_server_tools(tools: Sequence[ServerTool]) -> list[Block]:
    """Anthropic's native tool for each neutral one, with its options."""
    out: list[Block] = []
    for tool in tools:
        if isinstance(tool, WebSearch):
            out.append(_web_search(tool))
        elif isinstance(tool, CodeExecution):
            out.append(dict(CODE_EXECUTION))
        else:
            raise unsupported(ANTHROPIC, tool, None, "it has no such native tool")
    return out


def _web_search(tool: WebSearch) -> Block:
    spec: Block = dict(WEB_SEARCH)
    if tool.max_uses is not None:
        spec["max_uses"] = tool.max_uses
    if tool.allowed_domains is not None:
        spec["allowed_domains"] = list(tool.allowed_domains)
    if tool.blocked_domains is not None:
        spec["blocked_domains"] = list(tool.blocked_domains)
    if tool.user_location is not None:
        spec["user_location"] = tool.user_location.approximate()
    return spec


def with_betas(headers: Mapping[str, str], tools: Sequence[ServerTool]) -> dict[str, str]:
    """``headers`` with the ``anthropic-beta`` flags ``tools`` need added to any given."""
    out = dict(headers)
    if not any(isinstance(tool, CodeExecution) for tool in tools):
        return out
    name = next((key for key in out if key.lower() == BETA_HEADER), BETA_HEADER)
    flags = [flag.strip() for flag in out.get(name, "").split(",") if flag.strip()]
    if CODE_EXECUTION_BETA not in flags:
        flags.append(CODE_EXECUTION_BETA)
    out[name] = ",".join(flags)
    return out
