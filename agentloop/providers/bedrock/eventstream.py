"""The AWS event-stream framing (``application/vnd.amazon.eventstream``), read as it arrives.

``converse-stream`` answers in binary frames, not server-sent events. Each frame is:

- a 12-byte prelude: total length, headers length (both 4-byte big-endian) and the CRC32 of
  those 8 bytes;
- the headers: each a 1-byte name length, the name, a 1-byte value type and the value
  (a string, type 7, is a 2-byte length and UTF-8 bytes; the other types have fixed sizes
  or a 2-byte length, and are skipped here);
- the payload (one JSON object for Bedrock);
- the CRC32 of everything before it.

`EventStreamParser` is pure and incremental, as `sse.EventParser` is: fed byte chunks in any
split, it returns the frames they complete as our own ``ServerSentEvent`` (the ``:event-type``
header as the event, the payload as its data), so the shared stream decoder reads them like
any stream. An exception frame (``:message-type: exception``) becomes an event named by its
``:exception-type``; an ``error`` frame one named ``error``. A frame whose CRCs or lengths do
not hold is a `ResponseFormatError`: a corrupted stream never yields wrong text.
"""

from __future__ import annotations

import json
import struct
import zlib

from agentloop.errors import ResponseFormatError
from agentloop.providers.sse import ServerSentEvent

#: The content type of the framing.
CONTENT_TYPE = "application/vnd.amazon.eventstream"
#: The largest frame accepted (AWS documents 16 MiB for a whole message); a length past it
#: is corruption, refused before buffering that much.
MAX_FRAME = 16 * 1024 * 1024
_PRELUDE = 12
_MINIMUM = _PRELUDE + 4
#: Byte sizes of the fixed-size header value types (bool true/false, byte, short, int,
#: long, timestamp, uuid); types 6 (bytes) and 7 (string) carry a 2-byte length.
_FIXED = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}


class EventStreamParser:
    """Feed it byte chunks; it returns the events the frames they complete hold."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        self._buffer += chunk
        events = []
        while len(self._buffer) >= _PRELUDE:
            total = self._frame_length()
            if len(self._buffer) < total:
                break
            frame = bytes(self._buffer[:total])
            del self._buffer[:total]
            events.append(self._event(frame))
        return events

    def _frame_length(self) -> int:
        total, headers_length, prelude_crc = struct.unpack_from(">III", self._buffer)
        if zlib.crc32(self._buffer[:8]) != prelude_crc:
            raise self.error("a frame's prelude checksum does not match (corrupted stream)")
        if not _MINIMUM <= total <= MAX_FRAME or headers_length > total - _MINIMUM:
            raise self.error(f"a frame announces {total} bytes with {headers_length} of headers")
        return int(total)

    def _event(self, frame: bytes) -> ServerSentEvent:
        (message_crc,) = struct.unpack_from(">I", frame, len(frame) - 4)
        if zlib.crc32(frame[:-4]) != message_crc:
            raise self.error("a frame's message checksum does not match (corrupted stream)")
        (headers_length,) = struct.unpack_from(">I", frame, 4)
        headers = self._headers(frame[_PRELUDE : _PRELUDE + headers_length])
        payload = frame[_PRELUDE + headers_length : -4].decode("utf-8", "replace")
        kind = headers.get(":message-type", "event")
        if kind == "event":
            return ServerSentEvent(headers.get(":event-type", "message"), payload)
        if kind == "exception":
            return ServerSentEvent(headers.get(":exception-type", "exception"), payload)
        if kind == "error":
            code = headers.get(":error-code", "error")
            message = headers.get(":error-message", "")
            return ServerSentEvent("error", json.dumps({"code": code, "message": message}))
        raise self.error(f"a frame of unknown message type {kind[:40]!r}")

    def _headers(self, raw: bytes) -> dict[str, str]:
        headers: dict[str, str] = {}
        at = 0
        try:
            while at < len(raw):
                size = raw[at]
                name = raw[at + 1 : at + 1 + size].decode("utf-8", "replace")
                kind = raw[at + 1 + size]
                at += 2 + size
                if kind in _FIXED:
                    at += _FIXED[kind]
                    continue
                if kind not in (6, 7):
                    raise self.error(f"header {name[:40]!r} has unknown value type {kind}")
                (length,) = struct.unpack_from(">H", raw, at)
                value = raw[at + 2 : at + 2 + length]
                if len(value) != length:
                    raise IndexError
                if kind == 7:
                    headers[name] = value.decode("utf-8", "replace")
                at += 2 + length
        except (IndexError, struct.error):
            raise self.error("a frame's headers run past their announced length") from None
        if at != len(raw):
            raise self.error("a frame's headers run past their announced length")
        return headers

    def error(self, problem: str) -> ResponseFormatError:
        """The error for a broken stream, in the one wording."""
        return ResponseFormatError(f"event stream: {problem}", provider=self.provider)


def encode_frame(event_type: str, payload: bytes, message_type: str = "event") -> bytes:
    """One frame as AWS sends it (the test servers' side of the framing; pure)."""
    names = {":message-type": message_type, ":content-type": "application/json"}
    names[":exception-type" if message_type == "exception" else ":event-type"] = event_type
    headers = b"".join(
        bytes([len(n)]) + n.encode() + b"\x07" + struct.pack(">H", len(v)) + v.encode()
        for n, v in names.items()
    )
    total = _MINIMUM + len(headers) + len(payload)
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))
