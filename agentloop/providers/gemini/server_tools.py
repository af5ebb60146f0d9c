"""Gemini's built-in tools: code execution parts and a candidate's grounding metadata.

``executableCode`` and ``codeExecutionResult`` parts (camelCase or snake_case) become
[`ProviderPart`][agentloop.ProviderPart]s holding the whole wire part (its
``thoughtSignature`` included) and go back unchanged. A candidate's ``groundingMetadata``
(Google Search) and ``urlContextMetadata`` (URL context) describe the answer rather than
belong to its content: they become ProviderParts at the end of the message, with the
grounding's sources as ``citations``, and are never sent back, Gemini's requests having no
place for them. For other providers a code result is rendered as text; the code itself and
the metadata are left out (the rule of `agentloop.portable.portable`).

On the way out, the neutral `agentloop.server_tools` become Gemini's built-in tools:
``WebSearch`` is ``googleSearch`` (which takes none of its options), ``CodeExecution`` is
``codeExecution``; camelCase, as the rest of the body and as Google's SDK sends them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentloop.messages import Citation, ProviderPart, clip
from agentloop.providers.gemini.format import GEMINI
from agentloop.server_tools import CodeExecution, ServerTool, WebSearch, unsupported

WirePart = dict[str, Any]

#: Part kinds by their wire key, in either spelling.
PART_KINDS = {
    "executableCode": "executableCode",
    "executable_code": "executableCode",
    "codeExecutionResult": "codeExecutionResult",
    "code_execution_result": "codeExecutionResult",
}
#: Candidate fields kept as provider parts, in either spelling.
CANDIDATE_FIELDS = {
    "groundingMetadata": "groundingMetadata",
    "grounding_metadata": "groundingMetadata",
    "urlContextMetadata": "urlContextMetadata",
    "url_context_metadata": "urlContextMetadata",
}


def server_part_kind(raw: Any) -> str | None:
    """The built-in tool kind of a wire part, or None for any other part."""
    if not isinstance(raw, dict):
        return None
    return next((PART_KINDS[key] for key in raw if key in PART_KINDS), None)


def decode_server_part(kind: str, raw: WirePart) -> ProviderPart:
    text = ""
    if kind == "codeExecutionResult":
        body = next((v for k, v in raw.items() if PART_KINDS.get(k) == kind), None)
        body = body if isinstance(body, dict) else {}
        outcome = body.get("outcome")
        status = "" if outcome in (None, "OUTCOME_OK") else f" ({outcome})"
        text = clip(f"[code execution result{status}]\n{body.get('output') or ''}".rstrip())
    return ProviderPart(GEMINI, kind, raw, text)


def encode_server_part(part: ProviderPart) -> WirePart | None:
    """The wire part, or None for candidate metadata (no request takes it)."""
    return None if part.kind in CANDIDATE_FIELDS.values() else dict(part.payload)


def decode_candidate_metadata(candidate: dict[str, Any]) -> list[ProviderPart]:
    """The candidate's grounding and URL-context metadata, those that say anything."""
    parts = []
    for key, value in candidate.items():
        kind = CANDIDATE_FIELDS.get(key)
        if kind is not None and isinstance(value, dict) and value:
            parts.append(ProviderPart(GEMINI, kind, value, citations=_grounding(value)))
    return parts


def metadata_of(candidate: dict[str, Any]) -> dict[str, Any]:
    """The candidate's non-empty metadata fields (a stream's chunks send ``{}`` until the last)."""
    return {k: v for k, v in candidate.items() if k in CANDIDATE_FIELDS and v}


def _grounding(metadata: dict[str, Any]) -> list[Citation]:
    """One citation per supported segment and source; the bare sources when none is cited."""
    chunks = _list(metadata.get("groundingChunks", metadata.get("grounding_chunks")))
    sources = [_source(chunk) for chunk in chunks]
    supports = _list(metadata.get("groundingSupports", metadata.get("grounding_supports")))
    out = []
    for support in supports:
        if not isinstance(support, dict):
            continue
        segment = support.get("segment")
        text = segment.get("text") if isinstance(segment, dict) else None
        indices = support.get("groundingChunkIndices", support.get("grounding_chunk_indices"))
        for index in _list(indices):
            if isinstance(index, int) and 0 <= index < len(sources):
                url, title = sources[index]
                out.append(Citation(url, title, text if isinstance(text, str) else None))
    return out or [Citation(url, title) for url, title in sources if url or title]


def _source(chunk: Any) -> tuple[str | None, str | None]:
    if not isinstance(chunk, dict):
        return None, None
    source = next((v for v in chunk.values() if isinstance(v, dict)), {})
    url, title = source.get("uri"), source.get("title")
    return (url if isinstance(url, str) else None, title if isinstance(title, str) else None)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# -- the neutral tools, as request tools -----------------------------------------------

#: `WebSearch` options and why the Gemini API cannot take them.
_NO_SEARCH_OPTIONS = {
    "max_uses": "Google Search grounding has no limit on searches",
    "allowed_domains": "Google Search grounding cannot be kept to some domains",
    "blocked_domains": "its excludeDomains exists on Vertex AI only, not in the Gemini API",
    "user_location": "Google Search grounding takes no location",
}


def encode_server_tools(tools: Sequence[ServerTool]) -> list[WirePart]:
    """Gemini's built-in tool for each neutral one (a tool object each, as the API wants)."""
    out: list[WirePart] = []
    for tool in tools:
        if isinstance(tool, WebSearch):
            option = next(iter(tool.given()), None)
            if option is not None:
                raise unsupported(GEMINI, tool, option, _NO_SEARCH_OPTIONS[option])
            out.append({"googleSearch": {}})
        elif isinstance(tool, CodeExecution):
            out.append({"codeExecution": {}})
        else:
            raise unsupported(GEMINI, tool, None, "it has no such built-in tool")
    return out
