from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from local_server import LocalServer
from terminal import PROVIDER_VARIABLES, Ran, cli_env

from agentloop.cli import main


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """AGENTLOOP_HOME for one test: its log lives here."""
    return tmp_path / "home"


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    """No provider keys: the offline models only."""
    return cli_env(home)


@pytest.fixture
def openai_env(home: Path, local_server: LocalServer) -> dict[str, str]:
    """OpenAI pointed at the local server, which answers like the API."""
    return cli_env(home, OPENAI_BASE_URL=f"{local_server.url}/v1", OPENAI_API_KEY="sk-test-key")


@pytest.fixture
def tools_dir(tmp_path: Path) -> Path:
    """A folder holding a tools module, to run the CLI in (it imports from there)."""
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "my_tools.py").write_text(
        """
import agentloop


def shout(text: str) -> str:
    "Shout the text."
    return text.upper() + "!"


class Counter(agentloop.Toolbox):
    "A counter."

    def __init__(self, start: int = 0) -> None:
        super().__init__()
        self.value = start

    def increment(self) -> int:
        "Add one and return the count."
        self.value += 1
        return self.value
"""
    )
    return folder


@pytest.fixture
def cli_in_process(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Ran]:
    """``main(arguments)`` in this process: the same parsing and dispatch, without the
    0.4 s a fresh interpreter costs. Standard input is empty and not a terminal."""
    for name in PROVIDER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENTLOOP_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "100")  # as wide as the subprocesses' output

    def run(*arguments: str, input: str = "") -> Ran:
        monkeypatch.setattr("sys.stdin", io.StringIO(input))
        capsys.readouterr()
        status = main(list(arguments))
        out, err = capsys.readouterr()
        return Ran(status, out, err)

    return run


@pytest.fixture
def openai_in_process(
    cli_in_process: Callable[..., Ran], local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Ran]:
    """``cli_in_process`` with OpenAI pointed at the local server."""
    monkeypatch.setenv("OPENAI_BASE_URL", f"{local_server.url}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    return cli_in_process
