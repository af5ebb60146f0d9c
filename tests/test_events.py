"""The events of a run with offline models: approvals, refusals, failures, partial structured
output, events passed out live from tools running concurrently, and none made unread."""

from __future__ import annotations

import asyncio
import itertools
import json
import runpy
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

import agentloop
from agentloop import FunctionModel, PauseChain, Request, TestModel, ToolCall
from agentloop.events import (
    ApprovalDecided,
    ApprovalRequested,
    ChainFinished,
    Event,
    ModelCallFinished,
    PartialOutput,
    TextDelta,
    ToolArgumentsDelta,
    ToolCallReady,
    ToolCallStarted,
    ToolFinished,
    ToolRunning,
    partial_json,
)


def kinds(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


@agentloop.tool(requires_approval=True)
def delete(path: str) -> str:
    "Delete a file."
    return f"deleted {path}"


def test_approval_requested_then_decided_for_each_answer() -> None:
    answers = iter([True, False])
    conversation = TestModel().conversation(tools=[delete], approve=lambda t, c: next(answers))
    for approved in (True, False):
        events = list(conversation.chain("delete: notes.txt", stream=True).events())
        requested = [e for e in events if isinstance(e, ApprovalRequested)]
        decided = [e for e in events if isinstance(e, ApprovalDecided)]
        assert [e.call.name for e in requested] == ["delete"]
        assert [(e.call.name, e.approved) for e in decided] == [("delete", approved)]
        (finished,) = [e for e in events if isinstance(e, ToolFinished)]
        assert finished.is_error is not approved
        order = kinds(events)
        assert order.index("ApprovalRequested") < order.index("ApprovalDecided")
        # A denied call never runs: no ToolRunning, and no time spent.
        assert ("ToolRunning" in order) is approved
        assert (finished.started is None) is not approved


def test_a_paused_chain_ends_with_the_paused_calls_and_resume_reports_the_decision() -> None:
    def ask(tool: Any, call: ToolCall) -> bool:
        raise PauseChain("ask the user")

    conversation = TestModel().conversation(tools=[delete], approve=ask)
    response = conversation.chain("delete: a.txt", stream=True)
    events = list(response.events())
    last = events[-1]
    assert isinstance(last, ChainFinished)
    assert [c.name for c in last.paused] == ["delete"]
    assert last.error is None
    assert response.state is not None
    call_id = response.state.pending[0].tool_call_id
    resumed = conversation.resume(response.state, {call_id: "not today"}, stream=True)
    events = list(resumed.events())
    (decided,) = [e for e in events if isinstance(e, ApprovalDecided)]
    assert (decided.approved, decided.reason) == (False, "not today")
    (finished,) = [e for e in events if isinstance(e, ToolFinished)]
    assert finished.is_error
    assert finished.result.output == "not today"


def test_an_unknown_tool_finishes_as_an_error_without_running() -> None:
    replies = iter([ToolCall("nope", {}, "c1"), "done"])
    model = FunctionModel(lambda request: next(replies))
    events = list(model.chain("go", tools=[delete], stream=True).events())
    assert "ToolRunning" not in kinds(events)
    (finished,) = [e for e in events if isinstance(e, ToolFinished)]
    assert finished.is_error
    assert "Unknown tool" in finished.result.output


def test_a_failed_model_call_and_chain_say_so() -> None:
    def broken(request: Request) -> str:
        raise agentloop.ProviderError("down", provider="function")

    seen: list[Event] = []
    conversation = FunctionModel(broken).conversation()
    conversation.on_event.append(seen.append)
    with pytest.raises(agentloop.ProviderError):
        conversation.chain("go")
    call = next(e for e in seen if isinstance(e, ModelCallFinished))
    assert isinstance(call.error, agentloop.ProviderError)
    assert call.reply is None
    assert call.usage == agentloop.Usage()
    assert call.cost is None
    assert call.finish_reason is None
    assert isinstance(seen[-1], ChainFinished)
    assert seen[-1].error is call.error
    assert seen[-1].model_calls is None


class City(BaseModel):
    name: str
    country: str
    population: int
    districts: list[str]


FINAL = City(name="Paris", country="France", population=2102650, districts=["Louvre", "Bourse"])


def json_in_pieces(request: Request) -> Iterator[str]:
    text = FINAL.model_dump_json()
    for start in range(0, len(text), 3):
        yield text[start : start + 3]


def is_prefix(part: Any, whole: Any) -> bool:
    """Whether ``part`` is what ``whole`` looked like earlier in its JSON text."""
    if isinstance(part, dict):
        keys = list(part)
        return (
            isinstance(whole, dict)
            and keys == list(whole)[: len(keys)]
            and all(part[k] == whole[k] for k in keys[:-1])
            and is_prefix(part[keys[-1]], whole[keys[-1]])
            if keys
            else isinstance(whole, dict)
        )
    if isinstance(part, list):
        return (
            isinstance(whole, list)
            and len(part) <= len(whole)
            and all(a == b for a, b in zip(part[:-1], whole, strict=False))
            and (not part or is_prefix(part[-1], whole[len(part) - 1]))
        )
    if isinstance(part, str):
        return isinstance(whole, str) and whole.startswith(part)
    return bool(part == whole)


def test_partial_output_fills_in_as_prefixes_of_the_final_object() -> None:
    response = FunctionModel(json_in_pieces).prompt("Paris?", schema=City, stream=True)
    partials = [e.value for e in response.events() if isinstance(e, PartialOutput)]
    final = response.parsed()
    assert final == FINAL
    whole = json.loads(FINAL.model_dump_json())
    assert partials[-1] == whole
    assert len(partials) > 10
    assert all(is_prefix(p, whole) for p in partials), partials
    assert all(a != b for a, b in itertools.pairwise(partials))  # only changes
    # Each field complete so far (all but the last one present) validates as the schema says.
    for value in partials:
        for key in list(value)[:-1]:
            TypeAdapter(City.model_fields[key].annotation).validate_python(value[key])


def test_partial_json_leaves_out_what_may_still_grow() -> None:
    assert partial_json('{"a": 12') == {}
    assert partial_json('{"a": 12,') == {"a": 12}
    assert partial_json('{"a": 12 ') == {"a": 12}
    assert partial_json('{"a": "Par') == {"a": "Par"}
    assert partial_json('{"a": [1, 2') == {"a": [1]}
    assert partial_json('{"a": tr') == {}
    assert partial_json('{"a": true') == {"a": True}
    assert partial_json("") is None
    assert partial_json("Let me think") is None


def test_text_chunks_and_text_deltas_agree_and_iteration_is_unchanged() -> None:
    def words(request: Request) -> Iterator[str]:
        yield from ["It ", "is ", "sunny."]

    model = FunctionModel(words)
    assert list(model.prompt("?", stream=True)) == ["It ", "is ", "sunny."]
    events = list(model.prompt("?", stream=True).events())
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["It ", "is ", "sunny."]


def test_events_of_concurrent_tools_are_passed_out_as_they_happen() -> None:
    """The slow tool waits until the reader has seen the quick one finish: were the events
    held back until every tool was done, it would wait in vain."""
    quick_seen = threading.Event()

    def slow(n: int) -> str:
        "Slow."
        return "slow" if quick_seen.wait(10) else "never saw the quick one"

    def quick(n: int) -> str:
        "Quick."
        return "quick"

    model = TestModel()
    response = model.chain("go", tools=[slow, quick], stream=True)
    for event in response.events():
        if isinstance(event, ToolFinished) and event.call.name == "quick":
            quick_seen.set()
    outputs = {r.name: r.output for r in response.tool_results()}
    assert outputs == {"slow": "slow", "quick": "quick"}


def test_async_tools_events_are_passed_out_as_they_happen() -> None:
    async def run() -> dict[str, str]:
        quick_seen = asyncio.Event()

        async def slow(n: int) -> str:
            "Slow."
            try:
                await asyncio.wait_for(quick_seen.wait(), 10)
            except TimeoutError:
                return "never saw the quick one"
            return "slow"

        async def quick(n: int) -> str:
            "Quick."
            return "quick"

        response = TestModel().to_async().chain("go", tools=[slow, quick])
        async for event in response.events():
            if isinstance(event, ToolFinished) and event.call.name == "quick":
                quick_seen.set()
        return {r.name: r.output for r in response.tool_results()}

    assert asyncio.run(run()) == {"slow": "slow", "quick": "quick"}


def test_no_events_are_made_when_nobody_reads_them() -> None:
    def upper(text: str) -> str:
        "Upper."
        return text.upper()

    response = TestModel().chain("go: a", tools=[upper], stream=True)
    assert list(response) == ['{"upper":', ' "A"}']
    assert response._run is not None
    assert response._run.spec.emit_events is False


def test_events_of_a_finished_response_are_refused_with_what_to_do() -> None:
    response = TestModel().prompt("hi")
    with pytest.raises(agentloop.AgentloopError, match="on_event"):
        list(response.events())


def test_a_tool_error_finishes_as_an_error_with_its_duration() -> None:
    def boom(n: int) -> str:
        "Boom."
        raise RuntimeError("kaput")

    events = list(TestModel().chain("go", tools=[boom], stream=True).events())
    (running,) = [e for e in events if isinstance(e, ToolRunning)]
    (finished,) = [e for e in events if isinstance(e, ToolFinished)]
    assert finished.is_error
    assert "kaput" in finished.result.output
    assert finished.started == running.time
    assert finished.duration >= 0


def test_the_live_terminal_example_shows_the_chain_as_it_happens(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    example = Path(__file__).parents[1] / "examples" / "events_live.py"
    runpy.run_path(str(example), run_name="__main__")
    shown = capsys.readouterr().out
    lines = [line.strip() for line in shown.splitlines()]
    assert lines[:3] == [
        "Let me check both cities.",
        '-> get_weather({"city":"Paris"})',
        '-> get_weather({"city":"Rome"})',
    ]
    assert {"Paris: Sunny, 22C in Paris (0.0s)", "Rome: Sunny, 22C in Rome (0.0s)"} <= set(lines)
    assert "It is sunny in Paris and in Rome, 22C in both." in lines


def test_offline_models_stream_their_calls_and_the_fragments_add_up() -> None:
    def upper(text: str, times: int) -> str:
        "Upper."
        return text.upper() * times

    events = list(TestModel().chain("go: 'a b c'", tools=[upper], stream=True).events())
    (started,) = [e for e in events if isinstance(e, ToolCallStarted)]
    fragments = [e.fragment for e in events if isinstance(e, ToolArgumentsDelta)]
    (ready,) = [e for e in events if isinstance(e, ToolCallReady)]
    assert (started.tool_call_id, started.name) == (ready.call.tool_call_id, "upper")
    assert len(fragments) > 1
    assert json.loads("".join(fragments)) == ready.call.arguments


def test_one_step_of_a_chain_sends_its_reader_to_the_chain() -> None:
    def upper(text: str) -> str:
        "Upper."
        return text.upper()

    response = TestModel().chain("go: a", tools=[upper])
    with pytest.raises(agentloop.AgentloopError, match="read the chain's events"):
        list(response.responses[0].events())
