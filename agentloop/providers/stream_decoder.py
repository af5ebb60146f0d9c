"""The skeleton of every format's stream decoder (pure, stateful): the wire kit's fourth piece.

What every streamed reply needs alike lives here once, in `StreamDecoderBase`:

- `feed` takes our own ``ServerSentEvent`` (`agentloop.providers.sse`), skips empty ones
  and ``[DONE]`` (which ends the stream where the format says so: `ends_with_done`), reads
  the data with `load_reply` (one limit, one wording) and checks it is an object, naming it
  by its event type (``content_block_delta``) or its place among the chunks (``chunks[3]``),
  the root of every path its checks name;
- `on_event`, the one thing a format must write, turns an event into state: what a type of
  event means (an error event raises the typed error it stands for);
- `show_text` / `show_thinking` emit the [`Delta`][agentloop.Delta]s and keep
  ``partial_text``, kept on a [`StreamIncomplete`][agentloop.errors.StreamIncomplete];
  `show_call` announces a tool call (its id and name) once, and `add_arguments` /
  `settle_arguments` grow its argument text, emitting each fragment once the call is
  announced (fragments that came first go out with the announcement);
- `parts` (`StreamParts`, in the manner of pydantic-ai's parts manager) gathers text, thinking
  and tool-call argument fragments by the key the format gives each part (an index, an
  ``output_index``, a field name), in order of arrival;
- `finish` raises `StreamIncomplete` (``the stream ended before <end_marker>``) unless the
  format said the stream `ended`, then asks `reply` for the [`Reply`][agentloop.Reply]; each
  format rebuilds the body a non-streamed call would have returned from its parts and decodes
  it with its reply decoder, so a streamed reply equals a plain one.

Malformed events raise [`ResponseFormatError`][agentloop.errors.ResponseFormatError] through
``self.read`` (a `FieldReader`), the wording every reply check uses.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from agentloop.errors import StreamIncomplete
from agentloop.providers.base import Delta, Reply
from agentloop.providers.sse import ServerSentEvent
from agentloop.providers.wire_fields import FieldReader, Where
from agentloop.providers.wire_json import UnreadableJSON, load_json, load_reply, scrub


@dataclass(slots=True)
class StreamPart:
    """One part of a streamed reply as its fragments arrive."""

    #: What it is, in the format's words (``"text"``, ``"tool_use"``, ``"function_call"``...).
    kind: str
    #: Its other wire fields as announced (a signature so far, fields kept as they came...).
    fields: dict[str, Any] = field(default_factory=dict)
    #: Its text (or thinking) so far.
    text: str = ""
    #: A tool call's id, name and argument text so far.
    id: str = ""
    name: str = ""
    arguments: str = ""
    #: The id a tool call was announced with (`show_call`), once it was: the finished
    #: call must have the same.
    announced_id: str | None = None


class StreamParts:
    """The parts of a streamed reply, by the key the format gives each (in order of arrival)."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: dict[Hashable, StreamPart] = {}

    def start(self, key: Hashable, kind: str, fields: dict[str, Any] | None = None) -> StreamPart:
        """A new part at ``key`` (a key used again starts afresh, as the format said)."""
        self._parts.pop(key, None)  # arrival order is the new one's
        part = self._parts[key] = StreamPart(kind, dict(fields or {}))
        return part

    def get(self, key: Hashable) -> StreamPart | None:
        return self._parts.get(key)

    def add_text(self, key: Hashable, piece: str, kind: str = "text") -> StreamPart:
        """``piece`` appended to the text of the part at ``key`` (started as ``kind`` if new)."""
        part = self._parts.get(key) or self.start(key, kind)
        part.text += piece
        return part

    def add_arguments(self, key: Hashable, piece: str, kind: str = "tool_call") -> StreamPart:
        """``piece`` appended to the argument text of the part at ``key``."""
        part = self._parts.get(key) or self.start(key, kind)
        part.arguments += piece
        return part

    def by_key(self) -> list[tuple[Any, StreamPart]]:
        """``(key, part)`` pairs sorted by key (for formats whose keys are positions)."""
        return sorted(self._parts.items(), key=lambda pair: pair[0])

    def __contains__(self, key: Hashable) -> bool:
        return key in self._parts

    def __iter__(self) -> Iterator[StreamPart]:
        return iter(self._parts.values())

    def __len__(self) -> int:
        return len(self._parts)


class StreamDecoderBase(ABC):
    """Feed it a stream's events; `finish` gives the reply (see the module's doc)."""

    #: What a finished stream ends with, named when a stream breaks off before it.
    end_marker: ClassVar[str] = "its end"
    #: Whether a ``data: [DONE]`` event ends the stream (Chat Completions); else it is skipped.
    ends_with_done: ClassVar[bool] = False

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.read = FieldReader.of(provider)
        self.parts = StreamParts()
        #: The text shown so far, kept on a StreamIncomplete if the stream breaks.
        self.partial_text = ""
        #: Set by the format when the stream's own end arrives.
        self.ended = False
        self._shown: list[Delta] = []
        self._chunks = 0
        self._chunk_at = self._chunk_path  # bound once: passed with every chunk

    # -- what a format writes --------------------------------------------------------------

    @abstractmethod
    def on_event(self, kind: str, data: dict[str, Any], path: Where) -> None:
        """Take one event: ``kind`` is its type (the data's ``type``, else the event's name),
        ``data`` its object, ``path`` the root of the paths its checks name (the type, or
        what writes ``chunks[n]`` for a stream of unnamed chunks: `wire_fields.at` reads it)."""

    @abstractmethod
    def reply(self) -> Reply:
        """The reply, once the stream `ended`."""

    # -- the skeleton ----------------------------------------------------------------------

    def feed(self, event: ServerSentEvent) -> list[Delta]:
        data = event.data.strip()
        if not data:
            return []
        if data == "[DONE]":
            self.ended = self.ended or self.ends_with_done
            return []
        named = event.event != "message"
        try:
            value = load_json(data)
        except UnreadableJSON:  # read again for the error, worded as every reply's
            what = f"event {event.event!r}" if named else f"stream chunk {self._chunks}"
            load_reply(data, provider=self.provider, what=what)
            raise
        self._chunks += 1
        if not isinstance(value, dict):
            raise self.read.fail(event.event if named else self._chunk_path(), "an object", value)
        kind = value.get("type", event.event)
        if not isinstance(kind, str):
            kind = event.event
        self.on_event(kind, value, kind if named else self._chunk_at)
        shown, self._shown = self._shown, []
        return shown

    def _chunk_path(self) -> str:
        return f"chunks[{self._chunks - 1}]"

    def finish(self) -> Reply:
        if not self.ended:
            raise StreamIncomplete(
                f"the stream ended before {self.end_marker}",
                provider=self.provider,
                partial_text=self.partial_text,
            )
        return self.reply()

    def show_text(self, piece: str) -> None:
        """Visible text as it arrives: a delta now, and part of ``partial_text``."""
        if piece:
            self.partial_text += piece
            self._shown.append(Delta(piece))

    def show_thinking(self, piece: str) -> None:
        if piece:
            self._shown.append(Delta(piece, "thinking"))

    def show_call(self, part: StreamPart, call_id: str, name: str) -> None:
        """Announce the tool call in ``part`` (once): ``call_id`` is the id the reply will give
        it, the format's own made-up one when the provider sent none."""
        if part.announced_id is not None:
            return
        part.announced_id = call_id = scrub(call_id)  # shown as it arrives, so mended here
        self._shown.append(Delta(scrub(name), "tool_call", call_id))
        if part.arguments:
            self._shown.append(Delta(scrub(part.arguments), "arguments", call_id))

    def add_arguments(self, part: StreamPart, piece: str) -> None:
        """``piece`` of a tool call's argument text: kept, and shown if the call is announced."""
        if piece:
            part.arguments += piece
            if part.announced_id is not None:
                self._shown.append(Delta(scrub(piece), "arguments", part.announced_id))

    def settle_arguments(self, part: StreamPart, final: str) -> None:
        """The call's whole argument text, as a format's closing event gives it: what the
        fragments did not bring is shown, so the fragments always add up to it."""
        if final.startswith(part.arguments):
            self.add_arguments(part, final[len(part.arguments) :])
        else:
            part.arguments = final
