"""The Responses API's built-in tools: output items for work the server did itself.

``web_search_call``, ``code_interpreter_call``, ``file_search_call``,
``image_generation_call`` and the remote MCP items each become a
[`ProviderPart`][agentloop.ProviderPart] holding the item as received, and go back as input
items unchanged. For other providers an item carrying results (code and its output, file
search hits, an image's prompt) is rendered as text; a bare call (a web search, whose
findings are in the answer's annotations) is left out (the rule of
`agentloop.portable.portable`). ``output_text`` annotations stay in the part's extra for the
wire and are read into ``Text.citations``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentloop.messages import Citation, ProviderPart, clip
from agentloop.providers.openai_responses.fields import FORMAT

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
