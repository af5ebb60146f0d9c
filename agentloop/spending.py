"""A chain's spending limits, ``max_cost`` and ``max_total_tokens``, and the checks the
chain makes against them (pure: the loop calls these between its effects).

Before each model call, what the chain has spent plus an estimate of that call (its input
as `agentloop.tokens` counts it, and the output reserved: ``max_tokens``, else a default)
must stay within the limits; after each call, what was spent must, or its tool calls do
not run. Tokens are input (cached input included) plus output, as `Usage.total_tokens`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from agentloop import prices, tokens
from agentloop.errors import BudgetExceeded, SerializationError, UnknownPriceError
from agentloop.providers.base import Reply, Request
from agentloop.usage import Usage


@dataclass(frozen=True, slots=True)
class SpendLimit:
    """At most ``max_cost`` USD and ``max_total_tokens`` tokens; None is no limit."""

    max_cost: float | None = None
    max_total_tokens: int | None = None

    def override(self, max_cost: float | None, max_total_tokens: int | None) -> SpendLimit:
        """These limits with the given ones (checked) in place of their defaults."""
        if max_cost is None and max_total_tokens is None:
            return self  # frozen: nothing to replace (every prompt of a batch asks this)
        checked = check_spend_limit(max_cost, max_total_tokens)
        return SpendLimit(
            self.max_cost if max_cost is None else checked.max_cost,
            self.max_total_tokens if max_total_tokens is None else checked.max_total_tokens,
        )

    def to_dict(self) -> dict[str, Any]:
        """The limits that are set, as a conversation dict keeps them."""
        out: dict[str, Any] = {}
        if self.max_cost is not None:
            out["max_cost"] = self.max_cost
        if self.max_total_tokens is not None:
            out["max_total_tokens"] = self.max_total_tokens
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpendLimit:
        try:
            return check_spend_limit(data.get("max_cost"), data.get("max_total_tokens"))
        except ValueError as exc:
            raise SerializationError(f"A conversation dict's limits: {exc}") from None


def check_spend_limit(max_cost: object, max_total_tokens: object) -> SpendLimit:
    """The limits if both are None or positive (a number of USD, an int of tokens)."""
    if max_cost is None and max_total_tokens is None:
        return _NO_LIMIT  # frozen, so shared: every conversation asks (a batch makes many)
    if max_cost is not None and (
        isinstance(max_cost, bool)
        or not isinstance(max_cost, int | float)
        or not math.isfinite(max_cost)
        or max_cost <= 0
    ):
        raise ValueError(f"max_cost must be a positive number of USD, not {max_cost!r}")
    if max_total_tokens is not None and (
        isinstance(max_total_tokens, bool)
        or not isinstance(max_total_tokens, int)
        or max_total_tokens < 1
    ):
        raise ValueError(
            f"max_total_tokens must be a positive int (input plus output tokens), "
            f"not {max_total_tokens!r}"
        )
    return SpendLimit(
        None if max_cost is None else float(max_cost),
        max_total_tokens,
    )


_NO_LIMIT = SpendLimit()


@dataclass(slots=True)
class Spent:
    """What a run has spent so far; ``cost`` is None once one call's cost is unknown."""

    tokens: int = 0
    cost: float | None = 0.0


def check_before(
    limit: SpendLimit,
    spent: Spent,
    request: Request,
    model_id: str,
    rules: tokens.TokenRules = tokens.DEFAULT_RULES,
) -> Usage:
    """The estimate of ``request`` under the model's ``rules``; raises if it would take
    ``spent`` past ``limit``."""
    if limit.max_cost is None and limit.max_total_tokens is None:
        return Usage()  # no limit: not worth estimating the whole history at every step
    estimate = Usage(tokens.input_tokens(request, rules), tokens.output_tokens(request.options))
    most = limit.max_total_tokens
    if most is not None and spent.tokens + estimate.total_tokens > most:
        raise BudgetExceeded("max_total_tokens", most, spent.tokens, estimate.total_tokens)
    if limit.max_cost is not None:
        estimate.cost = prices.cost(estimate, model_id)
        if estimate.cost is None or spent.cost is None:
            raise UnknownPriceError(model_id, prices.available())
        if spent.cost + estimate.cost > limit.max_cost:
            raise BudgetExceeded("max_cost", limit.max_cost, spent.cost, estimate.cost)
    return estimate


def record(limit: SpendLimit, spent: Spent, reply: Reply, estimate: Usage, model_id: str) -> None:
    """Add what ``reply`` cost to ``spent``, pricing it when a cost limit needs it.

    A reply whose provider reported no usage counts as its estimate: an unreported spend
    must not slip past a limit.
    """
    usage = reply.usage if reply.usage.total_tokens else estimate
    if limit.max_cost is not None and usage.cost is None:
        usage.cost = prices.cost(usage, reply.answered_by or model_id, reply.model)
    spent.tokens += usage.total_tokens
    spent.cost = None if spent.cost is None or usage.cost is None else spent.cost + usage.cost


def check_after(limit: SpendLimit, spent: Spent, model_id: str) -> None:
    """Raise if ``spent`` has passed ``limit`` (the last call went over its estimate)."""
    if limit.max_total_tokens is not None and spent.tokens > limit.max_total_tokens:
        raise BudgetExceeded("max_total_tokens", limit.max_total_tokens, spent.tokens)
    if limit.max_cost is not None:
        if spent.cost is None:
            raise UnknownPriceError(model_id, prices.available())
        if spent.cost > limit.max_cost:
            raise BudgetExceeded("max_cost", limit.max_cost, spent.cost)
