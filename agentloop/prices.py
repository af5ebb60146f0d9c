"""What a model call cost, in USD, from the `genai-prices` table (the ``prices`` extra).

Prices are never written by hand here: `genai-prices` (MIT, maintained by Pydantic) keeps
each provider's rates, cache reads and writes included. Its table is a 1.6 MB Python module
that takes a few hundred milliseconds to load, so it is imported on the first call that
needs a price, never with agentloop. A model the table does not know, or a missing package,
gives None: an unknown cost, never a wrong one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache, partial
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
    counts = price_counts(usage)
    provider_id = PRICE_TABLE_NAMES.get(provider, provider)
    refs = tuple(dict.fromkeys(n for n in (served_by, name) if n))
    rates = _rates(provider_id, refs, batch)
    if rates is not None:
        price = rates.price(counts)
        if price is not None:
            return float(price) * BATCH_DISCOUNT if rates.discounted else float(price)
    return _table_cost(table, counts, provider_id, refs, batch)


def _table_cost(
    table: Any, counts: dict[str, int], provider_id: str, refs: tuple[str, ...], batch: bool
) -> float | None:
    """`cost` as the table works it out: the first of ``refs`` it knows."""
    priced = table.Usage(**counts)
    context = _BATCH if batch else None
    for ref in refs:
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


# -- per-token rates ------------------------------------------------------------------
#
# The table's calculation is general (tiers, time-of-day prices, audio, per-request fees,
# a check of every unit) and takes 70 to 100 µs a call: more than the rest of a batch's
# own work per prompt. Most models are priced per token, flat: then the price is the sum of
# rate times count, which `Rates` works out with the same Decimal products the table makes,
# so the cost is the very same float, in a few µs. The rates are read from the table once
# per model, by pricing a million tokens of each kind; a model with tiers, conditional or
# per-request prices, or counts of another kind (audio), goes to the table every time.

#: Tokens per probe: prices are per million, so the rate comes out exact.
_PROBE = 1_000_000


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per token of each kind, for a model priced flat per token."""

    input: Decimal
    output: Decimal
    #: None where the table cannot price that kind for the model (it goes to the table).
    cache_read: Decimal | None
    cache_write: Decimal | None
    #: The batch price is the standard one halved (the table has no batch rate).
    discounted: bool
    #: The most input tokens these rates hold for (a tiered price rises above it).
    most_input: int | None = None

    def price(self, counts: dict[str, int]) -> Decimal | None:
        """The price of ``counts``, or None for counts these rates do not cover."""
        read = counts.get("cache_read_tokens", 0)
        write = counts.get("cache_write_tokens", 0)
        uncached = counts["input_tokens"] - read - write
        if (
            uncached < 0
            or (self.most_input is not None and counts["input_tokens"] > self.most_input)
            or len(counts) > 2 + bool(read) + bool(write)  # a kind of count not priced here
        ):
            return None
        total = self.input * uncached + self.output * counts["output_tokens"]
        for count, rate in ((read, self.cache_read), (write, self.cache_write)):
            if count:
                if rate is None:
                    return None
                total += rate * count
        return total


@lru_cache(maxsize=512)
def _rates(provider_id: str, refs: tuple[str, ...], batch: bool) -> Rates | None:
    """The per-token rates of the first of ``refs`` the table knows, or None when its price
    is not a plain sum of them (or unknown): then every call asks the table."""
    table = _genai_prices()
    context = _BATCH if batch else None

    def priced(ref: str, **counts: int) -> Any:
        usage = table.Usage(**counts)
        return table.calc_price(usage, ref, provider_id=provider_id, price_context=context)

    for ref in refs:
        try:
            probe = priced(ref, input_tokens=1, output_tokens=1)
        except (LookupError, ValueError):
            continue
        return _flat_rates(partial(priced, ref), probe, batch)
    return None


def _flat_rates(priced: Callable[..., Any], probe: Any, batch: bool) -> Rates | None:
    """The rates ``priced`` (one model's table price of some counts) gives, if its price is
    a plain sum of them; ``probe``: one such price, which names the model."""
    most_input = _most_input(probe.model, probe.model_price, batch)
    if most_input == 0:
        return None
    # The rates below a tier's start (a million tokens when there is none): exact.
    size = _PROBE if most_input is None else min(most_input, _PROBE)

    def per_token(**counts: int) -> Decimal | None:
        try:
            return Decimal(priced(**counts).total_price) / size
        except (LookupError, ValueError):
            return None  # a kind the table cannot price for this model

    given, output = per_token(input_tokens=size), per_token(output_tokens=size)
    both = per_token(input_tokens=size, output_tokens=size)
    if given is None or output is None or given + output != both:
        return None  # not a plain sum after all
    return Rates(
        given,
        output,
        per_token(input_tokens=size, cache_read_tokens=size),
        per_token(input_tokens=size, cache_write_tokens=size),
        batch and not _has_variant(probe.model, _BATCH),
        most_input,
    )


def _most_input(model: Any, model_price: Any, batch: bool) -> int | None:
    """The most input tokens ``model`` is priced flat per token for: None for any number,
    a tier's start for a tiered price, 0 when it is never (prices that change with the date
    or the time of day, a fee per request, a kind of price not known here)."""
    if isinstance(getattr(model, "prices", None), list):
        return 0  # prices that change with the date or the time of day
    # Variants (a batch's rates...) apply only under a context, and may start on a date.
    variants = (model.price_variants or ()) if batch else ()
    if any(getattr(v, "constraint", None) is not None for v in variants):
        return 0
    prices = {k: v for k, v in vars(model_price).items() if not k.startswith("_") and v is not None}
    if any(k.startswith("requests") for k in prices):
        return 0  # a fee per request
    starts: list[int] = []
    for price in prices.values():
        if isinstance(price, Decimal):
            continue
        tiers = getattr(price, "tiers", None)
        if not isinstance(getattr(price, "base", None), Decimal) or not tiers:
            return 0
        starts.extend(int(tier.start) for tier in tiers)
    return min(starts) if starts else None


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
