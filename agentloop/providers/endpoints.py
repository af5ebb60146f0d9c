"""Endpoints as data: where a model is served, how it is authenticated, what it accepts.

An `Endpoint` names a wire format (the codec that speaks to it), a base URL and the path
appended to it, the auth header scheme, the environment variables holding the key and
overriding the base URL, default options, and the host's known quirks. The four built-in
formats' models read all of that from their endpoint, and a new OpenAI-compatible host is one
entry in `HOSTS` (``get_model("groq/llama-3.3-70b-versatile")``), or one
`agentloop.register_endpoint(Endpoint(...))` call in code.

Pure data and two pure helpers (`Endpoint.url`, `Endpoint.auth_headers`): this module imports
nothing of agentloop, so the registry can hold endpoints without loading any provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

#: How the key travels: ``Authorization: Bearer <key>``, ``x-api-key: <key>`` (Anthropic),
#: ``x-goog-api-key: <key>`` (Gemini, Vertex AI's express mode; never in the URL, where it
#: would end up in logs), ``api-key: <key>`` (Azure OpenAI), or not.
Auth = Literal["bearer", "x-api-key", "x-goog-api-key", "api-key", "none"]

#: The wire formats an endpoint can speak (the codec packages under ``agentloop/providers/``),
#: and ``custom``: the model class encodes requests itself (an `HTTPModel` subclass that
#: names its URL and key in class constants, as before endpoints).
WIRE_FORMATS = (
    "openai_chat",
    "openai_responses",
    "anthropic",
    "gemini",
    "bedrock",
    "cohere",
    "custom",
)


@dataclass(frozen=True, slots=True)
class Quirks:
    """What a host accepts beyond the common core of its wire format.

    Read by the OpenAI models before they encode: an option a host refuses is never sent
    for it to fail on (422 ``extra_forbidden`` on Mistral, 400 on xAI).
    """

    #: ``strict: true`` on function tools. When False, ``strict_tools="auto"`` sends the tools
    #: non-strict and ``strict_tools=True`` is an `InvalidOptionError` naming the host.
    strict_tools: bool = True
    #: ``stream_options: {"include_usage": true}``. When False it is left out; such hosts
    #: put usage on their last chunk unasked.
    stream_options: bool = True
    #: ``reasoning_effort``. When False, asking for one is an `InvalidOptionError` naming the
    #: host.
    reasoning_effort: bool = True
    #: The field ``max_tokens`` is sent as: OpenAI deprecated ``max_tokens`` (its reasoning
    #: models refuse it); compatible servers mostly know only that name.
    max_tokens_field: str = "max_tokens"
    #: ``prompt_cache_key``, sent by ``prompt_cache="auto"``: OpenAI's own field, which a
    #: compatible server may refuse (Mistral: 422 ``extra_forbidden``), so only where known.
    prompt_cache_key: bool = False


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One place a model is served. ``name`` is the registry's ``name/<model>`` prefix."""

    name: str
    #: Which codec speaks to it: one of `WIRE_FORMATS`.
    wire: str
    #: The default base URL ("" when the caller must give one, as for any compatible server).
    base_url: str
    #: Appended to the base URL; ``{model}`` stands for the model name.
    path: str
    auth: Auth = "bearer"
    #: Environment variables holding the key, in order of preference.
    key_env: tuple[str, ...] = ()
    #: The environment variable overriding the base URL.
    base_url_env: str | None = None
    #: Local servers run without a key (one is sent when set, for those started with one).
    requires_key: bool = True
    #: Default request options, under the model's ``options=`` and each call's.
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)
    #: Headers every request carries (``anthropic-version``), under the caller's ``headers=``.
    headers: Mapping[str, str] = field(default_factory=dict, hash=False)
    quirks: Quirks = Quirks()
    #: The host's own name, for messages and the docs table.
    title: str = ""
    #: How credentials are found beyond the key variables, for ``agentloop models``
    #: (a cloud's tokens).
    auth_note: str = ""

    def __post_init__(self) -> None:
        # Copies, so that a dict the caller keeps changing cannot change a registered entry.
        object.__setattr__(self, "options", dict(self.options))
        object.__setattr__(self, "headers", dict(self.headers))
        if self.wire not in WIRE_FORMATS:
            raise ValueError(
                f"Endpoint {self.name!r}: wire must be one of {', '.join(WIRE_FORMATS)}, "
                f"not {self.wire!r}"
            )

    @property
    def display_name(self) -> str:
        return self.title or self.name

    def url(self, base_url: str, **fields: str) -> str:
        """The request URL: ``base_url`` (no trailing slash) and the path, filled in."""
        return f"{base_url.rstrip('/')}{self.path.format(**fields)}"

    def auth_headers(self, key: str | None) -> dict[str, str]:
        """The header carrying ``key`` (none without a key, or for ``auth="none"``)."""
        if not key or self.auth == "none":
            return {}
        if self.auth == "bearer":
            return {"authorization": f"Bearer {key}"}
        return {self.auth: key}


_CHAT = "/chat/completions"
#: What a compatible server is assumed to accept until it is known otherwise.
_COMPATIBLE = Quirks()

OPENAI = Endpoint(
    "openai",
    "openai_chat",
    "https://api.openai.com/v1",
    _CHAT,
    key_env=("OPENAI_API_KEY",),
    base_url_env="OPENAI_BASE_URL",
    quirks=Quirks(max_tokens_field="max_completion_tokens", prompt_cache_key=True),
    title="OpenAI Chat Completions",
)
OPENAI_RESPONSES = Endpoint(
    "openai-responses",
    "openai_responses",
    "https://api.openai.com/v1",
    "/responses",
    key_env=("OPENAI_API_KEY",),
    base_url_env="OPENAI_BASE_URL",
    quirks=Quirks(prompt_cache_key=True),
    title="OpenAI Responses",
)
ANTHROPIC = Endpoint(
    "anthropic",
    "anthropic",
    "https://api.anthropic.com",
    "/v1/messages",
    auth="x-api-key",
    key_env=("ANTHROPIC_API_KEY",),
    base_url_env="ANTHROPIC_BASE_URL",
    # The API version every request names (the one Anthropic documents for the Messages API).
    headers={"anthropic-version": "2023-06-01"},
    title="Anthropic Messages",
)
GEMINI = Endpoint(
    "gemini",
    "gemini",
    "https://generativelanguage.googleapis.com",
    # Documentation only: gemini/request.py builds the URL (the streaming method, and a base
    # URL that names its own API version).
    "/v1beta/models/{model}:generateContent",
    auth="x-goog-api-key",
    key_env=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    base_url_env="GEMINI_BASE_URL",
    title="Gemini",
)
#: Gemini on Google Cloud. The model builds the URL (project and location, or none in express
#: mode); the base URL is the location's host. Credentials: Application Default Credentials
#: (a bearer token, fetched per request by the model), or an API key in express mode.
VERTEX = Endpoint(
    "vertex",
    "gemini",
    "https://aiplatform.googleapis.com",
    "/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent",
    auth="x-goog-api-key",
    key_env=("GOOGLE_API_KEY",),
    requires_key=False,
    title="Google Vertex AI",
    auth_note="express mode; else Application Default Credentials (the vertex extra)",
)
#: Claude on Vertex AI: the Anthropic codec at Vertex's ``rawPredict``; the model builds the
#: URL. Application Default Credentials only (no express mode for Anthropic's models).
VERTEX_ANTHROPIC = Endpoint(
    "vertex-anthropic",
    "anthropic",
    "https://aiplatform.googleapis.com",
    "/v1/projects/{project}/locations/{location}/publishers/anthropic/models/{model}:rawPredict",
    auth="none",
    requires_key=False,
    title="Claude on Vertex AI",
    auth_note="Application Default Credentials (the vertex extra)",
)
#: Azure OpenAI: the resource's endpoint (``https://<resource>.openai.azure.com``) from
#: ``AZURE_OPENAI_ENDPOINT``; the model builds the v1 API path, or the deployment path with
#: ``api-version``. The key in ``api-key``, or an Entra ID token (``Authorization: Bearer``).
_AZURE_QUIRKS = Quirks(max_tokens_field="max_completion_tokens")
AZURE = Endpoint(
    "azure",
    "openai_chat",
    "",
    "/openai/v1/chat/completions",
    auth="api-key",
    key_env=("AZURE_OPENAI_API_KEY",),
    base_url_env="AZURE_OPENAI_ENDPOINT",
    quirks=_AZURE_QUIRKS,
    title="Azure OpenAI",
    auth_note="or an Entra ID token: azure_ad_token_provider=",
)
#: The same resource and credentials, through the Responses API.
AZURE_RESPONSES = replace(
    AZURE,
    name="azure-responses",
    wire="openai_responses",
    path="/openai/v1/responses",
    title="Azure OpenAI Responses",
)
#: AWS Bedrock's Converse API. ``{region}`` is filled in by the model (``region=``,
#: ``AWS_REGION``); the model id goes in the path. The key is a Bedrock API key (a bearer
#: token); without one the model signs with SigV4 (providers/bedrock/auth.py).
BEDROCK = Endpoint(
    "bedrock",
    "bedrock",
    "https://bedrock-runtime.{region}.amazonaws.com",
    "/model/{model}/converse",
    key_env=("AWS_BEARER_TOKEN_BEDROCK",),
    base_url_env="AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    requires_key=False,
    title="AWS Bedrock (Converse)",
)
#: Cohere's v2 Chat API; the key and base-URL variables are the ones Cohere's SDK reads.
COHERE = Endpoint(
    "cohere",
    "cohere",
    "https://api.cohere.com",
    "/v2/chat",
    key_env=("CO_API_KEY", "COHERE_API_KEY"),
    base_url_env="CO_API_URL",
    title="Cohere (v2 Chat)",
)
#: Any server speaking Chat Completions: ``base_url=`` is required, and only ``api_key=`` is
#: sent (the OpenAI key in the environment never goes to another server).
OPENAI_COMPATIBLE = Endpoint(
    "openai-compatible",
    "openai_chat",
    "",
    _CHAT,
    requires_key=False,
    quirks=_COMPATIBLE,
    title="any OpenAI-compatible server",
)


def _host(name: str, title: str, base_url: str, key: str, quirks: Quirks = _COMPATIBLE) -> Endpoint:
    return Endpoint(
        name, "openai_chat", base_url, _CHAT, key_env=(key,), quirks=quirks, title=title
    )


def _local(
    name: str, title: str, base_url: str, base_env: str, key_env: tuple[str, ...]
) -> Endpoint:
    return Endpoint(
        name,
        "openai_chat",
        base_url,
        _CHAT,
        key_env=key_env,
        base_url_env=base_env,
        requires_key=False,
        quirks=_COMPATIBLE,
        title=title,
    )


#: OpenAI-compatible hosts, each ``get_model("<name>/<model>")``; base URLs as each host
#: documents them (including the version, as for OpenAI).
HOSTS: tuple[Endpoint, ...] = (
    _host("openrouter", "OpenRouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    _host("groq", "Groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    _host("together", "Together AI", "https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    # Strict tools only on DeepSeek's beta base URL (https://api.deepseek.com/beta).
    _host(
        "deepseek",
        "DeepSeek",
        "https://api.deepseek.com",
        "DEEPSEEK_API_KEY",
        Quirks(strict_tools=False),
    ),
    # Mistral refuses fields it does not know (422 extra_forbidden), stream_options among
    # them; usage rides on its last chunk anyway.
    _host(
        "mistral",
        "Mistral",
        "https://api.mistral.ai/v1",
        "MISTRAL_API_KEY",
        Quirks(stream_options=False),
    ),
    # xAI: "`strict` mode on function call is currently not supported" (400).
    _host("xai", "xAI", "https://api.x.ai/v1", "XAI_API_KEY", Quirks(strict_tools=False)),
    _host(
        "fireworks", "Fireworks AI", "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY"
    ),
    _host("cerebras", "Cerebras", "https://api.cerebras.ai/v1", "CEREBRAS_API_KEY"),
    _local("lmstudio", "LM Studio", "http://localhost:1234/v1", "LMSTUDIO_BASE_URL", ()),
    _local("vllm", "vLLM", "http://localhost:8000/v1", "VLLM_BASE_URL", ("VLLM_API_KEY",)),
    _local(
        "llamacpp", "llama.cpp", "http://localhost:8080/v1", "LLAMACPP_BASE_URL", ("LLAMA_API_KEY",)
    ),
)

#: Ollama's compatible endpoint. ``OLLAMA_HOST`` is a host, ``host:port`` or URL, which the
#: Ollama model turns into a base URL (``/v1`` appended); ``OLLAMA_API_KEY`` is for ollama.com.
OLLAMA = Endpoint(
    "ollama",
    "openai_chat",
    "http://localhost:11434/v1",
    _CHAT,
    key_env=("OLLAMA_API_KEY",),
    base_url_env="OLLAMA_HOST",
    requires_key=False,
    quirks=_COMPATIBLE,
    title="Ollama",
)

#: Endpoints the `genai-prices` table (`agentloop.prices`) lists under another name.
PRICE_TABLE_NAMES = {
    GEMINI.name: "google",
    VERTEX.name: "google",
    VERTEX_ANTHROPIC.name: "anthropic",
    BEDROCK.name: "aws",
}
#: Endpoints the OpenTelemetry GenAI conventions name otherwise (``gen_ai.provider.name``,
#: `agentloop.tracing`); the others go by their own name.
TELEMETRY_NAMES = {
    OPENAI_RESPONSES.name: "openai",
    GEMINI.name: "gcp.gemini",
    VERTEX.name: "gcp.vertex_ai",
    VERTEX_ANTHROPIC.name: "gcp.vertex_ai",
    AZURE.name: "azure.ai.openai",
    AZURE_RESPONSES.name: "azure.ai.openai",
    BEDROCK.name: "aws.bedrock",
    "mistral": "mistral_ai",
    "xai": "x_ai",
}
#: Endpoints serving whatever model the user runs (a local server, any compatible server;
#: an Azure deployment, whose name is the user's): a model name there says nothing about its
#: price.
UNPRICED = frozenset({OPENAI_COMPATIBLE.name, OLLAMA.name, AZURE.name, AZURE_RESPONSES.name})

#: Every built-in endpoint by name.
ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        OPENAI,
        OPENAI_RESPONSES,
        ANTHROPIC,
        GEMINI,
        VERTEX,
        VERTEX_ANTHROPIC,
        AZURE,
        AZURE_RESPONSES,
        BEDROCK,
        COHERE,
        OLLAMA,
        OPENAI_COMPATIBLE,
        *HOSTS,
    )
}
