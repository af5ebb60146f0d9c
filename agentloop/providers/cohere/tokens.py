"""How Cohere charges what a request carries, for the estimates (`agentloop.tokens`).

Cohere publishes no per-image or per-page rate for its Chat API (its vision models take
images only, and no documents as files), so the neutral rates stand.
"""

from __future__ import annotations

from agentloop.providers.cohere.format import COHERE
from agentloop.tokens import TokenRules

TOKEN_RULES = TokenRules(COHERE)
