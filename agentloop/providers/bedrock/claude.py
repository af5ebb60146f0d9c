"""Claude on Bedrock through the Anthropic Messages format: InvokeModel, not Converse.

``POST /model/{id}/invoke`` takes the Messages API body with ``anthropic_version:
bedrock-2023-05-31`` in it and neither ``model`` (it is in the URL) nor ``stream`` (streaming
is its own operation, ``/invoke-with-response-stream``), and answers with the Messages API
reply, so the Anthropic codec reads it unchanged. A stream comes in AWS event-stream frames
whose ``chunk`` events each carry one Anthropic event as base64 JSON (`ChunkFraming`).
Differences from Anthropic's own API, handled here: media only as bytes (a URL is fetched
first and sent as base64), beta features in the body's ``anthropic_beta`` (no header), no
token-counting call of Anthropic's (the estimate is used), no batch API in agentloop.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from agentloop.media import Media
from agentloop.providers.anthropic.model import AnthropicModel
from agentloop.providers.base import Request
from agentloop.providers.bedrock.access import BedrockAccess
from agentloop.providers.bedrock.eventstream import CONTENT_TYPE, EventStreamParser
from agentloop.providers.bedrock.reply import error_from_exception
from agentloop.providers.http import HTTPCall
from agentloop.providers.media_fetch import media_parts, pending
from agentloop.providers.sse import EventFraming, ServerSentEvent
from agentloop.token_count import CountCall

#: The version InvokeModel's Anthropic body names (Bedrock's, not the Messages API's header).
ANTHROPIC_VERSION = "bedrock-2023-05-31"


class BedrockClaudeModel(BedrockAccess, AnthropicModel):
    """A Claude model on Bedrock spoken to in the Anthropic Messages format (InvokeModel):
    ``get_model("bedrock/anthropic.claude-...", wire="anthropic")``. Region, auth and errors
    are `BedrockModel`'s."""

    def url(self, *, stream: bool = False) -> str:
        return self.model_url("invoke-with-response-stream" if stream else "invoke")

    def media_to_fetch(self, request: Request) -> list[Media]:
        return pending(request.messages, lambda _media, _in_result: True)

    def encode(self, request: Request, *, stream: bool) -> HTTPCall:
        call = super().encode(request, stream=stream)  # the Messages API body, then Bedrock's
        body = {k: v for k, v in call.body.items() if k not in ("model", "stream")}
        body = {"anthropic_version": ANTHROPIC_VERSION, **body}
        betas = call.headers.pop("anthropic-beta", None)
        if betas:
            body["anthropic_beta"] = [beta.strip() for beta in betas.split(",")]
        fetched = {m.url: m for m, _ in media_parts(request.messages) if m.url and m.data}
        _inline_urls(body, fetched)
        return HTTPCall(call.url, body, call.headers)

    def stream_framing(self, content_type: str) -> EventFraming | None:
        if CONTENT_TYPE in content_type:
            return ChunkFraming(self.provider)
        return super().stream_framing(content_type)

    def count_call(self, request: Request) -> CountCall | None:  # type: ignore[override]
        return None  # Anthropic's counting endpoint is not Bedrock's: the estimate

    def batch_api(self) -> None:  # type: ignore[override]
        return None  # Bedrock's batch inference is not Anthropic's Message Batches


def _inline_urls(node: Any, fetched: dict[str, Media]) -> None:
    """Each ``{"type": "url", "url": ...}`` source of the body as the base64 source of the
    bytes fetched for it (InvokeModel takes no URL source)."""
    if isinstance(node, list):
        for item in node:
            _inline_urls(item, fetched)
    elif isinstance(node, dict):
        source = node.get("source")
        if (
            isinstance(source, dict)
            and source.get("type") == "url"
            and source.get("url") in fetched
        ):
            media = fetched[source["url"]]
            data = base64.b64encode(media.fetched_data()).decode("ascii")
            node["source"] = {"type": "base64", "media_type": media.media_type, "data": data}
        for value in node.values():
            _inline_urls(value, fetched)


class ChunkFraming:
    """InvokeModel's stream: event-stream frames whose ``chunk`` events hold one Anthropic
    event each (``{"bytes": base64 JSON}``), read as the server-sent events Anthropic sends."""

    def __init__(self, provider: str) -> None:
        self._frames = EventStreamParser(provider)
        self._read = self._frames.error  # one wording for a broken stream

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        return [self._event(event) for event in self._frames.feed(chunk)]

    def _event(self, event: ServerSentEvent) -> ServerSentEvent:
        try:
            payload = json.loads(event.data)
        except ValueError:
            raise self._read(f"a {event.event[:40]!r} frame holds no JSON") from None
        if event.event != "chunk":
            message = payload.get("message") if isinstance(payload, dict) else None
            text = message if isinstance(message, str) else event.data[:500]
            kind = error_from_exception(event.event, text)
            raise kind(text, provider="bedrock", error_type=event.event, body=event.data[:2000])
        encoded = payload.get("bytes") if isinstance(payload, dict) else None
        try:
            data = base64.b64decode(str(encoded), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise self._read("a chunk's bytes are not base64 UTF-8") from None
        try:
            kind_of = json.loads(data).get("type")
        except (ValueError, AttributeError):
            kind_of = None
        return ServerSentEvent(kind_of if isinstance(kind_of, str) else "message", data)
