"""Server-sent events from a body's byte chunks (pure: no I/O, any transport).

The event-stream format of the HTML standard: lines end with CRLF, LF or CR
(a CR at the end of one chunk may be the first half of a CRLF split across
two); ``data`` lines join with newlines; ``event``, ``id`` and ``retry`` set
the event's fields; an empty line dispatches it; a line starting with ``:``
is a comment. An event not closed by an empty line when the body ends is
dropped, as the standard says. The events are our own `ServerSentEvent`
(the type the stream decoders read, so no codec sees a transport library),
and the parsing matches httpx-sse's line by line.
"""

from __future__ import annotations

import codecs
import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One event: its type (``"message"`` when the stream names none), data, id and retry."""

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


class EventParser:
    """Feed it byte chunks; it returns the events they complete."""

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""  # a line not yet ended
        self._pending_cr = False  # the last chunk ended in CR: an LF may follow
        self._event = ""
        self._data: list[str] = []
        self._id = ""
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        text = self._text.decode(chunk)
        if not text:
            return []
        if self._pending_cr:
            self._pending_cr = False
            if text.startswith("\n"):
                text = text[1:]  # the LF of a CRLF split between chunks
        if text.endswith("\r"):
            self._pending_cr = True
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        lines[0] = self._partial + lines[0]
        self._partial = lines.pop()
        events = []
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry":
            with contextlib.suppress(ValueError):
                self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not (self._event or self._data or self._id or self._retry is not None):
            return None
        data = "\n".join(self._data)
        event = ServerSentEvent(self._event or "message", data, self._id, self._retry)
        self._event, self._data, self._retry = "", [], None  # the id carries over
        return event


class EventFraming(Protocol):
    """What reads a streamed body into events, chunk by chunk: `EventParser` for server-sent
    events, or a format's own framing (a binary one, for AWS event-stream)."""

    def feed(self, chunk: bytes) -> list[ServerSentEvent]: ...


def iter_events(
    chunks: Iterable[bytes], parser: EventFraming | None = None
) -> Iterator[ServerSentEvent]:
    """The events of a body read as chunks (server-sent events unless ``parser`` says)."""
    parser = parser or EventParser()
    for chunk in chunks:
        yield from parser.feed(chunk)


async def aiter_events(
    chunks: AsyncIterable[bytes], parser: EventFraming | None = None
) -> AsyncIterator[ServerSentEvent]:
    """The events of a body read as chunks, async."""
    parser = parser or EventParser()
    async for chunk in chunks:
        for event in parser.feed(chunk):
            yield event
