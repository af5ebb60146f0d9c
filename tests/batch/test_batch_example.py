"""examples/batch.py runs offline and shows what it says it shows."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[2] / "examples" / "batch.py"


def test_the_batch_example_runs_offline(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(EXAMPLE), run_name="__main__")

    output = capsys.readouterr().out
    seconds = re.search(r"21 results in ([\d.]+) s", output)
    assert seconds is not None
    assert float(seconds[1]) >= 1.0  # 21 prompts at 20 a second cannot take less
    assert "first: 0 | last good: 38" in output
    assert "failed: ['#20: demo 400: this model cannot divide']" in output
    assert "answered from the file: 20 of 21" in output
    assert "chains: ['The sum is 5.', 'The sum is 9.'] model calls each: 2" in output
