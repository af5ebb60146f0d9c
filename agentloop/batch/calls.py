"""One model call of a batch: estimate it, wait for the budget, send it, retry it, settle it.

`LimitedModel` stands in for the real model inside each prompt's
conversation, so every call a chain makes (its first, each step after a tool
ran, every retry) passes the client's one `RateLimiter`.

Retries live here, not in the transport: the batch's private copy of an HTTP
model has ``max_retries=0`` (`batch_models`), and ``max_attempts``
counts every request sent for one call. The two never multiply, and each
attempt is charged to the budget like any request, which is what the provider
counts too.
"""

from __future__ import annotations

import asyncio
import random
import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from agentloop.batch.limits import RateLimiter
from agentloop.batch.tokens import request_tokens
from agentloop.errors import ProviderError, ProviderTimeoutError, RateLimitError
from agentloop.model import Model
from agentloop.providers.base import Reply, Request
from agentloop.providers.http import MAX_RETRY_AFTER, HTTPModel


@dataclass(slots=True)
class RetryPolicy:
    """How a call is retried: ``max_attempts`` requests in all, each within ``request_timeout``."""

    max_attempts: int = 5
    request_timeout: float | None = None
    #: Base of the exponential backoff (seconds) after a retryable failure other than a
    #: 429 that came without ``retry-after`` (429s pause everyone; see RateLimiter).
    retry_backoff: float = 1.0

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER)
        ceiling = min(self.retry_backoff * 2**attempt, MAX_RETRY_AFTER)
        return random.uniform(ceiling / 2, ceiling)  # jitter: retries do not stampede


class LimitedModel(Model):
    """One prompt's view of the batch's models: every call rate limited and retried.

    With several models, prompt ``i`` starts on model ``i % n`` (the batch is
    spread over them) and each retry moves to the next one (a failing model
    falls back to the others).
    """

    blocking_io = False
    can_stream = False

    def __init__(
        self,
        models: Sequence[Model],
        first: int,
        limiter: RateLimiter,
        policy: RetryPolicy,
    ) -> None:
        self.models = models
        self.first = first
        self.limiter = limiter
        self.policy = policy
        self.model_id = models[first % len(models)].model_id
        #: Requests sent for this prompt (every attempt of every call).
        self.attempts = 0
        #: The model that answered the most recent call.
        self.served_by: str | None = None

    def complete(self, request: Request) -> Reply:
        from agentloop.shells import portal

        return portal.run(self.acomplete(request))

    async def acomplete(self, request: Request) -> Reply:
        last_error: ProviderError | None = None
        for attempt in range(self.policy.max_attempts):
            model = self.models[(self.first + attempt) % len(self.models)]
            estimate = (
                request_tokens(request, getattr(model, "provider", None))
                if self.limiter.tokens is not None
                else 0
            )
            ticket = await self.limiter.acquire(estimate)
            self.attempts += 1
            try:
                reply = await self._send(model, request)
            except ProviderError as exc:
                if not exc.retryable:
                    raise
                last_error = exc
                if isinstance(exc, RateLimitError):
                    self.limiter.back_off(exc.retry_after)
                elif attempt + 1 < self.policy.max_attempts:
                    await asyncio.sleep(self.policy.backoff(attempt, exc.retry_after))
                continue
            usage = reply.usage
            self.limiter.settle(ticket, usage.total_tokens)
            self.served_by = model.model_id
            return reply
        assert last_error is not None  # max_attempts >= 1 is checked by the client
        raise last_error

    async def _send(self, model: Model, request: Request) -> Reply:
        timeout = self.policy.request_timeout
        if timeout is None:
            return await model.acomplete(request)
        try:
            async with asyncio.timeout(timeout):
                return await model.acomplete(request)
        except TimeoutError:
            raise ProviderTimeoutError(
                f"no answer within request_timeout={timeout:g} s",
                provider=getattr(model, "provider", model.model_id),
            ) from None


#: Connections per httpx pool. httpcore scans every connection of its pool for each
#: request, so one pool of 500 connections costs quadratic time; lanes of this many
#: keep the scan short.
CONNECTIONS_PER_LANE = 8


@asynccontextmanager
async def batch_models(
    models: Sequence[Model], connections: int
) -> AsyncIterator[list[list[Model]]]:
    """The models a batch sends through, in *lanes*: HTTP models get private copies.

    Each lane is the list of models with its own httpx connection pool (at most
    `CONNECTIONS_PER_LANE` connections; ``connections`` in all), bound to
    the running event loop and closed afterwards; worker ``w`` uses lane
    ``w % len(lanes)``. The copies have ``max_retries=0``: the batch retries,
    under the rate limits. The caller's model objects are left untouched, and
    models that are not HTTP models are used as they are.
    """
    lanes = max(1, -(-connections // CONNECTIONS_PER_LANE))
    per_lane = -(-connections // lanes)
    clients: list[httpx.AsyncClient] = []
    prepared: list[list[Model]] = []
    uses_http = any(isinstance(m, HTTPModel) for m in models)
    # One TLS context for every pool: loading the CA bundle takes ~20 ms each time.
    tls: ssl.SSLContext | bool = httpx.create_ssl_context() if uses_http else True
    limits = httpx.Limits(max_connections=per_lane, max_keepalive_connections=per_lane)
    for _ in range(lanes if uses_http else 1):
        lane: list[Model] = []
        for model in models:
            if isinstance(model, HTTPModel):
                client = httpx.AsyncClient(timeout=model.timeout, limits=limits, verify=tls)
                clients.append(client)
                lane.append(model.with_clients(async_http_client=client, max_retries=0))
            else:
                lane.append(model)
        prepared.append(lane)
    try:
        yield prepared
    finally:
        for client in clients:
            await client.aclose()
