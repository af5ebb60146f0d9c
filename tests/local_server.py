"""A scripted HTTP server on 127.0.0.1 for provider tests: real sockets, no mocks of ours.

Queue responses with :meth:`LocalServer.reply`; each request takes the next
one (the last one served repeats when the queue runs dry). Every request is recorded
with its headers and body. A response can be cut short (``truncate_at``) or
announce more bytes than it sends (``promise_more``) to test broken streams.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Scripted:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: Send only this many bytes of the body, then close the connection.
    truncate_at: int | None = None
    #: Announce a Content-Length larger than the body (the peer sees a dropped connection).
    promise_more: bool = False
    delay: float = 0.0


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class LocalServer:
    def __init__(self, responder: Callable[[Recorded], Scripted] | None = None) -> None:
        #: Answers a request when nothing is scripted (a fake provider), instead of repeating.
        self.responder = responder
        self.script: list[Scripted] = []
        self.requests: list[Recorded] = []
        self.last = Scripted(500, b"nothing scripted")
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on loopback

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                recorded = Recorded(self.command, self.path, dict(self.headers.items()), body)
                with server._lock:
                    server.requests.append(recorded)
                    if server.script:
                        server.last = server.script.pop(0)
                    elif server.responder is not None:
                        server.last = server.responder(recorded)
                    item = server.last
                time.sleep(item.delay)
                payload = item.body
                sent = payload if item.truncate_at is None else payload[: item.truncate_at]
                self.send_response(item.status)
                for key, value in item.headers.items():
                    self.send_header(key, value)
                announced = len(payload) + (100 if item.promise_more else 0)
                if item.truncate_at is None or item.promise_more:
                    self.send_header("content-length", str(announced))
                self.send_header("connection", "close")
                self.end_headers()
                self.wfile.write(sent)
                self.wfile.flush()
                self.close_connection = True

            do_GET = do_DELETE = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def reply(
        self,
        body: bytes | str | dict[str, Any] | list[Any] = b"",
        status: int = 200,
        headers: dict[str, str] | None = None,
        **options: Any,
    ) -> LocalServer:
        if isinstance(body, dict | list):
            payload = json.dumps(body).encode()
            headers = {"content-type": "application/json", **(headers or {})}
        else:
            payload = body.encode() if isinstance(body, str) else body
        self.script.append(Scripted(status, payload, dict(headers or {}), **options))
        return self

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class QuietServer(ThreadingHTTPServer):
    """Keeps a handler's failure (a client that hung up mid-reply, as fault tests make them)
    in ``errors`` rather than printing it: a handler thread can outlive its test, and its
    traceback would land in the captured stderr of whatever test runs next."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.errors: list[BaseException] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if error is not None:
            self.errors.append(error)


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    server = LocalServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def local_proxy(local_server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> LocalServer:
    """The local server as the proxy the environment names (``HTTP_PROXY``, no ``NO_PROXY``):
    a request through it arrives with the absolute URL as its path."""
    monkeypatch.setenv("HTTP_PROXY", local_server.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    return local_server
