"""A request as the body of ``POST /responses/input_tokens``, OpenAI's input-token count (pure).

The count takes the Responses body's input fields, less those that only shape or store the
answer (``stream``, ``store``, ``include``, ``max_output_tokens``, sampling). Its fields, and the
reply ``{"object": "response.input_tokens", "input_tokens": N}``, as documented at
https://developers.openai.com/api/reference/resources/responses/subresources/input_tokens/methods/count
(the guide: https://developers.openai.com/docs/guides/counting-tokens).
"""

from __future__ import annotations

from typing import Any

from agentloop.providers.base import Request
from agentloop.providers.openai_responses.request import encode_body
from agentloop.token_count import CountCall

PATH = "/responses/input_tokens"
SOURCE = "openai responses input_tokens"
#: The body fields the count endpoint takes.
COUNTED_FIELDS = (
    "model",
    "input",
    "instructions",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning",
    "text",
    "truncation",
    "conversation",
    "previous_response_id",
)


def count_call(base_url: str, model: str, request: Request, options: dict[str, Any]) -> CountCall:
    """The count of ``request`` as a Responses call with ``options`` would send it."""
    body = encode_body(model, request, options, stream=False)
    counted = {key: value for key, value in body.items() if key in COUNTED_FIELDS}
    return CountCall(f"{base_url.rstrip('/')}{PATH}", counted, SOURCE, "input_tokens")
