"""The OpenAI Responses API model: ``POST {base}/responses`` with a Bearer key.

The pure parts live beside it: `request` builds the body, `reply`
reads a reply and `stream` reads the event stream; `HTTPModel`
sends, retries and maps HTTP failures.
"""

from __future__ import annotations

from typing import Any, ClassVar

from agentloop.messages import OPENAI_RESPONSES
from agentloop.providers.base import Reply, Request
from agentloop.providers.http import HTTPCall, HTTPModel
from agentloop.providers.openai_responses.reply import decode_reply
from agentloop.providers.openai_responses.request import encode_body
from agentloop.providers.openai_responses.stream import ResponsesStreamDecoder
from agentloop.providers.options import check_model_keywords


class OpenAIResponsesModel(HTTPModel):
    """A model served through the Responses API (OpenAI, or a server that speaks it)."""

    provider: ClassVar[str] = OPENAI_RESPONSES
    key_env: ClassVar[tuple[str, ...]] = ("OPENAI_API_KEY",)
    base_url_env: ClassVar[str | None] = "OPENAI_BASE_URL"
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"

    def encode(self, request: Request, *, stream: bool) -> HTTPCall:
        options = {**self.options, **request.options}
        body = encode_body(self.model_name, request, options, stream=stream)
        headers = {"authorization": f"Bearer {self.api_key()}", **self.extra_headers}
        return HTTPCall(f"{self.base_url}/responses", body, headers)

    def decode(self, body: Any) -> Reply:
        return decode_reply(body)

    def stream_decoder(self) -> ResponsesStreamDecoder:
        return ResponsesStreamDecoder()


def create(name: str, **kwargs: Any) -> OpenAIResponsesModel:
    """The registry's factory: ``get_model("openai-responses/<name>", **kwargs)``."""
    check_model_keywords(OpenAIResponsesModel, name, kwargs)
    return OpenAIResponsesModel(name, **kwargs)
