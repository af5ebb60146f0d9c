"""The Anthropic Messages model: the shared HTTP transport plus this package's pure codec."""

from __future__ import annotations

from typing import Any

from agentloop.model import Model
from agentloop.providers.anthropic.reply import decode_reply
from agentloop.providers.anthropic.request import encode_request
from agentloop.providers.anthropic.stream import AnthropicStreamDecoder
from agentloop.providers.base import Reply, Request
from agentloop.providers.http import HTTPCall, HTTPModel
from agentloop.providers.options import check_model_keywords

#: The API version every request names (the one Anthropic documents for the Messages API).
API_VERSION = "2023-06-01"


class AnthropicModel(HTTPModel):
    """A Claude model over the Messages API (``POST {base_url}/v1/messages``).

    The key comes from ``api_key=`` or ``ANTHROPIC_API_KEY``; the host from
    ``base_url=`` or ``ANTHROPIC_BASE_URL`` (host only: the path is appended).
    Extra headers (``headers={"anthropic-beta": ...}``) go with every request.
    """

    provider = "anthropic"
    key_env = ("ANTHROPIC_API_KEY",)
    base_url_env = "ANTHROPIC_BASE_URL"
    default_base_url = "https://api.anthropic.com"

    @property
    def endpoint(self) -> str:
        # A base URL given with its /v1 (as for OpenAI) still reaches /v1/messages.
        return f"{self.base_url.removesuffix('/v1')}/v1/messages"

    def encode(self, request: Request, *, stream: bool) -> HTTPCall:
        options = {**self.options, **request.options}
        body = encode_request(self.model_name, request, options, stream=stream)
        headers = {
            "x-api-key": self.api_key() or "",
            "anthropic-version": API_VERSION,
            **self.extra_headers,
        }
        return HTTPCall(self.endpoint, body, headers)

    def decode(self, body: Any) -> Reply:
        return decode_reply(body)

    def stream_decoder(self) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder()


def create(name: str, **kwargs: Any) -> Model:
    """The registry's factory: ``get_model("claude-...")`` or ``get_model("anthropic/...")``."""
    check_model_keywords(AnthropicModel, name, kwargs)
    return AnthropicModel(name, **kwargs)
