"""Tools the MCP serving tests serve: ``--functions`` this file, ``-T mcp_served:Tracker``."""

from __future__ import annotations

import base64
from pathlib import Path

import agentloop
from agentloop import File, Image, ToolError, ToolReturn

#: A 1x1 transparent PNG.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
)
REPORT = b"%PDF-1.4\n% a report\n"


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def refuse(reason: str) -> str:
    """Fail with a message for the model."""
    raise ToolError(f"refused: {reason}")


def crash() -> str:
    """Fail unexpectedly."""
    raise RuntimeError("kaput")


def pixel() -> ToolReturn:
    """A picture and a document."""
    return ToolReturn("a pixel", [Image(data=PIXEL), File(data=REPORT, filename="report.pdf")])


@agentloop.tool(requires_approval=True)
def launch(target: str) -> str:
    """Launch something (asks first)."""
    return f"launched {target}"


class Tracker(agentloop.Toolbox):
    """Counts calls; writes when each session's instance is prepared and closed."""

    def __init__(self, log: str = "") -> None:
        self.log = log
        self.count = 0

    async def prepare(self) -> None:
        self._write(f"prepared {id(self)}")

    async def close(self) -> None:
        self._write(f"closed {id(self)}")

    def bump(self) -> int:
        """Count one more call in this session."""
        self.count += 1
        return self.count

    def _write(self, line: str) -> None:
        if self.log:
            with Path(self.log).open("a") as out:
                out.write(line + "\n")
