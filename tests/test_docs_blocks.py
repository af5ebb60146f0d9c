"""Every ```python block of README.md and docs/*.md runs, and prints what the page shows.

Each page's blocks run in page order in one namespace, in a fresh folder holding the
sample files of ``examples/`` (``examples/image.jpg``, ``examples/report.pdf``). Offline
models need nothing; examples written for real providers reach the fake providers of
``fake_providers.py`` on the local server, through the base-URL variables. A ```text block
right after a python block is the output that block prints (``...`` stands for text left
out). A block right after ``<!-- no-run: why -->`` is not run: keep those few, and say why.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import shutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fake_providers import environment, respond
from local_server import LocalServer

from agentloop import registry

ROOT = Path(__file__).parents[1]
#: Pages whose blocks another test runs already (each page runs once).
ELSEWHERE = {
    "toolboxes.md": "tests/toolboxes/test_docs.py runs it and checks what it prints",
    "cli.md": "tests/cli/test_cli_docs.py runs its Python example",
}
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
NO_RUN = re.compile(r"<!--\s*no-run:\s*(?P<why>.+?)\s*-->$")


@dataclass
class Block:
    code: str
    #: The line of the page where the code starts, so tracebacks point into the page.
    line: int
    #: What the block prints: the ```text block right after it, if any.
    output: str | None
    #: Why the block is not run, if it is marked so.
    no_run: str | None


def blocks(page: Path) -> list[Block]:
    text = page.read_text()
    fences = list(FENCE.finditer(text))
    found = []
    for index, fence in enumerate(fences):
        if fence["lang"] != "python":
            continue
        before = text[: fence.start()].rstrip().rsplit("\n", 1)[-1]
        marked = NO_RUN.search(before.strip())
        following = fences[index + 1] if index + 1 < len(fences) else None
        output = None
        adjacent = following is not None and not text[fence.end() : following.start()].strip()
        if following is not None and adjacent and following["lang"] == "text":
            output = textwrap.dedent(following["body"])
        line = text.count("\n", 0, fence.start()) + 2
        code = textwrap.dedent(fence["body"])
        found.append(Block(code, line, output, marked["why"] if marked else None))
    return found


def prints(expected: str, output: str) -> bool:
    """Whether ``output`` is ``expected``, where ``...`` in ``expected`` stands for anything."""
    pieces = expected.strip().split("...")
    return re.fullmatch(".*?".join(map(re.escape, pieces)), output.strip(), re.DOTALL) is not None


def run(block: Block, page: Path, namespace: dict[str, object]) -> None:
    """Runs the block as a script would, top-level ``await`` included (for the async examples)."""
    source = "\n" * (block.line - 1) + block.code
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT  # and not this module's `from __future__` imports
    code = compile(source, str(page), "exec", flags=flags, dont_inherit=True)
    if code.co_flags & inspect.CO_COROUTINE:
        asyncio.run(eval(code, namespace))
    else:
        exec(code, namespace)


@pytest.fixture
def docs_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh folder with the sample files, every provider faked, the registry restored."""
    server = LocalServer(responder=respond)
    server.start()
    for name, value in environment(server.url).items():
        monkeypatch.setenv(name, value)
    for name in ("AGENTLOOP_MODEL", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENTLOOP_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(registry, "_PROVIDERS", dict(registry._PROVIDERS))
    monkeypatch.setattr(registry, "_ALIASES", dict(registry._ALIASES))
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        server.stop()


def pages() -> list[Path]:
    return [page for page in PAGES if page.name not in ELSEWHERE]


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.name)
def test_every_python_block_runs_and_prints_what_the_page_shows(
    page: Path, docs_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    namespace: dict[str, object] = {"__name__": "__docs__"}
    capsys.readouterr()
    for block in blocks(page):
        if block.no_run:
            continue
        try:
            run(block, page, namespace)
        except Exception as exc:
            raise AssertionError(f"{page.name}, the block at line {block.line}: {exc!r}") from exc
        printed = capsys.readouterr().out
        if block.output is not None:
            assert prints(block.output, printed), (
                f"{page.name}, the block at line {block.line} printed:\n{printed}\n"
                f"but the page shows:\n{block.output}"
            )


def test_the_pages_have_examples_and_few_are_not_run() -> None:
    every = {page.name: blocks(page) for page in PAGES}
    assert sum(len(found) for found in every.values()) > 50
    skipped = [b.no_run for found in every.values() for b in found if b.no_run]
    assert len(skipped) <= 6, skipped
