"""Anthropic Messages: lossless conversion between neutral messages and ``(system, messages)``.

The wire format differs from the neutral model in a few ways, handled here:

- The system prompt is a top-level field, not a message. Every system message,
  wherever it stands, is hoisted into it in order (Anthropic has no
  mid-conversation system role). It is a plain string when it is one text part
  with no extras, else a list of text blocks.
- Roles alternate. Consecutive messages that map to the same wire role are
  merged; a neutral ``tool`` message becomes ``tool_result`` blocks of a user
  message, always placed before that message's other blocks, as the service
  requires. On import, a user message's ``tool_result`` blocks become a tool
  message, followed by a user message holding the other blocks, if any.
- ``tool_result`` carries no tool name: it is recovered from the matching
  ``tool_use`` id (empty when there is none).
- Images go as base64 or URL (jpeg, png, gif, webp); files as documents: PDF
  (base64 or URL) and text (``text/*`` is sent as ``text/plain`` source text; a
  text URL is downloaded and inlined). An image-typed File goes as an image
  block and so imports back as an Image. A Files API ``file_id`` source is kept
  as is. Anything else (audio, video, other binaries, another provider's stored
  file) raises ConversionError.
- Server tools' blocks (``server_tool_use``, ``*_tool_result``) are ProviderParts kept as
  received (``server_tools.py``).
- Block fields the neutral model has no field for (``cache_control``,
  ``citations``, also read into ``Text.citations``, an explicit ``"is_error": false``, a
  document's ``context``) are kept in ``extra["anthropic"]`` and written back. A document's
  ``title`` is the file's ``filename``. Extras of the text block inside a list-form tool
  result live under the extra key ``"text_block"``.
- Thinking is sent back only when it came from Anthropic; a redacted block's
  ``data`` is the Thinking's ``signature``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, NoReturn

from agentloop.errors import ConversionError, MediaError
from agentloop.media import File, Image, Media, decode_base64, encode_base64, guess_media_type
from agentloop.messages import (
    Extra,
    Message,
    Part,
    ProviderPart,
    Text,
    Thinking,
    ToolCall,
    ToolResult,
)
from agentloop.portable import portable
from agentloop.providers.anthropic.format import ANTHROPIC
from agentloop.providers.anthropic.server_tools import (
    citations,
    decode_server_block,
    encode_server_block,
    is_server_block,
)
from agentloop.providers.block_turns import BlockTurns
from agentloop.providers.media_fetch import pending
from agentloop.providers.wire_cache import MessageCache, joined_list
from agentloop.providers.wire_fields import MISSING, MessageReader, with_kept
from agentloop.providers.wire_json import arguments_text

Block = dict[str, Any]
System = str | list[Block] | None

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
PDF = "application/pdf"
TEXT_BLOCK = "text_block"
_HTTP = ("http://", "https://")


def _error(message: str) -> ConversionError:
    return ConversionError(f"Anthropic: {message}", provider=ANTHROPIC)


#: Checked reads of a caller's messages: a wrong field is a `ConversionError` naming its path.
READ = MessageReader(ANTHROPIC)
_TURNS = BlockTurns(READ, lambda block: block["type"] == "tool_result")
_field = _TURNS.field


# -- encoding: neutral -> wire --------------------------------------------------


def encode_messages(
    messages: Sequence[Message], cache: MessageCache | None = None
) -> tuple[System, list[Block]]:
    """The ``system`` value and the ``messages`` list of a Messages API request; with a run's
    ``cache``, a message already sent in the run is not converted again, nor a wire message
    (consecutive messages of one role, merged) serialized again."""
    system: list[Block] = []
    runs: list[list[list[Block]]] = []  # the units of each wire message (same-role runs)
    plain = True
    for index, message in enumerate(messages):
        units = cache.items(index, message, _unit) if cache is not None else _unit(index, message)
        unit = units[0]
        if unit["role"] == "system":
            system.extend(unit["content"])
        elif unit["content"] or unit["extra"]:  # else nothing Anthropic can carry: left out
            plain = plain and unit["plain"]
            if runs and runs[-1][0][0]["role"] == unit["role"]:
                runs[-1].append(units)
            else:
                runs.append([units])
    if cache is None or not plain:
        return _system_value(system), _wire_messages([units for run in runs for units in run])
    wire = joined_list(cache.combined(run, partial(_wire_messages, run)) for run in runs)
    return _system_value(system), wire


def _unit(index: int, message: Message) -> list[Block]:
    """One message on its own: its wire role, its kept message fields and its blocks (for
    a system message, the blocks of the system prompt)."""
    (message,) = portable([message], ANTHROPIC)
    try:
        if message.role == "system":
            content = [_encode_system_part(part) for part in message.parts]
            return [{"role": "system", "extra": {}, "content": content, "plain": True}]
        blocks = [b for p in message.parts if (b := _encode_part(p, message))]
    except ConversionError as exc:
        detail = str(exc).removeprefix("Anthropic: ")
        raise _error(f"message {index} ({message.role}): {detail}") from None
    role = "assistant" if message.role == "assistant" else "user"
    extra = message.extra.get(ANTHROPIC, {})
    # kept fields named role or content would change how messages merge: never cached
    plain = not {"role", "content"} & extra.keys()
    return [{"role": role, "extra": extra, "content": blocks, "plain": plain}]


def _wire_messages(units: Sequence[list[Block]]) -> list[Block]:
    wire: list[Block] = []
    for (unit,) in units:
        _TURNS.append(wire, unit["role"], unit["extra"], unit["content"])
    return wire


def _system_value(blocks: list[Block]) -> System:
    if not blocks:
        return None
    if len(blocks) == 1 and blocks[0].keys() == {"type", "text"}:
        return str(blocks[0]["text"])
    return blocks


def _encode_system_part(part: Part) -> Block:
    if not isinstance(part, Text):
        raise _error(f"the system prompt takes only text, not a {type(part).__name__} part")
    return _text_block(part)


def _encode_part(part: Part, message: Message) -> Block | None:
    assistant = message.role == "assistant"
    if isinstance(part, Text):
        return _text_block(part)
    if isinstance(part, Thinking):
        if part.provider != ANTHROPIC:
            return None  # no provider accepts another's reasoning
        return _thinking_block(part) if assistant else _misplaced(part, message)
    if isinstance(part, ToolCall):
        return _tool_use_block(part) if assistant else _misplaced(part, message)
    if isinstance(part, ProviderPart):
        return encode_server_block(part)  # portable() left only Anthropic's own
    if assistant:
        return _misplaced(part, message)
    if isinstance(part, ToolResult):
        return _tool_result_block(part)
    return _media_block(part)


def _misplaced(part: Part, message: Message) -> NoReturn:
    raise _error(f"a {type(part).__name__} part cannot go in a {message.role} message")


def _own(extra: Extra) -> Block:
    return dict(extra.get(ANTHROPIC, {}))


def _text_block(part: Text) -> Block:
    return with_kept({"type": "text", "text": part.text}, part.extra.get(ANTHROPIC))


def _thinking_block(part: Thinking) -> Block:
    if part.redacted:
        if part.signature is None:
            raise _error("redacted thinking needs its data in Thinking.signature")
        block = {"type": "redacted_thinking", "data": part.signature}
        return with_kept(block, part.extra.get(ANTHROPIC))
    block = {"type": "thinking", "thinking": part.text}
    if part.signature is not None:
        block["signature"] = part.signature
    return with_kept(block, part.extra.get(ANTHROPIC))


def _tool_use_block(call: ToolCall) -> Block:
    # Anthropic's input is always an object: unparseable raw arguments from another
    # provider go as {}, and the tool result already tells the model what was wrong.
    arguments_text(call, _error)  # refused here, rather than when the body is written
    block = {"type": "tool_use", "id": call.tool_call_id, "name": call.name}
    return with_kept({**block, "input": dict(call.arguments)}, call.extra.get(ANTHROPIC))


def _tool_result_block(result: ToolResult) -> Block:
    kept = _own(result.extra)
    text_extra = kept.pop(TEXT_BLOCK, None)
    block: Block = {"type": "tool_result", "tool_use_id": result.tool_call_id}
    if result.attachments or text_extra is not None:
        text = [with_kept({"type": "text", "text": result.output}, text_extra)]
        block["content"] = text[: 1 if result.output or text_extra else 0]
        block["content"] += [_media_block(media) for media in result.attachments]
    elif result.output:
        block["content"] = result.output
    if result.is_error or "is_error" in kept:
        block["is_error"] = result.is_error
    return with_kept(block, kept)


def media_to_fetch(messages: Sequence[Message]) -> list[Media]:
    """The URL-only parts Anthropic is sent as bytes (pure): text documents, which it takes
    only as text (images and PDFs go by URL). Fetched before encoding."""
    return pending(messages, _inlined)


def _inlined(media: Media, _in_tool_result: bool) -> bool:
    return not isinstance(media, Image) and (media.media_type or "").startswith("text/")


def _media_block(media: Media) -> Block:
    kept = _own(media.extra)
    image = isinstance(media, Image) or (media.media_type or "").startswith("image/")
    if media.data is not None or media.url is not None:
        source = _image_source(media) if image else _document_source(media)
    elif kept.get("source", {}).get("type") != "file":  # a Files API file_id: source as kept
        stored = ", ".join(media.extra) or "nowhere"
        raise _error(f"this {type(media).__name__} is a file stored by {stored}; send its bytes")
    else:
        source = {}
    block = {"type": "image" if image else "document", "source": source}
    if not image and media.filename is not None:
        block["title"] = media.filename
    return with_kept(block, kept)


def _image_source(image: Media) -> Block:
    kind = image.media_type
    if kind is not None and kind not in IMAGE_TYPES:
        raise _unsupported(image, "images of type jpeg, png, gif and webp")
    if _by_url(image):
        return {"type": "url", "url": image.url}
    if kind is None:
        raise _error("cannot tell the image type of these bytes; pass media_type=")
    return {"type": "base64", "media_type": kind, "data": encode_base64(image.fetched_data())}


def _document_source(file: Media) -> Block:
    kind = file.media_type
    if kind == PDF or (kind is None and file.url is not None):
        if _by_url(file):
            return {"type": "url", "url": file.url}  # Anthropic fetches PDF URLs itself
        return {"type": "base64", "media_type": PDF, "data": encode_base64(file.fetched_data())}
    if kind is not None and kind.startswith("text/"):
        _check_fetchable(file)
        try:
            text = file.fetched_data().decode("utf-8")
        except UnicodeDecodeError:
            raise _error(f"the {kind} file {file.filename or ''} is not UTF-8 text") from None
        return {"type": "text", "media_type": "text/plain", "data": text}
    raise _unsupported(file, "PDF and plain-text documents")


def _by_url(media: Media) -> bool:
    """Whether the part goes by URL: only an http(s) one, which Anthropic fetches itself."""
    _check_fetchable(media)
    return media.url is not None and media.url.startswith(_HTTP)


def _check_fetchable(media: Media) -> None:
    # A URL nobody here can fetch (a gs:// URI) with no bytes beside it: refused, as for OpenAI.
    if media.data is None and media.url is not None and not media.url.startswith(_HTTP):
        raise _error(f"cannot fetch {media.url}; pass the bytes or an https URL")


def _unsupported(media: Media, accepted: str) -> ConversionError:
    what = media.media_type or "unknown type"
    return _error(f"cannot take a {type(media).__name__} part of {what}; it accepts {accepted}")


# -- decoding: wire -> neutral --------------------------------------------------


def decode_messages(system: System | Sequence[Block], messages: Sequence[Block]) -> list[Message]:
    """Neutral messages from a Messages API request's ``system`` and ``messages``."""
    return _decode_system(system) + _TURNS.decode(messages, _decode_message)


def decode_assistant_content(content: object, where: str = "content") -> list[Part]:
    """The parts of a reply's ``content`` blocks (what a Messages API response holds)."""
    return [_decode_assistant_block(block, at, {}) for block, at in _blocks(content, where)]


def _decode_system(system: object) -> list[Message]:
    if system is None:
        return []
    if isinstance(system, str):
        return [Message("system", [Text(system)])]
    if not isinstance(system, list | tuple):
        READ.never(system, "a string or a list of text blocks", "system")
    return [Message("system", [_decode_text(b, at) for b, at in _blocks(list(system), "system")])]


def _decode_message(
    wire: Block, role: str, where: str, tool_names: dict[str, str]
) -> list[Message]:
    content = wire.get("content")
    blocks = _blocks(
        [{"type": "text", "text": content}] if isinstance(content, str) else content,
        f"{where}.content",
    )
    extra = _wrap(_rest(wire, "role", "content"))
    if role == "assistant":
        parts = [_decode_assistant_block(b, at, tool_names) for b, at in blocks]
        return [Message("assistant", parts, extra)]
    results: list[Part] = [
        _decode_tool_result(b, at, tool_names) for b, at in blocks if b["type"] == "tool_result"
    ]
    others: list[Part] = [
        _decode_user_block(b, at) for b, at in blocks if b["type"] != "tool_result"
    ]
    return _TURNS.user_messages(results, others, extra)


def _decode_assistant_block(block: Block, where: str, tool_names: dict[str, str]) -> Part:
    kind = block["type"]
    if kind == "text":
        return _decode_text(block, where)
    if kind == "tool_use":
        call_id, name = _field(block, "id", str, where), _field(block, "name", str, where)
        tool_names[call_id] = name
        arguments = _field(block, "input", dict, where)
        return ToolCall(name, arguments, call_id, extra=_wrap(_rest(block, "id", "name", "input")))
    if kind == "thinking":
        signature = _field(block, "signature", str, where, optional=True)
        text = _field(block, "thinking", str, where)
        rest = _wrap(_rest(block, "thinking", "signature"))
        return Thinking(text, signature, ANTHROPIC, extra=rest)
    if kind == "redacted_thinking":
        data = _field(block, "data", str, where)
        return Thinking("", data, ANTHROPIC, redacted=True, extra=_wrap(_rest(block, "data")))
    if is_server_block(kind):
        return decode_server_block(block)
    # A block type newer than this codec (``container_upload``, say) is the service's own
    # output: keep it as received, so it goes back unchanged and nothing the model said is lost;
    # other providers never see it (it has no rendering).
    return ProviderPart(ANTHROPIC, str(kind), block, "")


def _decode_tool_result(block: Block, where: str, tool_names: dict[str, str]) -> ToolResult:
    call_id = _field(block, "tool_use_id", str, where)
    rest = _rest(block, "tool_use_id", "content", "is_error")
    is_error = block.get("is_error", False)
    READ.expect(isinstance(is_error, bool), is_error, "a boolean", where, "is_error")
    if "is_error" in block and not is_error:
        rest["is_error"] = False  # keep an explicit false so the payload comes back unchanged
    content = block.get("content", "")
    attachments: list[Image | File] = []
    if isinstance(content, str):
        output = content
    else:
        output, attachments = _decode_result_content(content, f"{where}.content", rest)
    name = tool_names.get(call_id, "")
    return ToolResult(name, output, call_id, is_error, attachments, extra=_wrap(rest))


def _decode_result_content(
    content: object, where: str, rest: Block
) -> tuple[str, list[Image | File]]:
    texts: list[str] = []
    attachments: list[Image | File] = []
    for block, at in _blocks(content, where):
        part = _decode_user_block(block, at)
        if isinstance(part, Text):
            texts.append(part.text)
            if ANTHROPIC in part.extra:
                rest.setdefault(TEXT_BLOCK, {}).update(part.extra[ANTHROPIC])
        else:
            attachments.append(part)
    return "".join(texts), attachments


def _decode_text(block: Block, where: str) -> Text:
    READ.one_of(block["type"], ("text",), where, "type")
    return Text(_field(block, "text", str, where), _wrap(_rest(block, "text")), citations(block))


def _decode_user_block(block: Block, where: str) -> Text | Image | File:
    kind = block["type"]
    if kind == "text":
        return _decode_text(block, where)
    if kind not in ("image", "document"):
        expected = "'text', 'image', 'document' or 'tool_result' (in a user turn)"
        READ.never(kind, expected, where, "type")
    source = _field(block, "source", dict, where)
    source_type = READ.one_of(source.get("type", MISSING), tuple(_SOURCES), where, "source.type")
    decode = _SOURCES[source_type]
    rest = _rest(block, "source", "title")
    kept = dict(source) if source_type == "file" else _rest(source, "media_type", "data", "url")
    if kept:
        rest["source"] = kept
    fields = decode(source, f"{where}.source")
    if kind == "image":
        return Image(**fields, extra=_wrap(rest))
    title = _field(block, "title", str, where, optional=True)
    return File(filename=title, **fields, extra=_wrap(rest))


def _base64_source(source: Block, where: str) -> dict[str, Any]:
    media_type = _field(source, "media_type", str, where)
    try:
        data = decode_base64(_field(source, "data", str, where))
    except MediaError as exc:
        raise READ.refuse(f"{where}.data", str(exc)) from None
    return {"data": data, "media_type": media_type}


def _url_source(source: Block, where: str) -> dict[str, Any]:
    url = _field(source, "url", str, where)
    return {"url": url, "media_type": guess_media_type(url)}


def _text_source(source: Block, where: str) -> dict[str, Any]:
    media_type = source.get("media_type", "text/plain")
    return {"data": _field(source, "data", str, where).encode("utf-8"), "media_type": media_type}


def _file_source(source: Block, where: str) -> dict[str, Any]:
    _field(source, "file_id", str, where)  # the whole source is kept in extra
    return {}


_SOURCES: dict[str, Callable[[Block, str], dict[str, Any]]] = {
    "file": _file_source,
    "base64": _base64_source,
    "url": _url_source,
    "text": _text_source,
}


def _blocks(content: object, where: str) -> list[tuple[Block, str]]:
    """The blocks of a content list, each with its location for error messages."""
    if not isinstance(content, list):
        READ.never(content, "a string or a list of blocks", where)
    for index, block in enumerate(content):
        READ.string(
            READ.object(block, where, index).get("type", MISSING), f"{where}[{index}]", "type"
        )
    return [(block, f"{where}[{index}]") for index, block in enumerate(content)]


def _rest(block: Block, *known: str) -> Block:
    return {k: v for k, v in block.items() if k not in known and k != "type"}


def _wrap(rest: Block) -> Extra:
    return {ANTHROPIC: rest} if rest else {}
