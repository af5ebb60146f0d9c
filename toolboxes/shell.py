"""Shell: run commands the user approves, in one folder, with a time limit and output cap.

Every command needs approval (the tool is marked ``requires_approval``; the
chain refuses it when the conversation has no ``approve`` callback). It runs
with ``/bin/sh -c`` in a new process group, so a timeout stops the command
and everything it started. Stdin is empty, and the environment is a minimal
one (no API keys from yours) unless you pass ``env``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping
from typing import IO

import agentloop
from agentloop import ToolError
from toolboxes.sandbox import Sandbox

__all__ = ["Shell"]

_PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SYSTEMROOT")
_READ_CHUNK = 65536
#: After the command exits, how long processes it left behind may keep its output open.
_DRAIN_GRACE = 1.0


class Shell(agentloop.Toolbox):
    """Run shell commands (POSIX sh) in a working folder. Each command must be approved by
    the user before it runs. Commands have a time limit and their output is shortened
    when long."""

    def __init__(
        self,
        cwd: str | os.PathLike[str],
        *,
        timeout: float = 30.0,
        max_output_bytes: int = 20_000,
        env: Mapping[str, str] | None = None,
        shell: str = "/bin/sh",
        instance_name: str | None = None,
    ) -> None:
        """``cwd`` is the folder commands run in (``workdir`` may pick a sub-folder).
        ``env`` replaces the minimal default environment (PATH, HOME, LANG...)."""
        super().__init__(instance_name=instance_name)
        self.sandbox = Sandbox(cwd)
        self.cwd = self.sandbox.root
        self.timeout = timeout
        self.max_output_bytes = max_output_bytes
        self.shell = shell
        self.env = dict(env) if env is not None else _minimal_environment()

    @agentloop.tool(requires_approval=True)
    def run(self, command: str, workdir: str = ".") -> str:
        """Run a shell command and return its exit code and output (stdout and stderr
        together). No input can be given to it.

        Args:
            command: The command line, e.g. "ls -la" or "pytest -q tests/".
            workdir: The folder to run it in, relative to the working folder.
        """
        if "\x00" in command:
            raise ToolError("The command contains a NUL byte")
        if not command.strip():
            raise ToolError("The command is empty")
        folder = self.sandbox.resolve(workdir)
        if self.sandbox.kind(folder) != "directory":
            raise ToolError(f"{workdir!r} is not a folder")
        process = subprocess.Popen(
            [self.shell, "-c", command],
            cwd=folder,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a timeout stops it all
        )
        assert process.stdout is not None
        reader = _CappedReader(process.stdout, self.max_output_bytes)
        reader.start()
        try:
            code = process.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            reader.join()
            raise ToolError(
                f"The command did not finish within {self.timeout} s and was stopped.\n"
                f"Output so far:\n{self._shown(reader)}"
            ) from None
        reader.join(_DRAIN_GRACE)
        if reader.is_alive():  # background processes still hold the output open
            _kill_group(process)
            reader.join()
        return f"Exit code: {code}\n{self._shown(reader)}"

    def _shown(self, reader: _CappedReader) -> str:
        head = reader.head.decode("utf-8", errors="replace")
        if not reader.dropped:
            return head + reader.tail.decode("utf-8", errors="replace")
        # The end of the output usually holds the error: keep both ends.
        tail = reader.tail.decode("utf-8", errors="replace")
        return f"{head}\n[... {reader.dropped} bytes of output left out ...]\n{tail}"


class _CappedReader(threading.Thread):
    """Drains a pipe to its end, keeping its first and last ``limit // 2`` bytes."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.limit = limit
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def run(self) -> None:
        half = self.limit // 2
        with self.stream:
            while chunk := os.read(self.stream.fileno(), _READ_CHUNK):
                room = half - len(self.head)
                if room > 0:
                    self.head += chunk[:room]
                    chunk = chunk[room:]
                self.tail += chunk
                if len(self.tail) > half:
                    self.dropped += len(self.tail) - half
                    del self.tail[: len(self.tail) - half]


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _minimal_environment() -> dict[str, str]:
    return {key: os.environ[key] for key in _PASSED_THROUGH if key in os.environ}
