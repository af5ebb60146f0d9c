"""The event loop a batch makes for itself: uvloop's where it is installed.

A batch's wall time is bounded by the CPU its event loop and HTTP client spend per
request: hundreds of requests are in flight at once, each a handful of callbacks,
futures and socket reads, and uvloop does that bookkeeping in C. Measured on 5,000
prompts, 500 at once, against a local server (docs/batch.md#the-event-loop), it takes
6% off a batch's CPU per prompt and a fifth off aiohttp's own: worth having, not enough
to make it a dependency of everyone, so it is the ``fast`` extra
(``pip install 'agentloop-kit[fast]'``; it does not build on Windows).
``AGENTLOOP_EVENT_LOOP=asyncio`` keeps the standard library's loop even so, and a batch
started from a running loop (a notebook, an async app) runs on that loop, whatever it is.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger("agentloop.batch.event_loop")

#: The variable that chooses the loop: ``asyncio`` for the standard library's.
LOOP_VARIABLE = "AGENTLOOP_EVENT_LOOP"


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop maker, or None for the standard library's loop."""
    chosen = os.environ.get(LOOP_VARIABLE, "").strip().lower()
    if chosen == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if chosen == "uvloop":
            log.warning("%s=uvloop, but uvloop is not installed: using asyncio", LOOP_VARIABLE)
        return None
    return uvloop.new_event_loop


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to its end on a new event loop (see the module's docstring),
    closed afterwards as ``asyncio.run`` closes its own."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(coroutine)


def run_sync(awaitable: Awaitable[T]) -> T:
    """Await ``awaitable`` from sync code: on a new loop (`run`), or, inside a running event
    loop (a notebook, an async app), on the portal's loop in its own thread."""
    from agentloop.shells import portal

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run(_coroutine(awaitable))
    return portal.run(awaitable)


async def _coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable
