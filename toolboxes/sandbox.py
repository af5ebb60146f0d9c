"""Sandbox: confines the paths a model names to one folder, walked one component at a time.

A path is walked from a descriptor of the root held open, one component at a
time, the way the operating system would follow it, and refused as soon as it
would leave the root: by ``..``, by an absolute path elsewhere, or through a
symlink whose target lies outside (even one whose target comes back in later).
Each folder on the way is opened relative to the one before it with
``O_NOFOLLOW | O_DIRECTORY`` (``openat``), so a folder swapped for a symlink
between a check and an open is refused, never followed: what is checked is what
is used, for reading, writing, listing and searching alike. NUL bytes are
refused before anything touches the file system, and opening checks the kind
of file, so devices, FIFOs and sockets are refused too.

Every error the model reads names paths relative to the root, never the host's
absolute paths. This needs ``dir_fd`` support (Linux, macOS, the BSDs);
elsewhere the sandbox refuses to start rather than confine paths less safely.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import stat
import weakref
from collections import deque
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType

from agentloop import ToolError

__all__ = ["LIST_FLAGS", "MAX_PATH_CHARS", "Location", "Sandbox", "file_kind"]

logger = logging.getLogger("toolboxes.sandbox")

MAX_PATH_CHARS = 4096
#: Symlinks followed in one path before it counts as a loop.
MAX_LINKS = 40
#: Attempts at one component that keeps changing between its check and its open.
_RETRIES = 8

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
#: A folder on the way: O_PATH (Linux) needs no read permission, only search.
_WALK_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
LIST_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
#: Non-blocking so a FIFO swapped in never waits for a writer; checked with fstat after.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | _CLOEXEC
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC
#: An open that failed because the entry is not (or no longer) what was checked.
_CHANGED = frozenset({errno.ENOTDIR, errno.ELOOP, errno.ENOENT, getattr(errno, "EMLINK", -1)})


@dataclass(slots=True)
class Location:
    """Where a path leads: an entry ``name`` in a folder held open as ``folder``.

    ``name`` is ``"."`` when the path is a folder reached by its own name (the
    root, or ``sub/..``). For a path that does not exist yet, ``missing`` holds
    the folders to create under ``folder`` before ``name`` (see
    `Sandbox.make_folders`). Close it
    (or use it in a ``with``) to release the descriptor.
    """

    folder: int
    name: str
    #: How the model names it: relative to the root, POSIX style, symlinks resolved.
    relative: str
    #: "file", "directory", "missing", or the kind of a file no tool may touch.
    kind: str
    missing: tuple[str, ...] = ()

    def close(self) -> None:
        if self.folder >= 0:
            os.close(self.folder)
            self.folder = -1

    def __enter__(self) -> Location:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Sandbox:
    """The folder ``root`` (which must exist) and the rules for paths inside it."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        _require_dir_fd_support()
        given = Path(root).expanduser()
        resolved = given.resolve()
        if not resolved.is_dir():
            raise NotADirectoryError(f"The sandbox root {str(given)!r} is not an existing folder")
        #: The root with every symlink resolved: every path handed out lies under it.
        self.root = resolved
        self._aliases = (resolved, given.absolute())
        # Held for the sandbox's life: every walk starts here, so the root stays the
        # folder chosen now even if a path above it is renamed later.
        self._root_fd = os.open(resolved, _WALK_FLAGS)
        weakref.finalize(self, os.close, self._root_fd)

    def locate(self, path: str) -> Location:
        """Where ``path`` (relative to the root, or absolute under it) leads; it need not exist.

        Raises [`agentloop.ToolError`][agentloop.errors.ToolError], worded for the model, when the
        path is malformed or leaves the root.
        """
        return _Walk(self, path).run(self._parts(path))

    def resolve(self, path: str) -> Path:
        """The real absolute path of ``path``, for handing to another program (``cwd=``).

        Only as safe as the moment it is checked: the tools of this package use
        `locate` and descriptors instead.
        """
        with self.locate(path) as location:
            return self.path_of(location.relative)

    def path_of(self, relative: str) -> Path:
        """The absolute path of a root-relative name (never shown to the model)."""
        return self.root if relative == "." else self.root / relative

    def open_file(self, location: Location) -> int:
        """A read-only descriptor for the regular file at ``location``; anything else is refused."""
        _require_file(location.relative, location.kind)  # a clear refusal before opening
        return self.open_file_at(location.folder, location.name, location.relative)

    def open_file_at(self, folder: int, name: str, relative: str) -> int:
        """Open the regular file ``name`` in ``folder`` without following a symlink, then
        check with ``fstat``, so the file read is the file that was checked."""
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=folder)
        except OSError as exc:
            raise ToolError(f"Cannot open {relative!r}: {_reason(exc)}") from None
        try:
            _require_file(relative, file_kind(os.fstat(fd).st_mode))  # swapped since the check?
        except BaseException:
            os.close(fd)
            raise
        return fd

    def open_folder(self, location: Location) -> int:
        """A descriptor of the folder at ``location`` that can be listed (``os.scandir``)."""
        if location.kind != "directory":
            what = "does not exist" if location.kind == "missing" else "is not a folder"
            raise ToolError(f"{location.relative!r} {what}")
        try:
            return os.open(location.name, LIST_FLAGS, dir_fd=location.folder)
        except OSError as exc:
            raise ToolError(f"Cannot open {location.relative!r}: {_reason(exc)}") from None

    def make_folders(self, location: Location) -> None:
        """Create the folders ``location`` is missing, each opened as it is made, so a symlink
        planted in the meantime is refused rather than followed."""
        for name in location.missing:
            try:
                os.mkdir(name, dir_fd=location.folder)
            except FileExistsError:
                pass  # made meanwhile: opened (and checked) below like any folder
            except OSError as exc:
                reason = _reason(exc)
                raise ToolError(
                    f"Cannot create a folder for {location.relative!r}: {reason}"
                ) from None
            try:
                fd = os.open(name, _WALK_FLAGS, dir_fd=location.folder)
            except OSError as exc:
                raise ToolError(
                    f"A folder on the way to {location.relative!r} exists and is not a folder "
                    f"({_reason(exc)})"
                ) from None
            os.close(location.folder)
            location.folder = fd
        location.missing = ()

    def replace_file(self, location: Location, data: bytes) -> None:
        """Write ``data`` to a new file beside ``location``, then rename it over the entry.

        Both happen inside the folder held open, and the rename replaces a
        directory entry without following links: atomic, and never outside.
        """
        folder, name = location.folder, location.name
        try:
            mode = (
                os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode & 0o777
            )  # never setuid/setgid bits
        except FileNotFoundError:
            mode = None
        except OSError as exc:
            raise ToolError(f"Cannot write {location.relative!r}: {_reason(exc)}") from None
        temporary = f".{name[:40]}.{secrets.token_hex(6)}.tmp"  # well under NAME_MAX
        try:
            fd = os.open(temporary, _CREATE_FLAGS, 0o666, dir_fd=folder)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                if mode is not None:
                    os.fchmod(handle.fileno(), mode)
            os.rename(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
        except OSError as exc:
            _unlink_quietly(temporary, folder)
            raise ToolError(f"Cannot write {location.relative!r}: {_reason(exc)}") from None
        except BaseException:
            _unlink_quietly(temporary, folder)
            raise

    def _parts(self, path: str) -> list[str]:
        if not isinstance(path, str):
            raise ToolError(f"A path must be text, not {type(path).__name__}")
        if "\x00" in path:
            raise ToolError("The path contains a NUL byte; paths cannot contain NUL characters")
        if len(path) > MAX_PATH_CHARS:
            raise ToolError(f"The path is longer than {MAX_PATH_CHARS} characters")
        try:
            os.fsencode(path)
        except UnicodeEncodeError:
            raise ToolError("The path is not valid text (it holds a lone surrogate)") from None
        text = path.strip() or "."
        if text.startswith("~"):
            raise ToolError(f"{path!r}: '~' is not expanded here; {SCOPE}")
        pure = PurePosixPath(text.replace("\\", "/") if os.sep == "\\" else text)
        if pure.is_absolute():
            inside = self._under_root(pure)
            if inside is None:
                raise ToolError(f"{path!r} is outside the root folder; {SCOPE}")
            return inside
        return list(pure.parts)

    def _under_root(self, absolute: PurePosixPath) -> list[str] | None:
        """The parts of ``absolute`` below the root, or None when it is elsewhere."""
        for alias in self._aliases:
            if absolute.is_relative_to(alias.as_posix()):
                return list(absolute.relative_to(alias.as_posix()).parts)
        return None


SCOPE = "use paths relative to the root folder, such as 'notes/todo.txt'"


class _Walk:
    """One walk from the root: the folders entered so far (``names``, with ``fd`` open on the
    last), then the components past the first missing one (``virtual``, nothing to open)."""

    def __init__(self, sandbox: Sandbox, path: str) -> None:
        self.sandbox = sandbox
        self.path = path
        self.names: list[str] = []
        self.virtual: list[str] = []
        self.links = 0
        self.fd = os.dup(sandbox._root_fd)

    def run(self, parts: list[str]) -> Location:
        # Each component carries the outermost symlink it came from, to name it in refusals.
        queue: deque[tuple[str, str | None]] = deque((part, None) for part in parts)
        try:
            final: tuple[str, str] | None = None
            while queue:
                part, via = queue.popleft()
                if part in ("", "."):
                    continue
                if part == "..":
                    self._up(via)
                elif self.virtual:
                    self.virtual.append(part)
                else:
                    kind = self._step(part, via, queue)
                    final = (part, kind) if kind is not None else None
            return self._location(final)
        except BaseException:
            os.close(self.fd)
            raise

    def _location(self, final: tuple[str, str] | None) -> Location:
        if self.virtual:
            missing = tuple(self.virtual[:-1])
            return Location(self.fd, self.virtual[-1], self._relative(), "missing", missing)
        if final is None:  # the path names a folder already entered (the root, or "a/..")
            return Location(self.fd, ".", self._relative(), "directory")
        name, kind = final
        return Location(self.fd, name, self._relative(name), kind)

    def _step(self, name: str, via: str | None, queue: deque[tuple[str, str | None]]) -> str | None:
        """Take one component: follow it if a symlink, enter it if a folder with more to come.

        Returns its kind when it is the last component (the walk ends on it),
        else None. A component that changes between the check and the open is
        looked at again; the open itself never follows a link.
        """
        for _ in range(_RETRIES):
            kind = self._kind(name)
            if kind == "symbolic link":
                if self._follow(name, via, queue):
                    return None
                continue  # it stopped being a link meanwhile
            if not queue:
                return kind
            if kind == "missing":
                self.virtual.append(name)
                return None
            if kind != "directory":
                raise ToolError(f"{self._relative(name)!r} is {_article(kind)}, not a folder")
            if self._enter(name):
                return None
            logger.debug("a folder changed while it was opened; looking again")
        raise ToolError(f"{self.path!r} keeps changing while it is opened; try again")

    def _kind(self, name: str) -> str:
        try:
            mode = os.stat(name, dir_fd=self.fd, follow_symlinks=False).st_mode
        except FileNotFoundError:
            return "missing"
        except OSError as exc:
            raise ToolError(f"Cannot inspect {self._relative(name)!r}: {_reason(exc)}") from None
        return file_kind(mode)

    def _enter(self, name: str) -> bool:
        try:
            fd = os.open(name, _WALK_FLAGS, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno in _CHANGED:
                return False
            raise ToolError(f"Cannot open {self._relative(name)!r}: {_reason(exc)}") from None
        os.close(self.fd)
        self.fd = fd
        self.names.append(name)
        return True

    def _up(self, via: str | None) -> None:
        if self.virtual:
            self.virtual.pop()
            return
        if not self.names:
            if via is not None:
                raise self._outside(via)
            raise ToolError(f"{self.path!r} goes above the root folder; {SCOPE}")
        # Walked again from the root, not with "..": a folder moved out of the root
        # meanwhile must not lead outside it.
        names = self.names[:-1]
        self._restart()
        for name in names:
            if not self._enter(name):
                raise ToolError(f"{self.path!r} changed while it was opened; try again")

    def _follow(self, name: str, via: str | None, queue: deque[tuple[str, str | None]]) -> bool:
        """Queue the target of the symlink ``name`` in its place; False if it is no link now."""
        self.links += 1
        if self.links > MAX_LINKS:
            raise ToolError(f"{self.path!r} has too many symbolic links (a loop?)")
        origin = via or self._relative(name)
        try:
            target = os.readlink(name, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno in (errno.EINVAL, errno.ENOENT):
                return False
            raise ToolError(f"{self.path!r} has a symbolic link that cannot be followed") from None
        pure = PurePosixPath(target)
        parts = list(pure.parts)
        if pure.is_absolute():
            inside = self.sandbox._under_root(pure)
            if inside is None:
                raise self._outside(origin)
            self._restart()
            parts = inside
        queue.extendleft((part, origin) for part in reversed(parts))
        return True

    def _restart(self) -> None:
        fd = os.dup(self.sandbox._root_fd)
        os.close(self.fd)
        self.fd = fd
        self.names = []

    def _outside(self, link: str) -> ToolError:
        return ToolError(
            f"{self.path!r} passes through a symbolic link ({link!r}) that points "
            f"outside the root folder; {SCOPE}"
        )

    def _relative(self, *more: str) -> str:
        return "/".join([*self.names, *self.virtual, *more]) or "."


def _require_dir_fd_support() -> None:
    supported = (
        os.open in os.supports_dir_fd
        and os.stat in os.supports_dir_fd
        and os.readlink in os.supports_dir_fd
        and os.mkdir in os.supports_dir_fd
        and os.rename in os.supports_dir_fd
        and os.scandir in os.supports_fd
        and hasattr(os, "O_NOFOLLOW")
        and hasattr(os, "O_DIRECTORY")
    )
    if not supported:
        raise NotImplementedError(
            "Confining paths safely needs os.open with dir_fd, O_NOFOLLOW and O_DIRECTORY "
            "(Linux, macOS, the BSDs); this platform lacks them, so the Files and Shell "
            "toolboxes cannot be used here."
        )


def file_kind(mode: int) -> str:
    """ "file", "directory", "symbolic link", or the kind of a file no tool may touch."""
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


def _reason(exc: OSError) -> str:
    """The system's reason without the path it names (which may be absolute)."""
    if exc.errno == errno.ELOOP:
        return "it is a symbolic link or changed while being opened"
    return exc.strerror or type(exc).__name__


def _unlink_quietly(name: str, folder: int) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name, dir_fd=folder)
