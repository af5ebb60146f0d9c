"""HTTP: fetch web pages for the model, refusing internal addresses (SSRF) by default.

Each hop of a fetch (the URL, then every redirect, followed here one at a
time) has its host resolved and every resolved address checked
(`toolboxes.addresses`). The request then goes to the checked address
itself, with the original name in the ``Host`` header and for TLS, so a DNS
answer that changes between the check and the connection (DNS rebinding)
cannot redirect it. Bodies are streamed and cut at a byte limit, counted both
as received and once decompressed (`toolboxes.http_body`). A malformed
redirect is an error the model reads, and is not followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

import agentloop
from agentloop import ToolError
from toolboxes import addresses
from toolboxes.addresses import IPAddress
from toolboxes.html_text import html_to_text
from toolboxes.http_body import read_body

__all__ = ["HTTP"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
_BLOCKED_NAMES = ("localhost", "localhost.localdomain", "metadata.google.internal", "metadata")
USER_AGENT = f"agentloop/{agentloop.__version__} (HTTP toolbox)"


@dataclass(frozen=True, slots=True)
class _Page:
    url: str
    status: int
    content_type: str
    body: bytes
    truncated: bool
    encoding: str | None


class HTTP(agentloop.Toolbox):
    """Fetch web pages and other text from the internet with GET requests. HTML is
    returned as readable text."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        total_timeout: float = 30.0,
        max_bytes: int = 2_000_000,
        max_chars: int = 50_000,
        max_redirects: int = 5,
        allow_private: bool = False,
        allow_private_hosts: Iterable[str] = (),
        allowed_hosts: Iterable[str] | None = None,
        headers: dict[str, str] | None = None,
        instance_name: str | None = None,
    ) -> None:
        """``allow_private=True`` lets fetches reach loopback, private and link-local
        addresses; ``allow_private_hosts`` does so for those host names only (an intranet
        service you mean to expose). ``allowed_hosts``, when given, is the complete list
        of hosts that may be fetched (``".example.com"`` also admits its subdomains)."""
        super().__init__(instance_name=instance_name)
        self.timeout = timeout
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes
        self.max_chars = max_chars
        self.max_redirects = max_redirects
        self.allow_private = allow_private
        self.allow_private_hosts = frozenset(_normal_host(h) for h in allow_private_hosts)
        self.allowed_hosts = (
            None if allowed_hosts is None else frozenset(_normal_host(h) for h in allowed_hosts)
        )
        self.headers = {"User-Agent": USER_AGENT, **(headers or {})}

    async def fetch(self, url: str) -> str:
        """Fetch a URL (GET) and return its text; web pages come back as readable text.

        Args:
            url: An http:// or https:// URL.
        """
        try:
            async with asyncio.timeout(self.total_timeout):
                page = await self._follow(_parse(url))
        except TimeoutError:
            raise ToolError(f"Fetching {url} took longer than {self.total_timeout} s") from None
        except httpx.TimeoutException:
            raise ToolError(f"Fetching {url} timed out") from None
        except httpx.HTTPError as exc:
            raise ToolError(f"Could not fetch {url}: {exc}") from None
        return self._render(page)

    async def _follow(self, url: httpx.URL) -> _Page:
        timeout = httpx.Timeout(self.timeout)
        async with httpx.AsyncClient(timeout=timeout, trust_env=False, verify=True) as client:
            for _ in range(self.max_redirects + 1):
                address = await self._checked_address(url)
                request = self._pinned_request(client, url, address)
                response = await _send(client, request, url)
                try:
                    location = response.headers.get("location")
                    if response.status_code in _REDIRECTS and location:
                        url = _redirect(url, location)
                        continue
                    body, truncated = await read_body(response, self.max_bytes)
                finally:
                    await response.aclose()
                return _Page(
                    str(url),
                    response.status_code,
                    response.headers.get("content-type", ""),
                    body,
                    truncated,
                    response.charset_encoding,
                )
        raise ToolError(f"Stopped after {self.max_redirects} redirects (last: {url})")

    async def _checked_address(self, url: httpx.URL) -> IPAddress:
        """The address to connect to for ``url``, after checking all it resolves to."""
        host = _normal_host(url.host)
        if self.allowed_hosts is not None and not _listed(host, self.allowed_hosts):
            raise ToolError(f"{host} is not one of the hosts this toolbox may fetch")
        private_ok = self.allow_private or host in self.allow_private_hosts
        if not private_ok and (host in _BLOCKED_NAMES or host.endswith(".localhost")):
            raise ToolError(f"Refused {url}: {host} is an internal host name")
        try:
            found = await addresses.resolve(url.raw_host.decode("ascii"), url.port or 0)
        except OSError as exc:
            raise ToolError(f"Could not resolve {host}: {exc}") from None
        if not found:
            raise ToolError(f"{host} did not resolve to any address")
        if not private_ok:
            for address in found:
                reason = addresses.blocked_reason(address)
                if reason is not None:
                    raise ToolError(
                        f"Refused {url}: {host} resolves to {address}, {reason}. Only public "
                        "internet addresses may be fetched."
                    )
        return found[0]

    def _pinned_request(
        self, client: httpx.AsyncClient, url: httpx.URL, address: IPAddress
    ) -> httpx.Request:
        headers = {
            **self.headers,
            "Host": url.netloc.decode("ascii"),
            "Accept": "text/html,text/plain,application/json;q=0.9,*/*;q=0.5",
            # Compressed bodies could expand far past max_bytes in one chunk.
            "Accept-Encoding": "identity",
        }
        extensions = {}
        if url.scheme == "https" and not _is_ip_literal(url.host):
            extensions["sni_hostname"] = url.raw_host.decode("ascii")
        target = url.copy_with(host=str(address), fragment=None)
        return client.build_request("GET", target, headers=headers, extensions=extensions)

    def _render(self, page: _Page) -> str:
        text = _decode(page)
        if page.status >= 400:
            raise ToolError(f"HTTP {page.status} from {page.url}:\n{text[:2000]}")
        note = ""
        if page.truncated:
            note = f"\n[The response was cut at {self.max_bytes} bytes.]"
        if len(text) > self.max_chars:
            text = text[: self.max_chars]
            note = f"\n[Cut at {self.max_chars} characters.]"
        kind = page.content_type.split(";")[0].strip() or "unknown"
        return f"URL: {page.url}\nStatus: {page.status}\nContent-Type: {kind}\n\n{text}{note}"


async def _send(
    client: httpx.AsyncClient, request: httpx.Request, url: httpx.URL
) -> httpx.Response:
    try:
        return await client.send(request, stream=True)
    except (httpx.InvalidURL, ValueError) as exc:
        # httpx prepares the next request of a redirect inside send(), even when it
        # will not follow it: a malformed Location fails there, before anything is sent.
        raise ToolError(
            f"{url} answered with a malformed redirect ({exc}); it was not followed"
        ) from None


def _redirect(url: httpx.URL, location: str) -> httpx.URL:
    try:
        target = str(url.join(location))
    except (httpx.InvalidURL, ValueError) as exc:
        raise ToolError(
            f"{url} redirected to a malformed address {location!r} ({exc}); it was not followed"
        ) from None
    return _parse(target, redirected_from=url)


def _parse(url: str, redirected_from: httpx.URL | None = None) -> httpx.URL:
    where = f" (redirected from {redirected_from})" if redirected_from is not None else ""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise ToolError(f"Invalid URL {url!r}{where}: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise ToolError(f"Only http:// and https:// URLs can be fetched, not {url!r}{where}")
    if not parsed.host:
        raise ToolError(f"The URL {url!r}{where} has no host")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise ToolError(f"The URL {url!r}{where} has an invalid port, {parsed.port}")
    if parsed.userinfo:
        raise ToolError(f"URLs with a user name or password are refused: {url!r}{where}")
    return parsed


def _decode(page: _Page) -> str:
    kind = page.content_type.split(";")[0].strip().lower()
    is_html = kind in ("text/html", "application/xhtml+xml")
    textual = is_html or kind.startswith(_TEXT_TYPES) or kind.endswith(("+json", "+xml"))
    if (kind and not textual) or (not kind and b"\x00" in page.body[:1024]):
        kind = kind or "binary data"
        raise ToolError(f"{page.url} returned {kind} ({len(page.body)} bytes), which is not text")
    try:
        text = page.body.decode(page.encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = page.body.decode("utf-8", errors="replace")
    return html_to_text(text) if is_html else text


def _normal_host(host: str) -> str:
    return host.strip().lower().rstrip(".").strip("[]")


def _listed(host: str, hosts: frozenset[str]) -> bool:
    """Whether ``host`` is in ``hosts``, where ".example.com" admits example.com and below."""
    return host in hosts or any(
        h.startswith(".") and (host == h[1:] or host.endswith(h)) for h in hosts
    )


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
