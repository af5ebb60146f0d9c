"""The toolbox examples run offline, start to finish."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_the_tour_uses_every_toolbox_and_shows_a_refusal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    runpy.run_path(str(EXAMPLES / "toolbox_tour.py"), run_name="__main__")
    output = capsys.readouterr().out
    for name in ["Files_search", "SQLite_query", "HTTP_fetch", "Memory_set", "Shell_run"]:
        assert f"-> {name}" in output
    assert "a cloud metadata address" in output
    assert "Created 'notes/report.md'" in output
    assert output.rstrip().endswith(
        "answer: North leads with 150.0; the report is in notes/report.md."
    )


def test_the_mcp_example_serves_itself_and_calls_its_tool(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("mcp")
    runpy.run_path(str(EXAMPLES / "toolbox_mcp.py"), run_name="__main__")
    output = capsys.readouterr().out
    assert "No forecast for Atlantis" in output
    assert "Tomorrow in Lisbon: sunny, 21 C." in output
