"""Models spoken to over Chat Completions: OpenAI, any compatible server, and Ollama.

- `OpenAIChatModel`: OpenAI itself. Key from ``api_key=`` or
  ``OPENAI_API_KEY``; base URL (including ``/v1``) from ``base_url=``,
  ``OPENAI_BASE_URL`` or ``https://api.openai.com/v1``.
- `OpenAICompatibleModel`: llama.cpp, vLLM, OpenRouter, Groq...: a
  ``base_url=`` is required, the key is only what ``api_key=`` gives (the
  OpenAI key in the environment is never sent to another server), and
  ``max_tokens`` keeps its original name, which these servers understand.
- `OllamaModel`: Ollama's compatible endpoint at ``$OLLAMA_HOST/v1``
  (default ``http://localhost:11434``); no key needed (``OLLAMA_API_KEY`` is
  sent when set, for ollama.com).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from agentloop.errors import ProviderError
from agentloop.providers.base import Reply, Request
from agentloop.providers.http import HTTPCall, HTTPModel
from agentloop.providers.openai_chat.reply import decode_reply
from agentloop.providers.openai_chat.request import encode_body
from agentloop.providers.openai_chat.stream import ChatStreamDecoder
from agentloop.providers.options import check_model_keywords
from agentloop.providers.wire_json import UnreadableJSON, load_json

DEFAULT_OLLAMA_HOST = "http://localhost:11434"
_OLLAMA_PORT = 11434


class OpenAIChatModel(HTTPModel):
    """A model behind OpenAI's Chat Completions API (``POST {base_url}/chat/completions``)."""

    provider = "openai"
    key_env: ClassVar[tuple[str, ...]] = ("OPENAI_API_KEY",)
    base_url_env: ClassVar[str | None] = "OPENAI_BASE_URL"
    default_base_url = "https://api.openai.com/v1"
    #: OpenAI deprecated ``max_tokens``, and its reasoning models refuse it.
    max_tokens_field: ClassVar[str] = "max_completion_tokens"

    def encode(self, request: Request, *, stream: bool) -> HTTPCall:
        body = encode_body(
            request,
            model=self.model_name,
            stream=stream,
            options={**self.options, **request.options},
            max_tokens_field=self.max_tokens_field,
        )
        headers = dict(self.extra_headers)
        key = self.api_key()
        if key and not any(name.lower() == "authorization" for name in headers):
            headers["authorization"] = f"Bearer {key}"
        return HTTPCall(f"{self.base_url}/chat/completions", body, headers)

    def decode(self, body: Any) -> Reply:
        return decode_reply(body, self.provider)

    def stream_decoder(self) -> ChatStreamDecoder:
        return ChatStreamDecoder(self.provider)

    def error_from_response(
        self, status: int, text: str, headers: Mapping[str, str]
    ) -> ProviderError:
        error = super().error_from_response(status, text, headers)
        detail = _error_detail(text)
        if detail and detail not in error.message:
            error.message = f"{error.message}: {detail}"
            error.args = (error.message,)
        return error


def _error_detail(text: str) -> str | None:
    """What a compatible server put beside the message: OpenRouter's upstream error
    (``metadata.raw``), or the call Groq could not parse (``failed_generation``)."""
    try:
        body = load_json(text)
    except UnreadableJSON:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    metadata = error.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("raw"), str):
        return str(metadata["raw"])[:500]
    if isinstance(error.get("failed_generation"), str):
        return f"the model generated {error['failed_generation'][:500]}"
    return None


class OpenAICompatibleModel(OpenAIChatModel):
    """Any server that speaks Chat Completions: ``OpenAICompatibleModel(name, base_url=...)``."""

    provider = "openai-compatible"
    key_env: ClassVar[tuple[str, ...]] = ()
    base_url_env = None
    requires_key = False
    max_tokens_field = "max_tokens"

    def __init__(self, model_name: str, *, base_url: str | None = None, **kwargs: Any) -> None:
        base_url = base_url or self.default_base()
        if not base_url:
            raise ValueError(
                f"{type(self).__name__} needs the server's base URL, including /v1: "
                f"base_url='http://localhost:8080/v1' for example"
            )
        super().__init__(model_name, base_url=base_url, **kwargs)

    @classmethod
    def default_base(cls) -> str | None:
        """The base URL when none is given (none: a compatible server can be anywhere)."""
        return None


class OllamaModel(OpenAICompatibleModel):
    """A model served by Ollama, through its OpenAI-compatible endpoint."""

    provider = "ollama"
    key_env = ("OLLAMA_API_KEY",)

    @classmethod
    def default_base(cls) -> str:
        return ollama_base_url(os.environ.get("OLLAMA_HOST"))


def ollama_base_url(host: str | None) -> str:
    """``OLLAMA_HOST`` (``host``, ``host:port`` or a URL) as the compatible API's base URL."""
    host = (host or "").strip().rstrip("/") or DEFAULT_OLLAMA_HOST
    if "://" not in host:
        host = f"http://{host}"
    parts = urlsplit(host)
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"OLLAMA_HOST={host!r} is not a host, host:port or URL") from None
    if port is None and parts.scheme == "http":
        host = host.replace(parts.netloc, f"{parts.netloc}:{_OLLAMA_PORT}", 1)
    return host if host.endswith("/v1") else f"{host}/v1"


def create(name: str, **kwargs: Any) -> OpenAIChatModel:
    """``get_model("openai/<name>")`` and bare OpenAI names (``gpt-4.1-mini``)."""
    check_model_keywords(OpenAIChatModel, name, kwargs)
    return OpenAIChatModel(name, **kwargs)


def create_compatible(name: str, **kwargs: Any) -> OpenAICompatibleModel:
    """``get_model("openai-compatible/<name>", base_url=..., api_key=...)``."""
    check_model_keywords(OpenAICompatibleModel, name, kwargs)
    return OpenAICompatibleModel(name, **kwargs)


def create_ollama(name: str, **kwargs: Any) -> OllamaModel:
    """``get_model("ollama/<name>")``."""
    check_model_keywords(OllamaModel, name, kwargs)
    return OllamaModel(name, **kwargs)
