"""The same batch over several processes or machines, with Ray (``agentloop-kit[ray]``).

The prompts still to ask are cut into chunks. Each of ``ray_workers`` workers
(a Ray actor) holds its share of the client's limits (``1/n`` of the requests
and tokens per minute and of the concurrency) in one rate limiter that lasts
across its chunks, and asks for the next chunk when it is done with one, so a
slow worker never holds the others back. Prompts travel as message dicts and
results come back as records (the results file's lines); the caller's process
puts them back in order, writes the results file and draws the progress bar.

The distribution is written once over a *backend* that makes the workers:
`ray_backend` (actors) or `local_backend` (in this process, for
tests and for trying a setup without a cluster).

It is given what it divides (`Shares`: the client's models, limits and concurrency), not the
client: `agentloop.batch.client` builds on this module.
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import math
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from agentloop.batch.calls import RetryPolicy
from agentloop.batch.limits import RateLimiter
from agentloop.batch.results import BatchResult, rebuild
from agentloop.batch.runner import Item, Job, run_prompts
from agentloop.messages import Message
from agentloop.model import Model
from agentloop.providers.http import HTTPModel

#: One chunk as it travels: (index, key, messages as dicts) per prompt.
Chunk = list[tuple[int, str, list[dict[str, Any]]]]
#: Sends a chunk to one worker; resolves to the records of its prompts.
Submit = Callable[[Chunk], Awaitable[list[dict[str, Any]]]]
#: Makes ``n`` workers from a spec: their submit functions and how to stop them.
Backend = Callable[["WorkerSpec", int], tuple[list[Submit], Callable[[], None]]]

#: The most prompts in one chunk: results come back (and reach the file) chunk by chunk.
MAX_CHUNK = 256


class Shares(Protocol):
    """What the workers share out (an [`LLMClient`][agentloop.LLMClient] is one)."""

    @property
    def models(self) -> Sequence[Model]: ...
    @property
    def limiter(self) -> RateLimiter: ...
    @property
    def policy(self) -> RetryPolicy: ...
    @property
    def max_concurrent_requests(self) -> int: ...


@dataclass(slots=True)
class WorkerSpec:
    """Everything a worker needs, picklable: models, its share of the limits, the job."""

    models: list[Model]
    requests_per_minute: float | None
    tokens_per_minute: float | None
    window: float
    policy: RetryPolicy
    concurrency: int
    job: Job


class ShardWorker:
    """Runs chunks of a batch with one worker's share of the limits (a Ray actor's class)."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.limiter = RateLimiter(
            spec.requests_per_minute,
            spec.tokens_per_minute,
            window=spec.window,
            retry_backoff=spec.policy.retry_backoff,
        )

    async def run(self, chunk: Chunk) -> list[dict[str, Any]]:
        items: list[Item] = [
            (index, key, [Message.from_dict(m) for m in messages]) for index, key, messages in chunk
        ]
        records: list[dict[str, Any]] = []
        await run_prompts(
            self.spec.job,
            items,
            self.spec.models,
            self.limiter,
            self.spec.policy,
            self.spec.concurrency,
            lambda result: records.append(result.to_record()),
        )
        return records


def worker_spec(client: Shares, job: Job, workers: int) -> WorkerSpec:
    """One worker's share of ``client``'s limits and concurrency."""
    limiter = client.limiter.share(workers)
    return WorkerSpec(
        models=[detached(m) for m in client.models],
        requests_per_minute=limiter.requests_per_minute,
        tokens_per_minute=limiter.tokens_per_minute,
        window=limiter.window,
        policy=client.policy,
        concurrency=max(1, client.max_concurrent_requests // workers),
        job=job,
    )


def detached(model: Model) -> Model:
    """A copy of ``model`` without open connections, so it can be pickled to a worker."""
    if not isinstance(model, HTTPModel):
        return model
    return model.with_clients()  # httpx clients hold locks and sockets; each worker opens its own


def plan_chunks(items: Sequence[Item], workers: int, chunk_size: int | None = None) -> list[Chunk]:
    """Consecutive chunks, about four per worker (so the work evens out), at most MAX_CHUNK."""
    size = chunk_size or min(MAX_CHUNK, max(1, math.ceil(len(items) / (workers * 4))))
    chunks: list[Chunk] = []
    for start in range(0, len(items), size):
        chunks.append(
            [(i, key, [m.to_dict() for m in msgs]) for i, key, msgs in items[start : start + size]]
        )
    return chunks


async def run_sharded(
    chunks: Sequence[Chunk],
    submitters: Sequence[Submit],
    on_records: Callable[[Chunk, list[dict[str, Any]] | BaseException], None],
) -> None:
    """Keep every worker busy with one chunk at a time until none is left.

    A worker whose chunk fails (its process died, its node was lost) takes no
    more work, and the chunk goes to another worker; a chunk that fails twice,
    or that no live worker is left to take, fails its prompts with the error.
    """
    queue: deque[tuple[Chunk, int]] = deque((chunk, 0) for chunk in chunks)
    last_error: list[BaseException] = []

    async def feed(submit: Submit) -> None:
        while queue:
            chunk, failures = queue.popleft()
            try:
                records = await submit(chunk)
            except Exception as exc:
                last_error.append(exc)
                if failures:
                    on_records(chunk, exc)
                else:
                    queue.append((chunk, 1))
                return
            on_records(chunk, records)

    await asyncio.gather(*(feed(s) for s in submitters))
    for chunk, _ in queue:  # every worker is gone
        on_records(chunk, last_error[-1])


async def run_distributed(
    client: Shares,
    job: Job,
    pending: Sequence[Item],
    finished: Callable[[BatchResult], None],
    backend: Backend,
    workers: int,
) -> None:
    """Run ``pending`` over ``workers`` workers made by ``backend``; report results in any
    order (the caller puts them in place by index)."""
    submitters, stop = backend(worker_spec(client, job, workers), workers)

    def collect(chunk: Chunk, outcome: list[dict[str, Any]] | BaseException) -> None:
        if isinstance(outcome, BaseException):
            for index, key, _ in chunk:
                finished(BatchResult(index, None, error=outcome, key=key))
            return
        for record in outcome:
            finished(rebuild(record, job.schema))

    try:
        await run_sharded(plan_chunks(pending, workers), submitters, collect)
    finally:
        stop()


def local_backend(spec: WorkerSpec, workers: int) -> tuple[list[Submit], Callable[[], None]]:
    """Workers in this process, each with its own copy of the spec (as a process would get)."""
    shards = [ShardWorker(copy.deepcopy(spec)) for _ in range(workers)]
    return [shard.run for shard in shards], lambda: None


def ray_backend(spec: WorkerSpec, workers: int) -> tuple[list[Submit], Callable[[], None]]:
    """One Ray actor per worker; starts a local Ray instance if none is running."""
    ray = import_ray()
    if not ray.is_initialized():
        ray.init()
    cpus = ray.cluster_resources().get("CPU", 0)
    if workers > cpus:
        raise ValueError(
            f"ray_workers={workers} but the Ray cluster has {cpus:g} CPUs; "
            "each worker takes one: lower ray_workers or add nodes"
        )
    actor_class = ray.remote(num_cpus=1)(ShardWorker)
    actors = [actor_class.remote(spec) for _ in range(workers)]

    def submit_to(actor: Any) -> Submit:
        async def submit(chunk: Chunk) -> list[dict[str, Any]]:
            records: list[dict[str, Any]] = await actor.run.remote(chunk)
            return records

        return submit

    def stop() -> None:
        for actor in actors:
            ray.kill(actor)

    return [submit_to(a) for a in actors], stop


async def run_on_ray(
    client: Shares,
    job: Job,
    pending: Sequence[Item],
    finished: Callable[[BatchResult], None],
    workers: int,
) -> None:
    await run_distributed(client, job, pending, finished, ray_backend, workers)


def import_ray() -> Any:
    """The ``ray`` module, or an ImportError saying how to install it."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise ImportError("ray_workers= needs Ray: pip install 'agentloop-kit[ray]'") from None
