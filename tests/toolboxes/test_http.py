"""HTTP: fetching with limits, and refusing internal addresses on every hop (SSRF).

No test sends traffic anywhere but 127.0.0.1: host names are resolved by a
fake resolver (numeric forms only through the system's, with AI_NUMERICHOST,
which never asks DNS), a guard fails any request to another address, and the
SSRF corpus runs with sending disabled altogether.
"""

from __future__ import annotations

import ipaddress
import socket
import tracemalloc
import zlib
from typing import Any

import httpx
import pytest
from local_server import LocalServer

from agentloop import FunctionModel, Request, ToolCall, ToolError
from toolboxes import HTTP, addresses
from toolboxes.addresses import blocked_reason

FAKE_DNS = {
    "public.test": ["93.184.216.34"],
    "mixed.test": ["93.184.216.34", "10.0.0.5"],
    "rebind.test": ["127.0.0.1"],
    "intranet.test": ["127.0.0.1"],
    "metadata.test": ["169.254.169.254"],
    "v6.test": ["::1"],
}


@pytest.fixture(autouse=True)
def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    async def resolve(host: str, port: int) -> list[addresses.IPAddress]:
        if host in FAKE_DNS:
            return [ipaddress.ip_address(a) for a in FAKE_DNS[host]]
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
        return [ipaddress.ip_address(info[4][0]) for info in infos]

    monkeypatch.setattr(addresses, "resolve", resolve)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even if a refusal regressed, no request could leave 127.0.0.1."""
    send = httpx.AsyncClient.send

    async def guarded(client: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> Any:
        if request.url.host != "127.0.0.1":
            raise AssertionError(f"a request to {request.url} was about to be sent")
        return await send(client, request, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "send", guarded)


@pytest.fixture
def no_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    async def send(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a request was sent")

    monkeypatch.setattr(httpx.AsyncClient, "send", send)


# The hostile corpus: every target must be refused before any request is sent.
SSRF_TARGETS = [
    "http://127.0.0.1/",
    "http://127.0.0.1:6379/",
    "http://localhost/",
    "http://foo.localhost/",
    "http://2130706433/",  # decimal 127.0.0.1
    "http://017700000001/",  # octal 127.0.0.1
    "http://0177.0.0.1/",  # octal first byte
    "http://0x7f000001/",  # hex
    "http://0x7f.0.0.1/",
    "http://127.1/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[2002:7f00:1::]/",  # 6to4 around 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 around 169.254.169.254
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://100.100.100.200/",
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://mixed.test/",  # one public and one private address
    "http://metadata.test/",
    "http://v6.test/",
    "http://public.test@127.0.0.1/",
    "http://user:pass@public.test/",
    "https://127.0.0.1/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "ftp://public.test/",
    "//127.0.0.1/",
]


@pytest.mark.parametrize("url", SSRF_TARGETS)
async def test_internal_targets_are_refused_without_sending(no_sending: None, url: str) -> None:
    with pytest.raises(ToolError):
        await HTTP().fetch(url)


def test_the_ssrf_corpus_is_large_enough() -> None:
    assert len(SSRF_TARGETS) >= 15


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://2130706433/", "resolves to 127.0.0.1, a loopback address"),
        ("http://0x7f.0.0.1/", "a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "the IPv4 address 127.0.0.1 inside"),
        ("http://169.254.169.254/", "a cloud metadata address"),
        ("http://metadata.google.internal/", "an internal host name"),
        ("http://mixed.test/", "resolves to 10.0.0.5, a private address"),
        ("file:///etc/passwd", "Only http:// and https:// URLs"),
        ("http://user:pass@public.test/", "user name or password"),
    ],
)
async def test_refusals_name_the_reason(no_sending: None, url: str, reason: str) -> None:
    with pytest.raises(ToolError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        await HTTP().fetch(url)


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "2a00:1450:4001:80b::200e"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


# -- every hop is checked -----------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    [
        "http://localhost:{port}/secret",
        "http://2130706433:{port}/secret",
        "http://[::ffff:127.0.0.1]:{port}/secret",
        "http://0x7f.0.0.1:{port}/secret",
        "http://rebind.test:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
    ],
)
async def test_a_redirect_to_an_internal_address_is_refused(
    local_server: LocalServer, location: str
) -> None:
    port = local_server.url.rsplit(":", 1)[1]
    local_server.reply(status=302, headers={"location": location.replace("{port}", port)})
    local_server.reply("the secret", headers={"content-type": "text/plain"})
    http = HTTP(allow_private_hosts=["127.0.0.1"])  # only the first hop is trusted
    with pytest.raises(ToolError, match=r"redirected from|Refused"):
        await http.fetch(local_server.url + "/start")
    assert [r.path for r in local_server.requests] == ["/start"]


async def test_redirects_are_followed_and_capped(local_server: LocalServer) -> None:
    local_server.reply(status=301, headers={"location": "/next"})
    local_server.reply("<p>arrived</p>", headers={"content-type": "text/html"})
    http = HTTP(allow_private=True)
    text = await http.fetch(local_server.url + "/first")
    assert text.startswith(f"URL: {local_server.url}/next\nStatus: 200\n")
    assert text.endswith("\n\narrived")

    local_server.reply(status=302, headers={"location": "/again"})  # repeats forever
    with pytest.raises(ToolError, match="Stopped after 2 redirects"):
        await HTTP(allow_private=True, max_redirects=2).fetch(local_server.url + "/loop")
    assert len(local_server.requests) == 2 + 3


async def test_the_checked_address_is_the_one_connected_to(local_server: LocalServer) -> None:
    # intranet.test "resolves" (fake DNS) to 127.0.0.1: reaching the local server at all
    # shows the request went to the checked address, with the name kept for Host.
    port = local_server.url.rsplit(":", 1)[1]
    local_server.reply("hello", headers={"content-type": "text/plain"})
    text = await HTTP(allow_private_hosts=["intranet.test"]).fetch(
        f"http://intranet.test:{port}/page"
    )
    assert text.endswith("\n\nhello")
    assert local_server.requests[0].headers["Host"] == f"intranet.test:{port}"


async def test_allowed_hosts_limits_what_may_be_fetched(
    local_server: LocalServer, no_sending: None
) -> None:
    http = HTTP(allowed_hosts=[".example.org"], allow_private=True)
    with pytest.raises(ToolError, match="not one of the hosts this toolbox may fetch"):
        await http.fetch(local_server.url)


# -- limits and content -------------------------------------------------------------


async def test_html_comes_back_as_readable_text(local_server: LocalServer) -> None:
    page = (
        "<html><head><title>Pandas</title><script>track()</script></head><body>"
        "<h1>Pandas</h1><p>They eat <b>bamboo</b>.</p><ul><li>black</li><li>white</li></ul>"
        "</body></html>"
    )
    local_server.reply(page, headers={"content-type": "text/html; charset=utf-8"})
    text = await HTTP(allow_private=True).fetch(local_server.url)
    body = text.split("\n\n", 1)[1]
    assert body == "Pandas\n\n# Pandas\n\nThey eat bamboo.\n\n- black\n- white"
    assert "Content-Type: text/html" in text
    assert local_server.requests[0].headers["Accept-Encoding"] == "identity"


async def test_bodies_are_cut_at_the_byte_limit(local_server: LocalServer) -> None:
    local_server.reply("x" * 10_000, headers={"content-type": "text/plain"})
    text = await HTTP(allow_private=True, max_bytes=1000).fetch(local_server.url)
    assert text.endswith("x" * 1000 + "\n[The response was cut at 1000 bytes.]")
    assert "x" * 1001 not in text


async def test_text_is_cut_at_the_character_limit(local_server: LocalServer) -> None:
    local_server.reply("y" * 500, headers={"content-type": "text/plain"})
    text = await HTTP(allow_private=True, max_chars=100).fetch(local_server.url)
    assert text.endswith("y" * 100 + "\n[Cut at 100 characters.]")


async def test_error_statuses_and_binary_bodies_are_tool_errors(local_server: LocalServer) -> None:
    http = HTTP(allow_private=True)
    local_server.reply("no such page", status=404, headers={"content-type": "text/plain"})
    with pytest.raises(ToolError, match=r"HTTP 404 from .*\nno such page"):
        await http.fetch(local_server.url)
    local_server.reply(b"\x89PNG\r\n", headers={"content-type": "image/png"})
    with pytest.raises(ToolError, match=r"returned image/png \(6 bytes\), which is not text"):
        await http.fetch(local_server.url)


async def test_slow_servers_time_out(local_server: LocalServer) -> None:
    local_server.reply("late", headers={"content-type": "text/plain"}, delay=1.0)
    with pytest.raises(ToolError, match=r"timed out|took longer"):
        await HTTP(allow_private=True, timeout=0.2).fetch(local_server.url)


def test_fetch_runs_in_a_sync_chain(local_server: LocalServer) -> None:
    local_server.reply("from the server", headers={"content-type": "text/plain"})

    def play(request: Request) -> Any:
        last = request.messages[-1]
        if last.role == "tool":
            return last.tool_results[0].output
        return ToolCall("HTTP_fetch", {"url": local_server.url}, "c1")

    text = FunctionModel(play).chain("go", tools=[HTTP(allow_private=True)]).text()
    assert text.endswith("\n\nfrom the server")


def test_by_default_the_chain_reports_a_refusal_to_the_model() -> None:
    def play(request: Request) -> Any:
        last = request.messages[-1]
        if last.role == "tool":
            return last.tool_results[0].output
        return ToolCall("HTTP_fetch", {"url": "http://169.254.169.254/"}, "c1")

    text = FunctionModel(play).chain("go", tools=[HTTP()]).text()
    assert "a cloud metadata address" in text


# -- malformed redirects and compressed bodies ----------------------------------------


@pytest.mark.parametrize(
    "location",
    [
        "http:\\\\127.0.0.1:{port}",  # what the attack sent (backslashes, no slashes)
        "http:\\\\127.0.0.1:{port}/x",
        "https://xn--/",  # an IDNA label that does not decode
        "http://127.0.0.1:999999/",  # a port out of range
        "http://[::1",
        "http://1.2.3.4:80:80/",
    ],
)
async def test_a_malformed_redirect_is_an_error_and_is_not_followed(
    local_server: LocalServer, location: str
) -> None:
    port = local_server.url.rsplit(":", 1)[1]
    local_server.reply(status=302, headers={"location": location.replace("{port}", port)})
    local_server.reply("followed", headers={"content-type": "text/plain"})
    with pytest.raises(ToolError, match=r"malformed|invalid port|Invalid URL"):
        await HTTP(allow_private=True).fetch(local_server.url + "/start")
    assert [r.path for r in local_server.requests] == ["/start"]


def gzip_bomb(size: int) -> bytes:
    """``size`` bytes of 'a', gzip-compressed without ever holding them (about size/1000)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = b"a" * 1_000_000
    return b"".join(packer.compress(block) for _ in range(size // len(block))) + packer.flush()


async def test_a_compressed_body_is_cut_at_the_limit_once_decoded(
    local_server: LocalServer,
) -> None:
    bomb = gzip_bomb(100_000_000)
    assert len(bomb) < 200_000
    local_server.reply(bomb, headers={"content-type": "text/plain", "content-encoding": "gzip"})
    tracemalloc.start()
    try:
        text = await HTTP(allow_private=True, max_bytes=1000).fetch(local_server.url)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000, peak
    assert text.endswith("\n\n" + "a" * 1000 + "\n[The response was cut at 1000 bytes.]")


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw", "identity"])
async def test_compressed_bodies_within_the_limit_are_decoded(
    local_server: LocalServer, encoding: str
) -> None:
    text = "hello " * 100
    packers = {
        "gzip": lambda: zlib.compressobj(wbits=zlib.MAX_WBITS | 16),
        "deflate": lambda: zlib.compressobj(wbits=zlib.MAX_WBITS),
        "deflate-raw": lambda: zlib.compressobj(wbits=-zlib.MAX_WBITS),
    }
    body = text.encode()
    if encoding in packers:
        packer = packers[encoding]()
        body = packer.compress(body) + packer.flush()
    header = encoding.removesuffix("-raw")
    local_server.reply(body, headers={"content-type": "text/plain", "content-encoding": header})
    assert (await HTTP(allow_private=True).fetch(local_server.url)).endswith("\n\n" + text)


async def test_encodings_it_did_not_ask_for_and_cannot_decode_are_errors(
    local_server: LocalServer,
) -> None:
    local_server.reply(
        b"\x00\x01", headers={"content-type": "text/plain", "content-encoding": "br"}
    )
    with pytest.raises(ToolError, match="encoded as 'br', which this toolbox does not decode"):
        await HTTP(allow_private=True).fetch(local_server.url)
    local_server.reply(
        b"not gzip", headers={"content-type": "text/plain", "content-encoding": "gzip"}
    )
    with pytest.raises(ToolError, match="could not be decoded"):
        await HTTP(allow_private=True).fetch(local_server.url)
