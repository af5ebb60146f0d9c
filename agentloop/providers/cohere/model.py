"""The Cohere model: ``HTTPModel`` on the `COHERE` endpoint, this package's codec."""

from __future__ import annotations

from typing import Any

from agentloop.errors import ProviderError
from agentloop.providers.base import Reply, Request
from agentloop.providers.cohere.reply import decode_reply, error_class
from agentloop.providers.cohere.request import encode_request
from agentloop.providers.cohere.stream import CohereStreamDecoder
from agentloop.providers.cohere.tokens import TOKEN_RULES
from agentloop.providers.endpoints import COHERE
from agentloop.providers.http import HTTPCall, HTTPModel
from agentloop.providers.options import check_model_keywords


class CohereModel(HTTPModel):
    """A model behind Cohere's v2 Chat API (``POST {base_url}/v2/chat``).

    Key: ``api_key=``, else ``CO_API_KEY`` or ``COHERE_API_KEY`` (the names Cohere's own SDK
    reads), sent as ``Authorization: Bearer``. Base URL: ``base_url=``, else ``CO_API_URL``
    (the SDK's variable), else ``https://api.cohere.com``.
    """

    endpoint = COHERE
    #: How this format's provider charges media, for the estimates.
    token_rules = TOKEN_RULES

    def encode(self, request: Request, *, stream: bool) -> HTTPCall:
        options = {**self.options, **request.options}
        body = encode_request(request, options, model=self.model_name, stream=stream)
        return HTTPCall(self.url(stream=stream), body, self.request_headers())

    def decode(self, body: Any) -> Reply:
        return decode_reply(body)

    def stream_decoder(self) -> CohereStreamDecoder:
        return CohereStreamDecoder()

    def error_class(self, status: int, error_type: str | None, message: str) -> type[ProviderError]:
        """Cohere's own 498 is an invalid token; the rest reads as every provider's."""
        return error_class(status, error_type, message)


def create(name: str, **kwargs: Any) -> CohereModel:
    """The registry's factory: ``get_model("cohere/command-a-03-2025")``."""
    check_model_keywords(CohereModel, name, kwargs)
    return CohereModel(name, **kwargs)
