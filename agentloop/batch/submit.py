"""Opening a batch-API batch: a new one submitted, or one resumed from its saved handle.

`LLMClient`'s batch-API entry points come here (``submit_batch_*``, ``resume_batch`` and
``process_prompts_*(batch_api=True)``). Everything about a model that cannot go into a batch
is checked first, so a provider without a batch API fails before anything is uploaded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agentloop.batch.jobs import VERSION, BatchJob, SubmittedJob, batch_api_of
from agentloop.batch.jsonl import RecordWriter, fingerprint, prompt_key, read_done
from agentloop.batch.results import BatchResult, rebuild
from agentloop.batch.rounds import PromptState
from agentloop.batch.runner import Job
from agentloop.errors import ResumeError
from agentloop.messages import Message
from agentloop.model import Model
from agentloop.structured import OutputSchema
from agentloop.toolbox import close_toolboxes, prepare_toolboxes, toolboxes_in
from agentloop.tools import ToolSource, collect_tools, tool_sources


@dataclass(slots=True)
class Settings:
    """What a batch-API batch is asked, besides its prompts."""

    system: str | None = None
    tools: Sequence[ToolSource] = ()
    schema: OutputSchema | None = None
    chain_limit: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    handle_file: str | os.PathLike[str] | None = None
    poll_interval: float = 30.0
    concurrency: int = 64
    progress: bool | None = None
    #: ``before_call``, ``after_call``, ``approve`` (those given), as for a live chain.
    hooks: dict[str, Any] = field(default_factory=dict)


async def _job(models: Sequence[Model], settings: Settings) -> tuple[Job, str]:
    for model in models:
        batch_api_of(model)  # no batch API: refused before any toolbox or upload
    sources = tool_sources(settings.tools)
    fresh = [box for box in toolboxes_in(sources) if not box.prepared]
    await prepare_toolboxes(sources)  # before collect_tools: prepare() may add tools
    try:
        tools = list(collect_tools(sources).values())
    finally:
        await close_toolboxes(fresh)
    job = Job(settings.system, tools, settings.schema, settings.options, settings.chain_limit)
    return job, fingerprint(job.settings([m.model_id for m in models]))


def _handle(
    models: Sequence[Model], job: Job, prompts: list[PromptState], shared: str, s: Settings
) -> BatchJob:
    return BatchJob(
        {m.model_id: m for m in models},
        job,
        prompts,
        shared,
        handle_file=s.handle_file,
        poll_interval=s.poll_interval,
        concurrency=s.concurrency,
        progress=s.progress,
        hooks=s.hooks,
    )


async def submit(
    models: Sequence[Model], prompts: Sequence[tuple[int, list[Message]]], settings: Settings
) -> BatchJob:
    """A new batch, its first round submitted. ``prompts``: (index, messages) pairs; prompt
    ``i`` goes to model ``i % len(models)``."""
    job, shared = await _job(models, settings)
    states = [
        PromptState(index, job.messages(messages), models[index % len(models)].model_id)
        for index, messages in prompts
    ]
    handle = _handle(models, job, states, shared, settings)
    await handle.submit_async()
    return handle


def load_handle(handle: str | os.PathLike[str] | dict[str, Any]) -> dict[str, Any]:
    """A saved handle: its dict, or read from its file."""
    if isinstance(handle, dict):
        return handle
    try:
        with open(handle, encoding="utf-8") as source:
            data = json.load(source)
    except (OSError, ValueError) as exc:
        raise ResumeError(f"cannot read the batch handle {os.fspath(handle)!r}: {exc}") from exc
    if not isinstance(data, dict):
        raise ResumeError(f"{os.fspath(handle)!r} holds no batch handle")
    return data


async def resume(models: Sequence[Model], saved: dict[str, Any], settings: Settings) -> BatchJob:
    """The batch a saved handle describes, with the same tools and schema given again."""
    if saved.get("version") != VERSION:
        raise ResumeError(f"a batch handle of version {saved.get('version')!r}, not {VERSION}")
    settings.system = saved.get("system")
    settings.options = dict(saved.get("options") or {})
    settings.chain_limit = saved.get("chain_limit")
    named = {str(p["model"]) for p in saved["prompts"]}
    known = {m.model_id: m for m in models}
    if not named <= set(known):
        missing = ", ".join(sorted(named - set(known)))
        raise ResumeError(f"the batch was run on {missing}: give the client that model")
    used = [known[name] for name in sorted(named)]
    job, shared = await _job(used, settings)
    if shared != saved.get("fingerprint"):
        raise ResumeError(
            "the tools or schema differ from the batch's: give the same tools= and schema= "
            "as when it was submitted"
        )
    prompts = [PromptState.from_dict(p, settings.schema) for p in saved["prompts"]]
    handle = _handle(used, job, prompts, shared, settings)
    handle.round = int(saved.get("round") or 0)
    handle.jobs = [SubmittedJob.from_dict(j) for j in saved.get("jobs") or []]
    handle.cancelled = bool(saved.get("cancelled"))
    return handle


async def process(
    models: Sequence[Model],
    conversations: list[list[Message]],
    settings: Settings,
    results_file: str | os.PathLike[str] | None,
) -> list[BatchResult]:
    """``process_prompts_*(batch_api=True)``: submit, wait, results. With ``results_file``,
    the prompts answered there are not asked again, and the handle is kept beside it
    (``<results_file>.batch.json``) until the batch ends, so a rerun resumes the batch in
    flight rather than submitting it again."""
    if results_file is None:
        handle = await submit(models, list(enumerate(conversations)), settings)
        return await handle.wait_async()
    settings.handle_file = f"{os.fspath(results_file)}.batch.json"
    job, shared = await _job(models, settings)
    keys = [prompt_key(job.messages(m), shared) for m in conversations]
    done = read_done(results_file)
    results: list[BatchResult | None] = [None] * len(keys)
    for index, key in enumerate(keys):
        if key in done:
            results[index] = rebuild(done[key], settings.schema, index=index)
            results[index].resumed = True  # type: ignore[union-attr]
    pending = [(i, conversations[i]) for i in range(len(keys)) if results[i] is None]
    if pending:
        if os.path.exists(settings.handle_file):
            handle = await resume(models, load_handle(settings.handle_file), settings)
            if {p.index for p in handle.prompts} != {i for i, _ in pending}:
                raise ResumeError(
                    f"{settings.handle_file} is the batch of other prompts: finish it with "
                    "resume_batch(), or delete it to submit these"
                )
        else:
            handle = await submit(models, pending, settings)
        with RecordWriter(results_file) as writer:
            for result in await handle.wait_async():
                result.key = keys[result.index]
                results[result.index] = result
                writer.write(result.to_record())
        os.remove(settings.handle_file)
    return [r for r in results if r is not None]
