"""A server on 127.0.0.1 that writes what a test scripts, byte for byte, for what
``tests/local_server.py`` does not do: keep a connection open for several replies, send a
body in chunks with pauses between them, or hold several connections open at once.

``handle(connection, number)`` serves each accepted connection (numbered from 0) in a
thread of its own; `read_request` reads one request off it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType


def read_request(connection: socket.socket) -> bytes | None:
    """One request's head and body (by its content-length), or None once the peer closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


def chunked(
    connection: socket.socket,
    pieces: list[bytes],
    pause: float,
    content_type: bytes = b"text/event-stream",
) -> None:
    """A reply in chunks, one per piece, ``pause`` seconds after each."""
    read_request(connection)
    connection.sendall(
        b"HTTP/1.1 200 OK\r\ncontent-type: %s\r\ntransfer-encoding: chunked\r\n\r\n" % content_type
    )
    for piece in pieces:
        connection.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        time.sleep(pause)
    connection.sendall(b"0\r\n\r\n")


class SocketServer:
    def __init__(self, handle: Callable[[socket.socket, int], None]) -> None:
        self.handle = handle
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # closed by __exit__
                return
            number, self.connections = self.connections, self.connections + 1
            threading.Thread(target=self._serve, args=(connection, number), daemon=True).start()

    def _serve(self, connection: socket.socket, number: int) -> None:
        with connection, contextlib.suppress(OSError):  # a client hung up, as tests make them
            self.handle(connection, number)

    def __enter__(self) -> SocketServer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with contextlib.suppress(OSError):  # wakes the accepting thread (close alone would not)
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
