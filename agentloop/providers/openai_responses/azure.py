"""Azure OpenAI's Responses API: the Responses codec at Azure's endpoints
(``get_model("azure-responses/<deployment>")``); the URLs, the key and Entra ID tokens are
`agentloop.providers.openai_chat.azure`'s, shared with Chat Completions."""

from __future__ import annotations

from typing import Any

from agentloop.providers.base import Request
from agentloop.providers.endpoints import AZURE_RESPONSES
from agentloop.providers.openai_chat.azure import AzureModel
from agentloop.providers.openai_responses.model import OpenAIResponsesModel
from agentloop.providers.options import check_model_keywords
from agentloop.token_count import CountCall


class AzureResponsesModel(AzureModel, OpenAIResponsesModel):
    """A deployment spoken to over the Responses API
    (``get_model("azure-responses/<deployment>")``)."""

    endpoint = AZURE_RESPONSES

    def url(self, *, stream: bool = False) -> str:
        return self._at("/responses", "/responses")

    def batch_api(self) -> None:  # type: ignore[override]
        """None: Azure's Batch API (global-batch deployments, file uploads) is not wired up."""
        return

    def count_call(self, request: Request) -> CountCall | None:  # type: ignore[override]
        """None: Azure has no input-token counting endpoint; the count is the estimate."""
        return None


def create(name: str, **kwargs: Any) -> AzureResponsesModel:
    """``get_model("azure-responses/<deployment>")``."""
    check_model_keywords(AzureResponsesModel, name, kwargs)
    return AzureResponsesModel(name, **kwargs)
