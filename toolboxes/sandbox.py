"""Sandbox: confines the paths a model names to one folder, after resolving symlinks.

A path is walked one component at a time from the root, the way the operating
system would follow it, and refused as soon as it would leave the root: by
``..``, by an absolute path elsewhere, or through a symlink whose target lies
outside (even one whose target comes back in later). NUL bytes are refused
before anything touches the file system. Opening checks the kind of file, so
devices, FIFOs and sockets are refused too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from agentloop import ToolError

__all__ = ["MAX_PATH_CHARS", "Sandbox"]

MAX_PATH_CHARS = 4096
#: Symlinks followed in one path before it counts as a loop.
MAX_LINKS = 40


class Sandbox:
    """The folder ``root`` (which must exist) and the rules for paths inside it."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        given = Path(root).expanduser()
        resolved = given.resolve()
        if not resolved.is_dir():
            raise NotADirectoryError(f"The sandbox root {str(given)!r} is not an existing folder")
        #: The root with every symlink resolved: every path handed out lies under it.
        self.root = resolved
        self._aliases = (resolved, given.absolute())

    def resolve(self, path: str) -> Path:
        """The real absolute path of ``path`` (relative to the root, or absolute under it).

        Raises [`agentloop.ToolError`][agentloop.errors.ToolError], worded for the model, when the
        path is malformed or leaves the root. The path need not exist.
        """
        parts = self._parts(path)
        current = self.root
        links = 0
        for part in parts:
            if part == "..":
                if current == self.root:
                    raise ToolError(f"{path!r} goes above the root folder; {self._scope()}")
                current = current.parent
                continue
            candidate = current / part
            if candidate.is_symlink():
                links += 1
                if links > MAX_LINKS:
                    raise ToolError(f"{path!r} has too many symbolic links (a loop?)")
                current = self._follow(path, candidate)
            else:
                current = candidate
        return current

    def relative(self, real: Path) -> str:
        """How the model should name ``real`` (a path under the root): relative, POSIX style."""
        rel = real.relative_to(self.root).as_posix()
        return rel if rel != "" else "."

    def kind(self, real: Path) -> str:
        """ "file", "directory", "missing", or the name of a kind no tool may touch."""
        try:
            mode = real.lstat().st_mode
        except FileNotFoundError:
            return "missing"
        except OSError as exc:
            raise ToolError(f"Cannot inspect {self.relative(real)!r}: {exc.strerror}") from None
        return _kind(mode)

    def open_file(self, real: Path) -> int:
        """A read-only descriptor for the regular file ``real``; anything else is refused.

        Opened without following a final symlink and without blocking (a FIFO
        would otherwise wait for a writer), then checked with ``fstat``, so the
        file read is the file that was checked.
        """
        name = self.relative(real)
        _require_file(name, self.kind(real))  # a clear refusal before opening anything
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(real, flags | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise ToolError(f"Cannot open {name!r}: {exc.strerror}") from None
        try:
            _require_file(name, _kind(os.fstat(fd).st_mode))  # swapped since the check?
        except ToolError:
            os.close(fd)
            raise
        return fd

    def _parts(self, path: str) -> list[str]:
        if not isinstance(path, str):
            raise ToolError(f"A path must be text, not {type(path).__name__}")
        if "\x00" in path:
            raise ToolError("The path contains a NUL byte; paths cannot contain NUL characters")
        if len(path) > MAX_PATH_CHARS:
            raise ToolError(f"The path is longer than {MAX_PATH_CHARS} characters")
        text = path.strip() or "."
        if text.startswith("~"):
            raise ToolError(f"{path!r}: '~' is not expanded here; {self._scope()}")
        pure = PurePosixPath(text.replace("\\", "/") if os.sep == "\\" else text)
        if pure.is_absolute():
            for alias in self._aliases:
                if pure.is_relative_to(alias.as_posix()):
                    return list(pure.relative_to(alias.as_posix()).parts)
            raise ToolError(f"{path!r} is outside the root folder; {self._scope()}")
        return list(pure.parts)

    def _follow(self, path: str, link: Path) -> Path:
        try:
            target = link.resolve(strict=False)
        except (OSError, RuntimeError):
            raise ToolError(f"{path!r} has a symbolic link that cannot be followed") from None
        if not target.is_relative_to(self.root):
            raise ToolError(
                f"{path!r} passes through a symbolic link ({self.relative(link)!r}) that points "
                f"outside the root folder; {self._scope()}"
            )
        return target

    def _scope(self) -> str:
        return "use paths relative to the root folder, such as 'notes/todo.txt'"


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def _require_file(name: str, kind: str) -> None:
    if kind == "missing":
        raise ToolError(f"{name!r} does not exist")
    if kind == "directory":
        raise ToolError(f"{name!r} is a folder, not a file")
    if kind != "file":
        raise ToolError(f"{name!r} is {_article(kind)}, not a regular file; it is refused")


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiouAEIOU" else f"a {kind}"
