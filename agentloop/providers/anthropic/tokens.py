"""How Anthropic charges what a request carries, for the estimates (`agentloop.tokens`).

Images: fitted within 1568 px on the long side, then one token per 750 pixels. PDFs: 1,500
to 3,000 tokens a page (its text plus the page's image), 2,000 assumed. No audio or video
is accepted, so their rates are the neutral ones.
"""

from __future__ import annotations

import math

from agentloop.providers.anthropic.format import ANTHROPIC
from agentloop.tokens import TokenRules


def image_tokens(width: int, height: int, _detail: str | None = None) -> int:
    scale = min(1.0, 1568 / max(width, height, 1))
    return max(1, math.ceil(width * scale * height * scale / 750))


TOKEN_RULES = TokenRules(ANTHROPIC, image=image_tokens, pdf_page=2000)
