"""docs/toolboxes.md runs offline, and prints what its comments say it prints.

Every ```python block runs in order in a fresh folder. A block whose first
line is ``# file: name.py`` is written to that file instead (a server script,
say). The comment on a ``print(...)`` line, or else the comment lines right
below it, are the expected output: each must appear in what the block printed
(``...`` in a comment stands for text left out).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).parents[2] / "docs" / "toolboxes.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
PRINT = re.compile(r"^\s*print\(.*\)(?:\s+# (?P<inline>.+))?$")


def blocks() -> list[str]:
    return BLOCK.findall(DOC.read_text())


def expected_output(code: str) -> list[str]:
    """The output lines the comments of ``code`` promise."""
    expected: list[str] = []
    following_print = False
    for line in code.splitlines():
        printed = PRINT.match(line)
        if printed:
            # Output is either inline, or in the comment lines right below.
            following_print = not printed["inline"]
            if printed["inline"]:
                expected.append(printed["inline"])
        elif following_print and line.startswith("# "):
            expected.append(line[2:])
        elif line.strip() != "#":
            following_print = False
    return expected


def appears(expected: str, output: str) -> bool:
    pattern = ".*?".join(re.escape(piece.strip()) for piece in expected.split("..."))
    return re.search(pattern, output) is not None


def test_the_page_has_an_example_for_every_toolbox() -> None:
    text = "\n".join(blocks())
    for name in ["Memory(", "Files(", "HTTP(", "SQLite(", "Shell(", "MCP("]:
        assert name in text


def test_every_example_runs_offline_and_prints_what_it_promises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("mcp")
    monkeypatch.chdir(tmp_path)
    checked = 0
    for code in blocks():
        first = code.splitlines()[0]
        if first.startswith("# file: "):
            (tmp_path / first.removeprefix("# file: ").strip()).write_text(code)
            continue
        exec(compile(code, str(DOC), "exec"), {"__name__": "__doc_example__"})
        output = capsys.readouterr().out
        for line in expected_output(code):
            assert appears(line, output), f"{line!r} not in the output:\n{output}"
            checked += 1
    assert checked >= 20
