"""The blocking httpx transport: httpx's pool used directly, and what keeps it exact.

Without a client given, requests skip ``httpx.Client``'s layers and go to its pool
(``httpx.HTTPTransport``); these tests pin that nothing a client would have done is lost:
the same headers on the wire, a proxy the environment names, and a client that a caller
asked for and configured.
"""

from __future__ import annotations

import httpx
import pytest
from echo_provider import echo
from local_server import LocalServer

from agentloop.providers.httpx_transport import HTTPXTransport
from agentloop.providers.transport import HTTPRequest, Timeout

#: Headers that differ between any two requests, or that the request itself sets.
PER_REQUEST = {"content-length", "authorization", "content-type"}


def test_a_request_carries_the_headers_an_httpx_client_sends(local_server: LocalServer) -> None:
    local_server.reply({"text": "hi"})
    with httpx.Client() as client:
        client.post(f"{local_server.url}/v1/echo", content=b"{}")
    echo(local_server).prompt("x")
    plain, ours = (
        {k.lower(): v for k, v in r.headers.items() if k.lower() not in PER_REQUEST}
        for r in local_server.requests
    )
    assert ours == plain
    assert ours["user-agent"].startswith("python-httpx/")


def test_a_header_given_replaces_the_default_of_that_name(local_server: LocalServer) -> None:
    local_server.reply({"text": "hi"})
    transport = HTTPXTransport()
    url = f"{local_server.url}/v1/echo"
    response = transport.send(HTTPRequest("POST", url, {"User-Agent": "mine/1"}, b"{}"))
    assert response.status == 200
    assert local_server.requests[0].headers["User-Agent"] == "mine/1"
    assert list(local_server.requests[0].headers).count("User-Agent") == 1


def test_a_proxy_named_by_the_environment_carries_the_request(local_proxy: LocalServer) -> None:
    local_proxy.reply({"text": "via the proxy"})
    model = echo(local_proxy).with_transports(HTTPXTransport())
    model.base_url = "http://api.example.test"
    assert model.prompt("x").text() == "via the proxy"
    assert local_proxy.requests[0].path == "http://api.example.test/v1/echo"


def test_a_host_in_no_proxy_is_reached_directly(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    local_server.reply({"text": "direct"})
    assert echo(local_server).prompt("x").text() == "direct"
    assert local_server.requests[0].path == "/v1/echo"


def test_a_client_once_asked_for_sees_every_later_request(local_server: LocalServer) -> None:
    local_server.reply({"text": "hi"})
    model = echo(local_server)
    seen: list[str] = []
    model.client.event_hooks["request"].append(lambda request: seen.append(str(request.url)))
    model.client.headers["x-team"] = "blue"
    model.prompt("x")
    model.prompt("y")
    assert seen == [f"{local_server.url}/v1/echo"] * 2
    assert all(r.headers["x-team"] == "blue" for r in local_server.requests)


def test_a_request_timeout_bounds_the_wait(local_server: LocalServer) -> None:
    local_server.reply({"text": "late"}, delay=1.0)
    transport = HTTPXTransport(timeout=Timeout(read=30))
    request = HTTPRequest("POST", f"{local_server.url}/v1/echo", {}, b"{}", Timeout(read=0.1))
    with pytest.raises(Exception, match="ReadTimeout") as caught:
        transport.send(request)
    assert type(caught.value).__name__ == "TransportTimeout"


def test_a_streamed_reply_comes_through_the_pool(local_server: LocalServer) -> None:
    local_server.reply(b"data: one\n\ndata: two\n\n", headers={"content-type": "text/event-stream"})
    transport = HTTPXTransport()
    stream = transport.stream(HTTPRequest("POST", f"{local_server.url}/v1/echo", {}, b"{}"))
    try:
        assert stream.status == 200
        assert b"".join(stream.iter_bytes()) == b"data: one\n\ndata: two\n\n"
    finally:
        stream.close()
    transport.close()
