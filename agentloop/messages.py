"""The provider-neutral message model: a :class:`Message` is a role and ordered parts.

Parts are :class:`Text`, :class:`~agentloop.media.Image`, :class:`~agentloop.media.File`,
:class:`ToolCall`, :class:`ToolResult` and :class:`Thinking`. Every part has an
``extra`` mapping of provider-specific fields keyed by wire format (``"openai"``,
``"openai-responses"``, ``"anthropic"``, ``"gemini"``): converters put there what
the neutral model has no field for (an Anthropic ``cache_control``, a Gemini
``thoughtSignature``) and read it back when exporting to the same format, so a
conversation survives an import/export round trip unchanged. Other formats
ignore it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, Self, TypeAlias, get_args

from agentloop.errors import SerializationError
from agentloop.media import File, Image, Media, Source, media_from

Role = Literal["system", "user", "assistant", "tool"]
ROLES: tuple[str, ...] = get_args(Role)

#: Wire format names, used as keys of ``extra`` and as ``Thinking.provider``.
OPENAI = "openai"
OPENAI_RESPONSES = "openai-responses"
ANTHROPIC = "anthropic"
GEMINI = "gemini"

Extra: TypeAlias = dict[str, dict[str, Any]]


@dataclass(slots=True)
class Text:
    """Plain text."""

    text: str
    extra: Extra = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _with_extra({"type": "text", "text": self.text}, self.extra)


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
        return json.dumps(self.arguments, ensure_ascii=False, separators=(",", ":"))

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


Part: TypeAlias = Text | Image | File | ToolCall | ToolResult | Thinking
PART_TYPES: tuple[type, ...] = (Text, Image, File, ToolCall, ToolResult, Thinking)


@dataclass(slots=True)
class Message:
    """One turn: a role and its ordered parts.

    Build with ``Message.user("hi")``, ``Message.system(...)``,
    ``Message.assistant(...)``; add media with :meth:`add_image` and
    :meth:`add_file`, which return the message so calls chain.
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
        """Append an image from a path, URL, bytes, ``data:`` URL or an :class:`Image`."""
        part = image if isinstance(image, Image) else Image(image, media_type=media_type)
        self.parts.append(part)
        return self

    def add_file(
        self, file: File | Source, *, filename: str | None = None, media_type: str | None = None
    ) -> Self:
        """Append a file (a PDF, audio, ...) from a path, URL, bytes or :class:`File`."""
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
        parts = data.get("parts", [])
        if not isinstance(parts, list):
            raise SerializationError("A message dict's 'parts' must be a list")
        try:
            return cls(data["role"], [part_from_dict(p) for p in parts], _extra(data))
        except ValueError as exc:
            raise SerializationError(str(exc)) from exc


def set_system_prompt(messages: list[Message], text: str) -> None:
    """Make ``text`` the system prompt: replace a leading system message, or insert one."""
    if messages and messages[0].role == "system":
        messages[0] = Message.system(text)
    else:
        messages.insert(0, Message.system(text))


def part_from_dict(d: dict[str, Any]) -> Part:
    """Rebuild a part from the dict its ``to_dict`` produced."""
    if not isinstance(d, dict):
        raise SerializationError(f"A part must be a dict, got {type(d).__name__}")
    kind = d.get("type")
    try:
        if kind == "text":
            return Text(d["text"], _extra(d))
        if kind == "image":
            return Image.from_dict(d)
        if kind == "file":
            return File.from_dict(d)
        if kind == "tool_call":
            return ToolCall(
                d["name"],
                dict(d["arguments"]),
                d["tool_call_id"],
                d.get("raw_arguments"),
                _extra(d),
            )
        if kind == "tool_result":
            attachments = [part_from_dict(a) for a in d.get("attachments", [])]
            return ToolResult(
                d["name"],
                d["output"],
                d["tool_call_id"],
                bool(d.get("is_error", False)),
                [a for a in attachments if isinstance(a, Image | File)],
                extra=_extra(d),
            )
        if kind == "thinking":
            return Thinking(
                d["text"], d.get("signature"), d.get("provider"), bool(d.get("redacted")), _extra(d)
            )
    except KeyError as exc:
        raise SerializationError(f"A {kind} part is missing the field {exc.args[0]!r}") from None
    raise SerializationError(f"Unknown part type {kind!r}")


def _with_extra(out: dict[str, Any], extra: Extra) -> dict[str, Any]:
    if extra:
        out["extra"] = extra
    return out


def _extra(d: dict[str, Any]) -> Extra:
    extra = d.get("extra") or {}
    if not isinstance(extra, dict):
        raise SerializationError("'extra' must be a dict")
    return {k: dict(v) for k, v in extra.items()}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
