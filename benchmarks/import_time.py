"""What ``import agentloop`` costs, side by side with ``import llm`` and ``import pydantic_ai``
(a benchmark, not a test).

Each figure is the median over fresh interpreters (``python -c ...``, one per run, the rows
taken in turn so that a busy moment of the machine touches all of them): the time the import
statement itself takes (``time.perf_counter()`` around it) and the wall time of the whole
process. The floors are ``python -c pass`` (the interpreter's start) and ``import pydantic``
(agentloop's one dependency that the core needs). Two more agentloop rows show what first use
adds: the core (conversation, TestModel, the registry) and an HTTP provider's model.

Goal (issue 12): ``import agentloop`` takes at most half of ``import llm``'s time.

Peers are never installed into the project's environment: install them somewhere else and
point ``--peers`` (or $AGENTLOOP_PEERS) at it, e.g.

    pip install --target /tmp/peers llm pydantic-ai-slim
    python benchmarks/import_time.py --peers /tmp/peers [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field


@dataclass(slots=True)
class Row:
    label: str
    statement: str
    #: Run with the peers directory on PYTHONPATH (a peer library), else without it.
    peer: bool = False
    imports: list[float] = field(default_factory=list)
    walls: list[float] = field(default_factory=list)


ROWS = [
    Row("python -c pass (floor)", "pass"),
    Row("import pydantic (floor)", "import pydantic"),
    Row("import agentloop", "import agentloop"),
    Row(
        "agentloop core on first use",
        "import agentloop; agentloop.get_model('test'); agentloop.Conversation",
    ),
    Row(
        "agentloop + an HTTP provider",
        "import agentloop; agentloop.get_model('gpt-4.1-mini', api_key='k')",
    ),
    Row("import llm", "import llm", peer=True),
    Row("import pydantic_ai", "import pydantic_ai", peer=True),
]


def environment(row: Row, peers: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if row.peer and peers:
        env["PYTHONPATH"] = peers
    return env


def run_once(row: Row, peers: str | None) -> tuple[float, float]:
    """(seconds in the import statement, seconds of the whole process) in a fresh interpreter."""
    code = (
        "import time\n"
        "started = time.perf_counter()\n"
        f"{row.statement}\n"
        "print(time.perf_counter() - started)\n"
    )
    started = time.perf_counter()
    ran = subprocess.run(
        [sys.executable, "-c", code],
        env=environment(row, peers),
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    return float(ran.stdout.split()[-1]), wall


def importable(row: Row, peers: str | None) -> bool:
    try:
        run_once(row, peers)
    except subprocess.CalledProcessError:
        return False
    return True


def ms(seconds: float) -> str:
    return f"{seconds * 1000:9.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--peers", default=os.environ.get("AGENTLOOP_PEERS"))
    args = parser.parse_args()

    rows = [row for row in ROWS if importable(row, args.peers)]  # also warms the file cache
    missing = [row.label for row in ROWS if row not in rows]
    for _ in range(args.repeat):
        for row in rows:
            imported, wall = run_once(row, args.peers)
            row.imports.append(imported)
            row.walls.append(wall)

    medians = {row.label: statistics.median(row.imports) for row in rows}
    walls = {row.label: statistics.median(row.walls) for row in rows}
    llm = medians.get("import llm")
    print(
        f"median of {args.repeat} fresh interpreters; Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"{'':32} {'import ms':>9} {'wall ms':>9} {'import/llm':>11} {'wall/llm':>9}")
    for row in rows:
        versus = walls.get("import llm")
        ratios = (
            f"{medians[row.label] / llm:11.3f} {walls[row.label] / versus:9.3f}"
            if llm and versus
            else ""
        )
        print(f"{row.label:32} {ms(medians[row.label])} {ms(walls[row.label])} {ratios}")
    if missing:
        print(f"not importable here (skipped): {', '.join(missing)}")
    if llm:
        ratio = medians["import agentloop"] / llm
        verdict = "met" if ratio <= 0.5 else "NOT met"
        print(f"goal: import agentloop <= 0.5 x import llm: {verdict} ({ratio:.3f} x)")


if __name__ == "__main__":
    main()
