"""Credentials fetched per request: the auth hook of `HTTPModel`.

An endpoint's key travels in a fixed header (`Endpoint.auth_headers`). A cloud's credential
does not: Vertex AI's Application Default Credentials and Azure's Entra ID tokens are
short-lived bearer tokens, fetched (I/O) and refreshed when they expire. An `Authenticator`
gives the headers for one request as it is about to be sent, blocking or awaited, so the
codecs stay pure and the model's sync and async sides share one rule. Whatever it returns
is masked in logs and errors like any credential header (`providers/redaction.py`), and
its `secrets` are masked wherever they appear.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable
from typing import Protocol

from agentloop.errors import AuthenticationError
from agentloop.providers.transport import HTTPRequest


class Authenticator(Protocol):
    """The credential headers of one request, fetched or refreshed as needed."""

    def headers(self, request: HTTPRequest) -> dict[str, str]:
        """The headers to add to ``request`` (blocking: may fetch a token)."""
        ...

    async def aheaders(self, request: HTTPRequest) -> dict[str, str]:
        """`headers`, awaitable: the event loop keeps running while a token is fetched."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """The values to mask in errors and logs (the current token)."""
        ...


#: A caller's token provider: returns a bearer token, or an awaitable of one.
TokenProvider = Callable[[], "str | Awaitable[str]"]


class BearerTokenAuth:
    """``Authorization: Bearer <token>`` from a token provider the caller passes, called for
    every request (Azure's ``get_bearer_token_provider`` caches and refreshes by itself).

    A provider returning an awaitable is awaited on the async side; on the blocking side it
    is run to completion on a private event loop.
    """

    def __init__(
        self, token_provider: TokenProvider, *, provider: str, what: str = "the token provider"
    ) -> None:
        self.token_provider = token_provider
        self.provider = provider
        self.what = what
        self._last: str | None = None
        self._lock = threading.Lock()

    def headers(self, request: HTTPRequest) -> dict[str, str]:
        token = self.token_provider()
        if inspect.isawaitable(token):
            token = asyncio.run(_awaited(token))
        return self._bearer(token)

    async def aheaders(self, request: HTTPRequest) -> dict[str, str]:
        token = self.token_provider()
        if inspect.isawaitable(token):
            token = await token
        return self._bearer(token)

    def secrets(self) -> tuple[str, ...]:
        return (self._last,) if self._last else ()

    def _bearer(self, token: object) -> dict[str, str]:
        if not isinstance(token, str) or not token:
            raise AuthenticationError(
                f"{self.what} returned {type(token).__name__}, not a token string",
                provider=self.provider,
            )
        with self._lock:
            self._last = token
        return {"authorization": f"Bearer {token}"}

    def __repr__(self) -> str:
        return f"BearerTokenAuth({self.what})"  # never the token


async def _awaited(value: Awaitable[str]) -> str:
    return await value
