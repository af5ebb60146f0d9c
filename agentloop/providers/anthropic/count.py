"""A request as the body of ``POST /v1/messages/count_tokens``, Anthropic's token count (pure).

The count takes a message request's own fields, less those that only shape the answer
(``max_tokens``, ``stream``, sampling, stop sequences, metadata), which it refuses as
extra inputs. Its fields, and the reply ``{"input_tokens": N}``, as documented at
https://platform.claude.com/docs/en/api/php/messages/count_tokens (the same API in every
SDK's reference; the guide: https://platform.claude.com/docs/en/build-with-claude/token-counting).
"""

from __future__ import annotations

from typing import Any

from agentloop.providers.anthropic.request import encode_request
from agentloop.providers.base import Request
from agentloop.token_count import CountCall

PATH = "/v1/messages/count_tokens"
SOURCE = "anthropic count_tokens"
#: The body fields the count endpoint takes (every one a message request can carry).
COUNTED_FIELDS = (
    "model",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "output_config",
    "cache_control",
    "speed",
)


def count_call(base_url: str, model: str, request: Request, options: dict[str, Any]) -> CountCall:
    """The count of ``request`` as a message request with ``options`` would send it."""
    body = encode_request(model, request, options, stream=False)
    counted = {key: value for key, value in body.items() if key in COUNTED_FIELDS}
    return CountCall(f"{base_url.removesuffix('/v1')}{PATH}", counted, SOURCE, "input_tokens")
