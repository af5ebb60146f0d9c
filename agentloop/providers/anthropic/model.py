"""The Anthropic Messages model: the shared HTTP transport plus this package's pure codec."""

from __future__ import annotations

from typing import Any

from agentloop.media import Media
from agentloop.model import Model
from agentloop.providers.anthropic.batch import AnthropicBatch
from agentloop.providers.anthropic.count import count_call
from agentloop.providers.anthropic.messages import media_to_fetch
from agentloop.providers.anthropic.reply import decode_reply
from agentloop.providers.anthropic.request import encode_request
from agentloop.providers.anthropic.server_tools import with_betas
from agentloop.providers.anthropic.stream import AnthropicStreamDecoder
from agentloop.providers.anthropic.tokens import TOKEN_RULES
from agentloop.providers.base import Reply, Request
from agentloop.providers.endpoints import ANTHROPIC
from agentloop.providers.http import HTTPCall, HTTPModel
from agentloop.providers.options import check_model_keywords
from agentloop.token_count import CountCall

#: The API version every request names (the one Anthropic documents for the Messages API).
API_VERSION = ANTHROPIC.headers["anthropic-version"]


class AnthropicModel(HTTPModel):
    """A Claude model over the Messages API (``POST {base_url}/v1/messages``).

    The key comes from ``api_key=`` or ``ANTHROPIC_API_KEY``; the host from
    ``base_url=`` or ``ANTHROPIC_BASE_URL`` (host only: the path is appended).
    Extra headers (``headers={"anthropic-beta": ...}``) go with every request.
    """

    endpoint = ANTHROPIC
    #: How this format's provider charges media, for the estimates.
    token_rules = TOKEN_RULES

    def url(self, *, stream: bool = False) -> str:
        # A base URL given with its /v1 (as for OpenAI) still reaches /v1/messages.
        return self.endpoint.url(self.base_url.removesuffix("/v1"))

    def encode(self, request: Request, *, stream: bool) -> HTTPCall:
        options = {**self.options, **request.options}
        body = encode_request(self.model_name, request, options, stream=stream)
        headers = with_betas(self.request_headers(), request.server_tools)
        return HTTPCall(self.url(stream=stream), body, headers)

    def media_to_fetch(self, request: Request) -> list[Media]:
        return media_to_fetch(request.messages)

    def decode(self, body: Any) -> Reply:
        return decode_reply(body)

    def batch_api(self) -> AnthropicBatch:
        """The Message Batches API."""
        return AnthropicBatch(self)

    def count_call(self, request: Request) -> CountCall:
        options = {**self.options, **request.options}
        call = count_call(self.base_url, self.model_name, request, options)
        if not request.server_tools:
            return call
        headers = with_betas(self.request_headers(), request.server_tools)
        return CountCall(call.url, call.body, call.source, call.field, headers)

    def stream_decoder(self) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder()


def create(name: str, **kwargs: Any) -> Model:
    """The registry's factory: ``get_model("claude-...")`` or ``get_model("anthropic/...")``."""
    check_model_keywords(AnthropicModel, name, kwargs)
    return AnthropicModel(name, **kwargs)
