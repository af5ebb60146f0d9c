"""The two thin interpreters of `agentloop.loop`: one blocking, one ``async``.

Each drives a chain generator: it performs the effect the generator yields
(call the model, call user code, run steps concurrently) and sends back the
outcome, or throws the exception in. Streamed model calls hand their deltas
out as they arrive, and so does an `agentloop.events` event the chain yields, stamped
with the time here (the core keeps no clock); the events of steps run concurrently
are passed out as they happen, from their threads or tasks. This is the only place
where sync and async differ.
"""

from __future__ import annotations

import asyncio
import inspect
import queue
import threading
from collections.abc import AsyncIterator, Awaitable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from time import time
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from agentloop.errors import StreamIncomplete
from agentloop.events import Event
from agentloop.loop import CallModel, CallUser, Effect, RunConcurrently, Step
from agentloop.providers.base import Delta, Reply

if TYPE_CHECKING:
    from agentloop.model import Model

T = TypeVar("T")
#: What a driven chain passes out: a streamed model call's deltas and the chain's events.
Item: TypeAlias = Delta | Event
#: Ends the items of one concurrent step.
_DONE: Any = object()

#: Upper bound on sync tools running at once in one chain step.
MAX_TOOL_THREADS = 16


class Portal:
    """A private event loop on a daemon thread, for running coroutines from sync code.

    A sync chain that meets an ``async def`` tool or hook runs it here. This
    works even when the caller's thread already runs an event loop (a
    notebook, a web handler), where ``asyncio.run`` would refuse. Async
    toolboxes keep one loop for their whole life, so clients they open stay valid.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def run(self, awaitable: Awaitable[T]) -> T:
        loop = self._ensure_loop()
        return asyncio.run_coroutine_threadsafe(_as_coroutine(awaitable), loop).result()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="agentloop-portal", daemon=True
                )
                thread.start()
                self._loop = loop
            return self._loop


portal = Portal()


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


# -- blocking -----------------------------------------------------------------


def drive_iter(step: Step[T], model: Model) -> Generator[Item, None, T]:
    """Run a chain generator, yielding the deltas of streamed model calls and the chain's
    events as they come."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = step.throw(error) if error is not None else step.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        value, error = None, None
        try:
            if isinstance(effect, Event):
                effect.time = time()
                yield effect
            elif isinstance(effect, CallModel) and effect.request.stream:
                value = yield from _stream(model.stream(effect.request))
            elif isinstance(effect, RunConcurrently):
                value = yield from _concurrently(effect.steps, model)
            else:
                value = _perform(effect, model)
        except Exception as exc:
            error = exc


def _perform(effect: CallUser | CallModel, model: Model) -> Any:
    if isinstance(effect, CallUser):
        result = effect.fn(*effect.args, **effect.kwargs)
        return portal.run(result) if inspect.isawaitable(result) else result
    return model.complete(effect.request)


def _concurrently(steps: list[Step[Any]], model: Model) -> Generator[Item, None, list[Any]]:
    """Run ``steps`` in threads, passing out their events as they happen; their results."""
    items: queue.SimpleQueue[Any] = queue.SimpleQueue()
    workers = min(len(steps), MAX_TOOL_THREADS)
    with ThreadPoolExecutor(workers, thread_name_prefix="agentloop-tool") as pool:
        futures = [pool.submit(_relay, step, model, items) for step in steps]
        for _ in futures:
            while (item := items.get()) is not _DONE:
                yield item
        return [f.result() for f in futures]


def _relay(step: Step[T], model: Model, items: queue.SimpleQueue[Any]) -> T:
    try:
        driven = drive_iter(step, model)
        while True:
            try:
                items.put(next(driven))
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
    finally:
        items.put(_DONE)


def _stream(events: Iterator[Delta | Reply]) -> Generator[Delta, None, Reply]:
    for event in events:
        if isinstance(event, Reply):
            return event
        yield event
    raise StreamIncomplete("The model's stream ended without a final reply")


# -- async --------------------------------------------------------------------


async def adrive_iter(
    step: Step[T], model: Model, out: list[T], effect: Effect | None = None
) -> AsyncIterator[Item]:
    """Async twin of `drive_iter`; the chain's result is appended to ``out``. ``effect``:
    the one ``step`` is waiting on, performed first (`adrive` stopped at it)."""
    value: Any = None
    error: BaseException | None = None
    while True:
        if effect is None:
            try:
                effect = step.throw(error) if error is not None else step.send(value)
            except StopIteration as stop:
                out.append(stop.value)
                return
        value, error = None, None
        try:
            if isinstance(effect, Event):
                effect.time = time()
                yield effect
            elif isinstance(effect, RunConcurrently):
                results: list[list[Any]] = []
                async for item in _aconcurrently(effect.steps, model, results):
                    yield item
                value = results[0]
            elif isinstance(effect, CallModel) and effect.request.stream:
                value = None
                async for event in model.astream(effect.request):
                    if isinstance(event, Reply):
                        value = event
                        break
                    yield event
                if value is None:
                    raise StreamIncomplete("The model's stream ended without a final reply")
            else:
                value = await _aperform(effect, model)
        except Exception as exc:
            error = exc
        effect = None


async def adrive(step: Step[T], model: Model) -> tuple[Effect | None, T | None]:
    """The start of `adrive_iter` as a plain coroutine, for a caller that awaits the chain:
    it performs the effects that pass nothing out (the model called without streaming,
    user code) until the chain ends, ``(None, result)``, or yields one that would pass
    items out (an event, a stream, concurrent steps), ``(that effect, None)``, for
    `adrive_iter` to go on from. A prompt nobody streams or watches makes no async
    generator (two fewer per prompt of a batch)."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = step.throw(error) if error is not None else step.send(value)
        except StopIteration as stop:
            return None, stop.value
        if isinstance(effect, CallUser) or (
            isinstance(effect, CallModel) and not effect.request.stream
        ):
            value, error = None, None
            try:
                value = await _aperform(effect, model)
            except Exception as exc:
                error = exc
            continue
        return effect, None


async def _aperform(effect: CallUser | CallModel, model: Model) -> Any:
    if isinstance(effect, CallUser):
        if effect.blocking:
            result = await asyncio.to_thread(effect.fn, *effect.args, **effect.kwargs)
        else:
            result = effect.fn(*effect.args, **effect.kwargs)
        return await result if inspect.isawaitable(result) else result
    return await model.acomplete(effect.request)


async def _aconcurrently(
    steps: list[Step[Any]], model: Model, out: list[list[Any]]
) -> AsyncIterator[Item]:
    """Run ``steps`` as tasks, passing out their events as they happen; their results are
    appended to ``out`` (the first failure raised once all are done, as the blocking shell)."""
    items: asyncio.Queue[Any] = asyncio.Queue()

    async def relay(step: Step[Any]) -> Any:
        result: list[Any] = []
        try:
            async for item in adrive_iter(step, model, result):
                items.put_nowait(item)
            return result[0]
        finally:
            items.put_nowait(_DONE)

    tasks = [asyncio.ensure_future(relay(step)) for step in steps]
    try:
        for _ in tasks:
            while (item := await items.get()) is not _DONE:
                yield item
    finally:
        for task in tasks:
            task.cancel()  # only those still running: the caller stopped waiting
    failures = [task.exception() for task in tasks]
    failed = next((exc for exc in failures if exc is not None), None)
    if failed is not None:
        raise failed
    out.append([task.result() for task in tasks])
