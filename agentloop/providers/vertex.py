"""Where a Vertex AI model is served, and how it is authenticated: shared by the models of
each publisher on Vertex (Google's Gemini in ``gemini/vertex.py``, Anthropic's Claude in
``anthropic/vertex.py``), which say only their publisher, methods and body.

The project and location come from ``project=``/``location=``, else ``GOOGLE_CLOUD_PROJECT``/
``GOOGLE_CLOUD_LOCATION`` (as google-genai reads them; the location defaults to ``global``);
the base URL is the location's host, ``https://{location}-aiplatform.googleapis.com``
(``https://aiplatform.googleapis.com`` for ``global``). Requests carry ``Authorization:
Bearer`` from Application Default Credentials (`agentloop.providers.google_auth`), or, in
express mode (an API key and no project; Gemini only), the key in ``x-goog-api-key``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from agentloop.errors import MissingKeyError
from agentloop.providers.google_auth import GoogleCredentials
from agentloop.providers.http import HTTPModel

if TYPE_CHECKING:
    import google.auth.credentials

DEFAULT_LOCATION = "global"
API_VERSION = "v1"
_GLOBAL_HOST = "https://aiplatform.googleapis.com"


def vertex_host(location: str) -> str:
    """The base URL of a location: ``https://{location}-aiplatform.googleapis.com``."""
    return _GLOBAL_HOST if location == "global" else f"https://{location}-aiplatform.googleapis.com"


class VertexPlace(HTTPModel):
    """A model on Vertex AI: its project, location and credentials, and its URLs."""

    #: Whether the publisher's models take an API key without a project (express mode).
    express_mode = True

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
        if api_key and not self.express_mode:
            raise ValueError(f"{self.endpoint.name}: no express mode (API key) for these models")
        self.project = project or os.environ.get("GOOGLE_CLOUD_PROJECT") or None
        #: Express mode: an API key and no project (explicit arguments first, as google-genai).
        self.express = bool(api_key) or (
            self.express_mode
            and self.project is None
            and not location
            and credentials is None
            and bool(os.environ.get("GOOGLE_API_KEY"))
        )
        self.location = location or os.environ.get("GOOGLE_CLOUD_LOCATION") or DEFAULT_LOCATION
        self.api_version = api_version
        super().__init__(model_name, api_key=api_key, **kwargs)
        if not self.express:
            self.authenticator = GoogleCredentials(credentials, provider=self.provider)

    @property
    def key_env(self) -> tuple[str, ...]:
        # With a token, an authentication error must not suggest setting GOOGLE_API_KEY.
        return self.endpoint.key_env if self.express else ()

    def configured_base_url(self) -> str:
        return _GLOBAL_HOST if self.express else vertex_host(self.location)

    def api_key(self) -> str | None:
        """The express-mode key; None with Application Default Credentials (a token)."""
        return super().api_key() if self.express else None

    def publisher_url(self, publisher: str, model: str, method: str) -> str:
        """``{base}/{version}/projects/{p}/locations/{l}/publishers/{publisher}/models/
        {model}:{method}`` (no project or location in express mode)."""
        path = f"publishers/{publisher}/models/{model}:{method}"
        if self.express:
            return f"{self.base_url}/{self.api_version}/{path}"
        if not self.project:
            express = (
                " (or use express mode: GOOGLE_API_KEY or api_key=)" if self.express_mode else ""
            )
            raise MissingKeyError(
                f"No Google Cloud project for {self.provider}: set GOOGLE_CLOUD_PROJECT or pass "
                f"project= to get_model(){express}"
            )
        where = f"projects/{self.project}/locations/{self.location}"
        return f"{self.base_url}/{self.api_version}/{where}/{path}"
