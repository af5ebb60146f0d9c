"""Counting a Chat Completions request locally: tiktoken, offline only, else the estimate.

Chat Completions has no counting endpoint, so the input is counted here: with ``tiktoken``
when it is installed (the ``tokens`` extra) and its encoding is on disk, wrapped as OpenAI's
cookbook says, else with the estimator of `agentloop.tokens` under this format's rules.

tiktoken downloads its BPE files on first use. A machine that reaches no network would hang
or fail there, so an encoding is used only when it is already loaded or its file is already
in tiktoken's cache; anything else is the estimate, at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentloop.media import File, Image
from agentloop.messages import ProviderPart, Text, Thinking, ToolCall, ToolResult
from agentloop.providers.base import Request
from agentloop.token_count import TIKTOKEN, TokenCount, estimate
from agentloop.tokens import DEFAULT_RULES, TOOL_OVERHEAD, TokenRules, media_tokens
from agentloop.tools import Tool

if TYPE_CHECKING:
    from tiktoken import Encoding

#: OpenAI's cookbook ("How to count tokens with tiktoken", ``num_tokens_from_messages``): every
#: message is wrapped in 3 tokens (``<|start|>{role}\n{content}<|end|>\n``), and every reply is
#: primed with 3 more (``<|start|>assistant<|message|>``).
TOKENS_PER_MESSAGE = 3
REPLY_PRIMING = 3
#: Around a tool call's name and arguments (as `agentloop.tokens` counts it).
TOOL_CALL_OVERHEAD = 4
#: The encoding for a model tiktoken does not know: the one of every current OpenAI model.
FALLBACK_ENCODING = "o200k_base"

_BLOBS = "https://openaipublic.blob.core.windows.net/encodings"
_O200K = (
    f"{_BLOBS}/o200k_base.tiktoken",
    "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
)
_P50K = (
    f"{_BLOBS}/p50k_base.tiktoken",
    "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
)
#: Where tiktoken loads each encoding's file from, and the file's SHA-256, as
#: tiktoken_ext/openai_public.py names them: so that its cache can be checked without asking
#: tiktoken, which downloads a file that is missing, or cached but corrupt.
ENCODING_FILES = {
    "o200k_base": _O200K,
    "o200k_harmony": _O200K,
    "cl100k_base": (
        f"{_BLOBS}/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "p50k_base": _P50K,
    "p50k_edit": _P50K,
    "r50k_base": (
        f"{_BLOBS}/r50k_base.tiktoken",
        "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
    ),
}


def local_count(request: Request, model_name: str, rules: TokenRules = DEFAULT_RULES) -> TokenCount:
    """tiktoken's count when it is installed and its encoding loads offline, else the estimate."""
    encoding = tiktoken_encoding(model_name)
    if encoding is None:
        return estimate(request, rules)
    encode = encoding.encode
    return TokenCount(
        counted_tokens(request, lambda text: len(encode(text, disallowed_special=())), rules),
        False,
        TIKTOKEN,
    )


def counted_tokens(
    request: Request, count: Callable[[str], int], rules: TokenRules = DEFAULT_RULES
) -> int:
    """The input of ``request`` with ``count`` for text, wrapped as OpenAI's cookbook says."""
    total = REPLY_PRIMING
    for message in request.messages:
        total += TOKENS_PER_MESSAGE + count(message.role)
        total += sum(_part_tokens(part, count, rules) for part in message.parts)
    total += sum(_tool_tokens(tool, count) for tool in request.tools)
    if request.schema is not None:
        total += count(_json(request.schema)) + TOOL_OVERHEAD
    return total


def _part_tokens(part: Any, count: Callable[[str], int], rules: TokenRules) -> int:
    if isinstance(part, Text | Thinking):
        return count(part.text)
    if isinstance(part, ProviderPart):
        # Sent back whole to its own provider; its rendering is what the others read.
        return count(_json(part.payload) if part.provider == rules.wire_format else part.text)
    if isinstance(part, ToolCall):
        return count(part.name) + count(part.arguments_json()) + TOOL_CALL_OVERHEAD
    if isinstance(part, ToolResult):
        attachments = sum(media_tokens(a, rules) for a in part.attachments)
        return count(part.output) + TOOL_CALL_OVERHEAD + attachments
    if isinstance(part, Image | File):
        return media_tokens(part, rules)  # no tokenizer sees pixels: the provider's rule
    return 0


def _tool_tokens(tool: Tool, count: Callable[[str], int]) -> int:
    return (
        count(tool.name) + count(tool.description) + count(_json(tool.parameters)) + TOOL_OVERHEAD
    )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


# -- tiktoken, offline only ------------------------------------------------------------


def tiktoken_encoding(model_name: str) -> Encoding | None:
    """The encoding of ``model_name`` (``o200k_base`` for a model tiktoken does not know), or
    None when tiktoken is not installed or the encoding cannot be loaded without the network."""
    try:
        import tiktoken
        from tiktoken.model import encoding_name_for_model
    except ImportError:
        return None
    try:
        name = encoding_name_for_model(model_name.rsplit("/", 1)[-1])
    except KeyError:
        name = FALLBACK_ENCODING
    loaded = _loaded_encodings().get(name)
    if loaded is not None:
        return loaded
    if not cached_offline(name):
        return None
    try:
        return tiktoken.get_encoding(name)
    except Exception:  # a corrupt cache, a plugin's failure: counting falls back, never fails
        return None


def _loaded_encodings() -> dict[str, Encoding]:
    """The encodings tiktoken already holds in memory (loaded by the caller, or by us)."""
    from tiktoken import registry

    found = getattr(registry, "ENCODINGS", None)
    return found if isinstance(found, dict) else {}


def cached_offline(name: str) -> bool:
    """Whether tiktoken would load ``name`` from its cache rather than download it: the file is
    there and whole (read once; tiktoken keeps the encoding in memory afterwards)."""
    known = ENCODING_FILES.get(name)
    folder = tiktoken_cache_dir()
    if known is None or folder is None:
        return False
    url, sha256 = known
    path = folder / hashlib.sha1(url.encode()).hexdigest()
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    except OSError:
        return False


def tiktoken_cache_dir() -> Path | None:
    """tiktoken's cache folder, by its own rule (tiktoken/load.py ``read_file_cached``):
    ``TIKTOKEN_CACHE_DIR``, else ``DATA_GYM_CACHE_DIR``, else ``data-gym-cache`` in the
    temporary folder; None when caching is off (an empty variable)."""
    for variable in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if variable in os.environ:
            value = os.environ[variable]
            return Path(value) if value else None
    return Path(tempfile.gettempdir()) / "data-gym-cache"
