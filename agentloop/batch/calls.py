"""One model call of a batch: estimate it, wait for the budget, send it, retry it, settle it.

`LimitedModel` stands in for the real model inside each prompt's
conversation, so every call a chain makes (its first, each step after a tool
ran, every retry) passes the client's one `RateLimiter`.

Retries follow the one policy of `agentloop.providers.retry`, applied here,
not in the transport: the batch's private copy of an HTTP model has
``max_retries=0`` (`batch_models`), and ``max_attempts`` counts every request
sent for one call. The two never multiply, and each attempt is charged to the
budget like any request, which is what the provider counts too. A 429 pauses
every prompt of the batch (`RateLimiter.back_off`) rather than its call alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from agentloop.batch.limits import RateLimiter
from agentloop.errors import ProviderTimeoutError
from agentloop.model import Model
from agentloop.providers.base import Reply, Request
from agentloop.providers.http import HTTPModel
from agentloop.providers.retry import RetryPolicy
from agentloop.tokens import request_tokens

__all__ = ["LimitedModel", "RetryPolicy", "batch_models"]


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
        #: The prompt's position in the batch (its chain's span carries it: docs/tracing.md).
        self.prompt_index = first
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
        return await self.policy.acall(
            f"batch prompt {self.first}",
            lambda number: self._attempt(request, number),
            on_rate_limit=self.limiter.back_off,
        )

    async def _attempt(self, request: Request, number: int) -> Reply:
        """Attempt ``number`` (from 1), on the next model in turn, within the limits."""
        model = self.models[(self.first + number - 1) % len(self.models)]
        estimate = (
            request_tokens(request, model.token_rules) if self.limiter.tokens is not None else 0
        )
        ticket = self.limiter.free_ticket(estimate) or await self.limiter.acquire(estimate)
        self.attempts += 1
        if self.policy.request_timeout is None:
            reply = await model.acomplete(request)  # no `_send` coroutine for nothing
        else:
            reply = await self._send(model, request)
        self.limiter.settle(ticket, reply.usage.total_tokens)
        self.served_by = model.model_id
        return reply

    async def _send(self, model: Model, request: Request) -> Reply:
        """``model``'s answer within the policy's ``request_timeout``."""
        timeout = self.policy.request_timeout
        try:
            async with asyncio.timeout(timeout):
                return await model.acomplete(request)
        except TimeoutError:
            raise ProviderTimeoutError(
                f"no answer within request_timeout={timeout:g} s",
                provider=getattr(model, "provider", model.model_id),
            ) from None


@asynccontextmanager
async def batch_models(models: Sequence[Model], connections: int) -> AsyncIterator[list[Model]]:
    """The models a batch sends through: HTTP models get private copies.

    Each copy sends through its own aiohttp pool of up to ``connections``
    connections (the batch's concurrency), bound to the running event loop and
    closed afterwards; the copies share one TLS context (loading the CA bundle
    takes ~20 ms). They have ``max_retries=0``: the batch retries, under the rate
    limits. The caller's model objects are left untouched, and models that are
    not HTTP models are used as they are.
    """
    from agentloop.providers.aiohttp_transport import AiohttpTransport, default_ssl_context

    transports: list[AiohttpTransport] = []
    prepared: list[Model] = []
    tls = default_ssl_context() if any(isinstance(m, HTTPModel) for m in models) else None
    for model in models:
        if isinstance(model, HTTPModel):
            transport = AiohttpTransport(
                timeout=model.timeout, connections=connections, ssl_context=tls
            )
            transports.append(transport)
            prepared.append(model.with_transports(async_transport=transport, max_retries=0))
        else:
            prepared.append(model)
    try:
        yield prepared
    finally:
        for transport in transports:
            await transport.aclose()
