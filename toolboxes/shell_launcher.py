"""The small process the Shell toolbox runs each command under, on Linux.

Run as ``python -I -S shell_launcher.py SHELL -c COMMAND`` with the clean
environment the command gets, in a new session. It is then the command's
parent, so ``/proc/$PPID/environ`` shows that clean environment, not the
agent's. It makes itself a *child subreaper*: every process the command
starts becomes its child once orphaned, even one that left the session
(``setsid``) or double-forked, so when the command exits, or when the toolbox
sends SIGTERM at its timeout, it kills every one of them before it exits. It
exits with the command's status (128 + N when a signal N ended it).

Only the standard library, and nothing that would keep the output pipe open.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

_PR_SET_CHILD_SUBREAPER = 36
#: Rounds of "kill every child, reap, look again": one per level of orphans.
_MAX_SWEEPS = 1000
_WATCHED = {signal.SIGCHLD, signal.SIGTERM}


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: shell_launcher.py PROGRAM [ARGUMENT...]", file=sys.stderr)
        return 2
    _become_subreaper()
    # Signals are taken synchronously (sigwaitinfo), so nothing interrupts the sweep.
    signal.pthread_sigmask(signal.SIG_BLOCK, _WATCHED)
    try:
        command = os.posix_spawnp(
            argv[0],
            argv,
            dict(os.environ),
            setsigmask=(),  # the command starts with no signal blocked...
            setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),  # ...and these as a shell expects
        )
    except OSError as exc:
        print(f"{argv[0]}: {exc.strerror}", file=sys.stderr)
        return 127
    status = _wait(command)
    _sweep()
    return 128 + signal.SIGTERM if status is None else _exit_code(status)


def _become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("shell_launcher: cannot become a child subreaper", file=sys.stderr)


def _wait(command: int) -> int | None:
    """The command's wait status, or None when SIGTERM came first."""
    while True:
        if signal.sigwaitinfo(_WATCHED).si_signo == signal.SIGTERM:
            return None
        status = _reap(command)
        if status is not None:
            return status


def _reap(command: int) -> int | None:
    """Reap every child that has ended; the command's status if it was one of them."""
    found = None
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return found
        if pid == 0:
            return found
        if pid == command:
            found = status


def _sweep() -> None:
    """Kill every child left, and the orphans each death hands over, until none is left."""
    for _ in range(_MAX_SWEEPS):
        children = _children()
        if not children:
            return
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            os.waitpid(-1, 0)  # one of them has died (or was already a zombie)
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            return


def _children() -> list[int]:
    """The processes whose parent is this one (zombies included), from /proc."""
    me = os.getpid()
    try:
        with open(f"/proc/{me}/task/{me}/children") as listing:
            return [int(pid) for pid in listing.read().split()]
    except OSError:
        pass  # kernels without CONFIG_PROC_CHILDREN: scan every process instead
    children = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended meanwhile
        if int(fields[1]) == me:
            children.append(int(name))
    return children


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
