"""Running prompts: one prompt as a conversation, and a pool of workers over many.

This is the part of a batch that runs in one process, whether the process is
the caller's or a Ray worker's: `run_prompts` takes ``(index, key,
messages)`` items and reports each [`BatchResult`][agentloop.batch.BatchResult] as it finishes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentloop.batch.calls import LimitedModel, RetryPolicy, batch_models
from agentloop.batch.collector import fewer_collections
from agentloop.batch.limits import RateLimiter
from agentloop.batch.results import BatchResult, parse_output
from agentloop.conversation import AsyncConversation
from agentloop.errors import AgentloopError
from agentloop.messages import Message
from agentloop.model import Model
from agentloop.response import ChainResponse, Response
from agentloop.server_tools import ServerTool
from agentloop.structured import OutputSchema, json_schema, schema_name
from agentloop.tools import Tool, ToolSource
from agentloop.usage import Usage

#: Workers started per turn of the event loop. Started all at once, each runs its first
#: step (messages encoded, connection opened) before any sends: the first request of 500
#: leaves after all 500 steps (~0.1 s of CPU) and the loop then idles until replies come.
#: Started in groups, the first requests leave at once and their wait overlaps the rest.
STARTED_AT_ONCE = 25

#: One prompt to run: its position in the caller's list, its key, its messages.
Item = tuple[int, str, list[Message]]


@dataclass(slots=True)
class Job:
    """What every prompt of one batch call shares."""

    system: str | None = None
    #: With tools, each prompt runs a chain (the tool loop); without, one model call.
    tools: list[Tool] = field(default_factory=list)
    schema: OutputSchema | None = None
    options: dict[str, Any] = field(default_factory=dict)
    chain_limit: int | None = None
    #: Each prompt's ``max_cost`` / ``max_total_tokens``. Not part of `settings`: a rerun
    #: with a larger budget keeps the answers it has and asks the prompts that hit it.
    max_cost: float | None = None
    max_total_tokens: int | None = None
    #: Tools the provider runs itself (``WebSearch()``...), sent with each prompt's requests.
    server_tools: tuple[ServerTool, ...] = ()

    def settings(self, model_ids: Sequence[str]) -> dict[str, Any]:
        """Everything that changes the answer, for the results file's keys."""
        # Listed only when given, so that results files written before they existed still match.
        server = {"server_tools": [repr(t) for t in self.server_tools]} if self.server_tools else {}
        return {
            **server,
            "models": sorted(model_ids),
            "system": self.system,
            "tools": [[t.name, t.description, t.parameters] for t in self.tools],
            "schema": json_schema(self.schema) if self.schema is not None else None,
            "schema_name": schema_name(self.schema) if self.schema is not None else None,
            "options": self.options,
            "chain_limit": self.chain_limit,
        }

    def messages(self, prompt: list[Message]) -> list[Message]:
        """The prompt's messages, with the batch's system prompt unless it has its own."""
        if self.system is None or (prompt and prompt[0].role == "system"):
            return list(prompt)
        return [Message.system(self.system), *prompt]


async def run_prompts(
    job: Job,
    items: Iterable[Item],
    models: Sequence[Model],
    limiter: RateLimiter,
    policy: RetryPolicy,
    concurrency: int,
    on_result: Callable[[BatchResult], None],
    stop: Callable[[], bool] | None = None,
) -> None:
    """Run every item, ``concurrency`` at a time, reporting each result as it finishes.

    Once ``stop()`` is true no further item starts (those running finish); the items
    never started get no result.
    """
    pending = list(items)
    if not pending:
        return
    with fewer_collections(concurrency, len(pending)):
        await _run_pool(job, pending, models, limiter, policy, concurrency, on_result, stop)


async def _run_pool(
    job: Job,
    pending: list[Item],
    models: Sequence[Model],
    limiter: RateLimiter,
    policy: RetryPolicy,
    concurrency: int,
    on_result: Callable[[BatchResult], None],
    stop: Callable[[], bool] | None,
) -> None:
    queue = iter(pending)  # shared by the workers: each takes the next item when free
    async with batch_models(models, concurrency) as sending:

        async def worker() -> None:
            # Asked before taking an item, so one never leaves the queue unstarted.
            while stop is None or not stop():
                item = next(queue, None)
                if item is None:
                    return
                index, key, messages = item
                result = await run_prompt(job, index, messages, sending, limiter, policy)
                result.key = key
                on_result(result)

        workers: list[asyncio.Task[None]] = []
        try:
            for started in range(min(concurrency, len(pending))):
                if started and started % STARTED_AT_ONCE == 0:
                    await asyncio.sleep(0)  # let those started send (see STARTED_AT_ONCE)
                workers.append(asyncio.create_task(worker()))
            await asyncio.gather(*workers)
        finally:
            for running in workers:  # only after a failure or a cancellation
                running.cancel()


async def run_prompt(
    job: Job,
    index: int,
    messages: list[Message],
    models: Sequence[Model],
    limiter: RateLimiter,
    policy: RetryPolicy,
) -> BatchResult:
    """One prompt, never raising: a failure becomes the result's ``error``."""
    model = LimitedModel(models, index, limiter, policy)
    tools: list[ToolSource] = [*job.tools, *job.server_tools]
    conversation = AsyncConversation(job.messages(messages), model=model, tools=tools)
    started = time.monotonic()
    response: Response | ChainResponse | None = None
    try:
        response = await _ask(job, conversation)
        result = _answered(index, response, job)
    except Exception as exc:
        result = BatchResult(index, None, error=exc)
        if conversation.responses:  # a chain that failed part-way keeps what it paid for
            result.usage = Usage.sum(r.usage() for r in conversation.responses)
    result.model = model.served_by
    result.attempts = model.attempts
    result.elapsed = time.monotonic() - started
    return result


async def _ask(job: Job, conversation: AsyncConversation) -> Response | ChainResponse:
    limits = (job.max_cost, job.max_total_tokens)
    conversation.spend_limit = conversation.spend_limit.override(*limits)
    if job.tools:
        chain_response = conversation.chain(
            None, schema=job.schema, chain_limit=job.chain_limit, **job.options
        )
        await chain_response
        if chain_response.state is not None:
            raise AgentloopError(
                "The chain paused for a decision on a tool call; a batch cannot wait for "
                "one: give tools that need no approval"
            )
        return chain_response
    response = conversation.prompt(None, schema=job.schema, **job.options)
    await response
    return response


def _answered(index: int, response: Response | ChainResponse, job: Job) -> BatchResult:
    result = BatchResult(index, response.text(), response.usage(), _response=response)
    if job.schema is not None:
        parse_output(result, response)
    return result
