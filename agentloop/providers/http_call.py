"""One HTTP request as a provider encodes it, and the decoder a provider gives for its stream.

The contract between a codec and `HTTPModel`: a provider's pure ``encode`` returns an
`HTTPCall` (URL, JSON body, headers), which `wire_request` turns into the bytes a
transport sends; its ``stream_decoder`` returns a `StreamDecoder` fed the server-sent
events, as `agentloop.providers.sse` parses them (no transport library's type reaches a
codec; the built-in decoders share `agentloop.providers.stream_decoder`'s skeleton).
Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from agentloop.providers.base import Delta, Reply
from agentloop.providers.sse import ServerSentEvent
from agentloop.providers.transport import HTTPRequest
from agentloop.providers.wire_cache import dump_body


@dataclass(slots=True)
class HTTPCall:
    """One HTTP request as data: the provider's encoding, before any I/O."""

    url: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class StreamDecoder(Protocol):
    """Turns one provider's server-sent events into deltas, then a reply (pure, stateful)."""

    #: The text received so far, kept on a [`StreamIncomplete`][agentloop.errors.StreamIncomplete]
    #: if the stream breaks.
    partial_text: str

    def feed(self, event: ServerSentEvent) -> Iterable[Delta]: ...

    def finish(self) -> Reply:
        """The reply, once the stream ended; raises StreamIncomplete if it ended early."""
        ...


def wire_request(call: HTTPCall) -> HTTPRequest:
    """The call as bytes, encoded as httpx's ``json=`` would (compact, UTF-8, no NaN); the
    parts of the body the codec already wrote as JSON are spliced in (`dump_body`)."""
    body = dump_body(call.body)
    headers = {"content-type": "application/json", **call.headers}
    return HTTPRequest("POST", call.url, headers, body.encode())
