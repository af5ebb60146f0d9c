"""The batch's progress bar (rich): done, failed, cost so far (when known), rate, time left.

Shown by default only when standard error is a terminal, so logs and CI output
stay clean; ``progress=True`` or ``False`` decides explicitly.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Prompts finished per second, over rich's recent-speed window."""

    def render(self, task: Task) -> Text:
        speed = task.speed
        return Text("-/s" if speed is None else f"{speed:.1f}/s", style="progress.data.speed")


def wants_progress(progress: bool | None, console: Console) -> bool:
    """``progress`` when given, else whether ``console`` writes to a terminal."""
    return console.is_terminal if progress is None else progress


class BatchProgress:
    """Counts finished prompts; draws them when enabled, does nothing otherwise."""

    def __init__(
        self,
        total: int,
        *,
        enabled: bool | None = None,
        done: int = 0,
        description: str = "prompts",
        console: Console | None = None,
    ) -> None:
        self.total = total
        self.done = done
        self.failed = 0
        console = console or Console(stderr=True)
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if wants_progress(enabled, console):
            self._progress = Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("[red]{task.fields[failed]} failed"),
                TextColumn("{task.fields[cost]}"),
                RateColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=console,
            )
            self._task = self._progress.add_task(
                description, total=total, completed=done, failed=0, cost=""
            )

    @property
    def enabled(self) -> bool:
        return self._progress is not None

    def advance(self, *, failed: bool = False, count: int = 1, cost: float | None = None) -> None:
        """Count finished prompts; ``cost`` is what the batch has spent so far, when known."""
        self.done += count
        self.failed += count if failed else 0
        if self._progress is not None and self._task is not None:
            shown = "" if cost is None else f"${cost:.4f}"
            self._progress.update(self._task, advance=count, failed=self.failed, cost=shown)

    def __enter__(self) -> BatchProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
