"""The transports themselves, and the async path of HTTPModel over aiohttp (the async default).

The same minimal provider as test_http_transport.py, awaited: retries, typed errors,
broken streams and timeouts through aiohttp for real, against a local server. Then the
transport interface alone: what each transport returns, sends and raises; what the aiohttp
transport does on the wire (no redirects, gzip, escapes kept, chunks as they arrive, broken
and half-read streams, TLS against a local CA, the environment's proxies); the aiohttp
session's life (bound to its event loop, closed when that loop ends), and a transport of
one's own.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import ssl
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest
from echo_provider import Echo, echo, sse
from local_server import LocalServer
from socket_server import SocketServer, chunked, read_request

import agentloop
from agentloop import StreamIncomplete
from agentloop.providers.aiohttp_transport import AiohttpTransport
from agentloop.providers.httpx_transport import HTTPXTransport
from agentloop.providers.transport import (
    HTTPRequest,
    HTTPResponse,
    ResponseStream,
    Timeout,
    TransportConnectionError,
    TransportTimeout,
)

TLS = Path(__file__).parent / "tls"
EVENTS = {"content-type": "text/event-stream"}


async def test_async_calls_go_through_aiohttp(local_server: LocalServer) -> None:
    local_server.reply({"text": "hi"})
    model = echo(local_server)
    assert (await model.to_async().prompt("x")).text() == "hi"
    assert isinstance(model.async_transport, AiohttpTransport)
    assert local_server.requests[0].json() == {"prompt": "x", "stream": False}
    assert local_server.requests[0].headers["content-type"] == "application/json"
    await model.aclose()


@pytest.mark.parametrize("status", [408, 409, 429, 500, 503, 529])
async def test_async_retryable_statuses_are_retried(local_server: LocalServer, status: int) -> None:
    local_server.reply({"error": {"message": "busy"}}, status=status).reply({"text": "ok"})
    assert (await echo(local_server).to_async().prompt("x")).text() == "ok"
    assert len(local_server.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_async_client_errors_are_not_retried(local_server: LocalServer, status: int) -> None:
    local_server.reply({"error": {"message": "no", "type": "x"}}, status=status)
    with pytest.raises(agentloop.ProviderError) as info:
        await echo(local_server).to_async().prompt("x")
    assert info.value.status == status
    assert len(local_server.requests) == 1


async def test_async_a_refused_connection_is_typed() -> None:
    model = Echo("m", base_url="http://127.0.0.1:9", api_key="k", retry_backoff=0, max_retries=1)
    with pytest.raises(agentloop.ProviderConnectionError):
        await model.to_async().prompt("x")


async def test_async_a_timeout_is_typed(local_server: LocalServer) -> None:
    local_server.reply({"text": "late"}, delay=0.5)
    with pytest.raises(agentloop.ProviderTimeoutError):
        await echo(local_server, timeout=0.1, max_retries=0).to_async().prompt("x")


async def test_async_streaming(local_server: LocalServer) -> None:
    local_server.reply(sse("a", "b"), headers=EVENTS)
    chunks = [c async for c in echo(local_server).to_async().prompt("x", stream=True)]
    assert chunks == ["a", "b"]


async def test_async_a_stream_that_opens_with_an_error_is_typed_and_retried(
    local_server: LocalServer,
) -> None:
    local_server.reply({"error": {"message": "busy"}}, status=503)
    local_server.reply(sse("ok"), headers=EVENTS)
    chunks = [c async for c in echo(local_server).to_async().prompt("x", stream=True)]
    assert chunks == ["ok"]
    local_server.reply({"error": {"message": "bad key"}}, status=401)
    with pytest.raises(agentloop.AuthenticationError, match="ECHO_API_KEY"):
        [c async for c in echo(local_server).to_async().prompt("x", stream=True)]


async def test_async_a_truncated_stream_keeps_the_partial_text(local_server: LocalServer) -> None:
    local_server.reply(sse("Hello ", "wor", done=False), headers=EVENTS)
    chunks: list[str] = []

    async def consume() -> None:
        async for chunk in echo(local_server).to_async().prompt("x", stream=True):
            chunks.append(chunk)

    with pytest.raises(StreamIncomplete) as info:
        await consume()
    assert chunks == ["Hello ", "wor"]
    assert info.value.partial_text == "Hello wor"


async def test_async_a_dropped_connection_mid_stream_is_typed(local_server: LocalServer) -> None:
    local_server.reply(sse("Hello ", "world"), headers=EVENTS, promise_more=True)
    with pytest.raises(StreamIncomplete) as info:
        [c async for c in echo(local_server).to_async().prompt("x", stream=True)]
    assert info.value.partial_text.startswith("Hello")


# -- the transports alone ---------------------------------------------------------------


def request(server: LocalServer, timeout: Timeout | None = None) -> HTTPRequest:
    return HTTPRequest("POST", f"{server.url}/x", {"X-Name": "v"}, b'{"a": 1}', timeout)


def test_httpx_transport_returns_status_lower_case_headers_and_body(
    local_server: LocalServer,
) -> None:
    local_server.reply({"text": "hi"}, status=418, headers={"X-Thing": "1"})
    transport = HTTPXTransport()
    response = transport.send(request(local_server))
    transport.close()
    assert (response.status, response.headers["x-thing"], json.loads(response.body)) == (
        418,
        "1",
        {"text": "hi"},
    )
    assert local_server.requests[0].body == b'{"a": 1}'
    assert local_server.requests[0].headers["X-Name"] == "v"


async def test_aiohttp_transport_returns_status_lower_case_headers_and_body(
    local_server: LocalServer,
) -> None:
    local_server.reply({"text": "hi"}, status=418, headers={"X-Thing": "1"})
    transport = AiohttpTransport()
    response = await transport.send(request(local_server))
    await transport.aclose()
    assert (response.status, response.headers["x-thing"], json.loads(response.body)) == (
        418,
        "1",
        {"text": "hi"},
    )
    assert type(response.body) is bytes
    [sent] = local_server.requests
    assert (sent.method, sent.path, sent.body) == ("POST", "/x", b'{"a": 1}')
    assert {name.lower(): value for name, value in sent.headers.items()}["x-name"] == "v"


def test_a_per_request_timeout_wins_over_the_transports_own(local_server: LocalServer) -> None:
    local_server.reply({"text": "late"}, delay=0.5)
    transport = HTTPXTransport(timeout=Timeout(read=30))
    with pytest.raises(TransportTimeout):
        transport.send(request(local_server, Timeout(read=0.1)))
    transport.close()


async def test_aiohttp_timeouts_and_a_refusal_are_typed(
    local_server: LocalServer,
) -> None:
    local_server.reply({"text": "late"}, delay=0.5)
    transport = AiohttpTransport(timeout=Timeout(read=30))
    with pytest.raises(TransportTimeout):  # the request's own timeout wins
        await transport.send(request(local_server, Timeout(read=0.1)))
    refused = HTTPRequest("POST", "http://127.0.0.1:9/x", {}, b"")
    with pytest.raises(TransportConnectionError):
        await transport.send(refused)
    await transport.aclose()
    transport = AiohttpTransport(timeout=Timeout(read=0.1))  # else the transport's
    with pytest.raises(TransportTimeout):
        await transport.stream(request(local_server))
    await transport.aclose()


async def test_aiohttp_follows_no_redirect(local_server: LocalServer) -> None:
    local_server.reply(b"", status=307, headers={"location": "/elsewhere"})
    transport = AiohttpTransport()
    response = await transport.send(request(local_server))
    await transport.aclose()
    assert (response.status, response.headers["location"]) == (307, "/elsewhere")
    assert [r.path for r in local_server.requests] == ["/x"]


async def test_a_gzipped_reply_arrives_decoded(local_server: LocalServer) -> None:
    body = json.dumps({"text": "hi " * 1000}).encode()
    zipped = {"content-encoding": "gzip", "content-type": "application/json"}
    for _ in range(2):
        local_server.reply(gzip.compress(body), headers=zipped)
    transport = AiohttpTransport()
    whole = await transport.send(request(local_server))
    stream = await transport.stream(request(local_server))
    streamed = await stream.read()
    await stream.aclose()
    await transport.aclose()
    assert whole.body == streamed == body
    sent = {name.lower(): value for name, value in local_server.requests[0].headers.items()}
    assert "gzip" in sent["accept-encoding"]


async def test_aiohttp_sends_a_urls_escapes_as_written(local_server: LocalServer) -> None:
    local_server.reply({"text": "hi"})
    transport = AiohttpTransport()
    url = f"{local_server.url}/model/us.anthropic.claude%3A0/converse"  # as SigV4 signed it
    await transport.send(HTTPRequest("POST", url, {}, b"{}"))
    await transport.aclose()
    assert local_server.requests[0].path == "/model/us.anthropic.claude%3A0/converse"


async def test_a_stream_hands_over_each_chunk_as_it_arrives() -> None:
    pieces = [b"data: 1\n\n", b"data: 2\n\n"]
    with SocketServer(lambda connection, _: chunked(connection, pieces, 0.6)) as server:
        transport = AiohttpTransport()
        started = time.monotonic()
        stream = await transport.stream(HTTPRequest("POST", server.url, {}, b"{}"))
        arrived = [(chunk, time.monotonic() - started) async for chunk in stream.aiter_bytes()]
        await stream.aclose()
        await transport.aclose()
    assert (stream.status, stream.headers["content-type"]) == (200, "text/event-stream")
    assert b"".join(chunk for chunk, _ in arrived) == b"".join(pieces)
    assert arrived[0][1] < 0.5  # the first event did not wait for the second


async def test_a_body_cut_short_is_a_connection_error(local_server: LocalServer) -> None:
    local_server.reply(sse("Hello "), headers=EVENTS, promise_more=True)
    transport = AiohttpTransport()
    with pytest.raises(TransportConnectionError):
        await transport.send(request(local_server))
    stream = await transport.stream(request(local_server))
    with pytest.raises(TransportConnectionError):
        [chunk async for chunk in stream.aiter_bytes()]
    await stream.aclose()
    stream = await transport.stream(request(local_server))
    with pytest.raises(TransportConnectionError):
        await stream.read()
    await stream.aclose()
    await transport.aclose()


async def test_a_stream_closed_half_read_leaves_no_broken_connection_behind() -> None:
    replies = [b"a" * (1 << 21), b"second"]

    def keep_alive(connection: socket.socket, number: int) -> None:
        while replies and read_request(connection) is not None:
            body = replies.pop(0)
            connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body)

    with SocketServer(keep_alive) as server:
        transport = AiohttpTransport()
        stream = await transport.stream(HTTPRequest("POST", server.url, {}, b"{}"))
        chunks = stream.aiter_bytes()
        assert await anext(chunks)
        await stream.aclose()
        response = await transport.send(HTTPRequest("POST", server.url, {}, b"{}"))
        await transport.aclose()
    assert response.body == b"second"
    assert server.connections == 2  # the half-read one was not given the next request


@pytest.fixture
def tls_server() -> Iterator[LocalServer]:
    """The local server over TLS, its certificate signed by tests/tls/ca.pem."""
    server = LocalServer()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(TLS / "server.pem")
    server._server.socket = context.wrap_socket(server._server.socket, server_side=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_aiohttp_trusts_the_ca_bundle_the_blocking_transport_trusts(
    tls_server: LocalServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    tls_server.reply({"text": "secure"})
    secure = HTTPRequest("POST", tls_server.url.replace("http:", "https:") + "/x", {}, b"{}")
    transport = AiohttpTransport()
    with pytest.raises(TransportConnectionError):  # certifi's bundle lacks the test CA
        await transport.send(secure)
    await transport.aclose()
    bundle = tmp_path / "bundle.pem"  # the test CA last in a bundle of many
    bundle.write_bytes(Path(certifi.where()).read_bytes() + (TLS / "ca.pem").read_bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    transport = AiohttpTransport()
    response = await transport.send(secure)
    await transport.aclose()
    blocking = HTTPXTransport()
    assert blocking.send(secure).body == response.body
    blocking.close()
    assert json.loads(response.body) == {"text": "secure"}


async def test_aiohttp_goes_through_the_proxy_the_environment_names(
    local_proxy: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_proxy.reply({"text": "via the proxy"})
    transport = AiohttpTransport()
    elsewhere = HTTPRequest("POST", "http://api.example.test/v1/echo", {}, b"{}")
    assert json.loads((await transport.send(elsewhere)).body) == {"text": "via the proxy"}
    await transport.aclose()
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    transport = AiohttpTransport()
    assert (await transport.send(request(local_proxy))).status == 200
    await transport.aclose()
    assert [r.path for r in local_proxy.requests] == ["http://api.example.test/v1/echo", "/x"]


@pytest.fixture
def no_unclosed_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Fails the test if anything (an aiohttp session, a socket) was left unclosed."""
    import gc

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
        gc.collect()
    unclosed = [w for w in caught if "nclosed" in str(w.message)]
    assert not unclosed, [str(w.message) for w in unclosed]


def test_a_session_per_event_loop_each_closed_with_its_loop(
    local_server: LocalServer, no_unclosed_warnings: list[warnings.WarningMessage]
) -> None:
    local_server.reply({"text": "one"}).reply({"text": "two"})
    model = echo(local_server).to_async()
    transport = model.sync_model.async_transport
    assert isinstance(transport, AiohttpTransport)
    sessions = []

    async def ask() -> str:
        text = (await model.prompt("x")).text()
        sessions.append(transport._session)
        return text

    # Two asyncio.run calls: two loops, never an aclose() by the caller.
    assert asyncio.run(ask()) == "one"
    assert asyncio.run(ask()) == "two"
    first, second = sessions
    assert first is not second
    assert first is not None
    assert first.closed  # closed when its loop shut down
    assert second is not None
    assert second.closed


def test_a_batch_closes_its_connections(
    local_server: LocalServer, no_unclosed_warnings: list[warnings.WarningMessage]
) -> None:
    local_server.reply({"text": "hi"})
    client = agentloop.LLMClient(echo(local_server))
    assert [r.completion for r in client.process_prompts_sync(["a", "b"])] == ["hi", "hi"]


class Canned:
    """A transport of one's own: every request answered from memory."""

    def __init__(self) -> None:
        self.sent: list[HTTPRequest] = []

    def send(self, request: HTTPRequest) -> HTTPResponse:
        self.sent.append(request)
        return HTTPResponse(200, {"content-type": "application/json"}, b'{"text": "canned"}')

    def stream(self, request: HTTPRequest) -> ResponseStream:
        raise NotImplementedError

    def close(self) -> None:
        pass


def test_a_model_sends_through_any_transport() -> None:
    canned = Canned()
    model = Echo("m", base_url="http://nowhere.invalid", api_key="sk-test", transport=canned)
    assert model.prompt("x").text() == "canned"
    [sent] = canned.sent
    assert (sent.method, sent.url) == ("POST", "http://nowhere.invalid/v1/echo")
    assert json.loads(sent.body) == {"prompt": "x", "stream": False}
    assert sent.headers["authorization"] == "Bearer sk-test"
