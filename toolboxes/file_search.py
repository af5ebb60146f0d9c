"""Finding files under a sandboxed folder by glob pattern, and lines by the text they hold.

Every search is bounded (results, files visited, folder depth, bytes read),
walks folder descriptors opened with ``O_NOFOLLOW`` (never a symlinked folder,
even one swapped in mid-search), and skips any symlinked file that leads
outside the sandbox, so a search cannot be used to look past the root.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from agentloop import ToolError
from toolboxes.sandbox import LIST_FLAGS, Sandbox, file_kind

__all__ = ["Found", "SearchLimits", "find_files", "find_text", "glob_regex"]


@dataclass(frozen=True, slots=True)
class SearchLimits:
    max_results: int = 200
    skip_dirs: frozenset[str] = frozenset()
    max_files: int = 20_000
    max_file_bytes: int = 1_000_000
    max_scanned_bytes: int = 100_000_000
    max_depth: int = 100
    line_chars: int = 200


@dataclass(slots=True)
class Found:
    lines: list[str] = field(default_factory=list)
    #: Why the search stopped early, if it did (said to the model).
    note: str = ""


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex for a glob: ``*`` and ``?`` stay within a folder name, ``**`` spans folders."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = re.escape(body[1:] if negate else body).replace("\\-", "-")
            out.append(f"[{'^' if negate else ''}{body}]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def find_files(
    sandbox: Sandbox, folder: int, folder_name: str, pattern: str, limits: SearchLimits
) -> Found:
    """The paths (relative to the root) of files under ``folder`` that match ``pattern``."""
    found = Found()
    walker = _Walker(sandbox, folder_name, limits, found)
    for entry, kind in walker.matching(folder, pattern):
        if len(found.lines) >= limits.max_results:
            found.note = f"Stopped at {limits.max_results} results; narrow the pattern."
            break
        name = walker.name(entry)
        found.lines.append(f"{name}/" if kind == "directory" else name)
    return found


def find_text(
    sandbox: Sandbox,
    folder: int,
    folder_name: str,
    pattern: str,
    text: str,
    ignore_case: bool,
    limits: SearchLimits,
) -> Found:
    """``path:line: text`` for every line containing ``text`` in files matching ``pattern``."""
    found = Found()
    walker = _Walker(sandbox, folder_name, limits, found)
    needle = text.casefold() if ignore_case else text
    scanned = 0
    for entry, kind in walker.matching(folder, pattern):
        if kind != "file":
            continue
        if scanned >= limits.max_scanned_bytes:
            found.note = f"Stopped after reading {scanned} bytes; narrow the pattern or folder."
            break
        try:
            data = walker.read(entry)
        except (OSError, ToolError):
            continue  # unreadable files are skipped, not fatal to the search
        if data is None:
            continue  # larger than max_file_bytes
        scanned += len(data)
        for hit in _lines_containing(walker.name(entry), data, needle, ignore_case, limits):
            if len(found.lines) >= limits.max_results:
                found.note = f"Stopped at {limits.max_results} matching lines; narrow the search."
                return found
            found.lines.append(hit)
    return found


@dataclass(frozen=True, slots=True)
class _Entry:
    #: The descriptor of the folder holding it: valid until the walk moves on.
    folder: int
    name: str
    #: Its path from the folder searched.
    relative: str
    link: bool


class _Walker:
    """A bounded, top-down walk of folder descriptors, as ``os.walk`` would order it."""

    def __init__(self, sandbox: Sandbox, folder_name: str, limits: SearchLimits, found: Found):
        self.sandbox = sandbox
        self.prefix = "" if folder_name == "." else f"{folder_name}/"
        self.limits = limits
        self.found = found
        self.visited = 0
        self.stopped = False

    def matching(self, folder: int, pattern: str) -> Iterator[tuple[_Entry, str]]:
        """The files and folders whose name (or path, for a pattern with '/') matches."""
        regex = _pattern(pattern)
        by_name = "/" not in pattern.strip("/")
        for entry in self.walk(folder, "", 0):
            if not regex.match(entry.name if by_name else entry.relative):
                continue
            kind = self.kind(entry)
            if kind in ("file", "directory"):
                yield entry, kind

    def walk(self, folder: int, relative: str, depth: int) -> Iterator[_Entry]:
        try:
            listing = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            return  # unreadable folders are skipped
        dirs = [e for e in listing if _is_dir(e) and e.name not in self.limits.skip_dirs]
        files = [e for e in listing if not _is_dir(e)]
        for item in [*dirs, *files]:
            self.visited += 1
            if self.visited > self.limits.max_files:
                self.found.note = (
                    f"Stopped after {self.limits.max_files} entries; search a smaller folder."
                )
                self.stopped = True
                return
            yield _Entry(folder, item.name, relative + item.name, item.is_symlink())
        for item in dirs:
            if self.stopped:
                return
            if not item.is_symlink():  # a symlinked folder is listed, never walked into
                yield from self._enter(folder, item.name, f"{relative}{item.name}/", depth + 1)

    def _enter(self, folder: int, name: str, relative: str, depth: int) -> Iterator[_Entry]:
        if depth > self.limits.max_depth:
            self.found.note = f"Folders nested deeper than {self.limits.max_depth} were skipped."
            return
        try:
            # O_NOFOLLOW: a folder swapped for a symlink since it was listed is skipped.
            child = os.open(name, LIST_FLAGS, dir_fd=folder)
        except OSError:
            return
        try:
            yield from self.walk(child, relative, depth)
        finally:
            os.close(child)

    def kind(self, entry: _Entry) -> str:
        """The kind of ``entry``, following a symlink only when it stays inside the sandbox."""
        if not entry.link:
            try:
                info = os.stat(entry.name, dir_fd=entry.folder, follow_symlinks=False)
            except OSError:
                return "missing"
            return file_kind(info.st_mode)
        try:
            with self.sandbox.locate(self.name(entry)) as target:
                return target.kind
        except ToolError:
            return "outside"

    def read(self, entry: _Entry) -> bytes | None:
        """The bytes of a file (through a descriptor that was checked), or None if too large."""
        if entry.link:
            with self.sandbox.locate(self.name(entry)) as target:
                fd = self.sandbox.open_file(target)
        else:
            fd = self.sandbox.open_file_at(entry.folder, entry.name, self.name(entry))
        with os.fdopen(fd, "rb") as handle:
            if os.fstat(fd).st_size > self.limits.max_file_bytes:
                return None
            data = handle.read(self.limits.max_file_bytes + 1)
        return None if len(data) > self.limits.max_file_bytes else data

    def name(self, entry: _Entry) -> str:
        """How the model names ``entry``: relative to the root."""
        return self.prefix + entry.relative


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows a symlink, as os.walk sorts names
    except OSError:
        return False


def _pattern(pattern: str) -> re.Pattern[str]:
    if "\x00" in pattern:
        raise ToolError("The pattern contains a NUL byte")
    cleaned = pattern.strip() or "*"
    if cleaned.startswith("/") or ".." in cleaned.split("/"):
        raise ToolError(
            f"The pattern {pattern!r} must stay inside the folder searched: no leading '/' "
            "and no '..'; choose the folder with the path argument"
        )
    return glob_regex(cleaned)


def _lines_containing(
    name: str, data: bytes, needle: str, ignore_case: bool, limits: SearchLimits
) -> list[str]:
    if b"\x00" in data[:8192]:
        return []
    hits: list[str] = []
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        haystack = line.casefold() if ignore_case else line
        if needle in haystack:
            shown = line.strip()
            if len(shown) > limits.line_chars:
                shown = shown[: limits.line_chars] + "..."
            hits.append(f"{name}:{number}: {shown}")
    return hits
