"""Reading an HTTP body within a byte limit, on the wire and once decompressed.

The toolbox asks for uncompressed bodies, but a server may compress anyway,
and a small gzip body can expand a thousandfold (a 300 kB "zip bomb" becomes
300 MB). So the raw bytes are read here and inflated with zlib's
``max_length``: never more than the limit is produced, whatever one chunk
would expand to, and no more than the limit is received either.
"""

from __future__ import annotations

import zlib

import httpx

from agentloop import ToolError

__all__ = ["read_body"]

_GZIP = frozenset({"gzip", "x-gzip"})


async def read_body(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """The decoded body, at most ``limit`` bytes, and whether it was cut."""
    inflater = _inflater(response)
    body = bytearray()
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        room = limit - len(body)
        if inflater is None:
            decoded, more = chunk[: room + 1], False
        else:
            decoded, more = inflater.feed(chunk, room)
        body += decoded
        if more or len(body) > limit or received > limit:
            return bytes(body[:limit]), True
    return bytes(body), False


class _Inflater:
    """One gzip or deflate layer that never produces more than it is asked for."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.raw_fallback = encoding == "deflate"  # "deflate" is sent with or without zlib framing
        wbits = zlib.MAX_WBITS | 16 if encoding in _GZIP else zlib.MAX_WBITS
        self.inflate = zlib.decompressobj(wbits)

    def feed(self, chunk: bytes, room: int) -> tuple[bytes, bool]:
        """Up to ``room + 1`` decoded bytes (one more than fits shows it overflows), and
        whether the input held even more."""
        try:
            out = self.inflate.decompress(chunk, room + 1)
        except zlib.error as exc:
            if not self.raw_fallback:
                raise ToolError(f"The {self.encoding} body could not be decoded: {exc}") from None
            self.raw_fallback = False
            self.inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            return self.feed(chunk, room)
        self.raw_fallback = False
        return out, bool(self.inflate.unconsumed_tail)


def _inflater(response: httpx.Response) -> _Inflater | None:
    header = response.headers.get("content-encoding", "")
    layers = [
        e for e in (p.strip().lower() for p in header.split(",")) if e not in ("", "identity")
    ]
    if not layers:
        return None
    if len(layers) == 1 and layers[0] in (*_GZIP, "deflate"):
        return _Inflater(layers[0])
    raise ToolError(
        f"The response is encoded as {header!r}, which this toolbox does not decode "
        "(it asks for uncompressed bodies)"
    )
