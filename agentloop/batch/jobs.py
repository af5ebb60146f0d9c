"""The batch-API mode's job handle: rounds of provider batch jobs, saved between steps.

A [`BatchJob`][agentloop.batch.BatchJob] holds every prompt's state (`rounds.PromptState`)
and the provider jobs of the round in flight (id, model, the custom id of each request and
the prompt it belongs to). One round: every unfinished prompt's next request is encoded by
its model's codec exactly as a live call would be, grouped by model, split within the
provider's limits and submitted; once every job of the round has ended, each reply (or
error) goes back to its prompt, whose tools then run locally (`rounds.advance`), and the
prompts that made new calls form the next round. The handle is written to its file after
each job is created and after each round, so another process can resume it
(``LLMClient.resume_batch``): jobs already submitted are polled, never submitted again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from agentloop.batch.event_loop import run_sync
from agentloop.batch.results import BatchResult
from agentloop.batch.rounds import PromptState, advance, priced
from agentloop.batch.runner import Job
from agentloop.errors import (
    AgentloopError,
    BatchCancelledError,
    BatchUnsupportedError,
    ResponseFormatError,
)
from agentloop.model import Model
from agentloop.providers.base import Reply, Request
from agentloop.providers.batch_wire import BatchAPI, JobStatus, job_error
from agentloop.providers.http import HTTPModel
from agentloop.response import ChainState

logger = logging.getLogger("agentloop.batch.jobs")
#: The version of the saved handle's layout.
VERSION = 1
#: One prompt's outcome in a round: the reply, or the error that stands for it.
Outcome = tuple[Reply | None, BaseException | None]


def batch_api_of(model: Model) -> BatchAPI:
    """``model``'s batch API, or `BatchUnsupportedError` (before anything is uploaded)."""
    make = getattr(model, "batch_api", None)
    api = make() if callable(make) and isinstance(model, HTTPModel) else None
    if api is None:
        raise BatchUnsupportedError(
            f"{model.model_id} has no batch API in agentloop (its wire format offers none; "
            "docs/batch.md lists those that do): run it in live mode (batch_api=False)"
        )
    return cast(BatchAPI, api)


@dataclass(slots=True)
class SubmittedJob:
    """One provider job of the round in flight."""

    id: str
    model_id: str
    #: Each request's custom id and the prompt (its index) it belongs to.
    custom_ids: dict[str, int]
    state: str = "validating"
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model_id,
            "custom_ids": self.custom_ids,
            "state": self.state,
            "counts": self.counts,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmittedJob:
        ids = {str(k): int(v) for k, v in dict(data["custom_ids"]).items()}
        return cls(str(data["id"]), str(data["model"]), ids, str(data["state"]), data["counts"])


@dataclass(slots=True)
class BatchStatus:
    """Where a batch-API batch stands: its round, that round's jobs, prompts finished."""

    round: int
    jobs: list[SubmittedJob]
    finished: int
    total: int
    cancelled: bool

    @property
    def done(self) -> bool:
        return self.finished == self.total


class BatchJob:
    """A batch running through the providers' batch APIs: ``wait()``, ``status()``,
    ``cancel()``, ``results()``, and ``to_dict()``/``save()`` to resume it elsewhere with
    [`LLMClient.resume_batch`][agentloop.LLMClient.resume_batch]. Made by
    [`LLMClient.submit_batch_sync`][agentloop.LLMClient.submit_batch_sync]."""

    def __init__(
        self,
        models: dict[str, Model],
        job: Job,
        prompts: list[PromptState],
        fingerprint: str,
        *,
        round: int = 0,
        jobs: Sequence[SubmittedJob] = (),
        cancelled: bool = False,
        handle_file: str | os.PathLike[str] | None = None,
        poll_interval: float = 30.0,
        concurrency: int = 64,
        progress: bool | None = None,
        hooks: dict[str, Any] | None = None,
    ) -> None:
        self.models = models
        #: ``before_call``, ``after_call``, ``approve``: as in a live chain.
        self.hooks = dict(hooks or {})
        self.job = job
        self.prompts = prompts
        self.fingerprint = fingerprint
        self.round = round
        self.jobs = list(jobs)
        self.cancelled = cancelled
        self.handle_file = handle_file
        self.poll_interval = poll_interval
        self.concurrency = concurrency
        self.progress = progress
        self.apis = {model_id: batch_api_of(model) for model_id, model in models.items()}

    def __repr__(self) -> str:
        ids = ", ".join(j.id for j in self.jobs) or "none in flight"
        return f"<BatchJob round {self.round}: {ids}>"

    # -- the handle ------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The handle as JSON: the round, its jobs and every prompt's state."""
        return {
            "version": VERSION,
            "fingerprint": self.fingerprint,
            "system": self.job.system,
            "options": self.job.options,
            "chain_limit": self.job.chain_limit,
            "round": self.round,
            "cancelled": self.cancelled,
            "jobs": [j.to_dict() for j in self.jobs],
            "prompts": [p.to_dict() for p in self.prompts],
        }

    def save(self, path: str | os.PathLike[str] | None = None) -> None:
        """Write the handle to ``path`` (the ``handle_file`` by default), atomically."""
        target = path if path is not None else self.handle_file
        if target is None:
            raise ValueError("save() needs a path: this batch was submitted without handle_file")
        temporary = f"{os.fspath(target)}.tmp"
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(self.to_dict(), out)
        os.replace(temporary, target)

    def _saved(self) -> None:
        if self.handle_file is not None:
            self.save()

    @property
    def finished(self) -> bool:
        return all(p.result is not None for p in self.prompts)

    # -- rounds ----------------------------------------------------------------------

    async def submit_async(self) -> None:
        """Submit the next round, unless one is in flight or every prompt has finished."""
        if self.jobs or self.cancelled or self.finished:
            return
        await self._submit(await self._advance_all({}))

    async def _advance_all(self, outcomes: dict[int, Outcome]) -> dict[int, Request]:
        """Give each unfinished prompt its outcome and run its tools; its next requests."""
        gate = asyncio.Semaphore(self.concurrency)
        requests: dict[int, Request] = {}

        async def one(state: PromptState) -> None:
            async with gate:
                reply, error = outcomes.get(state.index, (None, None))
                request = await advance(state, self.job, reply, error, self.hooks)
            if request is not None:
                requests[state.index] = request

        await asyncio.gather(*(one(p) for p in self.prompts if p.result is None))
        return requests

    async def _submit(self, requests: dict[int, Request]) -> None:
        if not requests:
            self._saved()
            return
        self.round += 1
        by_model: dict[str, list[tuple[str, int, bytes]]] = {}
        states = {p.index: p for p in self.prompts}
        for index in sorted(requests):
            state = states[index]
            model = cast(HTTPModel, self.models[state.model_id])
            custom_id = f"r{self.round}-p{index}"
            call = model.encode(requests[index], stream=False)
            line = self.apis[state.model_id].line(custom_id, call)
            by_model.setdefault(state.model_id, []).append((custom_id, index, line))
        for model_id, lines in by_model.items():
            api = self.apis[model_id]
            for chunk in split(lines, api.limits.max_requests, api.limits.max_bytes):
                status = await api.create([line for _, _, line in chunk])
                submitted = SubmittedJob(status.id, model_id, {c: i for c, i, _ in chunk})
                submitted.state, submitted.counts = status.state, status.counts
                self.jobs.append(submitted)
                self._saved()  # at once: a job created is never created again
                logger.info(
                    "batch round %d: job %s on %s, %d requests",
                    self.round,
                    status.id,
                    model_id,
                    len(chunk),
                )

    async def _poll(self) -> list[JobStatus]:
        statuses = []
        for submitted in self.jobs:
            status = await self.apis[submitted.model_id].retrieve(submitted.id)
            submitted.state, submitted.counts = status.state, status.counts
            statuses.append(status)
        return statuses

    async def _collect(self, statuses: list[JobStatus]) -> dict[int, Outcome]:
        """Every request's outcome from the ended jobs, by prompt."""
        outcomes: dict[int, Outcome] = {}
        for submitted, status in zip(self.jobs, statuses, strict=True):
            api = self.apis[submitted.model_id]
            lines = await api.outcomes(status, list(submitted.custom_ids))
            model = cast(HTTPModel, self.models[submitted.model_id])
            for custom_id, index in submitted.custom_ids.items():
                line = lines.get(custom_id)
                if line is None:
                    outcomes[index] = (None, _missing(status, model.provider))
                elif line.error is not None:
                    outcomes[index] = (None, line.error)
                else:
                    outcomes[index] = _decoded(model, line.body, submitted.model_id)
        return outcomes

    # -- waiting -----------------------------------------------------------------------

    async def wait_async(
        self, *, progress: bool | None = None, poll_interval: float | None = None
    ) -> list[BatchResult]:
        """Run the batch to its end: poll the round's jobs, run the tools, submit the next
        round, until every prompt has its result (which it returns, in prompt order)."""
        from agentloop.batch.progress import BatchProgress  # rich, only when waiting

        interval = self.poll_interval if poll_interval is None else poll_interval
        enabled = self.progress if progress is None else progress
        done = sum(p.result is not None for p in self.prompts)
        with BatchProgress(len(self.prompts), enabled=enabled, done=done) as bar:
            while not self.finished:
                if not self.jobs:
                    if self.cancelled:
                        self._cancel_rest()
                        break
                    await self.submit_async()
                    continue
                statuses = await self._poll()
                self._saved()
                if not all(s.ended for s in statuses):
                    logger.info("batch round %d: %s", self.round, _summary(self.jobs))
                    await asyncio.sleep(interval)
                    continue
                outcomes = await self._collect(statuses)
                self.jobs = []
                requests = await self._advance_all(outcomes)
                if self.cancelled:
                    self._cancel_rest()
                else:
                    await self._submit(requests)
                self._saved()
                now = sum(p.result is not None for p in self.prompts)
                bar.advance(count=now - done, cost=self.cost)
                done = now
        return self.results()

    def _cancel_rest(self) -> None:
        for state in self.prompts:
            if state.result is None:
                error = BatchCancelledError(
                    "the batch was cancelled before this prompt finished",
                    provider=state.model_id.split("/")[0],
                    error_type="cancelled",
                )
                state.result = BatchResult(state.index, None, state.usage, error=error)

    @property
    def cost(self) -> float | None:
        """USD spent so far, at the batch rate (None when a price is unknown)."""
        total: float | None = 0.0
        for state in self.prompts:
            cost = state.usage.cost
            total = None if total is None or cost is None else total + cost
        return total

    def paused(self) -> dict[int, ChainState]:
        """The chains paused for a decision (an approver or hook raised
        [`PauseChain`][agentloop.errors.PauseChain]), by prompt index: resume each live with
        ``conversation.resume(state, decisions)`` (kept with the handle, so in any process)."""
        return {
            p.index: ChainState.from_dict(p.paused) for p in self.prompts if p.paused is not None
        }

    def results(self) -> list[BatchResult]:
        """One result per prompt, in order; waits for the batch first if it has not ended."""
        if not self.finished:
            return self.wait()
        out = []
        for state in self.prompts:
            assert state.result is not None
            state.result.index = state.index
            out.append(state.result)
        return out

    def wait(
        self, *, progress: bool | None = None, poll_interval: float | None = None
    ) -> list[BatchResult]:
        """[`wait_async`][agentloop.batch.BatchJob.wait_async], blocking."""
        return run_sync(self.wait_async(progress=progress, poll_interval=poll_interval))

    async def status_async(self) -> BatchStatus:
        """The round's jobs as the providers describe them now."""
        await self._poll()
        self._saved()
        return self._status()

    def status(self) -> BatchStatus:
        """[`status_async`][agentloop.batch.BatchJob.status_async], blocking."""
        return run_sync(self.status_async())

    def _status(self) -> BatchStatus:
        finished = sum(p.result is not None for p in self.prompts)
        jobs = list(self.jobs)
        return BatchStatus(self.round, jobs, finished, len(self.prompts), self.cancelled)

    async def cancel_async(self) -> BatchStatus:
        """Cancel the round's jobs; no round follows. ``wait()`` then gathers what they
        answered; the rest fail with
        [`BatchCancelledError`][agentloop.errors.BatchCancelledError]."""
        self.cancelled = True
        for submitted in self.jobs:
            status = await self.apis[submitted.model_id].cancel(submitted.id)
            submitted.state, submitted.counts = status.state, status.counts
        self._saved()
        return self._status()

    def cancel(self) -> BatchStatus:
        """[`cancel_async`][agentloop.batch.BatchJob.cancel_async], blocking."""
        return run_sync(self.cancel_async())


def split(
    lines: list[tuple[str, int, bytes]], max_requests: int, max_bytes: int
) -> list[list[tuple[str, int, bytes]]]:
    """Lines in order, cut into jobs of at most ``max_requests`` lines and ``max_bytes`` bytes
    (a newline or comma apart); a single line over the byte limit goes alone."""
    chunks: list[list[tuple[str, int, bytes]]] = []
    current: list[tuple[str, int, bytes]] = []
    size = 0
    for item in lines:
        grown = size + len(item[2]) + 1
        if current and (len(current) >= max_requests or grown > max_bytes):
            chunks.append(current)
            current, grown = [], len(item[2]) + 1
        current.append(item)
        size = grown
    if current:
        chunks.append(current)
    return chunks


def _decoded(model: HTTPModel, body: Any, model_id: str) -> Outcome:
    try:
        return priced(model.decode(body), model_id), None
    except AgentloopError as error:  # a malformed answer fails its prompt only
        return None, error


def _missing(status: JobStatus, provider: str) -> BaseException:
    if status.state == "completed":
        message = "the batch job ended without a result for this request"
        return ResponseFormatError(message, provider=provider)
    return job_error(status.state, provider, status.message)


def _summary(jobs: list[SubmittedJob]) -> str:
    return ", ".join(f"{j.id} {j.state} {j.counts}" for j in jobs)
