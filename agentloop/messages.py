"""The provider-neutral message model: a [`Message`][agentloop.Message] is a role and ordered parts.

Parts are [`Text`][agentloop.Text], [`Image`][agentloop.Image], [`File`][agentloop.File],
[`ToolCall`][agentloop.ToolCall], [`ToolResult`][agentloop.ToolResult],
[`Thinking`][agentloop.Thinking] and [`ProviderPart`][agentloop.ProviderPart] (what only one
provider understands: its server-side tools' calls and results, grounding metadata). Every
part has an ``extra`` mapping of provider-specific fields keyed by wire format (each codec
package names its own, ``"anthropic"`` say; here they are opaque strings): converters put
there what the neutral model has no field for (an Anthropic ``cache_control``, a Gemini
``thoughtSignature``) and read it back when exporting to the same format, so a conversation
survives an import/export round trip unchanged. Other formats ignore it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Self, TypeAlias, TypeVar, get_args, overload

from agentloop.errors import SerializationError
from agentloop.media import File, Image, Media, Source, media_from

Role = Literal["system", "user", "assistant", "tool"]
ROLES: tuple[str, ...] = get_args(Role)

Extra: TypeAlias = dict[str, dict[str, Any]]


@dataclass(slots=True)
class Citation:
    """A source a provider says backs some text: a web page, a document, a file.

    A neutral reading of the provider's citation (Anthropic ``citations``, Responses
    ``annotations``, Gemini grounding supports); the provider's own form stays in ``extra`` of
    the part that carries it, and only that goes back on the wire.
    """

    url: str | None = None
    title: str | None = None
    cited_text: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in (("url", self.url), ("title", self.title), ("cited_text", self.cited_text))
            if v is not None
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Citation:
        what = "A citation"
        expect_type(d, dict, what)
        return cls(*(_optional_string(d, key, what) for key in ("url", "title", "cited_text")))


@dataclass(slots=True)
class Text:
    """Plain text, with the sources the provider cited for it (``citations``), if any."""

    text: str
    extra: Extra = field(default_factory=dict)
    citations: list[Citation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "text", "text": self.text}
        if self.citations:
            out["citations"] = [c.to_dict() for c in self.citations]
        return _with_extra(out, self.extra)


#: What ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))`` would build anew at
#: every call, made once (it keeps no state between calls, so threads can share it).
_ARGUMENTS_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass(slots=True)
class ToolCall:
    """A request from the model to run a tool.

    ``arguments`` is always a dict. When the model sent something that is not a
    JSON object, ``arguments`` is empty and the text is kept verbatim in
    ``raw_arguments`` so the chain can tell the model what was wrong.
    """

    name: str
    arguments: dict[str, Any]
    tool_call_id: str
    raw_arguments: str | None = None
    extra: Extra = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.tool_call_id

    def arguments_json(self) -> str:
        """The arguments as the JSON text a provider expects."""
        if self.raw_arguments is not None and not self.arguments:
            return self.raw_arguments
        return _ARGUMENTS_ENCODER.encode(self.arguments)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "tool_call",
            "name": self.name,
            "arguments": self.arguments,
            "tool_call_id": self.tool_call_id,
        }
        if self.raw_arguments is not None:
            out["raw_arguments"] = self.raw_arguments
        return _with_extra(out, self.extra)


@dataclass(slots=True)
class ToolResult:
    """The outcome of one tool call, sent back to the model.

    ``output`` is the text the model sees. ``attachments`` carries images or
    files the tool returned. ``exception`` keeps the exception a failed tool
    raised; it is for the caller and never serialized.
    """

    name: str
    output: str
    tool_call_id: str
    is_error: bool = False
    attachments: list[Image | File] = field(default_factory=list)
    exception: BaseException | None = field(default=None, compare=False, repr=False)
    extra: Extra = field(default_factory=dict)

    @property
    def images(self) -> list[Image]:
        return [a for a in self.attachments if isinstance(a, Image)]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "tool_result",
            "name": self.name,
            "output": self.output,
            "tool_call_id": self.tool_call_id,
        }
        if self.is_error:
            out["is_error"] = True
        if self.attachments:
            out["attachments"] = [a.to_dict() for a in self.attachments]
        return _with_extra(out, self.extra)


@dataclass(slots=True)
class Thinking:
    """The model's reasoning, as the provider exposed it.

    ``signature`` is the provider's opaque token (Anthropic's signature, the
    encrypted content of an OpenAI reasoning item, Gemini's thought signature)
    that lets the same provider verify the reasoning when it is sent back.
    ``provider`` names the wire format that produced it: thinking is re-sent
    only to that format and left out for every other one, since no provider
    accepts another's reasoning. ``redacted`` marks reasoning the provider
    returned only in encrypted form.
    """

    text: str
    signature: str | None = None
    provider: str | None = None
    redacted: bool = False
    extra: Extra = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "thinking", "text": self.text}
        if self.signature is not None:
            out["signature"] = self.signature
        if self.provider is not None:
            out["provider"] = self.provider
        if self.redacted:
            out["redacted"] = True
        return _with_extra(out, self.extra)


@dataclass(slots=True)
class ProviderPart:
    """Something only one wire format understands, kept exactly as it came.

    A provider-side tool's call or result (Anthropic ``server_tool_use`` and
    ``web_search_tool_result``, a Responses ``web_search_call`` item, Gemini
    ``executableCode``), or metadata about the answer (Gemini ``groundingMetadata``).
    ``provider`` is the wire format it came from, ``kind`` its wire type, ``payload`` the
    JSON object exactly as received: the same format gets it back unchanged. ``text`` is a
    short rendering for every other format (see `agentloop.portable.portable`): empty for a
    call, which is then dropped. ``citations`` are the sources it names, if any.
    """

    provider: str
    kind: str
    payload: dict[str, Any]
    text: str = ""
    citations: list[Citation] = field(default_factory=list)
    extra: Extra = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "provider",
            "provider": self.provider,
            "kind": self.kind,
            "payload": self.payload,
        }
        if self.text:
            out["text"] = self.text
        if self.citations:
            out["citations"] = [c.to_dict() for c in self.citations]
        return _with_extra(out, self.extra)


#: How much of a provider part's result a rendering keeps: enough to read, not a whole page.
RENDER_LIMIT = 2000


def clip(text: str, limit: int = RENDER_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, marked when cut (for `ProviderPart.text`)."""
    return text if len(text) <= limit else text[:limit] + " [...]"


Part: TypeAlias = Text | Image | File | ToolCall | ToolResult | Thinking | ProviderPart
PART_TYPES: tuple[type, ...] = (Text, Image, File, ToolCall, ToolResult, Thinking, ProviderPart)


@dataclass(slots=True)
class Message:
    """One turn: a role and its ordered parts.

    Build with ``Message.user("hi")``, ``Message.system(...)``,
    ``Message.assistant(...)``; add media with [`add_image`][agentloop.Message.add_image] and
    [`add_file`][agentloop.Message.add_file], which return the message so calls chain.
    """

    role: Role
    parts: list[Part] = field(default_factory=list)
    extra: Extra = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"Message role must be one of {', '.join(ROLES)}, not {self.role!r}")

    # -- builders --------------------------------------------------------------

    @classmethod
    def user(
        cls,
        text: str | None = None,
        *,
        image: Image | Source | list[Image | Source] | None = None,
        file: File | Source | list[File | Source] | None = None,
    ) -> Message:
        message = cls("user", [Text(text)] if text is not None else [])
        for item in _as_list(image):
            message.add_image(item)
        for item in _as_list(file):
            message.add_file(item)
        return message

    @classmethod
    def system(cls, text: str) -> Message:
        return cls("system", [Text(text)])

    @classmethod
    def assistant(
        cls, text: str | None = None, *, tool_calls: list[ToolCall] | None = None
    ) -> Message:
        parts: list[Part] = [Text(text)] if text is not None else []
        parts.extend(tool_calls or [])
        return cls("assistant", parts)

    @classmethod
    def tool(cls, *results: ToolResult) -> Message:
        return cls("tool", list(results))

    def add_image(self, image: Image | Source, *, media_type: str | None = None) -> Self:
        """Append an image from a path, URL, bytes, ``data:`` URL or an
        [`Image`][agentloop.Image]."""
        part = image if isinstance(image, Image) else Image(image, media_type=media_type)
        self.parts.append(part)
        return self

    def add_file(
        self, file: File | Source, *, filename: str | None = None, media_type: str | None = None
    ) -> Self:
        """Append a file (a PDF, audio, ...) from a path, URL, bytes or [`File`][agentloop.File]."""
        part = file if isinstance(file, File) else File(file, filename, media_type=media_type)
        self.parts.append(part)
        return self

    def add(self, part: Part | Media | Source) -> Self:
        """Append any part; a bare path, URL or bytes is added as an image or file by type."""
        if isinstance(part, PART_TYPES):
            self.parts.append(part)  # type: ignore[arg-type]
        else:
            loaded = media_from(part, File)  # type: ignore[arg-type]
            if loaded.mime_type.startswith("image/") and not isinstance(loaded, Image):
                loaded = Image(data=loaded.data, url=loaded.url, media_type=loaded.media_type)
            self.parts.append(loaded)  # type: ignore[arg-type]
        return self

    # -- reading ---------------------------------------------------------------

    @property
    def text(self) -> str:
        """The text parts joined together."""
        return "".join(p.text for p in self.parts if isinstance(p, Text))

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [p for p in self.parts if isinstance(p, ToolCall)]

    @property
    def citations(self) -> list[Citation]:
        """Every source cited in this message: its text parts' first, in order, then those
        of provider parts (Gemini's grounding)."""
        texts = [c for p in self.parts if isinstance(p, Text) for c in p.citations]
        return texts + [c for p in self.parts if isinstance(p, ProviderPart) for c in p.citations]

    @property
    def tool_results(self) -> list[ToolResult]:
        return [p for p in self.parts if isinstance(p, ToolResult)]

    # -- serialization ---------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "parts": [p.to_dict() for p in self.parts]}
        return _with_extra(out, self.extra)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        if not isinstance(data, dict) or "role" not in data:
            raise SerializationError(f"A message dict needs a 'role', got {data!r:.80}")
        role = data["role"]
        if role not in ROLES:
            raise SerializationError(
                f"A message dict's role must be one of {', '.join(ROLES)}, not {role!r:.40}"
            )
        parts = expect_type(data.get("parts", []), list, "A message dict's 'parts'")
        return cls(role, [part_from_dict(p) for p in parts], _extra(data))


def set_system_prompt(messages: list[Message], text: str) -> None:
    """Make ``text`` the system prompt: replace a leading system message, or insert one."""
    if messages and messages[0].role == "system":
        messages[0] = Message.system(text)
    else:
        messages.insert(0, Message.system(text))


def part_from_dict(d: dict[str, Any]) -> Part:
    """Rebuild a part from the dict its ``to_dict`` produced.

    Anything else, a missing field or one of the wrong type, raises
    [`SerializationError`][agentloop.errors.SerializationError] naming the part and the field.
    """
    if not isinstance(d, dict):
        raise SerializationError(f"A part must be a dict, got {type(d).__name__}")
    kind = d.get("type")
    try:
        if kind == "image":
            return Image.from_dict(d)
        if kind == "file":
            return File.from_dict(d)
        reader = _PART_READERS.get(kind) if isinstance(kind, str) else None
        if reader is not None:
            return reader(d, f"A {kind} part")
    except KeyError as exc:
        raise SerializationError(f"A {kind} part is missing the field {exc.args[0]!r}") from None
    raise SerializationError(f"Unknown part type {kind!r:.40}")


def _string(d: dict[str, Any], key: str, what: str) -> str:
    return expect_type(d[key], str, f"{what}'s {key!r}")


def _optional_string(d: dict[str, Any], key: str, what: str) -> str | None:
    return expect_type(d.get(key), str, f"{what}'s {key!r}", optional=True)


def _text(d: dict[str, Any], what: str) -> Text:
    return Text(_string(d, "text", what), _extra(d), _citations(d, what))


def _citations(d: dict[str, Any], what: str) -> list[Citation]:
    listed = expect_type(d.get("citations", []), list, f"{what}'s 'citations'")
    return [Citation.from_dict(c) for c in listed]


def _provider_part(d: dict[str, Any], what: str) -> ProviderPart:
    return ProviderPart(
        _string(d, "provider", what),
        _string(d, "kind", what),
        expect_type(d["payload"], dict, f"{what}'s 'payload'"),
        _optional_string(d, "text", what) or "",
        _citations(d, what),
        _extra(d),
    )


def _tool_call(d: dict[str, Any], what: str) -> ToolCall:
    arguments = expect_type(d["arguments"], dict, f"{what}'s 'arguments'")
    return ToolCall(
        _string(d, "name", what),
        dict(arguments),
        _string(d, "tool_call_id", what),
        _optional_string(d, "raw_arguments", what),
        _extra(d),
    )


def _tool_result(d: dict[str, Any], what: str) -> ToolResult:
    listed = expect_type(d.get("attachments", []), list, f"{what}'s 'attachments'")
    attachments = [part_from_dict(a) for a in listed]
    media = [a for a in attachments if isinstance(a, Image | File)]
    if len(media) != len(attachments):
        raise SerializationError(f"{what}'s 'attachments' must be image or file parts")
    return ToolResult(
        _string(d, "name", what),
        _string(d, "output", what),
        _string(d, "tool_call_id", what),
        bool(d.get("is_error", False)),
        media,
        extra=_extra(d),
    )


def _thinking(d: dict[str, Any], what: str) -> Thinking:
    return Thinking(
        _string(d, "text", what),
        _optional_string(d, "signature", what),
        _optional_string(d, "provider", what),
        bool(d.get("redacted")),
        _extra(d),
    )


_PART_READERS: dict[str, Callable[[dict[str, Any], str], Part]] = {
    "text": _text,
    "tool_call": _tool_call,
    "tool_result": _tool_result,
    "thinking": _thinking,
    "provider": _provider_part,
}

T = TypeVar("T")
_KIND_NAMES = {dict: "a dict", list: "a list", str: "a string", int: "an int"}


@overload
def expect_type(value: object, kind: type[T], what: str) -> T: ...
@overload
def expect_type(value: object, kind: type[T], what: str, *, optional: bool) -> T | None: ...
def expect_type(value: object, kind: type[T], what: str, *, optional: bool = False) -> T | None:
    """``value`` if it is a ``kind`` (or None, when ``optional``), else a
    [`SerializationError`][agentloop.errors.SerializationError] naming ``what`` was expected and
    what came."""
    if isinstance(value, kind) or (optional and value is None):
        return value
    expected = _KIND_NAMES.get(kind, kind.__name__)
    got = "nothing" if value is None else f"{type(value).__name__} {value!r:.40}"
    raise SerializationError(
        f"{what} must be {expected}{' or null' if optional else ''}, got {got}"
    )


def _with_extra(out: dict[str, Any], extra: Extra) -> dict[str, Any]:
    if extra:
        out["extra"] = extra
    return out


def _extra(d: dict[str, Any]) -> Extra:
    extra = expect_type(d.get("extra") or {}, dict, "'extra'")
    for key, value in extra.items():
        expect_type(value, dict, f"'extra' of {key!r}")
    return {k: dict(v) for k, v in extra.items()}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
