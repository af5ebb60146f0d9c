"""Anthropic's server-side tools: the blocks the service writes for tools it runs itself.

``server_tool_use`` (and ``mcp_tool_use``) is the call, every ``*_tool_result`` block
(``web_search_tool_result``, ``web_fetch_tool_result``, ``code_execution_tool_result``,
``bash_code_execution_tool_result``, ...) its outcome. Each becomes a
[`ProviderPart`][agentloop.ProviderPart] holding the block as received and goes back as it
is; for other providers a result is rendered as text and the call left out (the rule of
`agentloop.portable.portable`). A text block's ``citations`` stay in its extra for the wire
and are read into ``Text.citations``.
"""

from __future__ import annotations

import json
from typing import Any

from agentloop.messages import Citation, ProviderPart, clip
from agentloop.providers.anthropic.format import ANTHROPIC

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
