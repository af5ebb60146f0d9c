"""OpenAI Responses API: neutral messages to and from ``input`` items, losslessly.

Neutral -> wire:

- a system or user message becomes one message item; its ``content`` is a plain string when
  the message is a single plain Text, else a list of ``input_text`` / ``input_image`` /
  ``input_file`` parts;
- an assistant message becomes one item per part, in order: Thinking (from this format only)
  -> ``reasoning``, ToolCall -> ``function_call``, and a run of Text parts -> one assistant
  message item (``output_text``);
- a ProviderPart of this format (a built-in tool's item: ``web_search_call``..., or an item of
  a type agentloop does not know) goes back as the item it was (``server_tools.py``);
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

from collections.abc import Sequence
from typing import Any, cast

from agentloop.media import File, Image
from agentloop.messages import (
    Message,
    Part,
    ProviderPart,
    Role,
    Text,
    Thinking,
    ToolCall,
    ToolResult,
)
from agentloop.portable import portable
from agentloop.providers.openai_responses.content import (
    decode_content_part,
    decode_output_list,
    encode_content_part,
    text_fields,
)
from agentloop.providers.openai_responses.fields import (
    FORMAT,
    ITEM,
    READ,
    as_extra,
    cannot_carry,
    invalid,
    merge_kept,
    optional_string,
    own_fields,
    require_string,
    unread_fields,
)
from agentloop.providers.openai_responses.server_tools import (
    decode_server_item,
    encode_server_item,
)
from agentloop.providers.wire_cache import MessageCache
from agentloop.providers.wire_fields import MISSING
from agentloop.providers.wire_json import (
    UnreadableJSON,
    arguments_text,
    load_arguments,
    read_arguments,
)

LIST_FORM = "list_form"
#: Input items that stand for another item stored on the server: no part can hold them.
REFERENCES = ("item_reference",)
SUMMARY_SEPARATOR = "\n\n"


# -- encoding ------------------------------------------------------------------------------


def encode_messages(
    messages: Sequence[Message], cache: MessageCache | None = None
) -> list[dict[str, Any]]:
    """The Responses ``input`` items for ``messages`` (system messages included as items);
    with a run's ``cache``, a message already sent in the run is not converted again (each
    message encodes on its own)."""
    if cache is not None:
        return cache.encode(messages, encode_message)
    items: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        items.extend(encode_message(index, message))
    return items


def encode_message(index: int, message: Message) -> list[dict[str, Any]]:
    """The input items of the message at ``index`` of the history, on its own."""
    if not isinstance(message, Message):
        raise invalid(f"messages[{index}] must be a Message, not {type(message).__name__}")
    (message,) = portable([message], FORMAT)
    if message.role == "assistant":
        return _encode_assistant(message)
    if message.role == "tool":
        return _encode_tool_message(message)
    return [_encode_input_message(message)]


def _encode_input_message(message: Message) -> dict[str, Any]:
    fields = dict(own_fields(message.extra))
    kept_role = fields.pop("role", None)
    role = "developer" if message.role == "system" and kept_role == "developer" else message.role
    for part in message.parts:
        if not isinstance(part, Text | Image | File):
            raise cannot_carry(part, f"a {message.role} message")
    return _message_item(role, message.parts, fields)


def _message_item(role: str, parts: Sequence[Part], fields: dict[str, Any]) -> dict[str, Any]:
    list_form = bool(fields.pop(LIST_FORM, False))
    plain = _plain_text(parts)
    content: str | list[dict[str, Any]]
    if plain is not None and not list_form:
        content = plain
    else:
        content = [encode_content_part(part, role) for part in parts]
    return merge_kept({"role": role, "content": content}, fields)


def _plain_text(parts: Sequence[Part]) -> str | None:
    """The text of content that is a single Text with nothing to keep, written as a string."""
    if len(parts) == 1 and isinstance(parts[0], Text) and not text_fields(parts[0]):
        return parts[0].text
    return None


def _encode_assistant(message: Message) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for unit in _assistant_units(message.parts):
        first = unit[0]
        if isinstance(first, Text):
            kept = own_fields(first.extra).get(ITEM)
            fields = dict(kept) if isinstance(kept, dict) else {}
            items.append(_message_item("assistant", unit, fields))
        elif isinstance(first, ToolCall):
            items.append(_encode_tool_call(first))
        elif isinstance(first, Thinking):
            if first.provider == FORMAT:  # no provider accepts another's reasoning
                items.append(_encode_reasoning(first))
        elif isinstance(first, ProviderPart):
            items.append(encode_server_item(first))  # portable() left only this format's
        else:
            raise cannot_carry(first, "an assistant message")
    return items


def _assistant_units(parts: Sequence[Part]) -> list[list[Part]]:
    """Each unit becomes one item: a run of Text parts shares one assistant message item."""
    units: list[list[Part]] = []
    for part in parts:
        joins = (
            isinstance(part, Text)
            and units
            and isinstance(units[-1][-1], Text)
            and ITEM not in own_fields(part.extra)
        )
        if joins:
            units[-1].append(part)
        else:
            units.append([part])
    return units


def _encode_tool_call(call: ToolCall) -> dict[str, Any]:
    fields = dict(own_fields(call.extra))
    original = fields.pop("arguments", None)
    same = isinstance(original, str) and _json_object(original) == call.arguments
    arguments = original if same else arguments_text(call, invalid)
    item = {"type": "function_call", "call_id": call.tool_call_id, "name": call.name}
    return merge_kept({**item, "arguments": arguments}, fields)


def _encode_reasoning(thinking: Thinking) -> dict[str, Any]:
    fields = dict(own_fields(thinking.extra))
    kept = fields.pop("summary", None)
    summary = kept if _summary_matches(kept, thinking.text) else _default_summary(thinking.text)
    item: dict[str, Any] = {"type": "reasoning", "summary": summary}
    if thinking.signature is not None:
        item["encrypted_content"] = thinking.signature
    return merge_kept(item, fields)


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
            raise cannot_carry(part, "a tool message (it holds only ToolResult parts)")
        items.append(_encode_tool_result(part))
    return items


def _encode_tool_result(result: ToolResult) -> dict[str, Any]:
    fields = dict(own_fields(result.extra))
    output: str | list[dict[str, Any]] = result.output
    if fields.pop(LIST_FORM, False) or result.attachments:
        text = [{"type": "input_text", "text": result.output}]
        media = [encode_content_part(a, "tool") for a in result.attachments]
        output = (text if result.output or not media else []) + media
    item = {"type": "function_call_output", "call_id": result.tool_call_id, "output": output}
    return merge_kept(item, fields)


# -- decoding ------------------------------------------------------------------------------


_ROLES = ("user", "system", "developer", "assistant")


def decode_messages(
    input: str | Sequence[dict[str, Any]], instructions: str | None = None
) -> list[Message]:
    """Neutral messages from a Responses ``input`` (and ``instructions``, a leading system)."""
    READ.string_or_none(instructions, "instructions")
    messages = [Message.system(instructions)] if instructions else []
    if isinstance(input, str):
        return [*messages, Message.user(input)]
    if not isinstance(input, Sequence) or isinstance(input, bytes | bytearray):
        READ.never(input, "a string or a list of items", "input")
    return _decode_items(input, "input", messages)


def decode_output(output: Sequence[dict[str, Any]]) -> list[Message]:
    """Neutral messages from a reply's ``output`` items (errors name ``output[i]``)."""
    return _decode_items(output, "output", [])


def _decode_items(items: Sequence[Any], field: str, messages: list[Message]) -> list[Message]:
    names = _call_names(items)
    for index, item in enumerate(items):
        where = f"{field}[{index}]"
        _decode_item(READ.object(item, where), where, names, messages)
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
    elif isinstance(kind, str) and kind and kind not in REFERENCES:
        # A built-in tool's item, or a type added to the API since: kept as received, so the
        # next request carries it back exactly (server_tools.py).
        _append(messages, "assistant", [decode_server_item(item)])
    else:
        READ.never(
            kind,
            "an item's type, a non-empty string other than 'item_reference' (which names an "
            "item stored on the server, whose content agentloop never saw)",
            where,
            "type",
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
    role = READ.one_of(item.get("role", MISSING), _ROLES, where, "role")
    fields = unread_fields(item, ("role", "content"))
    if role == "developer":
        fields["role"] = role
    parts, list_form = _decode_content(item, role, where)
    if list_form:
        fields[LIST_FORM] = True
    neutral = cast(Role, "system" if role == "developer" else role)  # user or system: checked
    return Message(neutral, parts, as_extra(fields))


def _decode_assistant_message(item: dict[str, Any], where: str, after_text: bool) -> list[Part]:
    fields = unread_fields(item, ("role", "content"))
    parts, list_form = _decode_content(item, "assistant", where)
    if list_form:
        fields[LIST_FORM] = True
    # Without the marker, this item's text would merge into the preceding item's on export.
    if parts and (fields or after_text):
        parts[0].extra.setdefault(FORMAT, {})[ITEM] = fields
    return parts


def _decode_content(item: dict[str, Any], role: str, where: str) -> tuple[list[Part], bool]:
    """The parts, and whether a list was given where a plain string would have been written."""
    content = item.get("content", MISSING)
    if isinstance(content, str):
        return [Text(content)], False
    if not isinstance(content, list):
        READ.never(content, "a string or a list of content parts", where, "content")
    parts = [decode_content_part(p, role, f"{where}.content[{i}]") for i, p in enumerate(content)]
    return parts, _plain_text(parts) is not None


def _decode_tool_call(item: dict[str, Any], where: str) -> ToolCall:
    call_id, name = require_string(item, "call_id", where), require_string(item, "name", where)
    text = require_string(item, "arguments", where)
    fields = unread_fields(item, ("type", "call_id", "name", "arguments"))
    arguments, raw = read_arguments(text)
    if raw is not None:
        return ToolCall(name, {}, call_id, raw_arguments=raw, extra=as_extra(fields))
    if ToolCall(name, arguments, call_id).arguments_json() != text:
        fields["arguments"] = text  # keep the model's exact spelling of the same JSON
    return ToolCall(name, arguments, call_id, extra=as_extra(fields))


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = load_arguments(text)
    except UnreadableJSON:
        return None
    return value if isinstance(value, dict) else None


def _decode_reasoning(item: dict[str, Any], where: str) -> Thinking:
    fields = unread_fields(item, ("type", "summary", "encrypted_content"))
    summary = READ.list(item.get("summary", MISSING), where, "summary")
    texts = []
    for index, entry in enumerate(summary):
        entry = READ.object(entry, f"{where}.summary", index)
        texts.append(require_string(entry, "text", f"{where}.summary[{index}]"))
    text = SUMMARY_SEPARATOR.join(texts)
    if summary != _default_summary(text):
        fields["summary"] = summary
    signature = optional_string(item, "encrypted_content", where)
    return Thinking(text, signature, FORMAT, extra=as_extra(fields))


def _decode_tool_result(item: dict[str, Any], where: str, names: dict[str, str]) -> ToolResult:
    call_id = require_string(item, "call_id", where)
    output = item.get("output", MISSING)
    fields = unread_fields(item, ("type", "call_id", "output"))
    attachments: list[Image | File] = []
    if isinstance(output, list):
        output, attachments = decode_output_list(output, f"{where}.output")
        if not attachments:
            fields[LIST_FORM] = True
    elif not isinstance(output, str):
        READ.never(output, "a string or a list of content parts", where, "output")
    # An output whose call is not in this input keeps an empty name rather than being dropped.
    name = names.get(call_id, "")
    return ToolResult(name, output, call_id, attachments=attachments, extra=as_extra(fields))


# -- helpers -------------------------------------------------------------------------------
