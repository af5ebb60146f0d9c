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

import os
from typing import TYPE_CHECKING, Any

from agentloop.errors import InvalidOptionError, MissingKeyError
from agentloop.providers.base import Request
from agentloop.providers.endpoints import VERTEX
from agentloop.providers.gemini.count import SOURCE
from agentloop.providers.gemini.model import GeminiModel
from agentloop.providers.gemini.request import encode_body
from agentloop.providers.google_auth import GoogleCredentials
from agentloop.providers.http import HTTPCall
from agentloop.providers.options import check_model_keywords
from agentloop.providers.prompt_cache import cache_mode
from agentloop.token_count import CountCall

if TYPE_CHECKING:
    import google.auth.credentials

    from agentloop.providers.gemini.batch import GeminiBatch
    from agentloop.providers.gemini.context_cache import Prefix

DEFAULT_LOCATION = "global"
API_VERSION = "v1"
_GLOBAL_HOST = "https://aiplatform.googleapis.com"
#: The request fields Vertex's countTokens takes (the rest of a body is not counted there).
_COUNTED = ("contents", "systemInstruction", "tools", "generationConfig")


def vertex_host(location: str) -> str:
    """The base URL of a location: ``https://{location}-aiplatform.googleapis.com``."""
    return _GLOBAL_HOST if location == "global" else f"https://{location}-aiplatform.googleapis.com"


class VertexModel(GeminiModel):
    """A Gemini model on Vertex AI (``get_model("vertex/gemini-2.5-flash")``)."""

    endpoint = VERTEX

    def __init__(
        self,
        model_name: str,
        *,
        project: str | None = None,
        location: str | None = None,
        credentials: google.auth.credentials.Credentials | None = None,
        api_version: str = API_VERSION,
        api_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        if api_key and (project or location or credentials):
            raise ValueError(
                "vertex: api_key= (express mode) and project=/location=/credentials= "
                "(Application Default Credentials) exclude each other: give one"
            )
        self.project = project or os.environ.get("GOOGLE_CLOUD_PROJECT") or None
        #: Express mode: an API key and no project (explicit arguments first, as google-genai).
        self.express = bool(api_key) or (
            self.project is None
            and not location
            and credentials is None
            and bool(os.environ.get("GOOGLE_API_KEY"))
        )
        self.location = location or os.environ.get("GOOGLE_CLOUD_LOCATION") or DEFAULT_LOCATION
        self.api_version = api_version
        super().__init__(model_name, api_key=api_key, **kwargs)
        if not self.express:
            self.authenticator = GoogleCredentials(credentials, provider=self.provider)

    def configured_base_url(self) -> str:
        return _GLOBAL_HOST if self.express else vertex_host(self.location)

    def api_key(self) -> str | None:
        """The express-mode key; None with Application Default Credentials (a token)."""
        return super().api_key() if self.express else None

    def _method_url(self, method: str) -> str:
        model = self.model_name.removeprefix("models/")
        publisher = f"publishers/google/models/{model}:{method}"
        if self.express:
            return f"{self.base_url}/{self.api_version}/{publisher}"
        if not self.project:
            raise MissingKeyError(
                "No Google Cloud project for vertex: set GOOGLE_CLOUD_PROJECT or pass project= "
                "to get_model() (or use express mode: GOOGLE_API_KEY or api_key=)"
            )
        where = f"projects/{self.project}/locations/{self.location}"
        return f"{self.base_url}/{self.api_version}/{where}/{publisher}"

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
