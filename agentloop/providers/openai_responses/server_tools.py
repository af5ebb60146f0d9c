"""The Responses API's built-in tools: output items for work the server did itself.

``web_search_call``, ``code_interpreter_call``, ``file_search_call``,
``image_generation_call`` and the remote MCP items each become a
[`ProviderPart`][agentloop.ProviderPart] holding the item as received, and go back as input
items unchanged. For other providers an item carrying results (code and its output, file
search hits, an image's prompt) is rendered as text; a bare call (a web search, whose
findings are in the answer's annotations) is left out (the rule of
`agentloop.portable.portable`). ``output_text`` annotations stay in the part's extra for the
wire and are read into ``Text.citations``. An output item of a type not listed here (one the
API added since) is kept the same way, with no rendering.

On the way out, the neutral `agentloop.server_tools` become built-in tools: ``WebSearch`` is
``web_search`` (``allowed_domains`` as its ``filters``, ``user_location``; it has no
``max_uses`` or ``blocked_domains``), ``CodeExecution`` is ``code_interpreter`` in an
automatic container, its outputs included in the reply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from agentloop.messages import Citation, ProviderPart, clip
from agentloop.providers.openai_responses.fields import FORMAT
from agentloop.server_tools import CodeExecution, ServerTool, WebSearch, unsupported

Item = dict[str, Any]

SERVER_ITEMS = (
    "web_search_call",
    "code_interpreter_call",
    "file_search_call",
    "image_generation_call",
    "mcp_call",
    "mcp_list_tools",
)


def decode_server_item(item: Item) -> ProviderPart:
    kind = str(item["type"])
    render = _RENDERINGS.get(kind)
    return ProviderPart(FORMAT, kind, item, clip(render(item)) if render else "")


def encode_server_item(part: ProviderPart) -> Item:
    return dict(part.payload)


def citations(text: str, annotations: Any) -> list[Citation]:
    """The neutral reading of an ``output_text``'s annotations (URL and file citations)."""
    if not isinstance(annotations, list):
        return []
    out = []
    for note in annotations:
        if not isinstance(note, dict) or note.get("type") not in ("url_citation", "file_citation"):
            continue
        start, end = note.get("start_index"), note.get("end_index")
        cited = text[start:end] if isinstance(start, int) and isinstance(end, int) else None
        title = note.get("title") or note.get("filename")
        out.append(Citation(_string(note.get("url")), _string(title), cited))
    return out


def _code(item: Item) -> str:
    outputs = _list(item.get("outputs"))
    logs = [str(o.get("logs", "")) for o in outputs if isinstance(o, dict) and "logs" in o]
    return "\n".join(["[code interpreter]", str(item.get("code") or ""), *logs])


def _file_search(item: Item) -> str:
    results = _list(item.get("results"))
    hits = [
        f"- {r.get('filename', '')}: {r.get('text', '')}" for r in results if isinstance(r, dict)
    ]
    return "\n".join(["[file search results]", *hits]) if hits else ""


def _image(item: Item) -> str:
    return f"[generated image] {item.get('revised_prompt') or ''}".rstrip()


def _mcp(item: Item) -> str:
    output = item.get("output")
    return f"[{item.get('name', 'mcp')} result]\n{output}" if isinstance(output, str) else ""


_RENDERINGS: dict[str, Callable[[Item], str]] = {
    "code_interpreter_call": _code,
    "file_search_call": _file_search,
    "image_generation_call": _image,
    "mcp_call": _mcp,
}


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# -- the neutral tools, as request tools -----------------------------------------------

#: What `CodeExecution` asks the server to return with each code_interpreter_call: the
#: program's output, without which its rendering for other providers would be the code alone.
CODE_OUTPUTS = "code_interpreter_call.outputs"


def encode_server_tools(tools: Sequence[ServerTool]) -> list[Item]:
    """The Responses API's built-in tool for each neutral one."""
    out: list[Item] = []
    for tool in tools:
        if isinstance(tool, WebSearch):
            out.append(_web_search(tool))
        elif isinstance(tool, CodeExecution):
            out.append({"type": "code_interpreter", "container": {"type": "auto"}})
        else:
            raise unsupported(FORMAT, tool, None, "it has no such built-in tool")
    return out


def server_includes(tools: Sequence[ServerTool]) -> list[str]:
    """The ``include`` entries the neutral tools need."""
    return [CODE_OUTPUTS] if any(isinstance(t, CodeExecution) for t in tools) else []


def _web_search(tool: WebSearch) -> Item:
    if tool.max_uses is not None:
        raise unsupported(FORMAT, tool, "max_uses", "its web_search tool has no per-tool limit")
    if tool.blocked_domains is not None:
        raise unsupported(
            FORMAT, tool, "blocked_domains", "its web_search tool filters by allowed_domains only"
        )
    spec: Item = {"type": "web_search"}
    if tool.allowed_domains is not None:
        spec["filters"] = {"allowed_domains": list(tool.allowed_domains)}
    if tool.user_location is not None:
        spec["user_location"] = tool.user_location.approximate()
    return spec
