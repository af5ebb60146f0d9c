"""LLMClient: many prompts through one model (or several), as fast as the limits allow.

::

    client = LLMClient("gpt-4.1-mini", max_requests_per_minute=5_000,
                       max_tokens_per_minute=2_000_000)
    results = client.process_prompts_sync(["What is 2+2?", conversation, message])
    print(results[0].completion)

Everything runs on asyncio through the models' async API; the sync method runs
the async one. See docs/batch.md for the limits, retries, resuming and Ray.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from agentloop.batch.calls import RetryPolicy
from agentloop.batch.collector import fewer_collections
from agentloop.batch.event_loop import run_sync
from agentloop.batch.jsonl import RecordWriter, fingerprint, prompt_key, read_done
from agentloop.batch.limits import RateLimiter
from agentloop.batch.results import BatchResult, rebuild
from agentloop.batch.runner import Item, Job, run_prompts
from agentloop.batch.spend import BatchSpend, not_run
from agentloop.conversation import Conversation
from agentloop.errors import AgentloopError
from agentloop.loop import AfterCall, Approve, BeforeCall
from agentloop.messages import Message
from agentloop.model import AsyncModel, Model
from agentloop.spending import check_spend_limit
from agentloop.structured import OutputSchema
from agentloop.toolbox import close_toolboxes, prepare_toolboxes, toolboxes_in
from agentloop.tools import ToolSource, collect_server_tools, collect_tools, tool_sources

if TYPE_CHECKING:
    from agentloop.batch.jobs import BatchJob
    from agentloop.batch.submit import Settings

#: What one prompt of a batch may be.
PromptLike = str | Message | Sequence[Message] | Conversation
ModelLike = str | Model | AsyncModel


class LLMClient:
    """A batch client: rate limits, concurrency and retries shared by every prompt.

    ``model_or_models`` is a model name (resolved with [`agentloop.get_model`][agentloop.get_model],
    ``model_kwargs`` such as ``api_key=`` or ``base_url=`` going to it), a model,
    or a list of them: prompt ``i`` goes to model ``i % n`` and a retry moves to
    the next model. The limits are the client's, shared by all its models.

    - ``max_requests_per_minute`` / ``max_tokens_per_minute``: never exceeded over
      any sliding ``window_seconds`` (60 by default; shorter windows are for
      tests), with starts paced evenly; None means no limit.
    - ``max_concurrent_requests``: prompts in progress at once.
    - ``max_attempts``: requests sent for one model call, the first included.
      The models' own transport retries are off inside the batch, so the two
      never multiply; a 429 pauses every prompt for its ``retry-after``.
    - ``request_timeout``: seconds one attempt may take (None: the model's own timeouts).
    - ``retry_backoff``: base seconds of the exponential backoff between attempts.
    - ``progress``: a progress bar (None: only when standard error is a terminal).
    - ``ray_workers``: run on Ray over this many workers, each with its share of
      the limits (needs ``pip install 'agentloop-kit[ray]'``).
    - ``batch_poll_interval``: seconds between two looks at a provider batch job in the
      batch-API mode (``batch_api=True``, ``submit_batch_*``; docs/batch.md).
    """

    def __init__(
        self,
        model_or_models: ModelLike | Sequence[ModelLike],
        *,
        max_requests_per_minute: float | None = None,
        max_tokens_per_minute: float | None = None,
        max_concurrent_requests: int = 64,
        max_attempts: int = 5,
        request_timeout: float | None = None,
        retry_backoff: float = 1.0,
        window_seconds: float = 60.0,
        progress: bool | None = None,
        ray_workers: int | None = None,
        batch_poll_interval: float = 30.0,
        **model_kwargs: Any,
    ) -> None:
        if max_concurrent_requests < 1:
            raise ValueError("max_concurrent_requests must be at least 1")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1 (the first request counts)")
        if ray_workers is not None and ray_workers < 1:
            raise ValueError("ray_workers must be at least 1, or None to run in this process")
        self.models = resolve_models(model_or_models, model_kwargs)
        self.limiter = RateLimiter(
            max_requests_per_minute,
            max_tokens_per_minute,
            window=window_seconds,
            retry_backoff=retry_backoff,
        )
        self.policy = RetryPolicy(max_attempts, request_timeout, retry_backoff)
        self.max_concurrent_requests = max_concurrent_requests
        self.progress = progress
        self.ray_workers = ray_workers
        self.batch_poll_interval = batch_poll_interval

    def __repr__(self) -> str:
        names = ", ".join(m.model_id for m in self.models)
        return f"<LLMClient [{names}]>"

    def process_prompts_sync(
        self, prompts: Sequence[PromptLike], **kwargs: Any
    ) -> list[BatchResult]:
        """[`process_prompts_async`][agentloop.LLMClient.process_prompts_async], blocking; works
        inside a running event loop too."""
        batch = self.process_prompts_async(prompts, **kwargs)
        # From the start: making each prompt's messages and key allocates as much as a
        # prompt in flight does (see collector.py).
        with fewer_collections(self.max_concurrent_requests, len(prompts)):
            return run_sync(batch)

    async def process_prompts_async(
        self,
        prompts: Sequence[PromptLike],
        *,
        system: str | None = None,
        tools: Sequence[ToolSource] = (),
        schema: OutputSchema | None = None,
        results_file: str | os.PathLike[str] | None = None,
        progress: bool | None = None,
        chain_limit: int | None = None,
        max_cost: float | None = None,
        max_total_tokens: int | None = None,
        batch_max_cost: float | None = None,
        batch_max_total_tokens: int | None = None,
        batch_api: bool = False,
        **options: Any,
    ) -> list[BatchResult]:
        """One result per prompt, in order. A failed prompt has ``error`` set; the rest go on.

        Prompts are strings, [`Message`][agentloop.Message] objects, lists of messages or
        [`Conversation`][agentloop.Conversation] objects. ``tools=`` runs each prompt as a chain
        (the tool loop); ``schema=`` asks for structured output (``result.parsed``);
        ``system=`` is added to prompts that have no system message; other
        keywords (``temperature=``, ``max_tokens=``...) go to every call.
        ``results_file=`` streams each result to a JSONL file as it finishes; a
        rerun with the same file returns the prompts answered there without
        asking again.

        ``max_cost`` (USD) and ``max_total_tokens`` limit each prompt (one that reaches them
        fails with [`BudgetExceeded`][agentloop.errors.BudgetExceeded]);
        ``batch_max_cost`` and ``batch_max_total_tokens`` the whole call: once the prompts
        finished so far have spent that much, no other prompt starts, those in flight
        finish, and the rest fail with [`PromptNotRun`][agentloop.errors.PromptNotRun] and
        are not written to ``results_file`` (a rerun asks them). See docs/cost.md.

        ``batch_api=True`` sends the prompts through the providers' batch APIs instead, at
        half the price, answered within 24 hours, tool chains in rounds (docs/batch.md).
        """
        if batch_api:
            return await self._through_batch_api(
                prompts,
                results_file,
                progress,
                system=system,
                tools=tools,
                schema=schema,
                chain_limit=chain_limit,
                options=options,
                refused={
                    "max_cost": max_cost,
                    "max_total_tokens": max_total_tokens,
                    "batch_max_cost": batch_max_cost,
                    "batch_max_total_tokens": batch_max_total_tokens,
                },
            )
        prompt_limit = check_spend_limit(max_cost, max_total_tokens)
        spend = BatchSpend.checked(
            batch_max_cost, batch_max_total_tokens, self.models, prompt_limit
        )
        if spend.limited and self.ray_workers is not None:
            raise ValueError("batch_max_cost and batch_max_total_tokens do not work on Ray yet")
        conversations = [as_messages(p, i) for i, p in enumerate(prompts)]
        sources = tool_sources(tools)
        fresh_boxes = [box for box in toolboxes_in(sources) if not box.prepared]
        try:
            await prepare_toolboxes(sources)  # before collect_tools: prepare() may add tools
            job = Job(system, list(collect_tools(sources).values()), schema, options, chain_limit)
            job.max_cost, job.max_total_tokens = max_cost, max_total_tokens
            job.server_tools = collect_server_tools(sources)
            shared = fingerprint(job.settings([m.model_id for m in self.models]))
            keys = [prompt_key(job.messages(m), shared) for m in conversations]
            results = _answered_before(keys, results_file, schema)
            pending: list[Item] = [
                (i, keys[i], conversations[i]) for i in range(len(keys)) if results[i] is None
            ]
            enabled = self.progress if progress is None else progress
            await self._run_and_record(job, pending, results, results_file, enabled, spend)
        finally:
            await close_toolboxes(fresh_boxes)
        for index, key, _ in pending:
            if results[index] is None and spend.reached():
                results[index] = not_run(index, key, spend)
        answered = [r for r in results if r is not None]
        if len(answered) != len(results):  # every path above reports every prompt
            raise AgentloopError("internal error: a prompt of the batch got no result")
        return answered

    # -- the batch-API mode (agentloop.batch.submit) --------------------------------------

    def submit_batch_sync(self, prompts: Sequence[PromptLike], **kwargs: Any) -> BatchJob:
        """[`submit_batch_async`][agentloop.LLMClient.submit_batch_async], blocking."""
        return run_sync(self.submit_batch_async(prompts, **kwargs))

    async def submit_batch_async(
        self,
        prompts: Sequence[PromptLike],
        *,
        system: str | None = None,
        tools: Sequence[ToolSource] = (),
        schema: OutputSchema | None = None,
        chain_limit: int | None = None,
        handle_file: str | os.PathLike[str] | None = None,
        progress: bool | None = None,
        before_call: BeforeCall | None = None,
        after_call: AfterCall | None = None,
        approve: Approve | None = None,
        **options: Any,
    ) -> BatchJob:
        """Submit the prompts to the providers' batch APIs and return the job's handle at
        once: ``wait()``, ``status()``, ``cancel()``, ``results()``. ``handle_file=`` keeps
        the handle on disk, for [`resume_batch`][agentloop.LLMClient.resume_batch]. Same
        prompts and keywords as ``process_prompts_*``, and the hooks of a live chain
        (``before_call``, ``after_call``, ``approve``: one that raises
        [`PauseChain`][agentloop.errors.PauseChain] pauses that prompt only); see
        docs/batch.md."""
        from agentloop.batch.submit import submit

        hooks = _given(before_call=before_call, after_call=after_call, approve=approve)
        settings = self._batch_settings(
            system, tools, schema, chain_limit, options, progress, handle_file, hooks
        )
        conversations = [(i, as_messages(p, i)) for i, p in enumerate(prompts)]
        return await submit(self.models, conversations, settings)

    def resume_batch(
        self,
        handle: str | os.PathLike[str] | dict[str, Any],
        *,
        tools: Sequence[ToolSource] = (),
        schema: OutputSchema | None = None,
        handle_file: str | os.PathLike[str] | None = None,
        progress: bool | None = None,
        before_call: BeforeCall | None = None,
        after_call: AfterCall | None = None,
        approve: Approve | None = None,
    ) -> BatchJob:
        """The batch a saved handle (its file or dict) describes, in this process: give the
        same ``tools=`` and ``schema=``. Its jobs in flight are polled, never submitted again.
        A handle read from a file keeps being saved there (unless ``handle_file=`` says
        elsewhere)."""
        from agentloop.batch.submit import load_handle, resume

        if handle_file is None and not isinstance(handle, dict):
            handle_file = handle
        hooks = _given(before_call=before_call, after_call=after_call, approve=approve)
        settings = self._batch_settings(None, tools, schema, None, {}, progress, handle_file, hooks)
        return run_sync(resume(self.models, load_handle(handle), settings))

    def _batch_settings(
        self,
        system: str | None,
        tools: Sequence[ToolSource],
        schema: OutputSchema | None,
        chain_limit: int | None,
        options: dict[str, Any],
        progress: bool | None,
        handle_file: str | os.PathLike[str] | None = None,
        hooks: dict[str, Any] | None = None,
    ) -> Settings:
        """What every batch-API entry (process, submit, resume) asks, in one place."""
        from agentloop.batch.submit import Settings

        if self.ray_workers is not None:
            raise ValueError("the batch-API mode runs in this process: leave out ray_workers")
        return Settings(
            system,
            tools,
            schema,
            chain_limit,
            options,
            handle_file,
            self.batch_poll_interval,
            self.max_concurrent_requests,
            self.progress if progress is None else progress,
            hooks or {},
        )

    async def _through_batch_api(
        self,
        prompts: Sequence[PromptLike],
        results_file: str | os.PathLike[str] | None,
        progress: bool | None,
        *,
        system: str | None,
        tools: Sequence[ToolSource],
        schema: OutputSchema | None,
        chain_limit: int | None,
        options: dict[str, Any],
        refused: dict[str, object],
    ) -> list[BatchResult]:
        from agentloop.batch.submit import process

        given = [name for name, value in refused.items() if value is not None]
        if given:
            raise ValueError(
                f"{', '.join(given)} cannot limit a batch-API batch (its cost is known only "
                "once a round is answered): leave them out, or run in live mode"
            )
        settings = self._batch_settings(system, tools, schema, chain_limit, options, progress)
        conversations = [as_messages(p, i) for i, p in enumerate(prompts)]
        return await process(self.models, conversations, settings, results_file)

    async def _run_and_record(
        self,
        job: Job,
        pending: list[Item],
        results: list[BatchResult | None],
        results_file: str | os.PathLike[str] | None,
        progress: bool | None,
        spend: BatchSpend,
    ) -> None:
        """Run ``pending``, putting each result in place, the file and the progress bar."""
        from agentloop.batch.progress import BatchProgress  # rich, only when a batch runs

        writer = RecordWriter(results_file) if results_file is not None else None
        bar = BatchProgress(len(results), enabled=progress, done=len(results) - len(pending))

        def finished(result: BatchResult) -> None:
            results[result.index] = result
            spend.add(result.usage)
            if writer is not None:
                writer.write(result.to_record())
            bar.advance(failed=result.error is not None, cost=spend.cost)

        try:
            with bar:
                await self._run(job, pending, finished, spend.reached if spend.limited else None)
        finally:
            if writer is not None:
                writer.close()

    async def _run(
        self,
        job: Job,
        pending: list[Item],
        finished: Callable[[BatchResult], None],
        stop: Callable[[], bool] | None,
    ) -> None:
        if self.ray_workers is not None and pending:
            from agentloop.batch.ray import run_on_ray

            await run_on_ray(self, job, pending, finished, self.ray_workers or 1)
            return
        await run_prompts(
            job,
            pending,
            self.models,
            self.limiter,
            self.policy,
            self.max_concurrent_requests,
            finished,
            stop,
        )


def _given(**hooks: Any) -> dict[str, Any]:
    return {name: hook for name, hook in hooks.items() if hook is not None}


def _answered_before(
    keys: list[str], results_file: str | os.PathLike[str] | None, schema: OutputSchema | None
) -> list[BatchResult | None]:
    """The results a results file already holds, by position; None where a prompt is to ask."""
    done = read_done(results_file) if results_file is not None else {}
    results: list[BatchResult | None] = [None] * len(keys)
    for index, key in enumerate(keys):
        if key in done:
            result = rebuild(done[key], schema, index=index)
            result.resumed = True
            results[index] = result
    return results


def resolve_models(
    model_or_models: ModelLike | Sequence[ModelLike], model_kwargs: dict[str, Any]
) -> list[Model]:
    """Model names, models and async models, as a non-empty list of models."""
    from agentloop.registry import get_model

    items = (
        [model_or_models]
        if isinstance(model_or_models, str | Model | AsyncModel)
        else list(model_or_models)
    )
    if not items:
        raise ValueError("LLMClient needs at least one model")
    models: list[Model] = []
    for item in items:
        if isinstance(item, str):
            models.append(get_model(item, **model_kwargs))
        elif isinstance(item, AsyncModel):
            models.append(item.sync_model)
        elif isinstance(item, Model):
            models.append(item)
        else:
            raise TypeError(
                f"LLMClient takes model names or Model objects, not {type(item).__name__}"
            )
    return models


def as_messages(prompt: PromptLike, index: int) -> list[Message]:
    """One prompt as its list of messages (a copy: the batch never changes the caller's)."""
    if isinstance(prompt, str):
        return [Message.user(prompt)]
    if isinstance(prompt, Message):
        return [prompt]
    if isinstance(prompt, Conversation):
        messages = list(prompt.messages)
    elif isinstance(prompt, list | tuple) and all(isinstance(m, Message) for m in prompt):
        messages = list(prompt)
    else:
        raise TypeError(
            f"prompt {index} is a {type(prompt).__name__}: give a string, a Message, "
            "a list of Messages or a Conversation"
        )
    if not messages:
        raise ValueError(f"prompt {index} has no messages")
    return messages
