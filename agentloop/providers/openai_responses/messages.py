"""OpenAI Responses API: neutral messages to and from ``input`` items, losslessly.

Neutral -> wire:

- a system or user message becomes one message item; its ``content`` is a plain string when
  the message is a single plain Text, else a list of ``input_text`` / ``input_image`` /
  ``input_file`` parts;
- an assistant message becomes one item per part, in order: Thinking (from this format only)
  -> ``reasoning``, ToolCall -> ``function_call``, and a run of Text parts -> one assistant
  message item (``output_text``);
- a tool message becomes one ``function_call_output`` per ToolResult; attachments turn
  ``output`` into a list. The format has no error flag, so ``is_error`` is not sent.

Decoding reverses this: consecutive assistant-side items form one assistant message and
consecutive outputs one tool message; an output's tool name comes from its call.

Wire fields the neutral model has no place for (item ``id``, ``status``, ``type: "message"``,
annotations, null fields, ...) are kept in ``extra["openai-responses"]`` and written back:
on the Message for system and user items; under ``"item"`` on the first Text part of an
assistant message item (its presence also marks where a new item starts); on the part itself
otherwise. Only what the default encoding would not reproduce is kept, e.g. ``"list_form"``
for content sent as a list although a plain string would do, or argument text that is not
the compact JSON of the arguments.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from agentloop.errors import ConversionError, MediaError
from agentloop.media import File, Image, guess_media_type
from agentloop.messages import (
    OPENAI_RESPONSES,
    Extra,
    Message,
    Part,
    Role,
    Text,
    Thinking,
    ToolCall,
    ToolResult,
)

FORMAT = OPENAI_RESPONSES
LIST_FORM = "list_form"
ITEM = "item"
SUMMARY_SEPARATOR = "\n\n"
TEXT_TYPES = ("input_text", "output_text", "refusal")
# Responses input_file takes documents, text and spreadsheets; audio and video are refused.
UNSUPPORTED_FILE_TYPES = ("audio/", "video/")
HTTP_SCHEMES = ("http://", "https://")


# -- encoding ------------------------------------------------------------------------------


def encode_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The Responses ``input`` items for ``messages`` (system messages included as items)."""
    items: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        if not isinstance(message, Message):
            raise _error(f"messages[{index}] must be a Message, not {type(message).__name__}")
        if message.role == "assistant":
            items.extend(_encode_assistant(message))
        elif message.role == "tool":
            items.extend(_encode_tool_message(message))
        else:
            items.append(_encode_input_message(message))
    return items


def _encode_input_message(message: Message) -> dict[str, Any]:
    fields = dict(_own(message.extra))
    kept_role = fields.pop("role", None)
    role = "developer" if message.role == "system" and kept_role == "developer" else message.role
    for part in message.parts:
        if not isinstance(part, Text | Image | File):
            raise _cannot_carry(part, f"a {message.role} message")
    return _message_item(role, message.parts, fields)


def _message_item(role: str, parts: Sequence[Part], fields: dict[str, Any]) -> dict[str, Any]:
    list_form = bool(fields.pop(LIST_FORM, False))
    plain = _plain_text(parts)
    content: str | list[dict[str, Any]]
    if plain is not None and not list_form:
        content = plain
    else:
        content = [_encode_content_part(part, role) for part in parts]
    return _merge({"role": role, "content": content}, fields)


def _plain_text(parts: Sequence[Part]) -> str | None:
    """The text of content that is a single Text with nothing to keep, written as a string."""
    if len(parts) == 1 and isinstance(parts[0], Text) and not _text_fields(parts[0]):
        return parts[0].text
    return None


def _text_fields(part: Text) -> dict[str, Any]:
    return {key: value for key, value in _own(part.extra).items() if key != ITEM}


def _encode_content_part(part: Part, role: str) -> dict[str, Any]:
    if isinstance(part, Text):
        fields = _text_fields(part)
        kind = fields.pop("type", "output_text" if role == "assistant" else "input_text")
        return _merge({"type": kind, "refusal" if kind == "refusal" else "text": part.text}, fields)
    if isinstance(part, Image):
        return _encode_image(part)
    if isinstance(part, File):
        return _encode_file(part)
    raise _cannot_carry(part, f"{role} content")


def _encode_image(image: Image) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "input_image"}
    if image.url is not None:
        item["image_url"] = _http_url(image.url, "image")
    elif image.data is not None:
        item["image_url"] = image.data_url()
    if image.detail is not None:
        item["detail"] = image.detail
    return _merge(item, _own(image.extra))


def _encode_file(file: File) -> dict[str, Any]:
    if file.mime_type.startswith(UNSUPPORTED_FILE_TYPES):
        raise _error(
            f"the Responses API cannot take a {file.mime_type} File part "
            "(input_file takes documents, text and spreadsheets)"
        )
    item: dict[str, Any] = {"type": "input_file"}
    if file.url is not None:
        item["file_url"] = _http_url(file.url, "file")
    elif file.data is not None:
        item["file_data"] = file.data_url()
    if file.filename is not None:
        item["filename"] = file.filename
    return _merge(item, _own(file.extra))


def _http_url(url: str, what: str) -> str:
    if not url.startswith(HTTP_SCHEMES):
        raise _error(f"the Responses API fetches only http(s) {what} URLs, not {url!r}")
    return url


def _encode_assistant(message: Message) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for unit in _assistant_units(message.parts):
        first = unit[0]
        if isinstance(first, Text):
            kept = _own(first.extra).get(ITEM)
            fields = dict(kept) if isinstance(kept, dict) else {}
            items.append(_message_item("assistant", unit, fields))
        elif isinstance(first, ToolCall):
            items.append(_encode_tool_call(first))
        elif isinstance(first, Thinking):
            if first.provider == FORMAT:  # no provider accepts another's reasoning
                items.append(_encode_reasoning(first))
        else:
            raise _cannot_carry(first, "an assistant message")
    return items


def _assistant_units(parts: Sequence[Part]) -> list[list[Part]]:
    """Each unit becomes one item: a run of Text parts shares one assistant message item."""
    units: list[list[Part]] = []
    for part in parts:
        joins = (
            isinstance(part, Text)
            and units
            and isinstance(units[-1][-1], Text)
            and ITEM not in _own(part.extra)
        )
        if joins:
            units[-1].append(part)
        else:
            units.append([part])
    return units


def _encode_tool_call(call: ToolCall) -> dict[str, Any]:
    fields = dict(_own(call.extra))
    original = fields.pop("arguments", None)
    same = isinstance(original, str) and _json_object(original) == call.arguments
    arguments = original if same else call.arguments_json()
    item = {"type": "function_call", "call_id": call.tool_call_id, "name": call.name}
    return _merge({**item, "arguments": arguments}, fields)


def _encode_reasoning(thinking: Thinking) -> dict[str, Any]:
    fields = dict(_own(thinking.extra))
    kept = fields.pop("summary", None)
    summary = kept if _summary_matches(kept, thinking.text) else _default_summary(thinking.text)
    item: dict[str, Any] = {"type": "reasoning", "summary": summary}
    if thinking.signature is not None:
        item["encrypted_content"] = thinking.signature
    return _merge(item, fields)


def _summary_matches(kept: Any, text: str) -> bool:
    """Whether a kept summary list still says ``text`` (it is stale if the text was edited)."""
    if not isinstance(kept, list) or not all(isinstance(e, dict) for e in kept):
        return False
    return SUMMARY_SEPARATOR.join(str(entry.get("text", "")) for entry in kept) == text


def _default_summary(text: str) -> list[dict[str, Any]]:
    return [{"type": "summary_text", "text": text}] if text else []


def _encode_tool_message(message: Message) -> list[dict[str, Any]]:
    items = []
    for part in message.parts:
        if not isinstance(part, ToolResult):
            raise _cannot_carry(part, "a tool message (it holds only ToolResult parts)")
        items.append(_encode_tool_result(part))
    return items


def _encode_tool_result(result: ToolResult) -> dict[str, Any]:
    fields = dict(_own(result.extra))
    output: str | list[dict[str, Any]] = result.output
    if fields.pop(LIST_FORM, False) or result.attachments:
        text = [{"type": "input_text", "text": result.output}]
        media = [_encode_content_part(a, "tool") for a in result.attachments]
        output = (text if result.output or not media else []) + media
    item = {"type": "function_call_output", "call_id": result.tool_call_id, "output": output}
    return _merge(item, fields)


def _merge(built: dict[str, Any], kept: dict[str, Any]) -> dict[str, Any]:
    """``built`` plus the kept wire fields; what the neutral part says wins over stale extras."""
    return {**built, **{key: value for key, value in kept.items() if key not in built}}


# -- decoding ------------------------------------------------------------------------------


def decode_messages(
    input: str | Sequence[dict[str, Any]], instructions: str | None = None
) -> list[Message]:
    """Neutral messages from a Responses ``input`` (and ``instructions``, a leading system)."""
    if instructions is not None and not isinstance(instructions, str):
        raise _error(f"instructions must be a string, not {type(instructions).__name__}")
    messages = [Message.system(instructions)] if instructions else []
    if isinstance(input, str):
        return [*messages, Message.user(input)]
    if not isinstance(input, Sequence) or isinstance(input, bytes | bytearray):
        raise _error(f"input must be a string or a list of items, not {type(input).__name__}")
    return _decode_items(input, "input", messages)


def decode_output(output: Sequence[dict[str, Any]]) -> list[Message]:
    """Neutral messages from a reply's ``output`` items (errors name ``output[i]``)."""
    return _decode_items(output, "output", [])


def _decode_items(items: Sequence[Any], field: str, messages: list[Message]) -> list[Message]:
    names = _call_names(items)
    for index, item in enumerate(items):
        where = f"{field}[{index}]"
        if not isinstance(item, dict):
            raise _error(f"{where} must be an object, not {type(item).__name__}")
        _decode_item(item, where, names, messages)
    return messages


def _call_names(items: Sequence[Any]) -> dict[str, str]:
    """Tool names by call_id, since a function_call_output does not repeat its call's name.

    Decoding updates the map as it meets each call; this first pass also names an output
    that comes before its call.
    """
    return {
        item["call_id"]: item["name"]
        for item in items
        if isinstance(item, dict)
        and item.get("type") == "function_call"
        and isinstance(item.get("call_id"), str)
        and isinstance(item.get("name"), str)
    }


def _decode_item(
    item: dict[str, Any], where: str, names: dict[str, str], messages: list[Message]
) -> None:
    kind = item.get("type", "message")
    if kind == "message" and item.get("role") != "assistant":
        messages.append(_decode_input_message(item, where))
    elif kind == "message":
        parts = _decode_assistant_message(item, where, _ends_with_text(messages))
        _append(messages, "assistant", parts)
    elif kind == "function_call":
        call = _decode_tool_call(item, where)
        names[call.tool_call_id] = call.name  # a reused call_id names the latest call
        _append(messages, "assistant", [call])
    elif kind == "reasoning":
        _append(messages, "assistant", [_decode_reasoning(item, where)])
    elif kind == "function_call_output":
        _append(messages, "tool", [_decode_tool_result(item, where, names)])
    else:
        raise _error(
            f"{where} is a {kind!r} item, which agentloop cannot represent "
            "(it reads message, reasoning, function_call and function_call_output items)"
        )


def _ends_with_text(messages: list[Message]) -> bool:
    if not messages or messages[-1].role != "assistant" or not messages[-1].parts:
        return False
    return isinstance(messages[-1].parts[-1], Text)


def _append(messages: list[Message], role: Role, parts: list[Part]) -> None:
    if messages and messages[-1].role == role:
        messages[-1].parts.extend(parts)
    else:
        messages.append(Message(role, parts))


def _decode_input_message(item: dict[str, Any], where: str) -> Message:
    role = item.get("role")
    if role not in ("user", "system", "developer"):
        raise _error(f"{where}.role must be user, system, developer or assistant, not {role!r}")
    fields = _rest(item, ("role", "content"))
    if role == "developer":
        fields["role"] = role
    parts, list_form = _decode_content(item, role, where)
    if list_form:
        fields[LIST_FORM] = True
    return Message("system" if role == "developer" else role, parts, _extra(fields))


def _decode_assistant_message(item: dict[str, Any], where: str, after_text: bool) -> list[Part]:
    fields = _rest(item, ("role", "content"))
    parts, list_form = _decode_content(item, "assistant", where)
    if list_form:
        fields[LIST_FORM] = True
    # Without the marker, this item's text would merge into the preceding item's on export.
    if parts and (fields or after_text):
        parts[0].extra.setdefault(FORMAT, {})[ITEM] = fields
    return parts


def _decode_content(item: dict[str, Any], role: str, where: str) -> tuple[list[Part], bool]:
    """The parts, and whether a list was given where a plain string would have been written."""
    content = _require(item, "content", where)
    if isinstance(content, str):
        return [Text(content)], False
    if not isinstance(content, list):
        raise _error(f"{where}.content must be a string or a list, not {type(content).__name__}")
    parts = [_decode_content_part(p, role, f"{where}.content[{i}]") for i, p in enumerate(content)]
    return parts, _plain_text(parts) is not None


def _decode_content_part(part: Any, role: str, where: str) -> Part:
    if not isinstance(part, dict):
        raise _error(f"{where} must be an object, not {type(part).__name__}")
    kind = _string(part, "type", where)
    if kind in TEXT_TYPES:
        key = "refusal" if kind == "refusal" else "text"
        fields = _rest(part, ("type", key))
        if kind != ("output_text" if role == "assistant" else "input_text"):
            fields["type"] = kind
        return Text(_string(part, key, where), _extra(fields))
    if role == "assistant":
        raise _error(f"{where}: assistant content cannot hold {kind!r} parts")
    if kind == "input_image":
        return _decode_image(part, where)
    if kind == "input_file":
        return _decode_file(part, where)
    raise _error(f"{where}.type {kind!r} is not a content part agentloop can represent")


def _decode_image(part: dict[str, Any], where: str) -> Image:
    fields = _rest(part, ("type", "image_url", "detail"))
    url = _optional_string(part, "image_url", where)
    detail = _optional_string(part, "detail", where)
    if url is None and "file_id" not in fields:
        raise _error(f"{where} needs an image_url or a file_id")
    try:
        if url is None or url.startswith("data:"):
            return Image(url, detail=detail, extra=_extra(fields))
        return Image(url=url, media_type=guess_media_type(url), detail=detail, extra=_extra(fields))
    except MediaError as exc:
        raise _error(f"{where}.image_url: {exc}") from None


def _decode_file(part: dict[str, Any], where: str) -> File:
    fields = _rest(part, ("type", "file_data", "file_url", "filename"))
    data = _optional_string(part, "file_data", where)
    url = _optional_string(part, "file_url", where)
    filename = _optional_string(part, "filename", where)
    if data is not None and not data.startswith("data:"):
        raise _error(f"{where}.file_data must be a data: URL (data:<type>;base64,...)")
    if data is not None and url is not None:
        raise _error(f"{where} has both file_data and file_url; give one")
    if data is None and url is None and "file_id" not in fields:
        raise _error(f"{where} needs a file_data, file_url or file_id")
    try:
        if url is not None:
            media_type = guess_media_type(url)
            return File(url=url, filename=filename, media_type=media_type, extra=_extra(fields))
        return File(data, filename, extra=_extra(fields))
    except MediaError as exc:
        raise _error(f"{where}.file_data: {exc}") from None


def _decode_tool_call(item: dict[str, Any], where: str) -> ToolCall:
    call_id, name = _string(item, "call_id", where), _string(item, "name", where)
    text = _string(item, "arguments", where)
    fields = _rest(item, ("type", "call_id", "name", "arguments"))
    arguments = _json_object(text)
    if arguments is None:
        return ToolCall(name, {}, call_id, raw_arguments=text, extra=_extra(fields))
    if ToolCall(name, arguments, call_id).arguments_json() != text:
        fields["arguments"] = text  # keep the model's exact spelling of the same JSON
    return ToolCall(name, arguments, call_id, extra=_extra(fields))


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _decode_reasoning(item: dict[str, Any], where: str) -> Thinking:
    fields = _rest(item, ("type", "summary", "encrypted_content"))
    summary = _require(item, "summary", where)
    if not isinstance(summary, list):
        raise _error(f"{where}.summary must be a list, not {type(summary).__name__}")
    texts = []
    for index, entry in enumerate(summary):
        if not isinstance(entry, dict):
            raise _error(f"{where}.summary[{index}] must be an object")
        texts.append(_string(entry, "text", f"{where}.summary[{index}]"))
    text = SUMMARY_SEPARATOR.join(texts)
    if summary != _default_summary(text):
        fields["summary"] = summary
    signature = _optional_string(item, "encrypted_content", where)
    return Thinking(text, signature, FORMAT, extra=_extra(fields))


def _decode_tool_result(item: dict[str, Any], where: str, names: dict[str, str]) -> ToolResult:
    call_id = _string(item, "call_id", where)
    output = _require(item, "output", where)
    fields = _rest(item, ("type", "call_id", "output"))
    attachments: list[Image | File] = []
    if isinstance(output, list):
        output, attachments = _decode_output_list(output, f"{where}.output")
        if not attachments:
            fields[LIST_FORM] = True
    elif not isinstance(output, str):
        raise _error(f"{where}.output must be a string or a list, not {type(output).__name__}")
    # An output whose call is not in this input keeps an empty name rather than being dropped.
    name = names.get(call_id, "")
    return ToolResult(name, output, call_id, attachments=attachments, extra=_extra(fields))


def _decode_output_list(output: list[Any], where: str) -> tuple[str, list[Image | File]]:
    """The text and attachments of a list output; several texts are joined with newlines."""
    texts: list[str] = []
    media: list[Image | File] = []
    for index, entry in enumerate(output):
        part = _decode_content_part(entry, "tool", f"{where}[{index}]")
        if isinstance(part, Text):
            if part.extra:
                raise _error(f"{where}[{index}]: only plain input_text parts fit a tool output")
            texts.append(part.text)
        elif isinstance(part, Image | File):
            media.append(part)
    return "\n".join(texts), media


# -- helpers -------------------------------------------------------------------------------


def _own(extra: Extra) -> dict[str, Any]:
    fields = extra.get(FORMAT)
    return fields if isinstance(fields, dict) else {}


def _extra(fields: dict[str, Any]) -> Extra:
    return {FORMAT: fields} if fields else {}


def _rest(item: dict[str, Any], consumed: Sequence[str]) -> dict[str, Any]:
    """The fields not read into the neutral model; a null field is kept as it was sent."""
    return {key: value for key, value in item.items() if key not in consumed or value is None}


def _require(item: dict[str, Any], key: str, where: str) -> Any:
    if item.get(key) is None:
        raise _error(f"{where} is missing the field {key!r}")
    return item[key]


def _string(item: dict[str, Any], key: str, where: str) -> str:
    value = _require(item, key, where)
    if not isinstance(value, str):
        raise _error(f"{where}.{key} must be a string, not {type(value).__name__}")
    return value


def _optional_string(item: dict[str, Any], key: str, where: str) -> str | None:
    return None if item.get(key) is None else _string(item, key, where)


def _error(message: str) -> ConversionError:
    return ConversionError(f"{FORMAT}: {message}", provider=FORMAT)


def _cannot_carry(part: Any, where: str) -> ConversionError:
    return _error(f"a {type(part).__name__} part cannot go in {where}")
