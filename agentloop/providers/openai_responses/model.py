"""The OpenAI Responses API model: ``POST {base}/responses`` with a Bearer key.

The pure parts live beside it: `request` builds the body, `reply`
reads a reply and `stream` reads the event stream; `HTTPModel`
sends, retries and maps HTTP failures.
"""

from __future__ import annotations

from typing import Any

from agentloop.providers.base import Reply, Request
from agentloop.providers.endpoints import OPENAI_RESPONSES
from agentloop.providers.http import HTTPCall, HTTPModel
from agentloop.providers.openai_chat.batch import OpenAIBatch
from agentloop.providers.openai_responses.count import count_call
from agentloop.providers.openai_responses.reply import decode_reply
from agentloop.providers.openai_responses.request import encode_body
from agentloop.providers.openai_responses.stream import ResponsesStreamDecoder
from agentloop.providers.openai_responses.tokens import TOKEN_RULES
from agentloop.providers.options import check_model_keywords
from agentloop.token_count import CountCall


class OpenAIResponsesModel(HTTPModel):
    """A model served through the Responses API (OpenAI, or a server that speaks it)."""

    endpoint = OPENAI_RESPONSES
    #: How this format's provider charges media, for the estimates.
    token_rules = TOKEN_RULES

    def encode(self, request: Request, *, stream: bool) -> HTTPCall:
        options = {**self.options, **request.options}
        body = encode_body(
            self.model_name,
            request,
            options,
            stream=stream,
            prompt_cache_key=self.endpoint.quirks.prompt_cache_key,
        )
        return HTTPCall(self.url(stream=stream), body, self.request_headers())

    def decode(self, body: Any) -> Reply:
        return decode_reply(body)

    def batch_api(self) -> OpenAIBatch:
        """OpenAI's Batch API, on ``/v1/responses``."""
        return OpenAIBatch(self, self.endpoint.path)

    def count_call(self, request: Request) -> CountCall:
        options = {**self.options, **request.options}
        return count_call(self.base_url, self.model_name, request, options)

    def stream_decoder(self) -> ResponsesStreamDecoder:
        return ResponsesStreamDecoder()


def create(name: str, **kwargs: Any) -> OpenAIResponsesModel:
    """The registry's factory: ``get_model("openai-responses/<name>", **kwargs)``."""
    check_model_keywords(OpenAIResponsesModel, name, kwargs)
    return OpenAIResponsesModel(name, **kwargs)
