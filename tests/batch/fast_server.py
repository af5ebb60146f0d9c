"""A fast Chat Completions server on 127.0.0.1 for batch tests and the throughput benchmark.

asyncio, HTTP/1.1 keep-alive, thousands of requests a second: unlike
``tests/local_server.py`` (a thread per connection, closed after each reply),
it can stand in for a provider under a batch's load. By default it answers
``echo: <last user text>`` after ``delay`` seconds; ``respond`` scripts any other
answer (an error, a 429 with ``retry-after``, a tool call) from the request
body. Every request's arrival time (``time.monotonic()``, comparable across
processes on one machine) and body are recorded. ``GET /stats`` returns the
arrival times, for a server running in another process.

    python tests/batch/fast_server.py --delay 0.1   # prints the port, serves until killed
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Answer:
    status: int = 200
    body: dict[str, Any] | list[Any] | bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float | None = None


#: Connections waiting to be accepted (Linux caps it at ``net.core.somaxconn``).
BACKLOG = 4096

Respond = Callable[[dict[str, Any]], Answer | None]


def last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def completion(text: str, *, prompt_tokens: int = 10, completion_tokens: int = 5) -> dict[str, Any]:
    """A Chat Completions reply whose answer is ``text``."""
    return {
        "id": "chatcmpl-fast",
        "object": "chat.completion",
        "created": 1,
        "model": "fast-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def process_id(request: Any) -> str:
    """A FunctionModel function answering with the id of the process it runs in."""
    return str(os.getpid())


def echo(body: dict[str, Any]) -> Answer:
    return Answer(200, completion(f"echo: {last_user_text(body)}"))


class FastServer:
    """``keep_bodies=False`` (the benchmark's server, which serves hundreds of thousands of
    requests) keeps no request body: held for good, they made the server's garbage
    collector pause it longer and longer, whichever client was running."""

    def __init__(
        self, delay: float = 0.0, respond: Respond | None = None, *, keep_bodies: bool = True
    ) -> None:
        self.delay = delay
        self.respond = respond
        self.keep_bodies = keep_bodies
        self.arrivals: list[float] = []
        self.bodies: list[dict[str, Any]] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The Chat Completions base URL (``/v1`` included)."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- serving ---------------------------------------------------------------

    async def serve(self, port: int = 0) -> asyncio.Server:
        # A provider's front end accepts a batch's burst of connections at once; asyncio's
        # default backlog (100) drops the SYNs past it, and each dropped one costs a
        # retransmit (a second) that no real provider would charge.
        self._server = await asyncio.start_server(
            self._connection, "127.0.0.1", port, backlog=BACKLOG
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self._server

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, path, headers = _parse_head(head)
                length = int(headers.get("content-length", "0"))
                payload = await reader.readexactly(length) if length else b""
                if method == "GET" and path.endswith("/stats"):
                    _write(writer, Answer(200, {"arrivals": self.arrivals}))
                else:
                    self.arrivals.append(time.monotonic())
                    answer = await self._answer(payload)
                    _write(writer, answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _answer(self, payload: bytes) -> Answer:
        body = json.loads(payload) if payload else {}
        if self.keep_bodies:
            self.bodies.append(body)
        answer = (self.respond(body) if self.respond else None) or echo(body)
        delay = self.delay if answer.delay is None else answer.delay
        if delay:
            await asyncio.sleep(delay)
        return answer

    # -- in a background thread (tests) ---------------------------------------------

    def start(self) -> FastServer:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self.serve())
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="fast-server", daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def stop(self) -> None:
        if self._loop is None or self._server is None:
            return
        loop, server = self._loop, self._server

        async def shutdown() -> None:
            server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> FastServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return method, path, headers


_REASONS = {200: "OK", 400: "Bad Request", 429: "Too Many Requests", 500: "Internal Server Error"}


def _write(writer: asyncio.StreamWriter, answer: Answer) -> None:
    if isinstance(answer.body, bytes):
        payload, kind = answer.body, "text/plain"
    else:
        payload, kind = json.dumps(answer.body).encode(), "application/json"
    headers = {"content-type": kind, "content-length": str(len(payload)), **answer.headers}
    reason = _REASONS.get(answer.status, "Status")
    lines = [f"HTTP/1.1 {answer.status} {reason}"] + [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)


def main() -> None:
    parser = argparse.ArgumentParser(description="A fast local Chat Completions server")
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    async def serve_forever() -> None:
        server = FastServer(args.delay, keep_bodies=False)
        await server.serve(args.port)
        print(server.port, flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve_forever())


if __name__ == "__main__":
    main()
