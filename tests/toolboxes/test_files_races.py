"""Files: a folder swapped for a symlink mid-call never leaks, and errors never name the host.

The swap is made deterministic by doing it inside ``os.open`` and ``os.scandir``
themselves (just before the real call), so every check-then-use gap is hit on
every run; a bounded swapper thread then hammers the same path for realism.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentloop import ToolError
from toolboxes import Files, Shell
from toolboxes import sandbox as sandbox_module

SECRET = "top secret outside the sandbox"
INSIDE = "top inside text"


class Swapper:
    """Turns ``root/race`` from a real folder into a symlink to ``outside`` and back."""

    def __init__(self, root: Path, outside: Path) -> None:
        self.root = root
        self.outside = outside
        self.race = root / "race"
        self.real = root / ".race_real"
        self.link = root / ".race_link"
        self.race.mkdir()
        (self.race / "f.txt").write_text(INSIDE)
        (self.race / "sub").mkdir()
        (self.race / "sub" / "g.txt").write_text(INSIDE)
        self.link.symlink_to(outside)
        self.rename = os.rename  # the real one, even while os functions are patched

    def swap(self) -> None:
        try:
            if self.race.is_symlink():
                self.rename(self.race, self.link)
                self.rename(self.real, self.race)
            else:
                self.rename(self.race, self.real)
                self.rename(self.link, self.race)
        except OSError:
            self.repair()

    def repair(self) -> None:
        """A write made a new ``race`` folder while it was missing: drop it, keep the real one.

        A writer may still be busy in it; then the next swap repairs it again.
        """
        try:
            if self.race.is_dir() and not self.race.is_symlink() and self.real.exists():
                shutil.rmtree(self.race)
            if not os.path.lexists(self.race):
                self.rename(self.real if self.real.exists() else self.link, self.race)
        except OSError:
            pass

    def restore(self) -> None:
        if self.race.is_symlink():
            self.swap()


@pytest.fixture
def swapper(tmp_path: Path) -> Swapper:
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "f.txt").write_text(SECRET)
    (outside / "sub" / "g.txt").write_text(SECRET)
    (outside / "only_outside.txt").write_text(SECRET)
    root = tmp_path / "root"
    root.mkdir()
    return Swapper(root, outside)


def outside_state(swapper: Swapper) -> dict[str, str]:
    return {
        os.path.join(folder, name): Path(folder, name).read_text()
        for folder, _, names in os.walk(swapper.outside)
        for name in names
    }


def secret_copied_inside(swapper: Swapper) -> bool:
    """Whether the outside text reached a file under the root (an edit that read outside)."""
    return any(
        SECRET in Path(folder, name).read_text()
        for folder, _, names in os.walk(swapper.root)  # never into symlinked folders
        for name in names
        if not Path(folder, name).is_symlink()
    )


OPERATIONS: dict[str, Callable[[Files], Any]] = {
    "read": lambda files: files.read("race/f.txt"),
    "read_deeper": lambda files: files.read("race/sub/g.txt"),
    "list": lambda files: files.list("race"),
    "search_names": lambda files: files.search("*", path="race"),
    "search_text": lambda files: files.search(text="top", path="race"),
    "search_from_root": lambda files: files.search(text="top"),
    "write": lambda files: files._write("race/f.txt", "pwned"),
    "write_deeper": lambda files: files._write("race/sub/new.txt", "pwned"),
    "edit": lambda files: files._edit("race/f.txt", "top", "pwned"),
}


def leaked(result: Any) -> bool:
    return "secret" in str(result) or "only_outside" in str(result)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_a_folder_swapped_for_a_link_at_every_open_never_leaks(
    swapper: Swapper, monkeypatch: pytest.MonkeyPatch, operation: str
) -> None:
    files = Files(swapper.race.parent, writable=True)
    before = outside_state(swapper)
    real_open, real_scandir = os.open, os.scandir

    def swapping_open(*args: Any, **kwargs: Any) -> Any:
        swapper.swap()  # the worst moment: between every check and the open it guards
        return real_open(*args, **kwargs)

    def swapping_scandir(*args: Any, **kwargs: Any) -> Any:
        swapper.swap()
        return real_scandir(*args, **kwargs)

    monkeypatch.setattr(os, "open", swapping_open)
    monkeypatch.setattr(os, "scandir", swapping_scandir)
    try:
        result: Any = OPERATIONS[operation](files)
    except ToolError as error:
        result = error
    finally:
        monkeypatch.undo()
        swapper.restore()
    assert not leaked(result), result
    assert outside_state(swapper) == before
    assert not secret_copied_inside(swapper)


def test_a_swapper_thread_racing_reads_and_writes_leaks_nothing(swapper: Swapper) -> None:
    files = Files(swapper.race.parent, writable=True)
    before = outside_state(swapper)
    start, stop = threading.Barrier(2), threading.Event()
    swaps = 0

    def swap_until_stopped() -> None:
        nonlocal swaps
        start.wait(timeout=10)
        deadline = time.monotonic() + 20  # a bound even if the reader died
        while not stop.is_set() and time.monotonic() < deadline and swaps < 200_000:
            swapper.swap()
            swaps += 1

    thread = threading.Thread(target=swap_until_stopped, daemon=True)
    thread.start()
    start.wait(timeout=10)
    leaks, reads = [], 0
    deadline = time.monotonic() + 3
    try:
        for n in range(3000):
            if time.monotonic() > deadline:
                break
            name = sorted(OPERATIONS)[n % len(OPERATIONS)]
            try:
                result: Any = OPERATIONS[name](files)
            except ToolError as error:
                result = error
            reads += 1
            if leaked(result):
                leaks.append((name, result))
    finally:
        stop.set()
        thread.join(timeout=10)
        swapper.restore()
    assert not thread.is_alive()
    assert reads > 50
    assert swaps > 50
    assert leaks == []
    assert outside_state(swapper) == before
    assert not secret_copied_inside(swapper)


# -- errors the model reads name paths relative to the root --------------------------


LONG = "x" * 300


@pytest.mark.parametrize(
    "attempt",
    [
        lambda files: files.read(LONG),
        lambda files: files.read(f"sub/{LONG}"),
        lambda files: files.list(LONG),
        lambda files: files.list(f"sub/{LONG}/deeper"),
        lambda files: files.search("*", path=LONG),
        lambda files: files.search("*", text="x", path=LONG),
        lambda files: files._write(f"{LONG}/a.txt", "x"),
        lambda files: files._write(f"sub/{LONG}", "x"),
        lambda files: files._edit(LONG, "a", "b"),
        lambda files: files.read("sub/notes.txt/inner"),
        lambda files: files.read("\ud800"),
    ],
)
def test_errors_never_name_the_host_path(tmp_path: Path, attempt: Callable[[Files], Any]) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "notes.txt").write_text("hi")
    with pytest.raises(ToolError) as error:
        attempt(Files(root))
    assert str(tmp_path) not in str(error.value)
    assert str(root) not in str(error.value)


def test_a_name_too_long_is_refused_with_the_relative_path(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    with pytest.raises(ToolError, match=rf"^Cannot inspect 'sub/{LONG}': File name too long$"):
        Files(tmp_path).read(f"sub/{LONG}")


def test_content_that_is_not_text_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="lone surrogate"):
        Files(tmp_path)._write("a.txt", "bad \ud800")
    assert not (tmp_path / "a.txt").exists()


def test_without_dir_fd_support_the_sandbox_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "supports_dir_fd", set())
    with pytest.raises(NotImplementedError, match="dir_fd"):
        Files(tmp_path)
    with pytest.raises(NotImplementedError, match="dir_fd"):
        Shell(tmp_path)
    assert sandbox_module.MAX_LINKS > 0
