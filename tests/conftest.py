from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if report.COUNTS:
        terminalreporter.section("recorded traffic checked")
        for label, n in sorted(report.COUNTS.items()):
            terminalreporter.write_line(f"{label}: {n}")


from local_server import local_server  # noqa: E402, F401  (a fixture for every test module)
