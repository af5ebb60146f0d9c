"""The read timeout of a reply read whole: one timer for every exchange in flight.

An exchange whose reply stops growing for the read timeout fails, at most a tenth of it
late and never early; one whose bytes keep coming is read to its end, however long that
takes; a cancellation from elsewhere stays a cancellation.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import pytest
from local_server import LocalServer
from socket_server import SocketServer, chunked

from agentloop.providers.aiohttp_transport import AiohttpTransport
from agentloop.providers.read_watch import ReadWatch
from agentloop.providers.transport import HTTPRequest, Timeout, TransportTimeout

JSON = b"application/json"


@dataclass
class Growing:
    """A reply's body as the watch sees it: its byte count."""

    total_bytes: int = 0


async def held(watch: ReadWatch, *, read: float, seconds: float) -> None:
    """An exchange under ``watch`` that receives nothing for ``seconds``."""
    with watch.exchange(read):
        await asyncio.sleep(seconds)


async def test_a_quiet_exchange_times_out_after_its_read_timeout_not_before() -> None:
    watch = ReadWatch(asyncio.get_running_loop())
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"no data for 0\.2 s"), watch.exchange(0.2):
        await asyncio.sleep(5)
    assert 0.2 <= time.monotonic() - started < 1.0
    assert (watch.in_flight, watch.ticking) == (0, False)


async def test_each_byte_starts_the_wait_again() -> None:
    watch = ReadWatch(asyncio.get_running_loop())
    reply = Growing()
    with watch.exchange(0.2) as exchange:
        exchange.reply = reply
        for _ in range(10):  # 0.5 s in all, never 0.2 s without a byte
            await asyncio.sleep(0.05)
            reply.total_bytes += 1
    assert (watch.in_flight, watch.ticking) == (0, False)


async def test_a_shorter_timeout_is_kept_at_its_own_pace() -> None:
    watch = ReadWatch(asyncio.get_running_loop())

    waiting = asyncio.create_task(held(watch, read=60, seconds=2))
    await asyncio.sleep(0)
    started = time.monotonic()
    with pytest.raises(TimeoutError), watch.exchange(0.2):
        await asyncio.sleep(5)
    assert time.monotonic() - started < 1.0  # not at the 60 s timeout's pace (a tick of 6 s)
    waiting.cancel()


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    watch = ReadWatch(asyncio.get_running_loop())

    task = asyncio.create_task(held(watch, read=0.2, seconds=5))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert watch.in_flight == 0


async def test_no_read_timeout_is_never_watched() -> None:
    watch = ReadWatch(asyncio.get_running_loop())
    with watch.exchange(None) as exchange:
        await asyncio.sleep(0.05)
        assert (exchange.watched, watch.ticking) == (False, False)


def slowly(pieces: int, pause: float) -> SocketServer:
    body = [b'{"n": [', *[b"1," for _ in range(pieces)], b"1]}"]
    return SocketServer(lambda connection, _: chunked(connection, body, pause, JSON))


async def test_a_reply_that_keeps_coming_is_read_past_the_read_timeout() -> None:
    with slowly(pieces=6, pause=0.1) as server:  # 0.8 s in all, a chunk every 0.1 s
        transport = AiohttpTransport(timeout=Timeout(read=0.4))
        response = await transport.send(HTTPRequest("POST", server.url, {}, b"{}"))
        await transport.aclose()
    assert response.body == b'{"n": [1,1,1,1,1,1,1]}'


async def test_a_reply_that_stalls_part_way_times_out() -> None:
    with slowly(pieces=2, pause=1.5) as server:
        transport = AiohttpTransport(timeout=Timeout(read=0.3))
        started = time.monotonic()
        with pytest.raises(TransportTimeout, match=r"no data for 0\.3 s"):
            await transport.send(HTTPRequest("POST", server.url, {}, b"{}"))
        await transport.aclose()
    assert 0.3 <= time.monotonic() - started < 1.2


async def test_a_reply_read_whole_leaves_nothing_ticking(local_server: LocalServer) -> None:
    local_server.reply({"text": "hi"})
    transport = AiohttpTransport()
    await transport.send(HTTPRequest("POST", f"{local_server.url}/x", {}, b"{}"))
    watch = transport._reads
    assert watch is not None
    assert (watch.in_flight, watch.ticking) == (0, False)
    await transport.aclose()
