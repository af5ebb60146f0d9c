"""`HTTPSender`, the second layer of `HTTPModel`: sending a request under the retries, and
every typed error an HTTP failure becomes.

An encoded call goes out as bytes through the model's transport (`_post`, `_apost`; `delete`
and `post_json` for the other calls a provider makes), each attempt logged
(`agentloop.providers.request_log`, signed once by `sign`), retried under the one policy
(`agentloop.providers.retry`); a failure status becomes the typed error in one place
(`http_error`, keys masked), a network failure a `ProviderTimeoutError` or
`ProviderConnectionError`, a reply body is read under the wire kit's limits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from agentloop.errors import (
    AuthenticationError,
    ModelNotFoundError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    ResponseFormatError,
)
from agentloop.providers.http_base import HTTPBase
from agentloop.providers.http_call import HTTPCall, wire_request
from agentloop.providers.http_errors import classify, parse_error_body, parse_retry_after
from agentloop.providers.redaction import redact, redact_error
from agentloop.providers.request_log import RequestLog
from agentloop.providers.transport import (
    HTTPRequest,
    HTTPResponse,
    TransportError,
    TransportTimeout,
)
from agentloop.providers.wire_json import load_reply

T = TypeVar("T")


class HTTPSender(HTTPBase):
    """Sending under the retries and the errors of an `HTTPModel` (see there)."""

    # -- blocking ----------------------------------------------------------------

    def _post(self, call: HTTPCall) -> Any:
        """Send ``call`` under the retries and return the reply's JSON."""
        log = self._log(self._authorized(wire_request(call)))
        response = self._retrying(lambda attempt: self._send(log, attempt))
        return self._json(response.status, response.body, log.wire)

    def _retrying(self, attempt: Callable[[int], T]) -> T:
        if self.max_retries <= 0:
            return attempt(1)  # a batch's copy: the batch retries
        return self.retry_policy().call(self.model_id, attempt)

    def _checked(
        self, response: HTTPResponse, log: RequestLog, attempt: int, started: float
    ) -> HTTPResponse:
        """Log a response; an HTTP failure becomes the typed error, key masked."""
        if response.status >= 400:
            status, headers = response.status, response.headers
            raise self._status_error(status, headers, response.body, log, attempt, started)
        log.received(response.status, attempt, started, response.body)
        return response

    def _send(self, log: RequestLog, attempt: int) -> HTTPResponse:
        started = log.sending()
        try:
            response = self.transport.send(log.wire)
        except TransportError as exc:
            raise self._network_error(exc, log, attempt, started) from exc
        return self._checked(response, log, attempt, started)

    def post_json(self, url: str, body: dict[str, Any]) -> Any:
        """POST ``body`` to ``url`` with the model's headers and key, under its retries, and
        return the reply's JSON; a failure is the same typed error as a completion's."""
        return self._post(HTTPCall(url, body, self.request_headers()))

    def delete(self, url: str) -> None:
        """DELETE ``url`` with the model's headers and key, under its retries (a resource the
        model made on the provider, such as a Gemini context cache); a failure is the same
        typed error as a completion's."""
        log = self._log(self._authorized(HTTPRequest("DELETE", url, self.request_headers())))
        self._retrying(lambda attempt: self._send(log, attempt))

    # -- async -------------------------------------------------------------------

    async def _apost(self, call: HTTPCall) -> Any:
        """`_post`, awaitable."""
        wire = wire_request(call)
        # most models sign nothing: no `_aauthorized` coroutine for them
        log = self._log(wire if self.authenticator is None else await self._aauthorized(wire))
        response: HTTPResponse = await (
            self._asend(log, 1)  # a batch's copy (the batch retries): no coroutine between
            if self.max_retries <= 0
            else self._aretrying(log, self._asend)
        )
        return self._json(response.status, response.body, log.wire)

    async def _aretrying(
        self, log: RequestLog, send: Callable[[RequestLog, int], Awaitable[T]]
    ) -> T:
        if self.max_retries <= 0:
            return await send(log, 1)  # a batch's copy: the batch retries
        return await self.retry_policy().acall(self.model_id, lambda n: send(log, n))

    async def _asend(self, log: RequestLog, attempt: int) -> HTTPResponse:
        started = log.sending()
        try:
            response = await self.async_transport.send(log.wire)
        except TransportError as exc:
            raise self._network_error(exc, log, attempt, started) from exc
        return self._checked(response, log, attempt, started)

    async def apost_json(self, url: str, body: dict[str, Any]) -> Any:
        """`post_json`, awaitable."""
        return await self._apost(HTTPCall(url, body, self.request_headers()))

    async def adelete(self, url: str) -> None:
        """`delete`, awaitable."""
        wire = await self._aauthorized(HTTPRequest("DELETE", url, self.request_headers()))
        log = self._log(wire)
        await self._aretrying(log, self._asend)

    # -- errors ------------------------------------------------------------------

    def error_class(self, status: int, error_type: str | None, message: str) -> type[ProviderError]:
        """Which error a failure is; a provider with statuses of its own overrides this."""
        return classify(status, error_type, message)

    def error_from_response(
        self, status: int, text: str, headers: Mapping[str, str]
    ) -> ProviderError:
        """The typed error for an HTTP failure (a pure function of what was received).

        ``text`` arrives with keys already masked; providers override this to read
        more from their own error shape, and `http_error` is what calls it.
        """
        error_type, message = parse_error_body(text)
        kind = self.error_class(status, error_type, message)
        if kind is AuthenticationError and self.key_env:
            message = f"{message} (check {' or '.join(self.key_env)}, or pass api_key=)"
        if kind is ModelNotFoundError:
            message = f"{message} (model {self.model_name!r})"
        return self.provider_error(kind, status, error_type, message, text, headers)

    def provider_error(
        self,
        kind: type[ProviderError],
        status: int,
        error_type: str | None,
        message: str,
        text: str,
        headers: Mapping[str, str],
    ) -> ProviderError:
        """The ``kind`` of error for a failure read as ``error_type`` and ``message``: what
        every `error_from_response` ends with (the body kept, at most 2,000 characters, and
        the ``retry-after`` the headers give)."""
        return kind(
            message or f"HTTP {status}",
            provider=self.provider,
            status=status,
            error_type=error_type,
            body=text[:2000],
            retry_after=parse_retry_after(headers),
        )

    def http_error(
        self,
        status: int,
        text: str,
        headers: Mapping[str, str],
        sent: Mapping[str, str] | None = None,
    ) -> ProviderError:
        """The typed error for an HTTP failure, the one place such errors are made.

        The API key and the credential headers ``sent`` (the model's own when None)
        are masked in the text before `error_from_response` reads it, and in the
        error it returns: a server that echoes request headers cannot leak them.
        """
        secrets = self.secrets_to_mask(sent)
        error = self.error_from_response(status, redact(text, secrets), headers)
        return redact_error(error, secrets)

    def _json(self, status: int, body: bytes, wire: HTTPRequest) -> Any:
        """A reply body's JSON, read under the wire kit's limits (`load_reply`)."""
        try:
            return load_reply(body, provider=self.provider, status=status)
        except ResponseFormatError as error:
            raise redact_error(error, self.secrets_to_mask(wire.headers)) from None

    def _network_error(
        self, exc: TransportError, log: RequestLog, attempt: int, started: float
    ) -> ProviderError:
        error: ProviderError
        if isinstance(exc, TransportTimeout):
            error = ProviderTimeoutError(
                f"no answer from {self.base_url} in time ({exc})", provider=self.provider
            )
        else:
            error = ProviderConnectionError(
                f"could not reach {self.base_url}: {exc}", provider=self.provider
            )
        error = redact_error(error, self.secrets_to_mask(log.wire.headers))
        log.received(None, attempt, started, failure=error)
        return error

    def _status_error(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        log: RequestLog,
        attempt: int,
        started: float,
    ) -> ProviderError:
        """The error for a stream that opened with a failure status (its body read whole)."""
        log.received(status, attempt, started, body)
        return self.http_error(status, body.decode("utf-8", "replace"), headers, log.wire.headers)

    def _log(self, wire: HTTPRequest) -> RequestLog:
        # Signed here, once per request (its retries included): every request the model
        # makes passes through, and the log shows the headers that were sent, masked.
        return RequestLog(self.provider, self.model_name, self.sign(wire), self.secrets_to_mask)
