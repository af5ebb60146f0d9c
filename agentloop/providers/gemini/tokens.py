"""How Gemini charges what a request carries, for the estimates (`agentloop.tokens`).

Images: 258 tokens when both sides are at most 384 px, else 258 per 768 px tile. PDFs: 258
a page. Audio: 32 tokens a second; video: 263 a second (frames and sound).
"""

from __future__ import annotations

import math

from agentloop.providers.gemini.format import GEMINI
from agentloop.tokens import TokenRules


def image_tokens(width: int, height: int, _detail: str | None = None) -> int:
    if width <= 384 and height <= 384:
        return 258
    return 258 * math.ceil(width / 768) * math.ceil(height / 768)


TOKEN_RULES = TokenRules(
    GEMINI, image=image_tokens, pdf_page=258, audio_per_second=32, video_per_second=263
)
