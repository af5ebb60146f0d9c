"""History processors: they shape what each model call is sent, never what is kept."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from agentloop import (
    ContextTooLongError,
    FitTokens,
    FunctionModel,
    HistoryContext,
    HistoryProcessor,
    HistoryProcessorError,
    KeepRecent,
    Message,
    Reply,
    Request,
    SummarizeOldTurns,
    Text,
    Thinking,
    ToolCall,
    ToolResult,
    TrimToolResults,
    Usage,
)
from agentloop.compaction import layout, problems
from agentloop.history_processors import tighten


def echo(text: str) -> str:
    "Echo the text."
    return text * 3


class Scripted:
    """A model function: ``calls`` tool calls per chain, then an answer; records what it saw."""

    def __init__(self, calls: int = 2) -> None:
        self.calls = calls
        self.seen: list[list[Message]] = []

    def __call__(self, request: Request) -> Any:
        self.seen.append(list(request.messages))
        last = request.messages[-1]
        # The step number is read back from the latest result: the model sees only what it
        # is sent, and a processor may have dropped earlier steps.
        steps = int(last.tool_results[0].output[4]) + 1 if last.role == "tool" else 0
        if steps < self.calls:
            return ToolCall("echo", {"text": f"step{steps}"}, "")
        return "done"


def test_keep_recent_shapes_the_request_and_keeps_the_history() -> None:
    script = Scripted(calls=3)
    model = FunctionModel(script)
    conversation = model.conversation(
        system="Be brief.", tools=[echo], history_processors=[KeepRecent(1, steps=1)]
    )
    conversation.chain("first")
    conversation.chain("second")
    last = script.seen[-1]
    assert last[0] == Message.system("Be brief.")
    assert last[1].text == "second"
    # The first step of the tool loop and its latest stay; the middle step went.
    assert [m.role for m in last] == ["system", "user", "assistant", "tool", "assistant", "tool"]
    assert [m.text for m in conversation.messages if m.role == "user"] == ["first", "second"]
    assert len(conversation.messages) == 2 * 8 + 1  # everything kept
    request = conversation.responses[-1].request
    assert request is not None
    assert request.messages == last  # what was sent...
    assert request.full_messages == conversation.messages[:-1]  # ...and the history it came from
    assert conversation.history_until(conversation.responses[-1]) == request.full_messages


def test_a_chain_may_replace_the_conversations_processors() -> None:
    script = Scripted(calls=0)
    conversation = FunctionModel(script).conversation(history_processors=[KeepRecent(1)])
    conversation.prompt("one")
    conversation.prompt("two")
    assert len(script.seen[-1]) == 1
    conversation.chain("three", history_processors=[])
    assert len(script.seen[-1]) == 5


def test_a_plain_function_is_a_processor_and_its_mistakes_are_named() -> None:
    script = Scripted(calls=0)
    conversation = FunctionModel(script).conversation(
        system="sys", history_processors=lambda messages: messages[:1] + messages[-1:]
    )
    conversation.prompt("one")
    conversation.prompt("two")
    assert [m.text for m in script.seen[-1]] == ["sys", "two"]

    def drops_the_system_prompt(messages: list[Message]) -> list[Message]:
        return messages[1:]

    with pytest.raises(HistoryProcessorError, match=r"drops_the_system_prompt.*system prompt"):
        conversation.prompt("three", history_processors=[drops_the_system_prompt]).text()

    def orphans_a_call(messages: list[Message]) -> list[Message]:
        return [m for m in messages if m.role != "tool"]

    tooled = FunctionModel(Scripted(calls=1)).conversation(tools=[echo])
    with pytest.raises(HistoryProcessorError, match="lost their results"):
        tooled.chain("x", history_processors=[orphans_a_call]).text()
    with pytest.raises(HistoryProcessorError, match="list of Message"):
        conversation.prompt("y", history_processors=[lambda m: "no"]).text()
    with pytest.raises(HistoryProcessorError, match=r"make one, KeepRecent\(\.\.\.\)"):
        conversation.prompt("w", history_processors=[KeepRecent])
    with pytest.raises(HistoryProcessorError, match="takes functions"):
        conversation.prompt("z", history_processors=[3])  # type: ignore[list-item]


def test_an_async_processor_runs_in_sync_and_async_chains() -> None:
    async def last_two(messages: list[Message]) -> list[Message]:
        return messages[-1:]

    script = Scripted(calls=0)
    conversation = FunctionModel(script).conversation(history_processors=[last_two])
    conversation.prompt("a")
    conversation.prompt("b")
    assert [m.text for m in script.seen[-1]] == ["b"]

    async def main() -> None:
        aconversation = FunctionModel(script).to_async().conversation(history_processors=[last_two])
        await aconversation.prompt("c")
        await aconversation.prompt("d")

    asyncio.run(main())
    assert [m.text for m in script.seen[-1]] == ["d"]


def history(results: int = 3, size: int = 5000) -> list[Message]:
    """A system prompt, one old turn, and a current turn with ``results`` tool steps."""
    out = [Message.system("sys"), Message.user("old"), Message.assistant("old answer")]
    out.append(Message.user("now"))
    for i in range(results):
        call = ToolCall("echo", {"n": i}, f"c{i}")
        thought = [Thinking("plan", "sig", "anthropic")] if i == 0 else []
        out.append(Message("assistant", [*thought, call]))
        out.append(Message("tool", [ToolResult("echo", "x" * size, f"c{i}")]))
    return out


def run(processor: HistoryProcessor, messages: list[Message]) -> list[Message]:
    after = processor.process(list(messages), HistoryContext(Request(messages)))
    assert problems(messages, after) == []
    return after


def test_trim_tool_results_leaves_the_latest_and_the_stored_results_alone() -> None:
    messages = history()
    after = run(TrimToolResults(100), messages)
    outputs = [r.output for m in after for r in m.tool_results]
    assert outputs[0].startswith("[5000 characters of output from echo left out")
    assert outputs[1].startswith("[5000")
    assert outputs[2] == "x" * 5000
    assert all(r.output == "x" * 5000 for m in messages for r in m.tool_results)
    tighter = TrimToolResults(100).tighter()
    assert tighter is not None
    assert all(r.output.startswith("[") for m in run(tighter, messages) for r in m.tool_results)


def test_fit_tokens_drops_old_turns_then_the_middle_of_the_loop() -> None:
    messages = history(results=4, size=4000)  # about 700 tokens a result, 2800 in all
    kept = run(FitTokens(100_000), messages)
    assert kept == messages
    fitted = run(FitTokens(400), messages)
    # Only what may never go is left: system, the user turn, the loop's first and last step.
    assert [m.role for m in fitted] == ["system", "user", "assistant", "tool", "assistant", "tool"]
    assert isinstance(fitted[2].parts[0], Thinking)
    partly = run(FitTokens(2200), messages)
    assert len(fitted) < len(partly) < len(messages)
    assert FitTokens(10).tighter() is not None


def test_fit_tokens_can_count_with_a_model() -> None:
    counted: list[int] = []

    class Counting(FunctionModel):
        def count_request(self, request: Request) -> Any:
            from agentloop.token_count import TokenCount

            counted.append(len(request.messages))
            return TokenCount(100_000, True, "test")  # far more than the estimate

    messages = history(results=4, size=10)
    fitted = run(FitTokens(50_000, counter=Counting(lambda r: "")), messages)
    assert counted == [len(messages)]
    assert len(fitted) < len(messages)
    assert FitTokens(50_000, counter=Counting(lambda r: "")).blocking_io


def test_keep_recent_tightens_turns_then_steps() -> None:
    forms = [KeepRecent(4)]
    while (tighter := forms[-1].tighter()) is not None:
        forms.append(tighter)
    assert [(f.turns, f.steps) for f in forms] == [
        (4, None),
        (2, None),
        (1, None),
        (1, 4),
        (1, 2),
        (1, 1),
    ]
    with pytest.raises(ValueError, match="positive int"):
        KeepRecent(0)


def summarizer_model(seen: list[str]) -> FunctionModel:
    def fn(request: Request) -> Reply:
        seen.append(request.messages[-1].text)
        return Reply(Message.assistant(f"summary {len(seen)}"), Usage(7, 3))

    return FunctionModel(fn, model_id="summary/model")


def test_summaries_are_cached_and_extended_one_turn_at_a_time() -> None:
    prompts: list[str] = []
    summarize = SummarizeOldTurns(summarizer_model(prompts), keep_turns=1)
    script = Scripted(calls=2)
    conversation = FunctionModel(script).conversation(
        system="sys", tools=[echo], history_processors=[summarize]
    )
    conversation.chain("first question")
    assert prompts == []  # one turn: nothing to summarize
    conversation.chain("second question")
    assert len(prompts) == 1  # one summary for the whole tool loop, not one per step
    assert "first question" in prompts[0]
    assert "echo returned: step0step0step0" in prompts[0]
    sent = script.seen[-1]
    assert sent[0].text == "sys"
    assert sent[1].text.startswith("Summary of the earlier conversation:\nsummary 1")
    assert sent[1].text.endswith("second question")
    conversation.chain("third question")
    assert len(prompts) == 2
    assert "The summary so far:\nsummary 1" in prompts[1]
    assert "first question" not in prompts[1]  # only the turn that aged out is read again
    assert summarize.usage.input_tokens == 14
    assert len(conversation.messages) == 1 + 3 * 6  # the stored history keeps everything


def test_the_summarizer_runs_in_a_worker_thread_under_async() -> None:
    threads: list[str] = []

    def fn(request: Request) -> str:
        threads.append(threading.current_thread().name)
        return "summary"

    summarize = SummarizeOldTurns(FunctionModel(fn), keep_turns=1)

    async def main() -> None:
        conversation = (
            FunctionModel(Scripted(calls=0)).to_async().conversation(history_processors=[summarize])
        )
        await conversation.prompt("a")
        await conversation.prompt("b")

    asyncio.run(main())
    assert threads
    assert threads[0] != threading.main_thread().name


def test_context_too_long_gives_one_tighter_try() -> None:
    sizes: list[int] = []

    def fn(request: Request) -> str:
        sizes.append(len(request.messages))
        if len(request.messages) > 3:
            raise ContextTooLongError("prompt is too long", provider="p")
        return "ok"

    conversation = FunctionModel(fn).conversation(system="s", history_processors=[KeepRecent(2)])
    conversation.prompt("a")
    assert conversation.prompt("b").text() == "ok"
    assert sizes == [2, 4, 2]  # two turns were too long; one turn fitted
    sizes.clear()
    stubborn = FunctionModel(fn).conversation(
        messages=[Message.user("x" * 10)] * 0, history_processors=[lambda m: m]
    )
    stubborn.prompt("a")
    stubborn.prompt("b")
    with pytest.raises(ContextTooLongError):
        stubborn.prompt("c").text()  # a plain function has no tighter form: no second try
    assert sizes == [1, 3, 5]


def test_without_processors_context_too_long_surfaces_at_once() -> None:
    calls: list[int] = []

    def fn(request: Request) -> str:
        calls.append(1)
        raise ContextTooLongError("too long", provider="p")

    with pytest.raises(ContextTooLongError):
        FunctionModel(fn).prompt("a").text()
    assert calls == [1]
    assert tighten([]) is None


def test_the_layout_of_a_history() -> None:
    messages = history(results=3)
    shape = layout(messages)
    assert shape.kept == [0]
    assert [t.opening for t in shape.turns] == [[1], [3]]
    assert shape.turns[1].steps == [[4, 5], [6, 7], [8, 9]]
    assert shape.turns[1].middle_steps() == [[6, 7]]
    assert problems(messages, [messages[0], *messages[2:]]) != []  # opens with an assistant
    assert problems(messages, [*messages[:4], *messages[6:]]) != []  # loop's thinking dropped
    assert Text("x") == Text("x")
