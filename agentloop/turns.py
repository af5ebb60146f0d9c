"""One turn at a time per conversation: the guard a run holds while it drives.

A conversation is one ordered history. Two runs driving it at once (from two
threads, two asyncio tasks, or a second prompt while a stream is half read)
would interleave their tool calls and results, and the provider would refuse
the history. So a run claims the conversation when it starts to drive and
releases it when it ends; a second run that tries meanwhile gets a clear
error instead of a broken history. A streamed response that was never
iterated has not claimed anything, so creating one does not block the next.
"""

from __future__ import annotations

import threading

from agentloop.errors import ConversationBusyError


class TurnGuard:
    """Who is driving a conversation right now, if anyone (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holder: object | None = None

    def claim(self, run: object) -> None:
        with self._lock:
            if self._holder is not None and self._holder is not run:
                raise ConversationBusyError(
                    "This conversation is still answering an earlier prompt: finish reading "
                    "that response first, or give each thread or task its own conversation "
                    "(conversation.fork(conversation.messages) copies one)."
                )
            self._holder = run

    def release(self, run: object) -> None:
        with self._lock:
            if self._holder is run:
                self._holder = None
