"""Token usage of one model call, or summed over a chain, and what it cost."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

#: The `Usage.details` counter of cache writes, as Anthropic names it and the others report it.
CACHE_WRITES = "cache_creation_input_tokens"


@dataclass(slots=True)
class Usage:
    """Tokens counted by the provider.

    ``input_tokens`` counts every input token, cached ones included;
    ``cached_input_tokens`` (cache reads) and ``reasoning_tokens`` are None when the
    provider does not report them; ``details`` keeps any other counters it sent,
    among them the cache writes (`cache_write_tokens`).

    ``cost`` is in USD, None when unknown (see docs/cost.md): a sum is unknown as
    soon as one of its terms is, because a partial sum would read as the whole.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    details: dict[str, int] = field(default_factory=dict)
    cost: float | None = None

    @classmethod
    def sum(cls, usages: Iterable[Usage]) -> Usage:
        """The total of ``usages``; nothing at all cost nothing (0.0, not unknown)."""
        total = cls(cost=0.0)
        for usage in usages:
            total = total + usage
        return total

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def cache_write_tokens(self) -> int | None:
        """Input tokens written to a prompt cache (Anthropic's cache writes, a Gemini context
        cache made for the call), counted in ``input_tokens``; None when none were reported."""
        return self.details.get(CACHE_WRITES)

    def __add__(self, other: Usage) -> Usage:
        details = dict(self.details)
        for key, value in other.details.items():
            details[key] = details.get(key, 0) + value
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            _add_optional(self.cached_input_tokens, other.cached_input_tokens),
            _add_optional(self.reasoning_tokens, other.reasoning_tokens),
            details,
            None if self.cost is None or other.cost is None else self.cost + other.cost,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in _FIELDS:
            value = getattr(self, name)
            if value is not None and value != {}:
                out[name] = value
        out["total_tokens"] = self.total_tokens
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Usage:
        return cls(
            int(data.get("input_tokens", 0)),
            int(data.get("output_tokens", 0)),
            data.get("cached_input_tokens"),
            data.get("reasoning_tokens"),
            dict(data.get("details") or {}),
            None if data.get("cost") is None else float(data["cost"]),
        )


#: The fields `Usage.to_dict` writes, in order (``dataclasses.fields`` is asked once).
_FIELDS = tuple(f.name for f in fields(Usage))


def _add_optional(a: int | None, b: int | None) -> int | None:
    if a is None and b is None:
        return None
    return (a or 0) + (b or 0)
