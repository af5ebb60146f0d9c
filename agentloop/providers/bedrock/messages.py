"""Bedrock Converse: lossless conversion between neutral messages and ``(system, messages)``.

Each Converse content block is an object with one key naming its kind (``{"text": ...}``,
``{"toolUse": {...}}``...). How the neutral model maps onto it:

- System messages, wherever they stand, are hoisted in order into the top-level ``system``
  list of ``{"text"}`` blocks (Converse has no system role).
- Roles alternate: consecutive messages of one wire role merge; a neutral ``tool`` message is
  ``toolResult`` blocks of a user message, placed before its other blocks. On import a user
  message's ``toolResult`` blocks become a tool message, followed by a user message holding
  the rest, if any. A ``toolResult`` carries no tool name: it is recovered from the matching
  ``toolUse`` id.
- A tool result's output is its ``text`` content; a result sent as ``{"json": ...}`` comes
  back as the JSON text, and goes out again as JSON (kept as ``content_json``). An error
  result has ``status: "error"``; an explicit ``"success"`` is kept.
- Images (png, jpeg, gif, webp) and documents (pdf, csv, doc, docx, xls, xlsx, html, txt, md)
  go as bytes (base64 in JSON): an http(s) URL is fetched first (`media_to_fetch`); an
  ``s3://`` URL goes as ``s3Location``. A document needs a name: its ``filename`` with the
  characters Converse refuses in one made spaces (``report.pdf`` goes as ``report pdf``),
  else ``"document"``.
- Reasoning (``reasoningContent``) is a `Thinking` with its signature; a redacted one's
  ``redactedContent`` is the Thinking's ``signature``. Only Bedrock's own go back.
- Anything else (a ``cachePoint``, a server tool's ``toolUse`` with ``type:
  server_tool_use`` and its ``toolResult`` in an assistant turn, a block newer than this
  codec) is a `ProviderPart` kept as received and sent back unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, NoReturn

from agentloop.errors import ConversionError, MediaError
from agentloop.media import File, Image, Media, decode_base64, encode_base64
from agentloop.messages import Message, Part, ProviderPart, Text, Thinking, ToolCall, ToolResult
from agentloop.portable import portable
from agentloop.providers.bedrock.format import BEDROCK
from agentloop.providers.block_turns import BlockTurns
from agentloop.providers.media_fetch import pending
from agentloop.providers.wire_fields import MessageReader, with_kept
from agentloop.providers.wire_json import arguments_text

Block = dict[str, Any]

IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"}
DOCUMENT_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}
_MEDIA_TYPES = {
    **{fmt: kind for kind, fmt in IMAGE_FORMATS.items()},
    **{fmt: kind for kind, fmt in DOCUMENT_FORMATS.items()},
}
#: The kept marker of a tool result whose output went as ``{"json": ...}``.
CONTENT_JSON = "content_json"
_HTTP = ("http://", "https://")
_NAME_REFUSED = re.compile(r"[^A-Za-z0-9\s\-()\[\]]")


def _error(message: str) -> ConversionError:
    return ConversionError(f"Bedrock: {message}", provider=BEDROCK)


#: Checked reads of a caller's messages: a wrong field is a `ConversionError` naming its path.
READ = MessageReader(BEDROCK)
_TURNS = BlockTurns(READ, lambda block: "toolResult" in block)
_field = _TURNS.field


# -- encoding: neutral -> wire --------------------------------------------------


def encode_messages(messages: Sequence[Message]) -> tuple[list[Block], list[Block]]:
    """The ``system`` and ``messages`` lists of a Converse request."""
    system: list[Block] = []
    wire: list[Block] = []
    for index, message in enumerate(portable(messages, BEDROCK)):
        try:
            if message.role == "system":
                system.extend(_system_block(part) for part in message.parts)
                continue
            blocks = [b for p in message.parts if (b := _encode_part(p, message)) is not None]
        except ConversionError as exc:
            detail = str(exc).removeprefix("Bedrock: ")
            raise _error(f"message {index} ({message.role}): {detail}") from None
        role = "assistant" if message.role == "assistant" else "user"
        _TURNS.append(wire, role, message.extra.get(BEDROCK, {}), blocks)
    return system, wire


def _system_block(part: Part) -> Block:
    if isinstance(part, Text):
        return with_kept({"text": part.text}, part.extra.get(BEDROCK))
    if isinstance(part, ProviderPart) and part.provider == BEDROCK:
        return dict(part.payload)  # a cachePoint or guardContent, as received
    raise _error(f"the system prompt takes only text, not a {type(part).__name__} part")


def _encode_part(part: Part, message: Message) -> Block | None:
    assistant = message.role == "assistant"
    if isinstance(part, Text):
        return with_kept({"text": part.text}, part.extra.get(BEDROCK))
    if isinstance(part, ProviderPart):
        return dict(part.payload)  # portable() left only Bedrock's own
    if isinstance(part, Thinking):
        if part.provider != BEDROCK:
            return None  # no provider accepts another's reasoning
        return _reasoning_block(part) if assistant else _misplaced(part, message)
    if isinstance(part, ToolCall):
        if not assistant:
            _misplaced(part, message)
        arguments_text(part, _error)  # refused here, rather than when the body is written
        use = {"toolUseId": part.tool_call_id, "name": part.name, "input": dict(part.arguments)}
        return {"toolUse": with_kept(use, part.extra.get(BEDROCK))}
    if assistant:
        _misplaced(part, message)
    if isinstance(part, ToolResult):
        return {"toolResult": _tool_result(part)}
    return _media_block(part)


def _misplaced(part: Part, message: Message) -> NoReturn:
    raise _error(f"a {type(part).__name__} part cannot go in a {message.role} message")


def _reasoning_block(part: Thinking) -> Block:
    kept = part.extra.get(BEDROCK)
    if part.redacted:
        if part.signature is None:
            raise _error("redacted reasoning needs its data in Thinking.signature")
        return {"reasoningContent": with_kept({"redactedContent": part.signature}, kept)}
    text: Block = {"text": part.text}
    if part.signature is not None:
        text["signature"] = part.signature
    return {"reasoningContent": with_kept({"reasoningText": text}, kept)}


def _tool_result(result: ToolResult) -> Block:
    kept = dict(result.extra.get(BEDROCK, {}))
    as_json = kept.pop(CONTENT_JSON, False)
    content: list[Block] = []
    if as_json and _is_object(result.output):
        content.append({"json": json.loads(result.output)})
    elif result.output or not result.attachments:
        content.append({"text": result.output})
    content += [_media_block(media) for media in result.attachments]
    block: Block = {"toolUseId": result.tool_call_id, "content": content}
    if result.is_error:
        block["status"] = "error"
    return with_kept(block, kept)


def _is_object(text: str) -> bool:
    """Whether ``text`` is still the JSON object it was received as (an edited output that no
    longer is goes as text)."""
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def document_name(filename: str | None) -> str:
    """A document's name as Converse accepts it: letters, digits, single spaces, hyphens,
    parentheses and brackets only (``report.pdf`` is refused), so the rest become spaces."""
    name = " ".join(_NAME_REFUSED.sub(" ", filename or "").split())
    return name or "document"


def media_to_fetch(messages: Sequence[Message]) -> list[Media]:
    """The URL-only parts Bedrock is sent as bytes (pure): every http(s) one, as Converse
    takes media only as bytes or an S3 location. Fetched before encoding."""
    return pending(messages, lambda _media, _in_result: True)


def _media_block(media: Media) -> Block:
    kept = dict(media.extra.get(BEDROCK, {}))
    kind = media.media_type
    image = isinstance(media, Image) or (kind or "").startswith("image/")
    formats = IMAGE_FORMATS if image else DOCUMENT_FORMATS
    wire_format = formats.get(kind or "") or kept.get("format")
    if wire_format is None:
        accepted = ", ".join(formats.values())
        what = kind or "unknown type"
        raise _error(f"cannot take a {type(media).__name__} of {what}; it accepts {accepted}")
    block: Block = {"format": wire_format, "source": _source(media)}
    if not image:
        block["name"] = document_name(media.filename)
    return {"image" if image else "document": with_kept(block, kept)}


def _source(media: Media) -> Block:
    if media.data is None and media.url is not None:
        if media.url.startswith("s3://"):
            return {"s3Location": {"uri": media.url}}
        if not media.url.startswith(_HTTP):
            raise _error(f"cannot fetch {media.url}; pass the bytes, an https or an s3:// URL")
    return {"bytes": encode_base64(media.fetched_data())}


# -- decoding: wire -> neutral --------------------------------------------------


def decode_messages(system: Any, messages: Any) -> list[Message]:
    """Neutral messages from a Converse request's ``system`` and ``messages`` lists."""
    out: list[Message] = []
    if system:
        out.append(
            Message("system", [_decode_system(b, at) for b, at in _blocks(system, "system")])
        )
    return out + _TURNS.decode(messages, _decode_message)


def decode_assistant_content(content: Any, where: str = "content") -> list[Part]:
    """The parts of a reply's ``output.message.content`` blocks."""
    return [_assistant_part(block, at, {}) for block, at in _blocks(content, where)]


def _decode_system(block: Block, where: str) -> Part:
    if "text" in block:
        return _text(block, where)
    return ProviderPart(BEDROCK, next(iter(block)), block)


def _decode_message(wire: Block, role: str, where: str, names: dict[str, str]) -> list[Message]:
    blocks = _blocks(wire.get("content"), f"{where}.content")
    kept = {k: v for k, v in wire.items() if k not in ("role", "content")}
    extra = {BEDROCK: kept} if kept else {}
    if role == "assistant":
        return [Message("assistant", [_assistant_part(b, at, names) for b, at in blocks], extra)]
    results: list[Part] = [_tool_result_part(b, at, names) for b, at in blocks if "toolResult" in b]
    others = [_user_part(b, at) for b, at in blocks if "toolResult" not in b]
    return _TURNS.user_messages(results, others, extra)


def _assistant_part(block: Block, where: str, names: dict[str, str]) -> Part:
    if "text" in block:
        return _text(block, where)
    use = block.get("toolUse")
    if isinstance(use, dict) and use.get("type", "tool_use") == "tool_use":
        at_use = f"{where}.toolUse"
        call_id, name = _field(use, "toolUseId", str, at_use), _field(use, "name", str, at_use)
        names[call_id] = name
        arguments = _field(use, "input", dict, at_use)
        # "type": "tool_use" is the default the reply names and a request leaves out
        rest = {k: v for k, v in use.items() if k not in ("toolUseId", "name", "input", "type")}
        return ToolCall(name, arguments, call_id, extra={BEDROCK: rest} if rest else {})
    reasoning = block.get("reasoningContent")
    if isinstance(reasoning, dict):
        return _thinking(reasoning, f"{where}.reasoningContent")
    # A server tool's call and result, a cachePoint, or a block newer than this codec: the
    # service's own, kept as received (its result readable by other formats as text).
    kind = next(iter(block))
    return ProviderPart(BEDROCK, kind, block, _rendering(block))


def _rendering(block: Block) -> str:
    result = block.get("toolResult")
    if not isinstance(result, dict) or not isinstance(result.get("content"), list):
        return ""
    pieces = []
    for item in result["content"]:
        if isinstance(item, dict) and "text" in item:
            pieces.append(str(item["text"]))
        elif isinstance(item, dict) and "json" in item:
            pieces.append(json.dumps(item["json"]))
    return "\n".join(pieces)


def _thinking(reasoning: Block, where: str) -> Thinking:
    text_block = reasoning.get("reasoningText")
    if isinstance(text_block, dict):
        text = _field(text_block, "text", str, f"{where}.reasoningText")
        signature = _field(text_block, "signature", str, f"{where}.reasoningText", optional=True)
        rest = {k: v for k, v in reasoning.items() if k != "reasoningText"}
        inner = {k: v for k, v in text_block.items() if k not in ("text", "signature")}
        if inner:
            rest["reasoningText"] = inner
        return Thinking(text, signature, BEDROCK, extra={BEDROCK: rest} if rest else {})
    data = _field(reasoning, "redactedContent", str, where)
    rest = {k: v for k, v in reasoning.items() if k != "redactedContent"}
    return Thinking("", data, BEDROCK, redacted=True, extra={BEDROCK: rest} if rest else {})


def _tool_result_part(block: Block, where: str, names: dict[str, str]) -> ToolResult:
    result = _field(block, "toolResult", dict, where)
    where = f"{where}.toolResult"
    call_id = _field(result, "toolUseId", str, where)
    status = result.get("status")
    rest = {k: v for k, v in result.items() if k not in ("toolUseId", "content", "status")}
    if status not in (None, "error"):
        rest["status"] = status  # an explicit "success" goes back as it came
    texts: list[str] = []
    attachments: list[Image | File] = []
    for item, at in _blocks(result.get("content", []), f"{where}.content"):
        if "text" in item:
            texts.append(_field(item, "text", str, at))
        elif "json" in item and not texts and CONTENT_JSON not in rest:
            texts.append(json.dumps(item["json"]))
            rest[CONTENT_JSON] = True
        elif "image" in item or "document" in item:
            attachments.append(_media(item, at))
        else:
            expected = "a text, json, image or document block (in a tool result)"
            READ.never(item, expected, at)
    is_error = status == "error"
    output = "".join(texts)
    extra = {BEDROCK: rest} if rest else {}
    return ToolResult(names.get(call_id, ""), output, call_id, is_error, attachments, extra=extra)


def _user_part(block: Block, where: str) -> Part:
    if "text" in block:
        return _text(block, where)
    if "image" in block or "document" in block:
        return _media(block, where)
    return ProviderPart(BEDROCK, next(iter(block)), block)  # a cachePoint, guardContent...


def _media(block: Block, where: str) -> Image | File:
    image = "image" in block
    key = "image" if image else "document"
    inner = _field(block, key, dict, where)
    where = f"{where}.{key}"
    wire_format = _field(inner, "format", str, where)
    source = _field(inner, "source", dict, where)
    kind = _MEDIA_TYPES.get(wire_format)
    rest = {k: v for k, v in inner.items() if k not in ("format", "source", "name")}
    fields: dict[str, Any] = {"media_type": kind}
    if "bytes" in source:
        try:
            data = decode_base64(_field(source, "bytes", str, f"{where}.source"))
        except MediaError as exc:
            raise READ.refuse(f"{where}.source.bytes", str(exc)) from None
        fields["data"] = data
    elif isinstance(source.get("s3Location"), dict):
        fields["url"] = _field(source["s3Location"], "uri", str, f"{where}.source.s3Location")
    else:
        READ.never(source, "an object holding bytes or an s3Location", where, "source")
    if kind is None:
        rest["format"] = wire_format  # unknown to this codec: goes back as it came
    extra = {BEDROCK: rest} if rest else {}
    if image:
        return Image(**fields, extra=extra)
    return File(filename=_field(inner, "name", str, where, optional=True), **fields, extra=extra)


def _text(block: Block, where: str) -> Text:
    rest = {k: v for k, v in block.items() if k != "text"}
    return Text(_field(block, "text", str, where), {BEDROCK: rest} if rest else {})


def _blocks(content: Any, where: str) -> list[tuple[Block, str]]:
    """The blocks of a content list, each with its place for error messages."""
    READ.list(content, where)
    for index, block in enumerate(content):
        expected = "an object naming its kind (a non-empty object)"
        READ.expect(isinstance(block, dict) and bool(block), block, expected, where, index)
    return [(block, f"{where}[{index}]") for index, block in enumerate(content)]
