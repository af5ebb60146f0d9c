"""Shell: run commands the user approves, with a time limit and an output cap.

Every command needs approval (the tool is marked ``requires_approval``; the
chain refuses it when the conversation has no ``approve`` callback), and
approval is the control: a command runs as the user running the agent and can
read, change or delete any path that user can. The working folder is where it
starts, not a confinement.

It runs with ``/bin/sh -c``, with no input and a minimal environment (no API
keys from yours) unless you pass ``env``. The timeout bounds the whole call:
at the deadline what the command started is killed and the output pipe is no
longer read, whatever still holds it open. On Linux each command runs under a
small launcher (`toolboxes.shell_launcher`) started with that clean
environment, so the command's parent is not the agent process
(``/proc/$PPID/environ`` shows no key), and every process it started is
killed when it ends, even one that left its session.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import agentloop
from agentloop import ToolError
from toolboxes.sandbox import Sandbox

__all__ = ["Shell"]

logger = logging.getLogger("toolboxes.shell")

_PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SYSTEMROOT")
_READ_CHUNK = 65536
#: After the command exits, how long processes it left behind may keep its output open.
_DRAIN_GRACE = 1.0
#: At the deadline, how long the launcher may take to kill what the command started.
_STOP_GRACE = 2.0
#: How often the command is checked while something keeps its output open.
_POLL = 0.05
_LAUNCHER = str(Path(__file__).with_name("shell_launcher.py"))


class Shell(agentloop.Toolbox):
    """Run shell commands (POSIX sh) in a working folder. Each command must be approved by
    the user before it runs, and can touch any file the user can. Commands have a time
    limit and their output is shortened when long."""

    def __init__(
        self,
        cwd: str | os.PathLike[str],
        *,
        timeout: float = 30.0,
        max_output_bytes: int = 20_000,
        env: Mapping[str, str] | None = None,
        shell: str = "/bin/sh",
        launcher: bool | None = None,
        instance_name: str | None = None,
    ) -> None:
        """``cwd`` is the folder commands start in (``workdir`` may pick a sub-folder).
        ``env`` replaces the minimal default environment (PATH, HOME, LANG...).
        ``launcher`` runs each command under a launcher process started with that
        environment, which kills everything the command started when it ends; the default
        is on where it is supported (Linux), and ``False`` runs the shell directly."""
        super().__init__(instance_name=instance_name)
        self.sandbox = Sandbox(cwd)
        self.cwd = self.sandbox.root
        self.timeout = timeout
        self.max_output_bytes = max_output_bytes
        self.shell = shell
        self.env = dict(env) if env is not None else _minimal_environment()
        supported = sys.platform == "linux" and bool(sys.executable)
        if launcher and not supported:
            raise ValueError("Shell(launcher=True) needs Linux and a Python interpreter")
        self.launcher = supported if launcher is None else launcher

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
        with self.sandbox.locate(workdir) as location:
            if location.kind != "directory":
                raise ToolError(f"{workdir!r} is not a folder")
            folder = self.sandbox.path_of(location.relative)
        deadline = time.monotonic() + self.timeout
        process = self._start(command, folder)
        output = _Output(self.max_output_bytes)
        try:
            finished = _collect(process, output, deadline)
        finally:
            self._stop(process)
        if not finished:
            raise ToolError(
                f"The command did not finish within {self.timeout} s and was stopped.\n"
                f"Output so far:\n{output.shown()}"
            )
        return f"Exit code: {process.returncode}\n{output.shown()}"

    def _start(self, command: str, folder: Path) -> subprocess.Popen[bytes]:
        argv = [self.shell, "-c", command]
        if self.launcher:
            # -I -S: the launcher reads no PYTHON* variable, no site packages.
            argv = [sys.executable, "-I", "-S", _LAUNCHER, *argv]
        try:
            return subprocess.Popen(
                argv,
                cwd=folder,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own session and group, so all of it can be killed
            )
        except OSError as exc:
            raise ToolError(f"The command could not be started: {exc.strerror}") from None

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        """Kill what is left of the command and stop reading its output, within bounds."""
        if self.launcher and process.poll() is None:
            process.send_signal(signal.SIGTERM)  # the launcher kills everything it adopted
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=_STOP_GRACE)
        with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):  # killed: returns at once
            process.wait(timeout=_STOP_GRACE)
        assert process.stdout is not None
        process.stdout.close()  # whatever still holds the pipe open is not waited for


def _collect(process: subprocess.Popen[bytes], output: _Output, deadline: float) -> bool:
    """Read the output until it ends (or the command ended a grace period ago), or until
    the deadline; whether the command finished in time."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    os.set_blocking(fd, False)
    ended_at: float | None = None
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if ended_at is None and process.poll() is not None:
                ended_at = now
            if ended_at is not None and now >= min(deadline, ended_at + _DRAIN_GRACE):
                logger.debug("processes left behind still hold the output open; stopping")
                return True
            if now >= deadline:
                return False
            limit = deadline if ended_at is None else ended_at + _DRAIN_GRACE
            if selector.select(min(limit - now, _POLL)) and not output.read_from(fd):
                break  # the end of the output
    try:
        process.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:  # it closed its output but runs on
        return False
    return True


class _Output:
    """The output read so far, keeping its first and last ``limit // 2`` bytes."""

    def __init__(self, limit: int) -> None:
        self.half = limit // 2
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def read_from(self, fd: int) -> bool:
        """Take what can be read now; False at the end of the output."""
        try:
            chunk = os.read(fd, _READ_CHUNK)
        except BlockingIOError:
            return True
        if not chunk:
            return False
        room = self.half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        if len(self.tail) > self.half:
            self.dropped += len(self.tail) - self.half
            del self.tail[: len(self.tail) - self.half]
        return True

    def shown(self) -> str:
        head = self.head.decode("utf-8", errors="replace")
        if not self.dropped:
            return head + self.tail.decode("utf-8", errors="replace")
        # The end of the output usually holds the error: keep both ends.
        tail = self.tail.decode("utf-8", errors="replace")
        return f"{head}\n[... {self.dropped} bytes of output left out ...]\n{tail}"


def _minimal_environment() -> dict[str, str]:
    return {key: os.environ[key] for key in _PASSED_THROUGH if key in os.environ}
