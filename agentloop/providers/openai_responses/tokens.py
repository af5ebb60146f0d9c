"""How the Responses API charges what a request carries: OpenAI's rules (image tiles), for
this wire format's own provider parts."""

from __future__ import annotations

from agentloop.providers.openai_chat.tokens import tile_image_tokens
from agentloop.providers.openai_responses.fields import FORMAT
from agentloop.tokens import TokenRules

TOKEN_RULES = TokenRules(FORMAT, image=tile_image_tokens)
