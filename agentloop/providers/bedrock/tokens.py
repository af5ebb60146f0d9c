"""How Bedrock charges what a request carries, for the estimates (`agentloop.tokens`).

Bedrock serves many model families, each counting its own way; Claude is the most used there,
so its image rule is taken (fitted within 1568 px on the long side, one token per 750
pixels), with 2,000 tokens a PDF page. Audio and video rates are the neutral ones.
"""

from __future__ import annotations

import math

from agentloop.providers.bedrock.format import BEDROCK
from agentloop.tokens import TokenRules


def image_tokens(width: int, height: int, _detail: str | None = None) -> int:
    scale = min(1.0, 1568 / max(width, height, 1))
    return max(1, math.ceil(width * scale * height * scale / 750))


TOKEN_RULES = TokenRules(BEDROCK, image=image_tokens, pdf_page=2000)
