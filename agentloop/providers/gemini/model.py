"""The Gemini provider: ``generateContent`` over the shared HTTP transport.

The key comes from ``api_key=``, else ``GEMINI_API_KEY``, else ``GOOGLE_API_KEY``,
and travels in the ``x-goog-api-key`` header (never in the URL, where it would end
up in logs). ``GEMINI_BASE_URL`` (or ``base_url=``) is the host;
``/v1beta/models/{model}:generateContent`` is appended.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from agentloop.errors import ProviderError
from agentloop.model import Model
from agentloop.providers.base import Reply, Request
from agentloop.providers.endpoints import GEMINI
from agentloop.providers.gemini.count import count_call
from agentloop.providers.gemini.reply import decode_reply
from agentloop.providers.gemini.request import encode_body, request_url
from agentloop.providers.gemini.stream import GeminiStreamDecoder, json_array_events
from agentloop.providers.http import HTTPCall, HTTPModel
from agentloop.providers.options import check_model_keywords
from agentloop.providers.sse import ServerSentEvent
from agentloop.providers.wire_json import UnreadableJSON, load_json
from agentloop.token_count import CountCall

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


class GeminiModel(HTTPModel):
    """A Gemini model (``gemini-2.5-flash``, ``gemini-3-pro-preview``...)."""

    endpoint = GEMINI

    def url(self, *, stream: bool = False) -> str:
        # The codec's: the streaming method, and a base URL that names its API version.
        return request_url(self.base_url, self.model_name, stream=stream)

    def encode(self, request: Request, *, stream: bool) -> HTTPCall:
        body = encode_body(request, {**self.options, **request.options})
        return HTTPCall(self.url(stream=stream), body, self.request_headers())

    def decode(self, body: Any) -> Reply:
        return decode_reply(body)

    def count_call(self, request: Request) -> CountCall:
        options = {**self.options, **request.options}
        return count_call(self.base_url, self.model_name, request, options)

    def stream_decoder(self) -> GeminiStreamDecoder:
        return GeminiStreamDecoder(lambda status, text: self.http_error(status, text, {}))

    def events_from_body(self, content_type: str, body: bytes) -> Iterable[ServerSentEvent] | None:
        # Gemini without alt=sse streams one JSON array; read it as the same chunks.
        return json_array_events(body) if "json" in content_type else None

    def error_from_response(
        self, status: int, text: str, headers: Mapping[str, str]
    ) -> ProviderError:
        error = super().error_from_response(status, text, headers)
        if error.retry_after is None:
            error.retry_after = retry_delay(text)
        return error


def retry_delay(text: str) -> float | None:
    """Seconds from a google.rpc.RetryInfo detail (``"retryDelay": "37s"``), if any."""
    try:
        body = load_json(text)
    except UnreadableJSON:
        return None
    if isinstance(body, list) and body:
        body = body[0]
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else []:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        match = _DURATION.match(delay) if isinstance(delay, str) else None
        if match:
            return float(match.group(1))
    return None


def create(name: str, **kwargs: Any) -> Model:
    """The registry's factory: ``gemini-2.5-flash`` or ``gemini/<model>``."""
    check_model_keywords(GeminiModel, name, kwargs)
    return GeminiModel(name, **kwargs)
