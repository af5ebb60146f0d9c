"""Cohere v2 Chat: lossless conversion between neutral messages and ``messages``.

How the neutral model maps onto the wire:

- System and user messages: ``content`` is a string when it is one plain text, else a list of
  ``{"type": "text"}`` and (user only) ``{"type": "image_url"}`` blocks: an image goes by its
  URL (a web URL, or its bytes as a data URL). Cohere's chat takes no files: a `File` part is
  a `ConversionError` (its RAG ``documents`` field is an option, ``documents=[...]``).
- Assistant messages: ``content`` is a list of ``text`` and ``thinking`` blocks (the form a
  reply has), ``tool_calls`` carry their arguments as JSON text, and ``tool_plan`` (the plan
  the model writes before its calls, which Cohere's tool-use guide sends back with them) is a
  `Thinking` marked ``{"field": "tool_plan"}`` in its ``extra``. Cohere's own reasoning (a
  ``thinking`` block) is a `Thinking` too; another format's is left out.
- ``citations`` are the message's: kept as received in the message's ``extra`` and sent back;
  each text block's are also read into neutral `Citation`s (the source's ``url``, ``title``
  and text; citations of the plan or of the reasoning cite no answer and are not read).
- A neutral tool message becomes one ``role: tool`` message per `ToolResult`; consecutive
  tool messages decode back into one, each result named after the call it answers. A result
  sent as a list of ``text``/``document`` blocks reads as their text (a document as its
  ``data`` in JSON) and goes back as the same blocks while its output is unchanged. Cohere
  has no error flag, and tool content takes no images: attachments are a `ConversionError`.
- The form of a ``content`` that is not the default one above (a lone text sent as a list, an
  assistant's as a string) is remembered in ``extra`` and written back the same way.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

from agentloop.errors import ConversionError, MediaError
from agentloop.media import File, Image, encode_base64, guess_media_type
from agentloop.messages import Citation, Message, Part, Text, Thinking, ToolCall, ToolResult
from agentloop.portable import portable
from agentloop.providers.cohere.format import COHERE
from agentloop.providers.wire_fields import MISSING, MessageReader, alternatives, with_kept
from agentloop.providers.wire_json import arguments_text, read_arguments

Wire = dict[str, Any]

#: A Thinking's ``extra`` marking it as the assistant message's ``tool_plan``.
TOOL_PLAN = {"field": "tool_plan"}
#: Kept in a message's ``extra``: its ``content`` went as a ``"string"`` or a ``"list"`` where
#: the default was the other (never sent as a field).
FORM = "content_form"
#: Kept in a tool result's ``extra``: the content blocks it arrived as (never sent as a field).
BLOCKS = "content_blocks"
#: Citation types that cite the answer text (None: not given, as older replies do).
_ANSWER_CITATIONS = (None, "TEXT_CONTENT")
_ROLES = ("user", "system", "assistant", "tool")


def _error(message: str) -> ConversionError:
    return ConversionError(f"Cohere: {message}", provider=COHERE)


# -- neutral -> wire ---------------------------------------------------------------------------


def encode_messages(messages: Sequence[Message]) -> list[Wire]:
    """Cohere v2 Chat ``messages`` for neutral messages."""
    out: list[Wire] = []
    for index, message in enumerate(portable(messages, COHERE)):
        where = f"message {index} ({message.role})"
        if message.role == "tool":
            out.extend(_encode_tool_message(message, where))
        elif message.role == "assistant":
            out.append(_encode_assistant(message, where))
        else:
            out.append(_encode_user_or_system(message, where))
    return out


def _kept(extra: Mapping[str, Any], *private: str) -> dict[str, Any]:
    """A part's kept Cohere fields, without this codec's own markers."""
    kept = extra.get(COHERE) or {}
    return {key: value for key, value in kept.items() if key not in private}


def _encode_user_or_system(message: Message, where: str) -> Wire:
    blocks = [_encode_block(part, message.role, where) for part in message.parts]
    form = (message.extra.get(COHERE) or {}).get(FORM)
    lone = len(message.parts) == 1 and isinstance(message.parts[0], Text)
    plain = lone and COHERE not in message.parts[0].extra
    content: str | list[Wire] = blocks
    if plain and form != "list":
        content = blocks[0]["text"]
    encoded: Wire = {"role": message.role, "content": content}
    return with_kept(encoded, _kept(message.extra, FORM))


def _encode_block(part: Part, role: str, where: str) -> Wire:
    if isinstance(part, Text):
        return with_kept({"type": "text", "text": part.text}, part.extra.get(COHERE))
    if isinstance(part, Image) and role == "user":
        image = {"url": _image_url(part, where), "detail": part.detail}
        block = {"type": "image_url", "image_url": {k: v for k, v in image.items() if v}}
        return with_kept(block, part.extra.get(COHERE))
    if isinstance(part, File):
        raise _error(
            f"cannot carry a file in {where}: its chat takes text and images (give a "
            "document's text as text, or as documents=[...])"
        )
    raise _error(f"cannot carry a {type(part).__name__} part in {where}")


def _image_url(image: Image, where: str) -> str:
    if image.url is not None and image.url.startswith(("http://", "https://", "data:")):
        return image.url
    if image.data is None:
        raise _error(f"cannot send the image at {image.url} ({where}); pass its bytes or a URL")
    return f"data:{image.mime_type};base64,{encode_base64(image.data)}"


def _encode_assistant(message: Message, where: str) -> Wire:
    encoded: Wire = {"role": "assistant"}
    content: list[Wire] = []
    calls: list[Wire] = []
    for part in message.parts:
        if isinstance(part, Text):
            content.append(with_kept({"type": "text", "text": part.text}, part.extra.get(COHERE)))
        elif isinstance(part, ToolCall):
            calls.append(_encode_call(part, where))
        elif isinstance(part, Thinking):
            if part.provider != COHERE:
                continue  # no provider accepts another's reasoning
            kept = _kept(part.extra, "field")
            if (part.extra.get(COHERE) or {}).get("field") == TOOL_PLAN["field"]:
                encoded["tool_plan"] = part.text
            else:
                content.append(with_kept({"type": "thinking", "thinking": part.text}, kept))
        else:
            raise _error(f"cannot carry a {type(part).__name__} part in {where}")
    form = (message.extra.get(COHERE) or {}).get(FORM)
    if content:
        plain = len(content) == 1 and set(content[0]) == {"type", "text"}
        lone_text = plain and content[0]["type"] == "text"
        encoded["content"] = content[0]["text"] if lone_text and form == "string" else content
    if calls:
        encoded["tool_calls"] = calls
    return with_kept(encoded, _kept(message.extra, FORM))


def _encode_call(call: ToolCall, where: str) -> Wire:
    function = {"name": call.name, "arguments": arguments_text(call, _error, where)}
    encoded = {"id": call.tool_call_id, "type": "function", "function": function}
    return with_kept(encoded, call.extra.get(COHERE))


def _encode_tool_message(message: Message, where: str) -> list[Wire]:
    out = []
    for part in message.parts:
        if not isinstance(part, ToolResult):
            raise _error(f"cannot carry a {type(part).__name__} part in {where}")
        if part.attachments:
            raise _error(
                f"the result of tool call {part.tool_call_id!r} ({where}) has attachments; "
                "Cohere's tool messages take text and documents only"
            )
        blocks = (part.extra.get(COHERE) or {}).get(BLOCKS)
        same = isinstance(blocks, list) and _rendering(blocks) == part.output
        content = blocks if same else part.output
        encoded = {"role": "tool", "tool_call_id": part.tool_call_id, "content": content}
        out.append(with_kept(encoded, _kept(part.extra, BLOCKS)))
    return out


# -- wire -> neutral ---------------------------------------------------------------------------

#: Checked reads of a caller's messages: a wrong field is a `ConversionError` naming its path.
READ = MessageReader(COHERE)


def decode_messages(messages: Any) -> list[Message]:
    """Neutral messages for Cohere v2 Chat ``messages``."""
    READ.expect(isinstance(messages, list), messages, "a list of message objects", "messages")
    out: list[Message] = []
    open_calls: dict[str, str] = {}
    run: Message | None = None
    for index, raw in enumerate(messages):
        where = f"messages[{index}]"
        raw = _object(raw, where)
        role = READ.one_of(raw.get("role", MISSING), _ROLES, where, "role")
        if role == "tool":
            if run is None:
                run = Message("tool")
                out.append(run)
            run.parts.append(_decode_tool_result(raw, where, open_calls))
            continue
        run = None
        if role == "assistant":
            message = decode_assistant(raw, where)
            open_calls = {c.tool_call_id: c.name for c in message.tool_calls}
        else:
            message = _decode_user_or_system(raw, role, where)
        out.append(message)
    return out


def _decode_user_or_system(raw: Wire, role: str, where: str) -> Message:
    content = raw.get("content")
    parts: list[Part]
    if isinstance(content, str):
        parts, form = [Text(content)], None
    elif isinstance(content, list):
        parts = [_decode_block(b, role, f"{where}.content[{i}]") for i, b in enumerate(content)]
        lone_plain = len(parts) == 1 and isinstance(parts[0], Text) and not parts[0].extra
        form = "list" if lone_plain else None
    else:
        READ.never(content, "a string or a list of blocks", where, "content")
    return Message(role, parts, _extra(raw, {"role", "content"}, form))  # type: ignore[arg-type]


def _decode_block(raw: Any, role: str, where: str) -> Part:
    block = _object(raw, where)
    kind = block.get("type")
    if kind == "text":
        return Text(_string(block, "text", where), _extra(block, {"type", "text"}))
    if kind == "image_url" and role == "user":
        image = _object(block.get("image_url", MISSING), f"{where}.image_url")
        url = _string(image, "url", f"{where}.image_url")
        detail = image.get("detail")
        try:
            part = (
                Image(url)
                if url.startswith("data:")
                else Image(url=url, media_type=guess_media_type(url))
            )
        except MediaError as exc:
            raise READ.refuse(f"{where}.image_url.url", str(exc)) from None
        part.detail = detail if isinstance(detail, str) else None
        part.extra = _extra(block, {"type", "image_url"})
        return part
    allowed = ("text", "image_url") if role == "user" else ("text",)
    raise READ.fail(f"{where}.type", f"{alternatives(allowed)} (in a {role} message)", kind)


def decode_assistant(raw: Any, where: str = "message") -> Message:
    """One assistant message, from a request's history or a reply's ``message``."""
    raw = _object(raw, where)
    parts: list[Part] = []
    plan = raw.get("tool_plan")
    if plan is not None:
        READ.string(plan, where, "tool_plan")
        if plan:
            parts.append(Thinking(plan, provider=COHERE, extra={COHERE: dict(TOOL_PLAN)}))
    content = raw.get("content")
    form = None
    if isinstance(content, str):
        parts.append(Text(content))
        form = "string"
    elif isinstance(content, list):
        parts.extend(_assistant_block(b, f"{where}.content[{i}]") for i, b in enumerate(content))
    elif content is not None:
        READ.never(content, "a string, a list of blocks or absent", where, "content")
    citations = READ.list_or_none(raw.get("citations"), where, "citations")
    _attach_citations(parts, citations or [])
    calls = READ.list_or_none(raw.get("tool_calls"), where, "tool_calls")
    for index, call in enumerate(calls or []):
        parts.append(_decode_call(call, f"{where}.tool_calls[{index}]"))
    known = {"role", "content", "tool_calls", "tool_plan"}
    return Message("assistant", parts, _extra(raw, known, form))


def _assistant_block(raw: Any, where: str) -> Part:
    block = _object(raw, where)
    kind = block.get("type")
    if kind == "text":
        return Text(_string(block, "text", where), _extra(block, {"type", "text"}))
    if kind == "thinking":
        text = _string(block, "thinking", where)
        return Thinking(text, provider=COHERE, extra=_extra(block, {"type", "thinking"}))
    raise READ.fail(f"{where}.type", "'text' or 'thinking' (in an assistant message)", kind)


def _decode_call(raw: Any, where: str) -> ToolCall:
    call = _object(raw, where)
    READ.one_of(call.get("type", "function"), ("function",), where, "type")
    call_id = _string(call, "id", where)
    function = _object(call.get("function", MISSING), f"{where}.function")
    name = _string(function, "name", f"{where}.function")
    text = function.get("arguments", "{}")
    if isinstance(text, dict):
        arguments, unread = dict(text), None
    elif isinstance(text, str):
        arguments, unread = read_arguments(text) if text.strip() else ({}, None)
    else:
        READ.never(text, "JSON text or an object", f"{where}.function", "arguments")
    return ToolCall(name, arguments, call_id, unread, _extra(call, {"id", "type", "function"}))


def _decode_tool_result(raw: Wire, where: str, open_calls: dict[str, str]) -> ToolResult:
    call_id = _string(raw, "tool_call_id", where)
    content = raw.get("content")
    extra = _extra(raw, {"role", "tool_call_id", "content"})
    if isinstance(content, str):
        output = content
    elif isinstance(content, list):
        blocks = [_object(b, f"{where}.content[{i}]") for i, b in enumerate(content)]
        for index, block in enumerate(blocks):
            expected = "'text' or 'document' (in a tool result)"
            READ.expect(
                block.get("type") in ("text", "document"),
                block.get("type"),
                expected,
                f"{where}.content[{index}]",
                "type",
            )
        output = _rendering(blocks)
        extra.setdefault(COHERE, {})[BLOCKS] = blocks
    else:
        READ.never(content, "a string or a list of blocks", where, "content")
    return ToolResult(open_calls.get(call_id, ""), output, call_id, extra=extra)


def _rendering(blocks: list[Any]) -> str:
    """A tool result's blocks as the text the neutral model reads."""
    pieces = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("text"), str):
            pieces.append(block["text"])
        elif isinstance(block.get("document"), dict):
            data = block["document"].get("data")
            pieces.append(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False))
    return "\n".join(pieces)


# -- citations ---------------------------------------------------------------------------------


def _attach_citations(parts: list[Part], citations: list[Any]) -> None:
    """Each answer citation's sources as `Citation`s of the text block it points into."""
    blocks = [
        p for p in parts if not (isinstance(p, Thinking) and p.extra.get(COHERE) == TOOL_PLAN)
    ]
    texts = [p for p in parts if isinstance(p, Text)]
    for citation in citations:
        if not isinstance(citation, dict) or citation.get("type") not in _ANSWER_CITATIONS:
            continue
        index = citation.get("content_index", 0)
        target = blocks[index] if isinstance(index, int) and 0 <= index < len(blocks) else None
        if not isinstance(target, Text):
            target = texts[0] if texts else None
        if target is None:
            continue
        for source in citation.get("sources") or []:
            found = source_citation(source)
            if found is not None and found not in target.citations:
                target.citations.append(found)


def source_citation(source: Any) -> Citation | None:
    """A citation source (a ``document`` or a ``tool`` output) in the neutral reading."""
    if not isinstance(source, dict):
        return None
    fields = (
        source.get("document") if source.get("type") == "document" else source.get("tool_output")
    )
    if not isinstance(fields, dict):
        return None
    url, title = fields.get("url"), fields.get("title")
    text = next(
        (fields[k] for k in ("snippet", "text", "content") if isinstance(fields.get(k), str)), None
    )
    citation = Citation(
        url if isinstance(url, str) else None, title if isinstance(title, str) else None, text
    )
    return citation if (citation.url or citation.title or citation.cited_text) else None


# -- helpers -----------------------------------------------------------------------------------


def _extra(raw: Mapping[str, Any], known: set[str], form: str | None = None) -> dict[str, Any]:
    kept = {k: copy.deepcopy(v) for k, v in raw.items() if k not in known}
    if form is not None:
        kept[FORM] = form
    return {COHERE: kept} if kept else {}


def _object(value: Any, where: str) -> Wire:
    return READ.object(value, where)


def _string(raw: Mapping[str, Any], key: str, where: str) -> str:
    return READ.string(raw.get(key, MISSING), where, key)
