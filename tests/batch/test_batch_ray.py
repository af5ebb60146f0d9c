"""The batch over several workers: chunks, shares of the limits, results back in order.

The distribution code is exercised in-process (``local_backend``: the same chunks,
specs and records as with Ray, workers in this process), and against a real local
Ray instance (``ray.init`` with 2 CPUs) when Ray is installed.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fast_server import FastServer, last_user_text, process_id

import agentloop
from agentloop import FunctionModel, LLMClient, Message, Request
from agentloop.batch import ray as distributed
from agentloop.batch.runner import Job

# Under pytest-xdist this module runs on one worker: two workers each starting a local Ray
# instance at once would clash and oversubscribe the cores.
pytestmark = pytest.mark.xdist_group("ray")


def answer(request: Request) -> str:
    return f"answer {request.last_user_text}"


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> list[distributed.WorkerSpec]:
    """Swap Ray for in-process workers; returns the specs the workers were given."""
    specs: list[distributed.WorkerSpec] = []

    def backend(
        spec: distributed.WorkerSpec, workers: int
    ) -> tuple[list[distributed.Submit], Callable[[], None]]:
        specs.append(spec)
        return distributed.local_backend(spec, workers)

    monkeypatch.setattr(distributed, "ray_backend", backend)
    return specs


def test_results_from_several_workers_come_back_in_order(
    in_process: list[distributed.WorkerSpec], tmp_path: Path
) -> None:
    client = LLMClient(FunctionModel(answer), ray_workers=3)
    file = tmp_path / "results.jsonl"

    results = client.process_prompts_sync([str(i) for i in range(50)], results_file=file)

    assert [r.completion for r in results] == [f"answer {i}" for i in range(50)]
    assert [r.index for r in results] == list(range(50))
    assert len(file.read_text().splitlines()) == 50


def test_each_worker_gets_its_share_of_the_limits_and_concurrency(
    in_process: list[distributed.WorkerSpec],
) -> None:
    client = LLMClient(
        FunctionModel(answer),
        max_requests_per_minute=6000,
        max_tokens_per_minute=300_000,
        max_concurrent_requests=30,
        ray_workers=3,
    )

    client.process_prompts_sync(["a", "b", "c"])

    [spec] = in_process
    assert (spec.requests_per_minute, spec.tokens_per_minute) == (2000, 100_000)
    assert spec.concurrency == 10


def test_chunks_cover_every_prompt_once_in_order() -> None:
    items = [(i, f"k{i}", [Message.user(str(i))]) for i in range(37)]

    chunks = distributed.plan_chunks(items, workers=2)

    flat = [entry for chunk in chunks for entry in chunk]
    assert [index for index, _, _ in flat] == list(range(37))
    assert len(chunks) == 8  # about four chunks a worker, so the work evens out
    assert json.dumps(chunks)  # plain data, whatever carries it


def dying_workers(dead: int) -> Any:
    """A backend whose first ``dead`` workers fail every chunk they are given."""

    def backend(
        spec: distributed.WorkerSpec, workers: int
    ) -> tuple[list[distributed.Submit], Callable[[], None]]:
        submitters, stop = distributed.local_backend(spec, workers)

        async def dies(chunk: distributed.Chunk) -> list[dict[str, Any]]:
            raise ConnectionError("worker lost")

        return [dies] * dead + submitters[dead:], stop

    return backend


def test_the_chunk_of_a_worker_that_dies_goes_to_another_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(distributed, "ray_backend", dying_workers(1))
    client = LLMClient(FunctionModel(answer), ray_workers=2)

    results = client.process_prompts_sync([str(i) for i in range(8)])

    assert [r.completion for r in results] == [f"answer {i}" for i in range(8)]


def test_when_every_worker_dies_the_prompts_fail_and_the_batch_still_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(distributed, "ray_backend", dying_workers(2))
    client = LLMClient(FunctionModel(answer), ray_workers=2)

    results = client.process_prompts_sync([str(i) for i in range(8)])

    assert [r.index for r in results] == list(range(8))
    assert all(isinstance(r.error, ConnectionError) for r in results)


def test_http_models_travel_without_their_connections() -> None:
    model = agentloop.get_model("openai-compatible/m", base_url="http://127.0.0.1:9/v1")
    _ = model.client  # type: ignore[attr-defined]  # a sync client is open now

    shipped = distributed.detached(model)

    assert shipped._transport is None  # type: ignore[attr-defined]
    assert shipped._async_transport is None  # type: ignore[attr-defined]
    assert copy.deepcopy(shipped).model_id == model.model_id
    assert model._transport is not None  # type: ignore[attr-defined]  # the caller's is untouched


def test_without_ray_installed_the_error_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(name: str) -> Any:
        raise ImportError(name)

    monkeypatch.setattr(distributed.importlib, "import_module", missing)

    with pytest.raises(ImportError, match=r"agentloop-kit\[ray\]"):
        distributed.import_ray()


def test_the_job_travels_with_the_spec() -> None:
    client = LLMClient(FunctionModel(answer), ray_workers=2)
    job = Job(system="be brief", options={"temperature": 0})

    spec = distributed.worker_spec(client, job, 2)

    assert copy.deepcopy(spec).job == job


# -- a real local Ray instance -------------------------------------------------------


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    here = str(Path(__file__).parent)  # so workers can import fast_server's functions
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": here}},
    )
    try:
        yield ray
    finally:
        ray.shutdown()


def test_a_batch_on_ray_is_spread_over_worker_processes(ray_instance: Any) -> None:
    client = LLMClient(FunctionModel(process_id), ray_workers=2)

    results = client.process_prompts_sync([str(i) for i in range(16)])

    assert all(r.ok for r in results), [r.error for r in results if r.error]
    processes = {r.completion for r in results}
    assert len(processes) == 2
    assert str(os.getpid()) not in processes


def test_a_batch_on_ray_workers_answers_every_prompt_in_order_within_the_limits(
    ray_instance: Any,
) -> None:
    with FastServer() as server:
        model = agentloop.get_model("openai-compatible/m", base_url=server.base_url)
        client = LLMClient(model, ray_workers=2, max_requests_per_minute=2400, window_seconds=1.0)

        results = client.process_prompts_sync([f"p{i}" for i in range(40)])

    assert [r.completion for r in results] == [f"echo: p{i}" for i in range(40)]
    assert sorted(last_user_text(b) for b in server.bodies) == sorted(f"p{i}" for i in range(40))
    # Two workers with 20 a second each: 40 a second together, never more.
    arrivals = sorted(server.arrivals)
    for start, t in enumerate(arrivals):
        inside = [s for s in arrivals[start:] if s < t + 1.0 - 0.005]
        assert len(inside) <= 40
