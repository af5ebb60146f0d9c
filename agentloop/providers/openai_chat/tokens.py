"""How OpenAI charges what a request carries, for the estimates (`agentloop.tokens`).

Images by tiles: 85 tokens, plus 170 per 512 px tile once the image is fitted within
2048 px and then scaled to 768 px on its short side; ``detail="low"`` is the 85 alone.
PDFs, audio and video: the neutral rates (OpenAI publishes none per page or second).
The Responses API charges the same, with its own wire format's name.
"""

from __future__ import annotations

import math

from agentloop.providers.openai_chat.messages import OPENAI
from agentloop.tokens import TokenRules


def tile_image_tokens(width: int, height: int, detail: str | None = None) -> int:
    """Tokens of a ``width`` x ``height`` image under OpenAI's published tile rule."""
    if detail == "low":
        return 85
    scale = min(1.0, 2048 / max(width, height, 1))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / max(min(w, h), 1))
    w, h = w * scale, h * scale
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


TOKEN_RULES = TokenRules(OPENAI, image=tile_image_tokens)
