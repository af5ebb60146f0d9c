"""Files: list, read, search, write and edit the files under one folder, and nothing else."""

from __future__ import annotations

import os
from collections.abc import Iterator
from io import BufferedReader

import agentloop
from agentloop import Tool, ToolError
from toolboxes.file_search import SearchLimits, find_files, find_text
from toolboxes.sandbox import Sandbox, file_kind

__all__ = ["Files"]

#: A file whose first bytes hold a NUL byte is treated as binary and not shown.
_BINARY_SNIFF_BYTES = 8192
_LIST_LIMIT = 500


class Files(agentloop.Toolbox):
    """Work with the files in one folder (the root): list folders, read files (a range of
    lines for long ones), find files by name pattern or by the text they contain, write
    files and edit them. Paths are relative to the root; nothing outside it can be reached."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        writable: bool = False,
        max_read_bytes: int = 100_000,
        max_write_bytes: int = 1_000_000,
        max_results: int = 200,
        skip_dirs: tuple[str, ...] = (".git", ".hg", ".svn", "__pycache__", "node_modules"),
        instance_name: str | None = None,
    ) -> None:
        """``writable=True`` lets the model write and edit without asking; by default
        every write and edit needs the conversation's ``approve`` callback to say yes."""
        super().__init__(instance_name=instance_name)
        self.sandbox = Sandbox(root)
        self.root = self.sandbox.root
        self.writable = writable
        self.max_read_bytes = max_read_bytes
        self.max_write_bytes = max_write_bytes
        self.limits = SearchLimits(max_results=max_results, skip_dirs=frozenset(skip_dirs))
        self._write_tools_added = False

    def tools(self) -> list[Tool]:
        # write and edit are added per instance, so each carries this instance's
        # requires_approval; they are added on first use so .named() still works.
        if not self._write_tools_added:
            self._write_tools_added = True
            approval = not self.writable
            self.add_tool(self._write, f"{self.toolbox_name}_write", requires_approval=approval)
            self.add_tool(self._edit, f"{self.toolbox_name}_edit", requires_approval=approval)
        return super().tools()

    # -- reading -----------------------------------------------------------------

    def list(self, path: str = ".") -> str:
        """List a folder: sub-folders end with '/', files show their size in bytes.

        Args:
            path: The folder, relative to the root folder ("." is the root itself).
        """
        with self.sandbox.locate(path) as location:
            name = location.relative
            if location.kind not in ("directory", "missing"):
                raise ToolError(f"{name!r} is a {location.kind}, not a folder")
            folder = self.sandbox.open_folder(location)
        prefix = "" if name == "." else f"{name}/"
        try:
            # Each entry is stat-ed through the folder's descriptor: it stays open till the end.
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
            lines = [self._describe(entry, prefix) for entry in entries[:_LIST_LIMIT]]
        except OSError as exc:
            raise ToolError(f"Cannot list {name!r}: {exc.strerror}") from None
        finally:
            os.close(folder)
        if len(entries) > _LIST_LIMIT:
            lines.append(f"[{len(entries) - _LIST_LIMIT} more entries not shown]")
        return "\n".join(lines) if lines else "(empty folder)"

    def _describe(self, entry: os.DirEntry[str], prefix: str) -> str:
        if entry.is_symlink():
            try:
                with self.sandbox.locate(prefix + entry.name) as target:
                    kind = target.kind
            except ToolError:
                return f"{entry.name} (link to outside the root folder, not accessible)"
            return f"{entry.name}/ (link)" if kind == "directory" else f"{entry.name} (link)"
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            return f"{entry.name} (not accessible)"
        kind = file_kind(info.st_mode)
        if kind == "directory":
            return f"{entry.name}/"
        if kind == "file":
            return f"{entry.name} ({info.st_size} bytes)"
        return f"{entry.name} ({kind}, not accessible)"

    def read(self, path: str, start_line: int = 1, end_line: int | None = None) -> str:
        """Read a text file. Long files are cut off; read the rest with a line range.

        Args:
            path: The file, relative to the root folder.
            start_line: The first line to read (1 is the first line of the file).
            end_line: The last line to read, included; leave it out to read to the end.
        """
        if start_line < 1:
            raise ToolError("start_line counts from 1, the first line of the file")
        if end_line is not None and end_line < start_line:
            raise ToolError(f"end_line ({end_line}) is before start_line ({start_line})")
        with self.sandbox.locate(path) as location:
            name = location.relative
            fd = self.sandbox.open_file(location)
        with os.fdopen(fd, "rb") as handle:
            if b"\x00" in handle.peek(_BINARY_SNIFF_BYTES)[:_BINARY_SNIFF_BYTES]:
                raise ToolError(f"{name!r} is a binary file, not text")
            return self._read_lines(handle, name, start_line, end_line)

    def _read_lines(
        self, handle: BufferedReader, name: str, start_line: int, end_line: int | None
    ) -> str:
        cap = self.max_read_bytes
        chunks: list[bytes] = []
        size = 0
        number = 0
        for number, line in enumerate(_capped_lines(handle, cap + 1), start=1):
            if number < start_line:
                continue
            if end_line is not None and number > end_line:
                break
            if size + len(line) > cap:
                if chunks:
                    return _decode(chunks) + (
                        f"\n[Cut off at {cap} bytes. Read more with start_line={number}.]"
                    )
                return _decode([line[:cap]]) + (
                    f"\n[Line {number} is longer than {cap} bytes: only its start is shown. "
                    f"The next line is start_line={number + 1}.]"
                )
            chunks.append(line)
            size += len(line)
        else:
            if start_line > max(number, 1):
                raise ToolError(
                    f"{name!r} has {number} lines; start_line {start_line} is past the end"
                )
        return _decode(chunks)

    def search(
        self,
        pattern: str = "*",
        text: str | None = None,
        path: str = ".",
        ignore_case: bool = False,
    ) -> str:
        """Find files by name pattern, and optionally the lines that contain some text.

        Args:
            pattern: A glob pattern: "*.py" matches at any depth, "src/**/*.md" from the
                folder searched; "**" spans folders.
            text: If given, list the matching lines (path:line: text) of files containing
                this exact text, instead of the file names.
            path: The folder to search in, relative to the root folder.
            ignore_case: Match the text regardless of upper or lower case.
        """
        if text is not None and not text:
            raise ToolError("The text to search for is empty")
        with self.sandbox.locate(path) as location:
            if location.kind != "directory":
                raise ToolError(f"{location.relative!r} is not a folder")
            folder = self.sandbox.open_folder(location)
            name = location.relative
        try:
            if text is None:
                found = find_files(self.sandbox, folder, name, pattern, self.limits)
            else:
                found = find_text(
                    self.sandbox, folder, name, pattern, text, ignore_case, self.limits
                )
        finally:
            os.close(folder)
        if not found.lines:
            return "No matches." + (f" {found.note}" if found.note else "")
        return "\n".join(found.lines) + (f"\n[{found.note}]" if found.note else "")

    # -- writing (added per instance in tools(), see there) ------------------------

    def _write(self, path: str, content: str) -> str:
        """Write a text file, replacing it if it exists; missing folders are created.

        Args:
            path: The file, relative to the root folder.
            content: The complete new text of the file.
        """
        data = _encoded("content", content)
        if len(data) > self.max_write_bytes:
            raise ToolError(
                f"The content is {len(data)} bytes; the limit is {self.max_write_bytes}"
            )
        with self.sandbox.locate(path) as location:
            if location.kind not in ("file", "missing"):
                raise ToolError(
                    f"{location.relative!r} is a {location.kind}; only files are written"
                )
            self.sandbox.make_folders(location)
            self.sandbox.replace_file(location, data)
        verb = "Replaced" if location.kind == "file" else "Created"
        return f"{verb} {location.relative!r} ({len(data)} bytes)."

    def _edit(self, path: str, old_text: str, new_text: str, replace_all: bool = False) -> str:
        """Replace exact text in a file. old_text must match the file exactly, including
        spaces and line breaks, and only once unless replace_all is true.

        Args:
            path: The file, relative to the root folder.
            old_text: The text to replace, copied exactly from the file.
            new_text: The replacement text.
            replace_all: Replace every occurrence instead of requiring a single one.
        """
        if not old_text:
            raise ToolError("old_text is empty: give the exact text to replace")
        with self.sandbox.locate(path) as location:
            name = location.relative
            # Read and replaced through the same folder descriptor: the file
            # edited is the file read, whatever happens to the path meanwhile.
            with os.fdopen(self.sandbox.open_file(location), "rb") as handle:
                raw = handle.read(self.max_write_bytes + 1)
            updated, count = self._edited(name, raw, old_text, new_text, replace_all)
            self.sandbox.replace_file(location, updated)
        return f"Replaced {count} occurrence{'s' if count > 1 else ''} in {name!r}."

    def _edited(
        self, name: str, raw: bytes, old_text: str, new_text: str, replace_all: bool
    ) -> tuple[bytes, int]:
        if len(raw) > self.max_write_bytes:
            raise ToolError(f"{name!r} is larger than {self.max_write_bytes} bytes; not edited")
        try:
            original = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ToolError(f"{name!r} is not UTF-8 text; not edited") from None
        count = original.count(old_text)
        if count == 0:
            raise ToolError(
                f"old_text was not found in {name!r}; read the file and copy it exactly"
            )
        if count > 1 and not replace_all:
            raise ToolError(
                f"old_text occurs {count} times in {name!r}: include more surrounding text "
                "to make it unique, or set replace_all"
            )
        updated = _encoded("new_text", original.replace(old_text, new_text))
        if len(updated) > self.max_write_bytes:
            raise ToolError(f"The edited file would exceed {self.max_write_bytes} bytes")
        return updated, count


def _capped_lines(handle: BufferedReader, limit: int) -> Iterator[bytes]:
    """The file's lines, each cut to ``limit`` bytes, so one huge line cannot fill memory."""
    while line := handle.readline(limit):
        if len(line) == limit and not line.endswith(b"\n"):
            while (rest := handle.readline(limit)) and not rest.endswith(b"\n"):
                pass  # skip the rest of an overlong line
        yield line


def _encoded(what: str, text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ToolError(f"The {what} is not valid text (it holds a lone surrogate)") from None


def _decode(chunks: list[bytes]) -> str:
    return b"".join(chunks).decode("utf-8", errors="replace")
