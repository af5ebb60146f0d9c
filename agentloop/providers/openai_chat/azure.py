"""Azure OpenAI: the OpenAI Chat Completions and Responses codecs at Azure's endpoints.

``get_model("azure/<deployment>")`` (Chat Completions) and
``get_model("azure-responses/<deployment>")``. The resource's endpoint
(``https://<resource>.openai.azure.com``) comes from ``base_url=``, else
``AZURE_OPENAI_ENDPOINT``, and the API version from ``api_version=``, else
``OPENAI_API_VERSION`` (the variables the openai SDK reads):

- no API version (or ``"v1"``): the v1 API, ``{endpoint}/openai/v1/chat/completions`` (and
  ``/responses``), the deployment named as the body's ``model``;
- a dated version (``"2024-10-21"``): the deployment form,
  ``{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...`` with no
  ``model`` in the body (Responses: ``{endpoint}/openai/responses?api-version=...``).

The key travels in ``api-key`` (``api_key=``, else ``AZURE_OPENAI_API_KEY``); with
``azure_ad_token_provider=`` (a callable returning an Entra ID token, such as
``azure.identity.get_bearer_token_provider(credential,
"https://cognitiveservices.azure.com/.default")``, sync or async) each request carries
``Authorization: Bearer <token>`` instead. Azure's own fields in replies (the content
filters' results, ``prompt_filter_results``, a choice-less first chunk) are read past, and
``finish_reason: "content_filter"`` is kept as the reply's finish reason.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from agentloop.errors import MissingKeyError
from agentloop.providers.authenticator import BearerTokenAuth, TokenProvider
from agentloop.providers.base import Request
from agentloop.providers.endpoints import AZURE
from agentloop.providers.http import HTTPCall, HTTPModel
from agentloop.providers.openai_chat.model import OpenAIChatModel
from agentloop.providers.options import check_model_keywords

#: The versions that mean the v1 API (no ``api-version`` query, no deployment in the path).
V1_VERSIONS = frozenset({"v1", "latest", "preview"})
_V1 = "/openai/v1"


class AzureModel(HTTPModel):
    """Where an Azure model's requests go and how they are authenticated."""

    def __init__(
        self,
        model_name: str,
        *,
        api_version: str | None = None,
        azure_ad_token_provider: TokenProvider | None = None,
        **kwargs: Any,
    ) -> None:
        version = api_version or os.environ.get("OPENAI_API_VERSION") or None
        #: None for the v1 API; else the dated version, sent as ``?api-version=``.
        self.api_version = None if version in V1_VERSIONS else version
        self.token_provider = azure_ad_token_provider
        super().__init__(model_name, **kwargs)
        if azure_ad_token_provider is not None:
            self.authenticator = BearerTokenAuth(
                azure_ad_token_provider, provider=self.provider, what="azure_ad_token_provider"
            )

    def api_key(self) -> str | None:
        """The ``api-key``: ``api_key=``, else ``AZURE_OPENAI_API_KEY``; none with a token
        provider unless ``api_key=`` is also given."""
        if self.token_provider is not None:
            return self._api_key.value
        if self._api_key.value or any(os.environ.get(name) for name in self.key_env):
            return super().api_key()
        raise MissingKeyError(
            f"No credential for {self.provider}: set AZURE_OPENAI_API_KEY or pass api_key= "
            "(or azure_ad_token_provider= for an Entra ID token) to get_model()"
        )

    def _root(self) -> str:
        """The resource's endpoint, without the v1 API path a base URL may end with."""
        if not self.base_url:
            raise MissingKeyError(
                f"No endpoint for {self.provider}: set AZURE_OPENAI_ENDPOINT or pass "
                "base_url='https://<resource>.openai.azure.com' to get_model()"
            )
        return self.base_url.removesuffix(_V1).removesuffix("/openai")

    def _at(self, path: str, deployment_path: str) -> str:
        if self.api_version is None:
            return f"{self._root()}{_V1}{path}"
        version = quote(self.api_version, safe="")
        return f"{self._root()}/openai{deployment_path}?api-version={version}"


class AzureChatModel(AzureModel, OpenAIChatModel):
    """A deployment spoken to over Chat Completions (``get_model("azure/<deployment>")``)."""

    endpoint = AZURE

    def url(self, *, stream: bool = False) -> str:
        deployment = quote(self.model_name, safe="")
        return self._at("/chat/completions", f"/deployments/{deployment}/chat/completions")

    def encode(self, request: Request, *, stream: bool) -> HTTPCall:
        call = super().encode(request, stream=stream)
        if self.api_version is not None:
            call.body.pop("model", None)  # the deployment is in the path, as the SDK sends it
        return call


def create(name: str, **kwargs: Any) -> AzureChatModel:
    """``get_model("azure/<deployment>")``."""
    check_model_keywords(AzureChatModel, name, kwargs)
    return AzureChatModel(name, **kwargs)
