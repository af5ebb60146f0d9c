"""Claude on Google Cloud's Vertex AI: the Anthropic codec at Vertex's endpoint.

``get_model("vertex-anthropic/claude-sonnet-4-5@20250929")``. The Messages body, less its
``model`` (named in the URL instead) and with ``anthropic_version: "vertex-2023-10-16"``
(in place of the ``anthropic-version`` header), goes to ``.../publishers/anthropic/models/
{model}:rawPredict`` (``:streamRawPredict`` streaming, the same server-sent events), with
Application Default Credentials as for Gemini on Vertex (`agentloop.providers.vertex`: project,
location, token). Token counts go to ``.../models/count-tokens:rawPredict``, the model in the
body. Vertex has no Message Batches API: ``batch_api()`` is None.
"""

from __future__ import annotations

from typing import Any

from agentloop.providers.anthropic.count import count_call
from agentloop.providers.anthropic.model import AnthropicModel
from agentloop.providers.base import Request
from agentloop.providers.endpoints import VERTEX_ANTHROPIC
from agentloop.providers.http import HTTPCall
from agentloop.providers.options import check_model_keywords
from agentloop.providers.vertex import VertexPlace
from agentloop.token_count import CountCall

#: The API version a Messages body names on Vertex (Anthropic's documented value).
VERTEX_VERSION = "vertex-2023-10-16"


class AnthropicVertexModel(VertexPlace, AnthropicModel):
    """A Claude model on Vertex AI."""

    endpoint = VERTEX_ANTHROPIC
    express_mode = False

    def url(self, *, stream: bool = False) -> str:
        method = "streamRawPredict" if stream else "rawPredict"
        return self.publisher_url("anthropic", self.model_name, method)

    def encode(self, request: Request, *, stream: bool) -> HTTPCall:
        call = super().encode(request, stream=stream)
        body = {"anthropic_version": VERTEX_VERSION, **call.body}
        body.pop("model", None)  # in the URL
        return HTTPCall(call.url, body, call.headers)

    def count_call(self, request: Request) -> CountCall:
        options = {**self.options, **request.options}
        call = count_call(self.base_url, self.model_name, request, options)
        body = {"anthropic_version": VERTEX_VERSION, **call.body}
        url = self.publisher_url("anthropic", "count-tokens", "rawPredict")
        return CountCall(url, body, call.source, call.field, call.headers)

    def batch_api(self) -> None:  # type: ignore[override]
        """None: Vertex AI has no Message Batches API."""
        return


def create(name: str, **kwargs: Any) -> AnthropicVertexModel:
    """``get_model("vertex-anthropic/<model>", project=..., location=...)``."""
    check_model_keywords(AnthropicVertexModel, name, kwargs)
    return AnthropicVertexModel(name, **kwargs)
