"""Finding files under a sandboxed folder by glob pattern, and lines by the text they hold.

Every search is bounded (results, files visited, bytes read), walks without
following symlinked folders, and skips any symlinked file that leads outside
the sandbox, so a search cannot be used to look past the root.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from agentloop import ToolError
from toolboxes.sandbox import Sandbox

__all__ = ["Found", "SearchLimits", "find_files", "find_text", "glob_regex"]


@dataclass(frozen=True, slots=True)
class SearchLimits:
    max_results: int = 200
    skip_dirs: frozenset[str] = frozenset()
    max_files: int = 20_000
    max_file_bytes: int = 1_000_000
    max_scanned_bytes: int = 100_000_000
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


def find_files(sandbox: Sandbox, folder: Path, pattern: str, limits: SearchLimits) -> Found:
    """The paths (relative to the root) of files under ``folder`` that match ``pattern``."""
    found = Found()
    for real, kind in _matching(sandbox, folder, pattern, limits, found):
        if len(found.lines) >= limits.max_results:
            found.note = f"Stopped at {limits.max_results} results; narrow the pattern."
            break
        name = sandbox.relative(real)
        found.lines.append(f"{name}/" if kind == "directory" else name)
    return found


def find_text(
    sandbox: Sandbox,
    folder: Path,
    pattern: str,
    text: str,
    ignore_case: bool,
    limits: SearchLimits,
) -> Found:
    """``path:line: text`` for every line containing ``text`` in files matching ``pattern``."""
    found = Found()
    needle = text.casefold() if ignore_case else text
    scanned = 0
    for real, kind in _matching(sandbox, folder, pattern, limits, found):
        if kind != "file":
            continue
        if scanned >= limits.max_scanned_bytes:
            found.note = f"Stopped after reading {scanned} bytes; narrow the pattern or folder."
            break
        try:
            size = real.stat().st_size
            if size > limits.max_file_bytes:
                continue
            scanned += size
            hits = _lines_containing(sandbox, real, needle, ignore_case, limits)
        except (OSError, ToolError):
            continue  # unreadable files are skipped, not fatal to the search
        for hit in hits:
            if len(found.lines) >= limits.max_results:
                found.note = f"Stopped at {limits.max_results} matching lines; narrow the search."
                return found
            found.lines.append(hit)
    return found


def _matching(
    sandbox: Sandbox, folder: Path, pattern: str, limits: SearchLimits, found: Found
) -> Iterator[tuple[Path, str]]:
    regex = _pattern(pattern)
    by_name = "/" not in pattern.strip("/")
    visited = 0
    for directory, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in limits.skip_dirs)
        here = Path(directory)
        for name in [*dirs, *sorted(files)]:
            visited += 1
            if visited > limits.max_files:
                found.note = f"Stopped after {limits.max_files} entries; search a smaller folder."
                return
            entry = here / name
            relative = entry.relative_to(folder).as_posix()
            if not regex.match(name if by_name else relative):
                continue
            kind = _safe_kind(sandbox, entry)
            if kind in ("file", "directory"):
                yield entry, kind


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


def _safe_kind(sandbox: Sandbox, entry: Path) -> str:
    """The kind of ``entry``, following a symlink only when it stays inside the sandbox."""
    if not entry.is_symlink():
        return sandbox.kind(entry)
    try:
        target = sandbox.resolve(sandbox.relative(entry))
    except ToolError:
        return "outside"
    return sandbox.kind(target)  # a symlinked folder is listed, never walked into


def _lines_containing(
    sandbox: Sandbox, real: Path, needle: str, ignore_case: bool, limits: SearchLimits
) -> list[str]:
    target = sandbox.resolve(sandbox.relative(real)) if real.is_symlink() else real
    with os.fdopen(sandbox.open_file(target), "rb") as handle:
        data = handle.read(limits.max_file_bytes + 1)
    if b"\x00" in data[:8192]:
        return []
    name = sandbox.relative(real)
    hits: list[str] = []
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        haystack = line.casefold() if ignore_case else line
        if needle in haystack:
            shown = line.strip()
            if len(shown) > limits.line_chars:
                shown = shown[: limits.line_chars] + "..."
            hits.append(f"{name}:{number}: {shown}")
    return hits
