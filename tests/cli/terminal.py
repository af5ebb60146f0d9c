"""Run the agentloop CLI as a subprocess: piped, or on a pseudo-terminal like a person would.

``run_cli`` pipes stdin/stdout/stderr. ``Terminal`` gives the process a
pseudo-terminal for all three, so it sees a TTY (Markdown rendering, questions,
line editing), and lets a test type into it and read what it shows.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

CLI = [sys.executable, "-m", "agentloop.cli"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")
PROVIDER_VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_BASE_URL",
    "OLLAMA_HOST",
    "OLLAMA_API_KEY",
    "AGENTLOOP_MODEL",
)


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: the log under ``home``, no provider keys but those given."""
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_VARIABLES}
    env.update(AGENTLOOP_HOME=str(home), NO_COLOR="1", TERM="xterm-256color", COLUMNS="100")
    env.update(extra)
    return env


@dataclass
class Ran:
    """What an in-process run of ``main()`` returned and printed."""

    status: int
    stdout: str
    stderr: str


def run_cli(
    *args: str,
    env: Mapping[str, str],
    input: str = "",
    cwd: Path | None = None,
    timeout: float = 30,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        input=input,
        capture_output=True,
        text=True,
        env=dict(env),
        cwd=cwd,
        timeout=timeout,
    )


def plain(text: str) -> str:
    """Terminal output without colours and cursor movement."""
    return ANSI.sub("", text)


class Terminal:
    """The CLI on a pseudo-terminal (100x40) that the test types into and reads."""

    def __init__(self, *args: str, env: Mapping[str, str], cwd: Path | None = None) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
        self.process = subprocess.Popen(
            [*CLI, *args], stdin=slave, stdout=slave, stderr=slave, env=dict(env), cwd=cwd
        )
        os.close(slave)
        self.master = master
        self.seen = ""
        self.position = 0

    def expect(self, text: str, timeout: float = 15) -> str:
        """Wait until ``text`` appears after what earlier expects matched; returns what
        was shown up to it. (Type only once the program shows its prompt: line editing
        discards what was typed ahead.)"""
        deadline = time.monotonic() + timeout
        while (found := self.shown.find(text, self.position)) < 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._read(remaining):
                raise AssertionError(f"{text!r} never appeared; the terminal shows:\n{self.shown}")
        self.position = found + len(text)
        return self.shown[:found]

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def interrupt(self) -> None:
        """Ctrl-C: the terminal sends SIGINT to the program."""
        self.process.send_signal(signal.SIGINT)

    def wait(self, timeout: float = 15) -> int:
        deadline = time.monotonic() + timeout
        while self._read(max(0.01, deadline - time.monotonic())) and time.monotonic() < deadline:
            pass
        return self.process.wait(timeout=max(0.1, deadline - time.monotonic()))

    @property
    def shown(self) -> str:
        return plain(self.seen)

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # the program exited and closed the terminal
            return False
        self.seen += data.decode("utf-8", "replace")
        return bool(data)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
