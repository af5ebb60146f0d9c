"""Counts that tests want shown at the end of a run (how many recorded exchanges were checked)."""

from __future__ import annotations

COUNTS: dict[str, int] = {}


def count(label: str, n: int = 1) -> None:
    COUNTS[label] = COUNTS.get(label, 0) + n
