"""Files: reading, listing, searching and writing inside the root, and nothing outside it."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import agentloop
from agentloop import FunctionModel, Request, ToolCall, ToolError
from toolboxes import Files

SECRET = "top secret outside the sandbox"


@pytest.fixture
def layout(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """``root`` (the sandbox) next to ``outside``, with every kind of way out planted in root."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    root = tmp_path / "root"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "notes.txt").write_text("one\ntwo\nthree\nfour\nfive\n")
    (root / "sub" / "code.py").write_text("import os\nprint('hello')\n")
    (root / "sub" / "deeper" / "data.md").write_text("# Hello\nworld\n")
    (root / "link_out").symlink_to("../outside")
    (root / "abs_link").symlink_to(outside)
    (root / "file_link").symlink_to(outside / "secret.txt")
    (root / "sub" / "inner_link").symlink_to("../../outside")
    (root / "chain_a").symlink_to("chain_b")
    (root / "chain_b").symlink_to("link_out")
    (root / "loop").symlink_to("loop")
    (root / "dev_null").symlink_to("/dev/null")
    (root / "inside_link").symlink_to("sub/code.py")
    os.mkfifo(root / "pipe")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(root / "sock"))
    try:
        yield root, outside
    finally:
        server.close()


def snapshot(folder: Path) -> dict[str, tuple[int, float, bytes]]:
    """Every entry under ``folder`` (and ``folder``'s parent listing) with size, mtime, bytes."""
    seen: dict[str, tuple[int, float, bytes]] = {}
    for path in [folder, *folder.rglob("*")]:
        info = path.lstat()
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
        seen[str(path)] = (info.st_size, info.st_mtime, data)
    seen["siblings"] = (0, 0.0, "\n".join(sorted(os.listdir(folder.parent))).encode())
    return seen


# The hostile corpus: every one of these must be refused, for reading and for writing.
ESCAPES = [
    "../outside/secret.txt",
    "../../../../../../etc/passwd",
    "/etc/passwd",
    "/dev/zero",
    "sub/../../outside/secret.txt",
    "./../outside/secret.txt",
    "sub/deeper/../../../outside/secret.txt",
    "link_out/secret.txt",
    "abs_link/secret.txt",
    "file_link",
    "sub/inner_link/secret.txt",
    "sub/../link_out/secret.txt",
    "chain_a/secret.txt",
    "loop",
    "dev_null",
    "pipe",
    "sock",
    "notes.txt\x00../../outside/secret.txt",
    "secret\x00.txt",
    "~/.bashrc",
    "~root/.bashrc",
    "x/" * 2100,
    "link_out/../outside/secret.txt",
    "{outside}/secret.txt",
    "{root}/../outside/secret.txt",
    "{root}/link_out/secret.txt",
]


def _system_path(template: str) -> bool:
    return any(part in template for part in ("etc/", "/dev/", "~"))


def test_write_attempts_cover_most_of_the_corpus() -> None:
    assert sum(not _system_path(t) for t in ESCAPES) >= 20


def _path(template: str, root: Path, outside: Path) -> str:
    return template.replace("{outside}", str(outside)).replace("{root}", str(root))


@pytest.mark.parametrize("template", ESCAPES)
def test_escape_attempts_are_refused_for_every_operation(
    layout: tuple[Path, Path], template: str
) -> None:
    root, outside = layout
    path = _path(template, root, outside)
    files = Files(root)
    before = snapshot(outside)
    attempts: list[Any] = [
        lambda: files.read(path),
        lambda: files.list(path),
        lambda: files.search("*", path=path),
        lambda: files.search("*", text="secret", path=path),
    ]
    if not _system_path(template):  # a regression must never write to the real system
        attempts += [
            lambda: files._write(path, "pwned"),
            lambda: files._edit(path, "top", "pwned"),
        ]
    for attempt in attempts:
        with pytest.raises(ToolError):
            attempt()
    assert snapshot(outside) == before
    assert not any("pwned" in p.read_text() for p in root.rglob("*.txt") if p.is_file())


def test_the_corpus_is_large_enough() -> None:
    assert len(ESCAPES) >= 20


def test_refusals_explain_what_to_do(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    files = Files(root)
    with pytest.raises(ToolError, match="goes above the root folder; use paths relative"):
        files.read("../outside/secret.txt")
    with pytest.raises(ToolError, match=r"symbolic link \('link_out'\) that points outside"):
        files.read("link_out/secret.txt")
    with pytest.raises(ToolError, match="NUL byte"):
        files.read("a\x00b")
    with pytest.raises(ToolError, match="is a FIFO, not a regular file"):
        files.read("pipe")
    with pytest.raises(ToolError, match="is a socket"):
        files.read("sock")


def test_search_never_reports_what_lies_behind_links_out(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    files = Files(root)
    assert "secret" not in files.search("*")
    assert files.search("*", text="top secret") == "No matches."
    with pytest.raises(ToolError, match="must stay inside"):
        files.search("../outside/*")
    with pytest.raises(ToolError, match="must stay inside"):
        files.search("/etc/*")


def test_list_marks_links_out_as_not_accessible(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    listing = Files(root).list().splitlines()
    assert "link_out (link to outside the root folder, not accessible)" in listing
    assert "notes.txt (24 bytes)" in listing
    assert "sub/" in listing
    assert "pipe (FIFO, not accessible)" in listing
    assert "inside_link (link)" in listing


def test_absolute_paths_inside_the_root_and_links_within_it_work(
    layout: tuple[Path, Path],
) -> None:
    root, _ = layout
    files = Files(root)
    assert files.read(str(root / "notes.txt")).startswith("one\n")
    assert files.read("inside_link") == "import os\nprint('hello')\n"


# -- reading ------------------------------------------------------------------------


def test_read_returns_a_line_range(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    files = Files(root)
    assert files.read("notes.txt", start_line=2, end_line=3) == "two\nthree\n"
    assert files.read("notes.txt", start_line=5) == "five\n"


def test_read_refuses_a_start_past_the_end_and_inverted_ranges(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    files = Files(root)
    with pytest.raises(ToolError, match="has 5 lines; start_line 9 is past the end"):
        files.read("notes.txt", start_line=9)
    with pytest.raises(ToolError, match="before start_line"):
        files.read("notes.txt", start_line=3, end_line=2)


def test_read_cuts_long_files_and_says_where_to_continue(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("".join(f"line {n:04}\n" for n in range(1, 1001)))
    files = Files(tmp_path, max_read_bytes=100)
    text = files.read("big.txt")
    assert text.startswith("line 0001\n")
    assert "[Cut off at 100 bytes. Read more with start_line=11.]" in text
    assert files.read("big.txt", start_line=11).startswith("line 0011\n")


def test_read_of_one_enormous_line_shows_its_start(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("x" * 10_000 + "\nnext\n")
    text = Files(tmp_path, max_read_bytes=50).read("one.txt")
    assert text.startswith("x" * 50 + "\n[Line 1 is longer than 50 bytes")
    assert "start_line=2" in text


def test_read_refuses_binary_files_and_folders(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(b"\x89PNG\x00\x00binary")
    (tmp_path / "folder").mkdir()
    files = Files(tmp_path)
    with pytest.raises(ToolError, match="binary file"):
        files.read("blob.bin")
    with pytest.raises(ToolError, match="is a folder"):
        files.read("folder")
    with pytest.raises(ToolError, match="does not exist"):
        files.read("missing.txt")


# -- searching ----------------------------------------------------------------------


def test_search_by_glob_matches_names_at_any_depth_or_paths(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    files = Files(root)
    assert files.search("*.py").splitlines() == ["sub/code.py"]
    assert files.search("sub/**/*.md") == "sub/deeper/data.md"
    assert files.search("*.md", path="sub/deeper") == "sub/deeper/data.md"
    assert files.search("*.nothing") == "No matches."


def test_search_by_text_lists_matching_lines(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    files = Files(root)
    assert files.search(text="hello", ignore_case=True).splitlines() == [
        "inside_link:2: print('hello')",
        "sub/code.py:2: print('hello')",
        "sub/deeper/data.md:1: # Hello",
    ]
    assert files.search("*.md", text="hello") == "No matches."


def test_search_results_are_bounded(tmp_path: Path) -> None:
    for n in range(30):
        (tmp_path / f"f{n:02}.txt").write_text("needle\n" * 3)
    files = Files(tmp_path, max_results=10)
    names = files.search("*.txt").splitlines()
    assert len(names) == 11
    assert names[-1] == "[Stopped at 10 results; narrow the pattern.]"
    lines = files.search(text="needle").splitlines()
    assert len(lines) == 11
    assert "Stopped at 10 matching lines" in lines[-1]


def test_search_skips_version_control_folders(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("needle")
    (tmp_path / "kept.txt").write_text("needle")
    assert Files(tmp_path).search(text="needle") == "kept.txt:1: needle"


# -- writing ------------------------------------------------------------------------


def test_write_creates_folders_and_replaces_files(tmp_path: Path) -> None:
    files = Files(tmp_path)
    assert files._write("a/b/c.txt", "hi") == "Created 'a/b/c.txt' (2 bytes)."
    assert files._write("a/b/c.txt", "bye") == "Replaced 'a/b/c.txt' (3 bytes)."
    assert (tmp_path / "a" / "b" / "c.txt").read_text() == "bye"


def test_write_replaces_a_link_inside_the_root_with_a_file_not_its_target(
    layout: tuple[Path, Path],
) -> None:
    root, _ = layout
    files = Files(root)
    files._write("inside_link", "new text")
    assert (root / "sub" / "code.py").read_text() == "new text"  # the link's target
    assert (root / "inside_link").is_symlink()


def test_write_is_capped(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="the limit is 10"):
        Files(tmp_path, max_write_bytes=10)._write("x.txt", "x" * 11)
    assert not (tmp_path / "x.txt").exists()


def test_edit_replaces_exactly_one_occurrence_unless_told_otherwise(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("a b a")
    files = Files(tmp_path)
    with pytest.raises(ToolError, match="occurs 2 times"):
        files._edit("f.txt", "a", "c")
    with pytest.raises(ToolError, match="was not found"):
        files._edit("f.txt", "zzz", "c")
    assert files._edit("f.txt", "b", "B") == "Replaced 1 occurrence in 'f.txt'."
    assert files._edit("f.txt", "a", "c", replace_all=True) == "Replaced 2 occurrences in 'f.txt'."
    assert (tmp_path / "f.txt").read_text() == "c B c"


# -- as tools in a chain ------------------------------------------------------------


def _writer(path: str) -> FunctionModel:
    def play(request: Request) -> Any:
        last = request.messages[-1]
        if last.role == "tool":
            return last.tool_results[0].output
        return ToolCall("Files_write", {"path": path, "content": "x"}, "c1")

    return FunctionModel(play)


def test_writing_needs_approval_by_default(tmp_path: Path) -> None:
    files = Files(tmp_path)
    flags = {t.name: t.requires_approval for t in files.tools()}
    assert flags == {
        "Files_list": False,
        "Files_read": False,
        "Files_search": False,
        "Files_write": True,
        "Files_edit": True,
    }
    text = _writer("new.txt").chain("go", tools=[files]).text()
    assert "requires approval" in text
    assert not (tmp_path / "new.txt").exists()


def test_writable_files_write_without_approval(tmp_path: Path) -> None:
    files = Files(tmp_path, writable=True)
    assert _writer("new.txt").chain("go", tools=[files]).text().startswith("Created")
    assert (tmp_path / "new.txt").read_text() == "x"


def test_approval_is_per_instance_and_instances_can_be_named(tmp_path: Path) -> None:
    docs = Files(tmp_path, writable=True).named("docs")
    code = Files(tmp_path).named("code")
    tools = {t.name: t.requires_approval for t in [*docs.tools(), *code.tools()]}
    assert tools["docs_write"] is False
    assert tools["code_write"] is True


def test_a_refusal_reaches_the_model_as_an_error_result(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    files = Files(root, writable=True)
    response = _writer("../outside/x.txt").chain("go", tools=[files])
    result = response.tool_results()[0]
    assert result.is_error
    assert "goes above the root folder" in result.output
    assert not (root.parent / "outside" / "x.txt").exists()


def test_files_is_a_toolbox_with_a_description(tmp_path: Path) -> None:
    files = Files(tmp_path)
    assert isinstance(files, agentloop.Toolbox)
    assert "nothing outside it can be reached" in files.description
    with pytest.raises(NotADirectoryError):
        Files(tmp_path / "missing")
