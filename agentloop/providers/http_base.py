"""`HTTPBase`, the first layer of `HTTPModel`: where a model is served and how it is reached.

The endpoint (URL, auth header, key and base-URL variables), the key (`Secret`, the
environment) and the credential hook (`authenticator`), the headers of every request and the
secrets masked in errors and logs, the transports (made on first use) and the retry policy.
`agentloop.providers.http_send` sends over it, `agentloop.providers.http_stream` streams,
and `agentloop.providers.http.HTTPModel` adds what a codec writes.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from agentloop.downloads import MAX_DOWNLOAD_BYTES
from agentloop.errors import MissingKeyError
from agentloop.model import Model
from agentloop.providers.authenticator import Authenticator
from agentloop.providers.endpoints import Endpoint
from agentloop.providers.http_auth import Secret, with_auth
from agentloop.providers.redaction import secrets_of
from agentloop.providers.retry import RetryPolicy
from agentloop.providers.transport import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    AsyncTransport,
    HTTPRequest,
    Timeout,
    Transport,
)

if TYPE_CHECKING:
    import httpx

#: The longest backoff between a model's own retries (a batch waits up to a minute).
MAX_BACKOFF = 8.0


class HTTPBase(Model):
    """The endpoint, key, headers and transports of an `HTTPModel` (see there)."""

    #: Where the model is served: URL, auth, key and base-URL variables, quirks. Each
    #: subclass names its own; ``endpoint=`` replaces it for one model.
    endpoint: Endpoint
    #: The most bytes fetched from a media URL the wire format cannot take (its bytes are
    #: sent instead); past it the request fails with `MediaTooLargeError`.
    max_media_bytes: int = MAX_DOWNLOAD_BYTES
    #: Credential headers fetched for each request as it is sent (a cloud's short-lived
    #: tokens: `providers/authenticator.py`); None: only the endpoint's key header.
    authenticator: Authenticator | None = None

    def __init__(
        self,
        model_name: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_READ_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_retries: int = 2,
        retry_backoff: float = 0.5,
        options: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        transport: Transport | None = None,
        async_transport: AsyncTransport | None = None,
        endpoint: Endpoint | None = None,
    ) -> None:
        if endpoint is not None:
            self.endpoint = endpoint
        self.model_name = model_name
        self.model_id = f"{self.provider}/{model_name}"
        self.base_url = (base_url or self.configured_base_url()).rstrip("/")
        self.timeout = Timeout(timeout, connect_timeout)
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        #: Default options sent with every request (per-call options win), over the endpoint's.
        self.options = {**self.endpoint.options, **(options or {})}
        self.extra_headers = dict(headers or {})
        self._api_key = Secret(api_key)
        over_clients = self._over_clients(http_client, async_http_client)
        self._transport = transport or over_clients[0]
        self._async_transport = async_transport or over_clients[1]

    # -- the endpoint ------------------------------------------------------------

    @property
    def provider(self) -> str:
        """The endpoint's name: in errors, logs and ``model_id`` (``"groq"``)."""
        return self.endpoint.name

    @property
    def key_env(self) -> tuple[str, ...]:
        return self.endpoint.key_env

    @property
    def requires_key(self) -> bool:
        return self.endpoint.requires_key

    def configured_base_url(self) -> str:
        """The base URL when ``base_url=`` is not given: the endpoint's variable, else its
        default."""
        variable = self.endpoint.base_url_env
        return (os.environ.get(variable) if variable else None) or self.endpoint.base_url

    def url(self, *, stream: bool = False) -> str:
        """Where a request goes: the base URL and the endpoint's path."""
        return self.endpoint.url(self.base_url, model=self.model_name)

    def request_headers(self) -> dict[str, str]:
        """The endpoint's headers, its auth header with the key, then ``headers=``.

        The caller's headers win, and a credential header given there under any case
        (``Authorization``) replaces the endpoint's rather than travelling beside it.
        """
        given = {name.lower() for name in self.extra_headers}
        auth = self.endpoint.auth_headers(self.api_key() if self.endpoint.auth != "none" else None)
        auth = {name: value for name, value in auth.items() if name not in given}
        return {**self.endpoint.headers, **auth, **self.extra_headers}

    def sign(self, request: HTTPRequest) -> HTTPRequest:
        """The request as sent, after the codec encoded it: the model's last word on its
        headers, over the exact body bytes (AWS SigV4 signs them). As it is, by default."""
        return request

    # -- keys --------------------------------------------------------------------

    def api_key(self) -> str | None:
        """The key: the ``api_key=`` argument, else the environment. Never logged."""
        if self._api_key.value:
            return self._api_key.value
        for name in self.key_env:
            if os.environ.get(name):
                return os.environ[name]
        if self.requires_key:
            names = " or ".join(self.key_env) or "an API key"
            raise MissingKeyError(
                f"No API key for {self.provider}: set {names} or pass api_key= to get_model()"
            )
        return None

    def secrets_to_mask(self, sent: Mapping[str, str] | None = None) -> tuple[str, ...]:
        """The key, and the credentials among the model's headers and those ``sent``."""
        headers = {**self.extra_headers, **(sent or {})}
        try:
            key = self.api_key()
        except MissingKeyError:
            key = None
        fetched = self.authenticator.secrets() if self.authenticator is not None else ()
        return secrets_of(headers, [key, *fetched])

    def _authorized(self, wire: HTTPRequest) -> HTTPRequest:
        """``wire`` with the authenticator's headers (a header the caller gave wins)."""
        if self.authenticator is None:
            return wire
        return with_auth(wire, self.authenticator.headers(wire))

    async def _aauthorized(self, wire: HTTPRequest) -> HTTPRequest:
        """`_authorized`, awaitable."""
        if self.authenticator is None:
            return wire
        return with_auth(wire, await self.authenticator.aheaders(wire))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.model_id!r} at {self.base_url}>"

    # -- transports --------------------------------------------------------------

    @property
    def transport(self) -> Transport:
        """The blocking transport: httpx unless another was given (made on first use)."""
        if self._transport is None:
            from agentloop.providers.httpx_transport import HTTPXTransport

            self._transport = HTTPXTransport(timeout=self.timeout)
        return self._transport

    @property
    def async_transport(self) -> AsyncTransport:
        """The async transport: aiohttp unless another was given (made on first use)."""
        if self._async_transport is None:
            from agentloop.providers.aiohttp_transport import AiohttpTransport

            self._async_transport = AiohttpTransport(timeout=self.timeout)
        return self._async_transport

    @property
    def client(self) -> httpx.Client:
        """The ``httpx.Client`` of the blocking transport, when it is the httpx one."""
        from agentloop.providers.httpx_transport import HTTPXTransport

        transport = self.transport
        if not isinstance(transport, HTTPXTransport):
            raise TypeError(f"{self!r} sends through {type(transport).__name__}, not httpx")
        return transport.client

    def with_transports(
        self,
        transport: Transport | None = None,
        async_transport: AsyncTransport | None = None,
        *,
        max_retries: int | None = None,
    ) -> Self:
        """A copy of this model sending through these transports (None: its own, made on
        first use). The original keeps its transports and settings. A copy with none
        holds no sockets or locks, so it can be pickled to another process."""
        copied = copy.copy(self)
        copied._transport = transport
        copied._async_transport = async_transport
        if max_retries is not None:
            copied.max_retries = max_retries
        return copied

    def with_clients(
        self,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        *,
        max_retries: int | None = None,
    ) -> Self:
        """`with_transports` for httpx clients (None: a default transport, made on first use)."""
        over_clients = self._over_clients(http_client, async_http_client)
        return self.with_transports(*over_clients, max_retries=max_retries)

    def _over_clients(
        self, http_client: httpx.Client | None, async_http_client: httpx.AsyncClient | None
    ) -> tuple[Transport | None, AsyncTransport | None]:
        if http_client is None and async_http_client is None:
            return None, None  # no httpx import for nothing
        from agentloop.providers.httpx_transport import over_clients

        return over_clients(http_client, async_http_client, self.timeout)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    async def aclose(self) -> None:
        if self._async_transport is not None:
            await self._async_transport.aclose()

    def retry_policy(self) -> RetryPolicy:
        """The model's own retries: ``max_retries`` after the first request."""
        return RetryPolicy(self.max_retries + 1, None, self.retry_backoff, MAX_BACKOFF)
