"""OpenAI Chat Completions: lossless conversion between neutral messages and ``messages``.

How the neutral model maps onto the wire:

- A neutral tool message becomes one ``role: tool`` message per
  [`ToolResult`][agentloop.ToolResult]; consecutive tool messages decode back into one neutral tool
  message, each result named after the call it answers. Chat has no error flag, so ``is_error`` is
  not
  sent: the output text is what tells the model a tool failed.
- Tool messages take only text, so the images and files a tool returned go in one
  user message right after the tool messages. Its text parts are markers naming
  the tool call (`attachment_marker`), which is how decoding gives the media
  back to their results.
- Thinking with ``provider == "openai"`` is the ``reasoning`` (Ollama, OpenRouter,
  Groq) or ``reasoning_content`` (vLLM, DeepSeek) field of an assistant message;
  the field name is remembered in ``extra``. Thinking from other formats is left out.
- Images pass by URL; everything else is inlined as base64. Chat cannot fetch
  file URLs, so those are downloaded (`Media.read`). OpenAI requires a
  ``filename`` with ``file_data``, so a file without one gets a made-up name.
- Fields the neutral model has no place for (``name``, ``refusal``, Gemini's
  ``extra_content``, a tool call's ``index``...) are kept in ``extra["openai"]``.
"""

from __future__ import annotations

import copy
import json
import mimetypes
import re
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from agentloop.errors import ConversionError, MediaError
from agentloop.media import File, Image, Media, decode_base64, encode_base64, guess_media_type
from agentloop.messages import (
    Message,
    Part,
    Text,
    Thinking,
    ToolCall,
    ToolResult,
)
from agentloop.portable import portable
from agentloop.providers.media_fetch import pending
from agentloop.providers.wire_cache import MessageCache
from agentloop.providers.wire_fields import MISSING, MessageReader, with_kept
from agentloop.providers.wire_json import arguments_text, read_arguments

#: This wire format's name: the key of its fields in a part's ``extra``, and the
#: ``provider`` of its `Thinking` and `ProviderPart`s and of its errors.
OPENAI = "openai"

API = "OpenAI Chat Completions"
REASONING_FIELDS = ("reasoning", "reasoning_content")
DEFAULT_REASONING_FIELD = "reasoning"
_AUDIO_FORMATS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/mpeg": "mp3", "audio/mp3": "mp3"}
_AUDIO_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}
_MEDIA_FIELDS = {
    "image_url": {"url", "detail"},
    "input_audio": {"data", "format"},
    "file": {"file_data", "filename"},
}
_MARKER = re.compile(r'\ATool call ("(?:[^"\\]|\\.)*") returned these attachments:\Z')


def attachment_marker(tool_call_id: str) -> str:
    """The text that introduces a tool result's attachments in the user message after it."""
    return f"Tool call {json.dumps(tool_call_id, ensure_ascii=False)} returned these attachments:"


# -- neutral -> wire ---------------------------------------------------------------------------


def encode_messages(
    messages: Sequence[Message], cache: MessageCache | None = None
) -> list[dict[str, Any]]:
    """Chat Completions ``messages`` for neutral messages; with a run's ``cache``, a message
    already sent in the run is not converted again (each message encodes on its own)."""
    if cache is not None:
        return cache.encode(messages, _encode_message)
    out: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        out.extend(_encode_message(index, message))
    return out


def _encode_message(index: int, message: Message) -> list[dict[str, Any]]:
    # No provider tool writes Chat Completions parts: every ProviderPart is rendered or dropped.
    (message,) = portable([message], OPENAI)
    where = f"message {index} ({message.role})"
    if message.role == "tool":
        return _encode_tool_message(message, where)
    if message.role == "assistant":
        return [_encode_assistant(message, where)]
    return [_encode_user_or_system(message, where)]


def _encode_user_or_system(message: Message, where: str) -> dict[str, Any]:
    allowed: tuple[type, ...] = (Text,) if message.role == "system" else (Text, Image, File)
    for part in message.parts:
        if not isinstance(part, allowed):
            raise _cannot_carry(part, where)
    kept = message.extra.get(OPENAI) or {}
    # "developer" (OpenAI's newer name for system) is kept from the wire: sent back as such
    role = "developer" if message.role == "system" and kept.get("role") == "developer" else None
    encoded = {"role": role or message.role, "content": _encode_content(message.parts, where)}
    return with_kept(encoded, kept)


def _encode_content(parts: Sequence[Part], where: str) -> str | list[dict[str, Any]]:
    """A lone plain text is sent as a string, anything else as a list of parts."""
    if len(parts) == 1 and isinstance(parts[0], Text) and OPENAI not in parts[0].extra:
        return parts[0].text
    return _encode_parts(parts, where)


def _encode_parts(parts: Sequence[Part], where: str) -> list[dict[str, Any]]:
    encoded = []
    for part in parts:
        if isinstance(part, Text):
            encoded.append(with_kept({"type": "text", "text": part.text}, part.extra.get(OPENAI)))
        elif isinstance(part, Media):
            encoded.append(with_kept(_encode_media(part, where), part.extra.get(OPENAI)))
        else:
            raise _cannot_carry(part, where)
    return encoded


def media_to_fetch(messages: Sequence[Message]) -> list[Media]:
    """The URL-only parts Chat Completions is sent as bytes (pure): every file and audio part
    (only images go by URL). Fetched before encoding."""
    return pending(messages, _inlined)


def _inlined(media: Media, _in_tool_result: bool) -> bool:
    return not isinstance(media, Image)


def _encode_media(media: Media, where: str) -> dict[str, Any]:
    if isinstance(media, Image):
        passes = media.url is not None and media.url.startswith(("http://", "https://"))
        image = {"url": media.url if passes else _data_url(media, where), "detail": media.detail}
        return {"type": "image_url", "image_url": {k: v for k, v in image.items() if v is not None}}
    if media.mime_type.startswith("audio/"):
        audio_format = _AUDIO_FORMATS.get(media.mime_type, media.mime_type.split("/", 1)[1])
        data = _data_url(media, where).split(",", 1)[1]
        return {"type": "input_audio", "input_audio": {"data": data, "format": audio_format}}
    file = {"file_data": _data_url(media, where), "filename": _filename(media)}
    return {"type": "file", "file": file}


def _data_url(media: Media, where: str) -> str:
    if media.data is None and media.url and not media.url.startswith(("http://", "https://")):
        raise _error(f"cannot fetch {media.url} ({where}); pass the bytes or an https URL")
    return f"data:{media.mime_type};base64,{encode_base64(media.fetched_data())}"


def _filename(media: Media) -> str:
    """OpenAI refuses ``file_data`` without a filename, so a nameless file gets one."""
    from_url = (media.url or "").split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return media.filename or from_url or "file" + (mimetypes.guess_extension(media.mime_type) or "")


def _encode_assistant(message: Message, where: str) -> dict[str, Any]:
    encoded: dict[str, Any] = {"role": "assistant"}
    texts: list[Text] = []
    calls: list[dict[str, Any]] = []
    for part in message.parts:
        if isinstance(part, Text):
            texts.append(part)
        elif isinstance(part, ToolCall):
            calls.append(_encode_tool_call(part, where))
        elif isinstance(part, Thinking):
            _encode_thinking(part, encoded, where)
        else:
            raise _cannot_carry(part, where)
    if texts:
        encoded["content"] = _encode_content(texts, where)
    elif not calls:
        encoded["content"] = None
    if calls:
        encoded["tool_calls"] = calls
    return with_kept(encoded, message.extra.get(OPENAI))


def _encode_thinking(thinking: Thinking, encoded: dict[str, Any], where: str) -> None:
    if thinking.provider != OPENAI:
        return  # no provider accepts another's reasoning
    if thinking.signature is not None or thinking.redacted:
        raise _error(f"reasoning is sent back as plain text only; {where} has a signed one")
    field = thinking.extra.get(OPENAI, {}).get("field", DEFAULT_REASONING_FIELD)
    if field in encoded:
        raise _error(f"an assistant message carries one {field!r} text; {where} has several")
    encoded[field] = thinking.text


def _encode_tool_call(call: ToolCall, where: str) -> dict[str, Any]:
    encoded = {
        "id": call.tool_call_id,
        "type": "function",
        "function": {"name": call.name, "arguments": arguments_text(call, _error, where)},
    }
    return with_kept(encoded, call.extra.get(OPENAI))


def _encode_tool_message(message: Message, where: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    attachments: list[dict[str, Any]] = []
    for part in message.parts:
        if not isinstance(part, ToolResult):
            raise _cannot_carry(part, where)
        encoded = {"role": "tool", "tool_call_id": part.tool_call_id, "content": part.output}
        # a result's own kept fields before its message's: the nearer one wins
        out.append(with_kept(with_kept(encoded, part.extra.get(OPENAI)), message.extra.get(OPENAI)))
        if part.attachments:
            attachments.append({"type": "text", "text": attachment_marker(part.tool_call_id)})
            attachments.extend(_encode_parts(part.attachments, where))
    if attachments:
        out.append({"role": "user", "content": attachments})
    return out


# -- wire -> neutral ---------------------------------------------------------------------------

#: Checked reads of a caller's messages: a wrong field is a `ConversionError` naming its path.
READ = MessageReader(OPENAI)
_ROLES = ("user", "assistant", "system", "developer", "tool")


def decode_messages(messages: Sequence[dict[str, Any]]) -> list[Message]:
    """Neutral messages for Chat Completions ``messages``."""
    if isinstance(messages, str | bytes | Mapping) or not isinstance(messages, Sequence):
        raise READ.fail("messages", "a list of message objects", messages)
    decoder = _Decoder()
    for index, raw in enumerate(messages):
        decoder.add(READ.object(raw, "messages", index), f"messages[{index}]")
    return decoder.out


def decode_assistant(raw: Any, where: str = "message") -> Message:
    """One assistant message as a reply carries it (``choices[0].message``)."""
    return _decode_assistant(READ.object(raw, where), where)


class _Decoder:
    """Walks the wire messages, pairing tool messages with the calls they answer."""

    def __init__(self) -> None:
        self.out: list[Message] = []
        self.open_calls: list[ToolCall] = []  # calls of the last assistant message not yet answered
        self.tool_run: Message | None = None  # the neutral tool message being filled

    def add(self, raw: dict[str, Any], where: str) -> None:
        role = READ.one_of(raw.get("role", MISSING), _ROLES, where, "role")
        if role == "tool":
            self._add_tool_result(raw, where)
            return
        run, self.tool_run = self.tool_run, None
        if role == "user" and run is not None and _take_attachments(raw, run, where):
            return
        if role == "assistant":
            message = _decode_assistant(raw, where)
            self.open_calls = list(message.tool_calls)
        else:
            message = _decode_user_or_system(raw, role, where)
        self.out.append(message)

    def _add_tool_result(self, raw: dict[str, Any], where: str) -> None:
        call_id = READ.string(raw.get("tool_call_id", MISSING), where, "tool_call_id")
        output = _tool_output(raw.get("content"), f"{where}.content")
        call = next((c for c in self.open_calls if c.tool_call_id == call_id), None)
        if call is not None:
            self.open_calls.remove(call)
            name = call.name
        else:  # an answer to a call we never saw: a name the sender gave is the best we have
            name = raw["name"] if isinstance(raw.get("name"), str) else ""
        extra = _extra(raw, {"role", "tool_call_id", "content"})
        if self.tool_run is None:
            self.tool_run = Message("tool")
            self.out.append(self.tool_run)
        self.tool_run.parts.append(ToolResult(name, output, call_id, extra=extra))


def _tool_output(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        READ.never(content, "a string or a list of text parts", where)
    texts = []
    for index, part in enumerate(content):
        part = READ.object(part, where, index)
        READ.expect(
            part.get("type") == "text" and isinstance(part.get("text"), str),
            part,
            "a text part (a tool message holds only text)",
            where,
            index,
        )
        texts.append(part["text"])
    return "".join(texts)


def _take_attachments(raw: dict[str, Any], run: Message, where: str) -> bool:
    """Give a tool-attachments user message's media to the results of ``run``.

    Only a message made entirely of markers, each naming (in order) a result of
    the run and followed by media, qualifies: a real user message never does.
    """
    content = raw.get("content")
    if set(raw) != {"role", "content"} or not isinstance(content, list) or not content:
        return False
    results = [p for p in run.parts if isinstance(p, ToolResult)]
    assignment: list[tuple[ToolResult, list[Image | File]]] = []
    for part in _decode_parts(content, f"{where}.content"):
        if isinstance(part, Image | File) and assignment:
            assignment[-1][1].append(part)
            continue
        match = _MARKER.match(part.text) if isinstance(part, Text) and not part.extra else None
        call_id = _json_string(match.group(1)) if match else None
        if call_id is None:
            return False
        start = results.index(assignment[-1][0]) + 1 if assignment else 0
        result = next((r for r in results[start:] if r.tool_call_id == call_id), None)
        if result is None:
            return False
        assignment.append((result, []))
    if any(not media for _, media in assignment):
        return False
    for result, media in assignment:
        result.attachments.extend(media)
    return True


def _json_string(text: str) -> str | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _decode_user_or_system(raw: dict[str, Any], role: str, where: str) -> Message:
    content = raw.get("content")
    if isinstance(content, str):
        parts: list[Part] = [Text(content)]
    elif isinstance(content, list):
        parts = list(_decode_parts(content, f"{where}.content"))
    else:
        READ.never(content, "a string or a list of parts", where, "content")
    if role != "user":
        _only_text(parts, content, f"{where}.content", f"a {role} message")
    # "developer" (OpenAI's newer name for system) stays in extra so it is sent back as such
    extra = _extra(raw, {"content"} | ({"role"} if role != "developer" else set()))
    return Message("user" if role == "user" else "system", parts, extra)


def _only_text(parts: Sequence[Part], content: Any, where: str, holder: str) -> None:
    for index, part in enumerate(parts):
        expected = f"a text part ({holder} holds only text)"
        READ.expect(isinstance(part, Text), content[index], expected, where, index)


#: The fields of an assistant message that are parts of the neutral one.
_ASSISTANT_FIELDS = frozenset({"role", "content", "tool_calls"})


def _decode_assistant(raw: dict[str, Any], where: str) -> Message:
    parts: list[Part] = []
    known: AbstractSet[str] = _ASSISTANT_FIELDS
    if not raw.keys().isdisjoint(REASONING_FIELDS):  # in the order the reply has them
        known = set(known)
        for key, value in raw.items():
            if key in REASONING_FIELDS and isinstance(value, str):
                known.add(key)
                field = {} if key == DEFAULT_REASONING_FIELD else {OPENAI: {"field": key}}
                parts.append(Thinking(value, provider=OPENAI, extra=field))
    content = raw.get("content")
    if isinstance(content, str):
        parts.append(Text(content))
    elif isinstance(content, list):
        texts = _decode_parts(content, f"{where}.content")
        _only_text(texts, content, f"{where}.content", "an assistant message")
        parts.extend(texts)
    elif content is not None:
        READ.never(content, "a string, a list of parts or null", where, "content")
    calls = READ.list_or_none(raw.get("tool_calls"), where, "tool_calls")
    for index, call in enumerate(calls or []):
        at_call = f"{where}.tool_calls[{index}]"
        parts.append(_decode_tool_call(READ.object(call, at_call), at_call))
    return Message("assistant", parts, _extra(raw, known))


def _decode_tool_call(raw: dict[str, Any], where: str) -> ToolCall:
    READ.one_of(raw.get("type", "function"), ("function",), where, "type")
    call_id = READ.string(raw.get("id", MISSING), where, "id")
    function = READ.object(raw.get("function", MISSING), where, "function")
    name = READ.string(function.get("name", MISSING), f"{where}.function", "name")
    text = function.get("arguments", MISSING)
    if not isinstance(text, str | dict):
        READ.never(text, "a string or an object", f"{where}.function", "arguments")
    arguments, raw_arguments = _parse_arguments(text)
    extra = _extra(raw, {"id", "type", "function"})
    nested = _extra(function, {"name", "arguments"})
    if nested:
        extra.setdefault(OPENAI, {})["function"] = nested[OPENAI]
    return ToolCall(name, arguments, call_id, raw_arguments, extra)


def _parse_arguments(text: str | dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Arguments as a dict; text that is not a JSON object is kept instead (`read_arguments`)."""
    if isinstance(text, dict):
        return copy.deepcopy(text), None
    return read_arguments(text)


def _decode_parts(content: list[Any], where: str) -> list[Text | Image | File]:
    return [_decode_part(READ.object(p, where, i), f"{where}[{i}]") for i, p in enumerate(content)]


def _decode_part(raw: dict[str, Any], where: str) -> Text | Image | File:
    kind = READ.one_of(raw.get("type", MISSING), ("text", *_MEDIA_FIELDS), where, "type")
    if kind == "text":
        text = READ.string(raw.get("text", MISSING), where, "text")
        return Text(text, _extra(raw, {"type", "text"}))
    body = READ.object(raw.get(kind, MISSING), where, kind)
    try:
        part = _decode_media(kind, body, f"{where}.{kind}")
    except MediaError as exc:
        raise READ.refuse(f"{where}.{kind}", str(exc)) from None
    part.extra = _extra(raw, {"type", kind})
    nested = _extra(body, _MEDIA_FIELDS[kind])
    if nested:
        part.extra.setdefault(OPENAI, {})[kind] = nested[OPENAI]
    return part


def _decode_media(kind: str, body: dict[str, Any], where: str) -> Image | File:
    if kind == "image_url":
        url = READ.string(body.get("url", MISSING), where, "url")
        detail = READ.string_or_none(body.get("detail"), where, "detail")
        if url.startswith("data:"):
            return Image(url, detail=detail)
        return Image(url=url, media_type=guess_media_type(url), detail=detail)
    if kind == "input_audio":
        data = decode_base64(READ.string(body.get("data", MISSING), where, "data"))
        audio_format = READ.string(body.get("format", MISSING), where, "format")
        return File(data=data, media_type=_AUDIO_TYPES.get(audio_format, f"audio/{audio_format}"))
    if "file_data" not in body and "file_id" in body:
        raise READ.refuse(f"{where}.file_id", "references to uploaded files are not supported")
    file_data = READ.string(body.get("file_data", MISSING), where, "file_data")
    source = file_data if file_data.startswith("data:") else decode_base64(file_data)
    return File(source, READ.string_or_none(body.get("filename"), where, "filename"))


# -- helpers ---------------------------------------------------------------------------------------


def _extra(raw: Mapping[str, Any], known: AbstractSet[str]) -> dict[str, dict[str, Any]]:
    """The fields of ``raw`` the neutral model has no place for, as a part's ``extra``."""
    unknown = {k: copy.deepcopy(v) for k, v in raw.items() if k not in known}
    return {OPENAI: unknown} if unknown else {}


def _cannot_carry(part: Part, where: str) -> ConversionError:
    return _error(f"cannot carry a {type(part).__name__} part in {where}")


def _error(message: str) -> ConversionError:
    return ConversionError(f"{API}: {message}", provider=OPENAI)
