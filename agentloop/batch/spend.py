"""A batch's own budget: ``batch_max_cost`` and ``batch_max_total_tokens``.

Counted over the prompts this batch call finishes (results read back from a results file
spent nothing now). Once reached, no other prompt starts; those in flight finish, so the
total may pass the budget by what they spend. The prompts never started are reported as
[`PromptNotRun`][agentloop.errors.PromptNotRun] and left out of the results file, so a rerun
with the same file asks exactly those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agentloop import prices
from agentloop.batch.results import BatchResult
from agentloop.errors import PromptNotRun, UnknownPriceError
from agentloop.model import Model
from agentloop.spending import SpendLimit, check_spend_limit
from agentloop.usage import Usage


@dataclass(slots=True)
class BatchSpend:
    """What the finished prompts spent; ``cost`` is None once one's cost is unknown."""

    limit: SpendLimit
    tokens: int = 0
    cost: float | None = 0.0

    @classmethod
    def checked(
        cls,
        max_cost: object,
        max_total_tokens: object,
        models: Sequence[Model],
        prompt_limit: SpendLimit,
    ) -> BatchSpend:
        """The batch's budget, its arguments checked; a cost limit on a model without a
        known price fails here, before any prompt is sent."""
        limit = check_spend_limit(max_cost, max_total_tokens)
        if limit.max_cost is not None or prompt_limit.max_cost is not None:
            for model in models:
                if prices.cost(Usage(1, 1), model.model_id) is None:
                    raise UnknownPriceError(model.model_id, prices.available())
        return cls(limit)

    @property
    def limited(self) -> bool:
        return self.limit.max_cost is not None or self.limit.max_total_tokens is not None

    def add(self, usage: Usage) -> None:
        if not usage.total_tokens:
            return  # no model call answered: nothing was spent
        self.tokens += usage.total_tokens
        self.cost = None if self.cost is None or usage.cost is None else self.cost + usage.cost

    def reached(self) -> bool:
        """Whether the budget is spent (an unknown cost counts as spent: it cannot be kept)."""
        most_tokens, most_cost = self.limit.max_total_tokens, self.limit.max_cost
        if most_tokens is not None and self.tokens >= most_tokens:
            return True
        return most_cost is not None and (self.cost is None or self.cost >= most_cost)


def not_run(index: int, key: str, spend: BatchSpend) -> BatchResult:
    """The result of a prompt the batch did not start because ``spend`` was reached."""
    spent = f"{spend.tokens} tokens" if spend.cost is None else f"{spend.tokens} tokens, "
    if spend.cost is not None:
        spent += f"{spend.cost:g} USD"
    limits = ", ".join(f"batch_{k}={v}" for k, v in spend.limit.to_dict().items())
    message = f"Not started: the batch had spent {spent} ({limits}). Rerun to ask it."
    return BatchResult(index, None, error=PromptNotRun(message), key=key)
