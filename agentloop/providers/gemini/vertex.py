"""Gemini on Google Cloud's Vertex AI: the Gemini codec at Vertex's endpoint.

``get_model("vertex/gemini-2.5-flash")``. The body is Gemini's (Vertex needs a ``role`` on
every content, which the codec always writes); only the place and the credentials differ:

- **Application Default Credentials** (``project=``/``location=``, else
  ``GOOGLE_CLOUD_PROJECT``/``GOOGLE_CLOUD_LOCATION``, as google-genai reads them; the
  location defaults to ``global``): ``{base}/v1/projects/{project}/locations/{location}/
  publishers/google/models/{model}:generateContent``, where the base is
  ``https://{location}-aiplatform.googleapis.com`` (``https://aiplatform.googleapis.com``
  for ``global``), with ``Authorization: Bearer`` from google-auth
  (`agentloop.providers.google_auth`, the ``vertex`` extra), refreshed when it expires.
- **Express mode** (``api_key=``, else ``GOOGLE_API_KEY`` when no project is set):
  ``https://aiplatform.googleapis.com/v1/publishers/google/models/{model}:generateContent``
  with the key in ``x-goog-api-key``.

Token counts use Vertex's ``countTokens`` (its body is the request's own fields, not
Gemini's ``generateContentRequest``). Batch prediction and explicit context caches are
Gemini API features here: a Vertex model has no ``batch_api`` and refuses
``prompt_cache="explicit"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentloop.errors import InvalidOptionError
from agentloop.providers.base import Request
from agentloop.providers.endpoints import VERTEX
from agentloop.providers.gemini.count import SOURCE
from agentloop.providers.gemini.model import GeminiModel
from agentloop.providers.gemini.request import encode_body
from agentloop.providers.http import HTTPCall
from agentloop.providers.options import check_model_keywords
from agentloop.providers.prompt_cache import cache_mode
from agentloop.providers.vertex import VertexPlace, vertex_host
from agentloop.token_count import CountCall

if TYPE_CHECKING:
    from agentloop.providers.gemini.batch import GeminiBatch
    from agentloop.providers.gemini.context_cache import Prefix

__all__ = ["VertexModel", "create", "vertex_host"]

#: The request fields Vertex's countTokens takes (the rest of a body is not counted there).
_COUNTED = ("contents", "systemInstruction", "tools", "generationConfig")


class VertexModel(VertexPlace, GeminiModel):
    """A Gemini model on Vertex AI (``get_model("vertex/gemini-2.5-flash")``)."""

    endpoint = VERTEX

    def _method_url(self, method: str) -> str:
        return self.publisher_url("google", self.model_name.removeprefix("models/"), method)

    def url(self, *, stream: bool = False) -> str:
        if stream:
            return self._method_url("streamGenerateContent") + "?alt=sse"
        return self._method_url("generateContent")

    def count_call(self, request: Request) -> CountCall:
        body = encode_body(request, {**self.options, **request.options})
        counted = {key: body[key] for key in _COUNTED if key in body}
        return CountCall(self._method_url("countTokens"), counted, SOURCE, "totalTokens")

    def batch_api(self) -> GeminiBatch | None:  # type: ignore[override]
        """None: Vertex's batch prediction reads from Cloud Storage or BigQuery."""
        return None

    def _prefix(self, call: HTTPCall, request: Request) -> tuple[Prefix, int] | None:
        if cache_mode({**self.options, **request.options}) == "explicit":
            raise InvalidOptionError(
                "vertex: prompt_cache='explicit' (Gemini API context caches) is not supported "
                "on Vertex AI; use 'auto' (implicit caching) or 'off'",
                option="prompt_cache",
                provider=self.provider,
            )
        return None


def create(name: str, **kwargs: Any) -> VertexModel:
    """The registry's factory: ``get_model("vertex/<model>", project=..., location=...)``."""
    check_model_keywords(VertexModel, name, kwargs)
    return VertexModel(name, **kwargs)
