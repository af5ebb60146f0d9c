"""Memory: a key/value notebook the model keeps for the conversation, optionally on disk.

With a file, every instance using it (in this process or another) shares it:
each change is made under an exclusive lock, to the values on disk as they are
then, and written back atomically, so two instances never lose each other's
updates. Reads see the latest values written by any of them.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import agentloop

try:
    import fcntl
except ImportError:  # not POSIX: merged on every change, but without a lock between processes
    fcntl = None  # type: ignore[assignment]

__all__ = ["Memory"]


class Memory(agentloop.Toolbox):
    """Remember short facts for later in the conversation: set, get, list and delete them
    by key. Values are text."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        max_keys: int = 1000,
        max_value_chars: int = 10_000,
        instance_name: str | None = None,
    ) -> None:
        """``path``: a JSON file to load the values from and save them to after every
        change (created when missing). Without it, values live as long as the instance.
        Several instances (or processes) may use one file: changes merge under a lock."""
        super().__init__(instance_name=instance_name)
        self.path = Path(path) if path is not None else None
        self.max_keys = max_keys
        self.max_value_chars = max_value_chars
        # Sync tools of one reply run in threads: one lock keeps the dict and file in step.
        self._lock = threading.Lock()
        self.values: dict[str, str] = {}
        with self._shared(writing=False):
            pass  # loads the file, if there is one

    def set(self, key: str, value: str) -> str:
        """Remember a value under a key, replacing any value the key had.

        Args:
            key: A short name for the fact, e.g. "favourite_colour".
            value: The text to remember.
        """
        if not key.strip():
            raise agentloop.ToolError("The key is empty: give the value a short name.")
        if len(value) > self.max_value_chars:
            raise agentloop.ToolError(
                f"The value is {len(value)} characters long; the limit is "
                f"{self.max_value_chars}. Store a shorter summary."
            )
        with self._shared():
            if key not in self.values and len(self.values) >= self.max_keys:
                raise agentloop.ToolError(
                    f"Memory is full ({self.max_keys} keys). Delete keys you no longer need."
                )
            self.values[key] = value
            self._save()
        return f"Remembered {key!r}."

    def get(self, key: str) -> str:
        """Recall the value stored under a key.

        Args:
            key: The key used when the value was set.
        """
        with self._shared(writing=False):
            if key in self.values:
                return self.values[key]
            known = ", ".join(repr(k) for k in sorted(self.values)[:50]) or "none"
        raise agentloop.ToolError(f"Nothing is stored under {key!r}. Known keys: {known}.")

    def keys(self) -> list[str]:
        """List every key that has a value, sorted."""
        with self._shared(writing=False):
            return sorted(self.values)

    def delete(self, key: str) -> str:
        """Forget the value stored under a key.

        Args:
            key: The key to forget.
        """
        with self._shared():
            if key not in self.values:
                raise agentloop.ToolError(f"Nothing is stored under {key!r}.")
            del self.values[key]
            self._save()
        return f"Forgot {key!r}."

    @contextlib.contextmanager
    def _shared(self, writing: bool = True) -> Iterator[None]:
        """Hold this instance's lock and, with a file, the lock every user of the file
        takes; meanwhile ``values`` is what the file holds now."""
        with self._lock:
            if self.path is None:
                yield
                return
            directory = self.path.parent
            if not writing and not directory.is_dir():
                self.values = {}  # nothing written yet: no folder to create for a read
                yield
                return
            directory.mkdir(parents=True, exist_ok=True)
            # The file itself is replaced on every write, so the lock is taken on its
            # folder (an flock on a folder only binds others who flock it too).
            fd = os.open(directory, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                # Read again every time: a file's size and timestamps can repeat across
                # quick writes, so they cannot tell reliably whether it changed.
                self.values = self._load()
                yield
            finally:
                os.close(fd)  # releases the flock

    def _load(self) -> dict[str, str]:
        assert self.path is not None
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"Memory file {self.path} is not valid JSON: {exc}") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ValueError(
                f"Memory file {self.path} must hold a JSON object of strings, "
                f'like {{"key": "value"}}'
            )
        return data

    def _save(self) -> None:
        if self.path is None:
            return
        # Write a sibling temp file then rename it over the old one, so a crash
        # mid-write never leaves a truncated memory file behind.
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.values, handle, ensure_ascii=False, indent=2, sort_keys=True)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
