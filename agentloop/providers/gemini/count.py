"""A request as the body of ``models/{model}:countTokens``, Gemini's token count (pure).

The whole ``generateContent`` body goes as ``generateContentRequest`` (with the model named
``models/{model}``, which that message requires), so that the system instruction, the
function declarations and the generation config are counted as well as the contents; the
reply is ``{"totalTokens": N, ...}``. As documented at
https://ai.google.dev/api/rest/v1beta/models/countTokens
"""

from __future__ import annotations

from typing import Any

from agentloop.providers.base import Request
from agentloop.providers.gemini.request import encode_body, request_url
from agentloop.token_count import CountCall

SOURCE = "gemini countTokens"
_GENERATE = ":generateContent"


def count_call(base_url: str, model: str, request: Request, options: dict[str, Any]) -> CountCall:
    """The count of ``request`` as ``generateContent`` with ``options`` would send it."""
    name = model.removeprefix("models/")
    generate = {"model": f"models/{name}", **encode_body(request, options)}
    # The same base URL and API version as generateContent, another method of the model.
    url = request_url(base_url, name, stream=False).removesuffix(_GENERATE) + ":countTokens"
    return CountCall(url, {"generateContentRequest": generate}, SOURCE, "totalTokens")
