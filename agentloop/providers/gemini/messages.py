"""Gemini ``generateContent``: neutral messages to and from ``(systemInstruction, contents)``.

Roles: every system message is hoisted, in order, into ``systemInstruction`` (Gemini
has no system turns); user and tool messages become role ``"user"``, assistant
messages role ``"model"``. Consecutive messages landing on the same role are merged
into one content, because Gemini wants user and model turns to alternate; decoding
splits a user content back into runs of tool results and other parts.

Export writes camelCase; import also takes the snake_case the Python SDK sends.
What the neutral model has no field for is kept in ``extra["gemini"]``:

- ``thoughtSignature``: the signature on a text, media or functionCall part;
- ``fields``: any other part-level keys (``videoMetadata``, ``partMetadata``...);
- ``inner``: other keys of a functionCall or functionResponse (``willContinue``...);
- ``no_id`` / ``no_args``: the wire call or response had no ``id`` / ``args``;
- ``response_key``: the key of a tool result's text when it is not ``"result"``;
- ``response_json``: ``output`` is the whole ``response`` object as JSON text;
- ``no_text``: a thought-signature-only part, imported as an empty Thinking;
- ``no_mime_type``: a fileData that came without a mimeType;
- ``file_data``: a tool-result attachment sent as fileData (Vertex) instead of inlined;
- ``role`` (on the system message): the role recorded on ``systemInstruction``.

Code execution parts and grounding metadata are ProviderParts (``server_tools.py``).

Limits: Gemini's blobs carry no file name outside tool results, so ``File.filename``
of a user file is not sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from agentloop.errors import ConversionError, MediaError
from agentloop.media import File, Image, Media, decode_base64, encode_base64
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
from agentloop.providers.gemini.format import GEMINI
from agentloop.providers.gemini.server_tools import (
    decode_server_part,
    encode_server_part,
    server_part_kind,
)
from agentloop.providers.media_fetch import pending
from agentloop.providers.wire_fields import MISSING, MessageReader, with_kept
from agentloop.providers.wire_json import arguments_text

_DATA_KINDS = ("text", "inlineData", "fileData", "functionCall", "functionResponse")
_SIGNATURE = "thoughtSignature"
_HTTP = ("http://", "https://")


def _snake(camel: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), camel)


def _fail(message: str) -> NoReturn:
    raise _refusal(message)


def _refusal(message: str) -> ConversionError:
    return ConversionError(f"Gemini: {message}", provider=GEMINI)


def _get(obj: dict[str, Any], camel: str) -> Any:
    """A wire field by its camelCase name or its snake_case twin."""
    return obj[camel] if camel in obj else obj.get(_snake(camel))


def _required(obj: dict[str, Any], camel: str) -> Any:
    """`_get` for a field the format requires: `MISSING` when absent, so the error says so."""
    return obj[camel] if camel in obj else obj.get(_snake(camel), MISSING)


#: Checked reads of a caller's contents: a wrong field is a `ConversionError` naming its path.
READ = MessageReader(GEMINI)
_dict, _str, _optional_str, _list = READ.object, READ.string, READ.string_or_none, READ.list


def _extra(**entries: Any) -> dict[str, dict[str, Any]]:
    kept = {k: v for k, v in entries.items() if v}
    return {GEMINI: kept} if kept else {}


# -- import --------------------------------------------------------------------------


@dataclass
class _WirePart:
    """One wire part, split into its data field and the keys around it."""

    kind: str | None  # a _DATA_KINDS entry, or None for a signature-only part
    value: Any
    signature: str | None
    fields: dict[str, Any]
    thought: bool = False


@dataclass
class _Calls:
    """Pairs functionResponses with the calls they answer, and names calls sent without id."""

    open: list[tuple[str, str]] = field(default_factory=list)
    made_up: int = 0

    def _new_id(self) -> str:
        self.made_up += 1
        return f"gemini_call_{self.made_up}"

    def call_id(self, name: str, wire_id: str | None) -> str:
        call_id = wire_id if wire_id is not None else self._new_id()
        self.open.append((name, call_id))
        return call_id

    def response_id(self, name: str, wire_id: str | None) -> str:
        for i, (open_name, open_id) in enumerate(self.open):
            if open_id == wire_id or (wire_id is None and open_name == name):
                del self.open[i]
                return open_id
        return wire_id if wire_id is not None else self._new_id()


def decode_messages(
    system_instruction: dict[str, Any] | str | None, contents: Sequence[dict[str, Any]]
) -> list[Message]:
    """Read a ``generateContent`` request's ``systemInstruction`` and ``contents``."""
    messages = [] if system_instruction is None else [_decode_system(system_instruction)]
    if isinstance(contents, str | bytes | dict) or not isinstance(contents, Sequence):
        READ.never(contents, "a list of contents", "contents")
    calls = _Calls()
    for i, content in enumerate(contents):
        messages.extend(_decode_content(content, f"contents[{i}]", calls))
    return messages


def _decode_system(system: dict[str, Any] | str) -> Message:
    if isinstance(system, str):
        return Message.system(system)
    system = _dict(system, "systemInstruction")
    parts = _list(system.get("parts", MISSING), "systemInstruction.parts")
    texts: list[Part] = []
    for i, raw in enumerate(parts):
        where = f"systemInstruction.parts[{i}]"
        texts.append(Text(_str(_dict(raw, where).get("text", MISSING), f"{where}.text")))
    role = system.get("role")
    return Message("system", texts, _extra(role=role))


def _decode_content(content: Any, where: str, calls: _Calls) -> list[Message]:
    content = _dict(content, where)
    unknown = set(content) - {"role", "parts"}
    if unknown:
        why = f"it has unknown fields {sorted(unknown)}; a content has role and parts"
        raise READ.refuse(where, why)
    role = READ.one_of(content.get("role", "user"), ("user", "model"), where, "role")
    raw_parts = _list(content.get("parts", MISSING), f"{where}.parts")
    parts = [
        _decode_part(raw, f"{where}.parts[{j}]", role, calls) for j, raw in enumerate(raw_parts)
    ]
    if role == "model":
        return [Message("assistant", parts)]
    messages: list[Message] = []
    for part in parts:
        kind: Role = "tool" if isinstance(part, ToolResult) else "user"
        if messages and messages[-1].role == kind:
            messages[-1].parts.append(part)
        else:
            messages.append(Message(kind, [part]))
    return messages or [Message("user", [])]


def _read_part(raw: Any, where: str) -> _WirePart:
    part = _dict(raw, where)
    kinds = [k for k in _DATA_KINDS if k in part or _snake(k) in part]
    if len(kinds) > 1:
        raise READ.refuse(where, f"it holds several data fields {kinds}; a part holds one")
    signature = _optional_str(_get(part, _SIGNATURE), f"{where}.{_SIGNATURE}")
    known = {*kinds, *map(_snake, kinds), _SIGNATURE, _snake(_SIGNATURE)}
    fields = {k: v for k, v in part.items() if k not in known}
    if not kinds and signature is None:
        raise READ.refuse(where, f"it has none of {', '.join(_DATA_KINDS)} (keys: {sorted(part)})")
    kind = kinds[0] if kinds else None
    thought = kind == "text" and fields.get("thought") is True
    if thought:
        del fields["thought"]
    return _WirePart(kind, _get(part, kind) if kind else None, signature, fields, thought)


def _decode_part(raw: Any, where: str, role: str, calls: _Calls) -> Part:
    server_kind = server_part_kind(raw)
    if server_kind is not None:
        return decode_server_part(server_kind, raw)
    wire = _read_part(raw, where)
    if wire.kind == "functionCall" and role != "model":
        why = f"a functionCall in a {role} content; only the model makes calls"
        raise READ.refuse(f"{where}.functionCall", why)
    if wire.kind == "functionResponse" and role != "user":
        why = f"a functionResponse in a {role} content; it belongs to a user content"
        raise READ.refuse(f"{where}.functionResponse", why)
    if wire.kind == "functionCall":
        return _decode_call(wire, f"{where}.functionCall", calls)
    if wire.kind == "functionResponse":
        return _decode_response(wire, f"{where}.functionResponse", calls)
    return _decode_plain_part(wire, where)


def _decode_plain_part(wire: _WirePart, where: str) -> Part:
    """Text, thinking and media parts."""
    if wire.kind is None or wire.thought:
        text = "" if wire.kind is None else _str(wire.value, f"{where}.text")
        extra = _extra(fields=wire.fields, no_text=wire.kind is None)
        return Thinking(text, wire.signature, GEMINI, extra=extra)
    extra = _extra(thoughtSignature=wire.signature, fields=wire.fields)
    if wire.kind == "text":
        return Text(_str(wire.value, f"{where}.text"), extra)
    assert wire.kind is not None
    return _decode_media(wire.kind, wire.value, f"{where}.{wire.kind}", extra)


def _decode_media(kind: str, value: Any, where: str, extra: dict[str, Any]) -> Image | File:
    body = _dict(value, where)
    mime = _optional_str(_get(body, "mimeType"), f"{where}.mimeType")
    cls = Image if mime is not None and mime.startswith("image/") else File
    if kind == "fileData":
        uri = _str(_required(body, "fileUri"), f"{where}.fileUri")
        if mime is None:
            extra.setdefault(GEMINI, {})["no_mime_type"] = True
        return cls(url=uri, media_type=mime, extra=extra)
    encoded = _str(_required(body, "data"), f"{where}.data")
    try:
        data = decode_base64(encoded)
    except MediaError as exc:
        raise READ.refuse(f"{where}.data", str(exc)) from None
    name = _get(body, "displayName")
    return cls(data=data, media_type=_str(mime, f"{where}.mimeType"), filename=name, extra=extra)


def _decode_call(wire: _WirePart, where: str, calls: _Calls) -> ToolCall:
    body = _dict(wire.value, where)
    name = _str(body.get("name", MISSING), f"{where}.name")
    args = _dict(body.get("args", {}), f"{where}.args")
    wire_id = _optional_str(body.get("id"), f"{where}.id")
    extra = _extra(
        thoughtSignature=wire.signature,
        fields=wire.fields,
        inner={k: v for k, v in body.items() if k not in ("name", "args", "id")},
        no_id=wire_id is None,
        no_args="args" not in body,
    )
    return ToolCall(name, dict(args), calls.call_id(name, wire_id), extra=extra)


def _decode_response(wire: _WirePart, where: str, calls: _Calls) -> ToolResult:
    body = _dict(wire.value, where)
    name = _str(body.get("name", MISSING), f"{where}.name")
    response = _dict(body.get("response", MISSING), f"{where}.response")
    wire_id = _optional_str(body.get("id"), f"{where}.id")
    parts = _list(body.get("parts", []), f"{where}.parts")
    attachments = [_decode_attachment(p, f"{where}.parts[{i}]") for i, p in enumerate(parts)]
    output, is_error, flags = _read_response(response)
    extra = _extra(
        thoughtSignature=wire.signature,
        fields=wire.fields,
        inner={k: v for k, v in body.items() if k not in ("name", "response", "id", "parts")},
        no_id=wire_id is None,
        **flags,
    )
    call_id = calls.response_id(name, wire_id)
    return ToolResult(name, output, call_id, is_error, attachments, extra=extra)


def _read_response(response: dict[str, Any]) -> tuple[str, bool, dict[str, Any]]:
    """The output text, whether it is an error, and what export needs to rebuild it."""
    if len(response) == 1:
        ((key, value),) = response.items()
        if isinstance(value, str):
            if key == "error":
                return value, True, {}
            return value, False, {} if key == "result" else {"response_key": key}
    return json.dumps(response, ensure_ascii=False), False, {"response_json": True}


def _decode_attachment(raw: Any, where: str) -> Image | File:
    part = _dict(raw, where)
    kinds = [k for k in ("inlineData", "fileData") if k in part or _snake(k) in part]
    if len(kinds) != 1 or len(part) != 1:
        why = f"it should hold exactly one inlineData or fileData, got keys {sorted(part)}"
        raise READ.refuse(where, why)
    extra = _extra(file_data=kinds[0] == "fileData")
    return _decode_media(kinds[0], _get(part, kinds[0]), f"{where}.{kinds[0]}", extra)


# -- export --------------------------------------------------------------------------


def encode_messages(
    messages: Sequence[Message],
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """``(systemInstruction, contents)`` for a ``generateContent`` request."""
    for i, message in enumerate(messages):
        if not isinstance(message, Message):
            _fail(f"messages[{i}] must be a Message, got {type(message).__name__}")
    messages = portable(messages, GEMINI)
    names = {c.tool_call_id: c.name for m in messages for c in m.tool_calls}
    contents: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        if message.role == "system":
            continue
        role = "model" if message.role == "assistant" else "user"
        parts = [
            encoded
            for j, part in enumerate(message.parts)
            if (encoded := _encode_part(part, message.role, f"messages[{i}].parts[{j}]", names))
        ]
        if not parts:
            continue  # e.g. an assistant turn that held only another provider's thinking
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return encode_system(enumerate(messages)), contents


def encode_unit(index: int, message: Message) -> list[dict[str, Any]]:
    """The message at ``index`` of the history on its own, for a run's cache: its content
    role (``"system"`` for a system message, encoded with the others by `encode_system`),
    its wire parts, the ids of its calls sent without one (``made_up``) and the ids its
    functionResponses carry (``answers``). ``named`` is False for a result with no name,
    which only the whole history can give (its parts are then not made)."""
    if not isinstance(message, Message):
        _fail(f"messages[{index}] must be a Message, got {type(message).__name__}")
    (message,) = portable([message], GEMINI)
    role = {"system": "system", "assistant": "model"}.get(message.role, "user")
    unit: dict[str, Any] = {"role": role, "parts": [], "made_up": (), "answers": ()}
    unit["named"] = all(p.name for p in message.parts if isinstance(p, ToolResult))
    if role == "system" or not unit["named"]:
        return [unit]
    unit["parts"] = parts = [
        encoded
        for j, part in enumerate(message.parts)
        if (encoded := _encode_part(part, message.role, f"messages[{index}].parts[{j}]", {}))
    ]
    unit["made_up"] = tuple(
        c.tool_call_id for c in message.tool_calls if c.extra.get(GEMINI, {}).get("no_id")
    )
    responses = (p.get("functionResponse") for p in parts)
    unit["answers"] = tuple(r.get("id") for r in responses if isinstance(r, dict))
    return [unit]


def encode_system(messages: Iterable[tuple[int, Message]]) -> dict[str, Any] | None:
    """``systemInstruction`` from the system messages among ``messages`` (with their index
    in the history, for errors)."""
    texts: list[dict[str, Any]] = []
    roles: list[Any] = []
    for i, message in messages:
        if message.role != "system":
            continue
        roles.append(message.extra.get(GEMINI, {}).get("role"))
        for j, part in enumerate(message.parts):
            if not isinstance(part, Text):
                _fail(
                    f"systemInstruction takes text only, but messages[{i}].parts[{j}] "
                    f"is a {type(part).__name__}; put it in a user message"
                )
            texts.append({"text": part.text})
    if not roles:
        return None
    return {"parts": texts, "role": roles[0]} if roles[0] else {"parts": texts}


def _encode_part(part: Any, role: str, where: str, names: dict[str, str]) -> dict[str, Any] | None:
    if isinstance(part, Text):
        return _with_part_extra({"text": part.text}, part.extra)
    if isinstance(part, Thinking):
        return _encode_thinking(part) if part.provider == GEMINI else None
    if isinstance(part, Image | File):
        return _with_part_extra(_encode_media(part, where), part.extra)
    if isinstance(part, ProviderPart):
        return encode_server_part(part)  # portable() left only Gemini's own
    if isinstance(part, ToolCall):
        if role != "assistant":
            _fail(f"{where} is a ToolCall in a {role} message; only assistant messages make calls")
        return _with_part_extra(_encode_call(part), part.extra)
    if isinstance(part, ToolResult):
        if role == "assistant":
            _fail(f"{where} is a ToolResult in an assistant message; put it in a tool message")
        return _with_part_extra(_encode_result(part, where, names), part.extra)
    _fail(f"{where} is a {type(part).__name__}, which is not a message part")


def _with_part_extra(out: dict[str, Any], extra: dict[str, dict[str, Any]]) -> dict[str, Any]:
    ours = extra.get(GEMINI, {})
    if _SIGNATURE in ours:
        out[_SIGNATURE] = ours[_SIGNATURE]
    return with_kept(out, ours.get("fields"))


def _encode_thinking(part: Thinking) -> dict[str, Any]:
    ours = part.extra.get(GEMINI, {})
    out: dict[str, Any] = {} if ours.get("no_text") else {"text": part.text, "thought": True}
    if part.signature is not None:
        out[_SIGNATURE] = part.signature
    return with_kept(out, ours.get("fields"))


def media_to_fetch(messages: Sequence[Message]) -> list[Media]:
    """The URL-only parts Gemini is sent as inlineData (pure): a URL of unknown type, and a
    tool result's (a functionResponse takes no fileData URL). Fetched before encoding."""
    return pending(messages, _inlined)


def _inlined(media: Media, in_tool_result: bool) -> bool:
    """inlineData unless a URL alone (bytes at hand go inline) with a known type."""
    ours = media.extra.get(GEMINI, {})
    by_url = media.url is not None and media.data is None
    by_url = by_url and (not in_tool_result or bool(ours.get("file_data")))
    return not (by_url and (media.media_type or ours.get("no_mime_type")))


def _encode_media(media: Media, where: str, *, in_tool_result: bool = False) -> dict[str, Any]:
    """fileData for a URL Gemini can fetch with a known type; inlineData otherwise."""
    if not _inlined(media, in_tool_result):
        file_data = {"fileUri": media.url}
        if media.media_type:
            file_data["mimeType"] = media.media_type
        return {"fileData": file_data}
    kind = type(media).__name__
    if media.data is None and not (media.url or "").startswith(_HTTP):
        _fail(f"{where}: cannot send the {kind} {media.url} without its media type or bytes")
    data = media.fetched_data()
    mime = media.media_type or (media.mime_type if isinstance(media, Image) else None)
    if mime is None:
        _fail(f"{where}: the {kind} has no media type; pass media_type= (e.g. 'text/plain')")
    blob = {"mimeType": mime, "data": encode_base64(data)}
    if in_tool_result and media.filename:
        blob["displayName"] = media.filename  # lets the response refer to it by name
    return {"inlineData": blob}


def _encode_call(call: ToolCall) -> dict[str, Any]:
    arguments_text(call, _refusal)  # refused here, rather than when the body is written
    ours = call.extra.get(GEMINI, {})
    body: dict[str, Any] = {"name": call.name}
    if call.arguments or not ours.get("no_args"):
        body["args"] = call.arguments
    if not ours.get("no_id"):
        body["id"] = call.tool_call_id
    return {"functionCall": with_kept(body, ours.get("inner"))}


def _encode_result(result: ToolResult, where: str, names: dict[str, str]) -> dict[str, Any]:
    ours = result.extra.get(GEMINI, {})
    name = result.name or names.get(result.tool_call_id)
    if not name:
        _fail(f"{where}: a functionResponse needs the function name; the ToolResult has none")
    body: dict[str, Any] = {"name": name, "response": _response_object(result)}
    if not ours.get("no_id"):
        body["id"] = result.tool_call_id
    if result.attachments:
        body["parts"] = [
            _encode_media(a, f"{where}.attachments[{k}]", in_tool_result=True)
            for k, a in enumerate(result.attachments)
        ]
    return {"functionResponse": with_kept(body, ours.get("inner"))}


def _response_object(result: ToolResult) -> dict[str, Any]:
    """Gemini wants an object: the output text goes under one key, errors under "error"."""
    ours = result.extra.get(GEMINI, {})
    if ours.get("response_json"):
        try:
            recorded = json.loads(result.output)
        except ValueError:
            recorded = None
        if isinstance(recorded, dict):
            return recorded
    key = "error" if result.is_error else ours.get("response_key", "result")
    return {key: result.output}
