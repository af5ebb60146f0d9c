from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import report


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Under pytest-xdist each worker counts only the tests it ran: it hands its counts to the
    # controller, which adds them up (pytest_testnodedown) and prints the one summary.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["report_counts"] = dict(report.COUNTS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    for label, n in getattr(node, "workeroutput", {}).get("report_counts", {}).items():
        report.count(label, n)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if report.COUNTS:
        terminalreporter.section("recorded traffic checked")
        for label, n in sorted(report.COUNTS.items()):
            terminalreporter.write_line(f"{label}: {n}")


from local_server import local_proxy, local_server  # noqa: E402, F401  (fixtures for every module)
