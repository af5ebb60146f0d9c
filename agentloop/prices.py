"""What a model call cost, in USD, from the `genai-prices` table (the ``prices`` extra).

Prices are never written by hand here: `genai-prices` (MIT, maintained by Pydantic) keeps
each provider's rates, cache reads and writes included. Its table is a 1.6 MB Python module
that takes a few hundred milliseconds to load, so it is imported on the first call that
needs a price, never with agentloop. A model the table does not know, or a missing package,
gives None: an unknown cost, never a wrong one.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import Any

from agentloop.providers.endpoints import PRICE_TABLE_NAMES, UNPRICED
from agentloop.usage import Usage

#: Endpoints serving whatever model the user runs (a local server, a proxy, the offline
#: models): a model name there says nothing about the price, so none is guessed.
_UNPRICED = UNPRICED | {"test", "function"}
#: Counters in `Usage.details` that genai-prices prices apart, by its usage key. Anthropic's
#: cache writes (its codec keeps them in details); OpenAI Chat's audio tokens.
_DETAILS = {
    "cache_creation_input_tokens": "cache_write_tokens",
    "cache_creation.ephemeral_1h_input_tokens": "cache_write_1h_tokens",
    "prompt_tokens_details.audio_tokens": "input_audio_tokens",
    "completion_tokens_details.audio_tokens": "output_audio_tokens",
}
#: genai-prices' request context for a batch API's rates.
_BATCH = {"processing": "batch"}
#: What a batch API bills where the table has no batch rate: half the standard rate.
BATCH_DISCOUNT = 0.5


def cost(
    usage: Usage, model_id: str, served_by: str | None = None, *, batch: bool = False
) -> float | None:
    """USD for ``usage`` on ``model_id`` ("provider/model"), or None when unknown.

    ``served_by`` is the model name the provider reported (a dated version, say): it is
    priced first, then the name asked for. A usage with no token at all is unknown too,
    since a provider that reports nothing has not said what it billed.

    ``batch=True`` prices the call as the provider's batch API bills it: the table's batch
    rate where it has one, else its standard rate times `BATCH_DISCOUNT` (the batch APIs of
    OpenAI, Anthropic, Gemini and Groq all bill half price).
    """
    provider, _, name = model_id.partition("/")
    if not name or provider in _UNPRICED or usage.total_tokens == 0:
        return None
    table = _genai_prices()
    if table is None:
        return None
    priced = table.Usage(**price_counts(usage))
    provider_id = PRICE_TABLE_NAMES.get(provider, provider)
    context = _BATCH if batch else None
    for ref in dict.fromkeys(n for n in (served_by, name) if n):
        try:
            price = table.calc_price(priced, ref, provider_id=provider_id, price_context=context)
        except (LookupError, ValueError):
            # Not in the table, or counts it cannot split (cache above input): unknown.
            continue
        if batch and not _has_variant(price.model, _BATCH):
            # The table knows only the standard rate here; the batch APIs bill half of it.
            return float(price.total_price) * BATCH_DISCOUNT
        return float(price.total_price)
    return None


def _has_variant(model: Any, context: dict[str, str]) -> bool:
    """Whether the table's ``model`` has prices for ``context`` (its batch rates)."""
    return any(variant.when == context for variant in getattr(model, "price_variants", None) or ())


def price_counts(usage: Usage) -> dict[str, int]:
    """``usage`` as genai-prices counts it: input includes cache reads and writes."""
    counts = {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens}
    if usage.cached_input_tokens:
        counts["cache_read_tokens"] = usage.cached_input_tokens
    for detail, key in _DETAILS.items():
        if usage.details.get(detail):
            counts[key] = usage.details[detail]
    return counts


def available() -> bool:
    """Whether the price table is installed (``pip install 'agentloop-kit[prices]'``)."""
    return _genai_prices() is not None


@cache
def _genai_prices() -> Any:
    try:
        import genai_prices
    except ImportError:
        return None
    module: ModuleType = genai_prices
    return module
