"""Models spoken to over Chat Completions: OpenAI, any compatible server or host, and Ollama.

- `OpenAIChatModel`: OpenAI itself. Key from ``api_key=`` or
  ``OPENAI_API_KEY``; base URL (including ``/v1``) from ``base_url=``,
  ``OPENAI_BASE_URL`` or ``https://api.openai.com/v1``.
- `OpenAICompatibleModel`: llama.cpp, vLLM, OpenRouter, Groq...: either one of
  the hosts of `agentloop.providers.endpoints` (``endpoint=``, which the registry passes
  for ``get_model("groq/...")``: its base URL, key variable and quirks), or any server
  given by ``base_url=``, whose key is only what ``api_key=`` gives (the OpenAI key in
  the environment is never sent to another server). ``max_tokens`` keeps its original
  name, which these servers understand.
- `OllamaModel`: Ollama's compatible endpoint at ``$OLLAMA_HOST/v1``
  (default ``http://localhost:11434``); no key needed (``OLLAMA_API_KEY`` is
  sent when set, for ollama.com).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from agentloop.errors import ProviderError
from agentloop.media import Media
from agentloop.providers.base import Reply, Request
from agentloop.providers.endpoints import OLLAMA, OPENAI, OPENAI_COMPATIBLE, Endpoint
from agentloop.providers.http import HTTPCall, HTTPModel
from agentloop.providers.neutral_options import OptionSupport
from agentloop.providers.openai_chat.batch import OpenAIBatch
from agentloop.providers.openai_chat.count import local_count
from agentloop.providers.openai_chat.messages import media_to_fetch
from agentloop.providers.openai_chat.reply import decode_reply
from agentloop.providers.openai_chat.request import SUPPORT, encode_body
from agentloop.providers.openai_chat.stream import ChatStreamDecoder
from agentloop.providers.openai_chat.tokens import TOKEN_RULES
from agentloop.providers.options import check_model_keywords, extras_of
from agentloop.providers.wire_json import UnreadableJSON, load_json
from agentloop.token_count import TokenCount

DEFAULT_OLLAMA_HOST = "http://localhost:11434"
_OLLAMA_PORT = 11434


class OpenAIChatModel(HTTPModel):
    """A model behind OpenAI's Chat Completions API (``POST {base_url}/chat/completions``)."""

    endpoint = OPENAI
    #: How this format's provider charges media, for the estimates.
    token_rules = TOKEN_RULES

    def encode(self, request: Request, *, stream: bool) -> HTTPCall:
        options = {**self.options, **request.options}
        quirks = self.endpoint.quirks
        body = encode_body(
            request,
            model=self.model_name,
            stream=stream,
            options=options,
            max_tokens_field=quirks.max_tokens_field,
            prompt_cache_key=quirks.prompt_cache_key,
            support=host_support(self.endpoint),
        )
        if not quirks.stream_options and "stream_options" not in extras_of(options):
            body.pop("stream_options", None)
        return HTTPCall(self.url(stream=stream), body, self.request_headers())

    def media_to_fetch(self, request: Request) -> list[Media]:
        return media_to_fetch(request.messages)

    def decode(self, body: Any) -> Reply:
        return decode_reply(body, self.provider)

    def batch_api(self) -> OpenAIBatch | None:
        """OpenAI's Batch API; a compatible host or server has none here."""
        return OpenAIBatch(self, self.endpoint.path) if self.endpoint.name == OPENAI.name else None

    def count_locally(self, request: Request) -> TokenCount:
        # Chat Completions has no counting endpoint: tiktoken when it can, else the estimate.
        return local_count(request, self.model_name, self.token_rules)

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


#: `host_support` by endpoint (frozen, so its answer never changes): made once, not at
#: every request. Each entry keeps its endpoint, so its ``id()`` stays its own.
_SUPPORTS: dict[int, tuple[Endpoint, OptionSupport]] = {}


def host_support(endpoint: Endpoint) -> OptionSupport:
    """What ``endpoint`` makes of the neutral options: Chat Completions' own limits,
    narrowed by the host's quirks, and every refusal naming the host."""
    kept = _SUPPORTS.get(id(endpoint))
    if kept is not None and kept[0] is endpoint:
        return kept[1]
    if len(_SUPPORTS) > 256:  # endpoints made on the fly: keep the table small
        _SUPPORTS.clear()
    support = _SUPPORTS[id(endpoint)] = (endpoint, _host_support(endpoint))
    return support[1]


def _host_support(endpoint: Endpoint) -> OptionSupport:
    quirks = endpoint.quirks
    unsupported = dict(SUPPORT.unsupported)
    if not quirks.reasoning_effort:
        unsupported["reasoning_effort"] = f"leave it out for {endpoint.name}/ models"
    return replace(
        SUPPORT,
        provider=endpoint.display_name,
        unsupported=unsupported,
        # OpenAI documents 4; other servers set (and enforce) their own limits.
        max_stop=SUPPORT.max_stop if endpoint.name == OPENAI.name else None,
        strict_tools=quirks.strict_tools,
    )


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
    """Any server that speaks Chat Completions: ``OpenAICompatibleModel(name, base_url=...)``,
    or a known host: ``OpenAICompatibleModel(name, endpoint=endpoints.ENDPOINTS["groq"])``."""

    endpoint = OPENAI_COMPATIBLE

    def __init__(self, model_name: str, **kwargs: Any) -> None:
        super().__init__(model_name, **kwargs)
        if not self.base_url:
            raise ValueError(
                f"{type(self).__name__} needs the server's base URL, including /v1: "
                f"base_url='http://localhost:8080/v1' for example"
            )


class OllamaModel(OpenAICompatibleModel):
    """A model served by Ollama, through its OpenAI-compatible endpoint."""

    endpoint = OLLAMA

    def configured_base_url(self) -> str:
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


def create_on(endpoint: Endpoint, name: str, **kwargs: Any) -> OpenAICompatibleModel:
    """``get_model("<host>/<name>")`` for an OpenAI-compatible host of the endpoints table."""
    check_model_keywords(OpenAICompatibleModel, name, kwargs)
    return OpenAICompatibleModel(name, **{"endpoint": endpoint, **kwargs})
