"""Chat input (multi-line, ending), repairing an unfinished turn, and the approval hooks."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest

import agentloop
from agentloop.cli.chat import INTERRUPTED_CALL, next_prompt, settle
from agentloop.cli.hooks import DECLINED, NEEDS_APPROVAL, NO_TERMINAL, ToolHooks
from agentloop.cli.render import Output
from agentloop.errors import CancelToolCall
from agentloop.messages import Message, ToolCall, ToolResult


def reader(*lines: str) -> tuple[list[str], object]:
    """A ReadLine over ``lines`` that records the prompts it was shown."""
    shown: list[str] = []
    pending: Iterator[str] = iter(lines)

    def read(prompt: str) -> str:
        shown.append(prompt)
        try:
            return next(pending)
        except StopIteration:
            raise EOFError from None

    return shown, read


def prompts(*lines: str) -> list[str | None]:
    _, read = reader(*lines)
    found: list[str | None] = []
    while (text := next_prompt(read, Output(stdout=io.StringIO()))) is not None:  # type: ignore[arg-type]
        found.append(text)
    return found


def test_each_line_is_a_prompt_and_blank_lines_are_skipped() -> None:
    assert prompts("Hello", "", "   ", "Again") == ["Hello", "Again"]


@pytest.mark.parametrize("word", ["exit", "quit", " EXIT "])
def test_exit_and_quit_end_the_session(word: str) -> None:
    assert prompts("Hello", word, "never read") == ["Hello"]


def test_multi_collects_lines_until_end() -> None:
    assert prompts("!multi", "one", "", "two", "!end", "after") == ["one\n\ntwo", "after"]


def test_multi_with_a_word_ends_only_at_that_word() -> None:
    assert prompts("!multi poem", "a", "!end", "b", "!end poem") == ["a\n!end\nb"]


def test_a_trailing_backslash_continues_the_prompt() -> None:
    shown, read = reader("first \\", "second \\", "third", "next")
    assert next_prompt(read, Output(stdout=io.StringIO())) == "first \nsecond \nthird"  # type: ignore[arg-type]
    assert shown == ["> ", "... ", "... "]


def conversation_with(*messages: Message) -> agentloop.Conversation:
    return agentloop.Conversation(list(messages))


def test_an_unanswered_prompt_is_taken_back_out() -> None:
    conversation = conversation_with(Message.user("Earlier"), Message.assistant("Reply"))
    conversation.messages.append(Message.user("Never answered"))
    settle(conversation, 2, interrupted=True)
    assert [m.text for m in conversation.messages] == ["Earlier", "Reply"]


def test_interrupted_tool_calls_get_a_result_saying_so() -> None:
    conversation = conversation_with()
    calls = [ToolCall("slow", {}, "call_1"), ToolCall("slower", {}, "call_2")]
    conversation.messages += [Message.user("Go"), Message("assistant", list(calls))]
    settle(conversation, 0, interrupted=True)
    last = conversation.messages[-1]
    assert last.role == "tool"
    assert [(r.tool_call_id, r.output, r.is_error) for r in last.tool_results] == [
        ("call_1", INTERRUPTED_CALL, True),
        ("call_2", INTERRUPTED_CALL, True),
    ]


def test_after_an_error_pending_calls_are_left_for_the_next_turn() -> None:
    conversation = conversation_with()
    conversation.messages += [Message.user("Go"), Message("assistant", [ToolCall("t", {}, "c")])]
    settle(conversation, 0, interrupted=False)
    assert conversation.messages[-1].role == "assistant"


def test_a_finished_turn_is_left_alone() -> None:
    results = Message("tool", [ToolResult("t", "ok", "c")])
    conversation = conversation_with(
        Message.user("Go"), Message("assistant", [ToolCall("t", {}, "c")]), results
    )
    settle(conversation, 0, interrupted=True)
    assert len(conversation.messages) == 3


def hooks(answer: bool | None = None, **options: bool) -> tuple[ToolHooks, list[str]]:
    asked: list[str] = []
    output = Output(stdout=io.StringIO())

    def confirm(question: str) -> bool:
        asked.append(question)
        assert answer is not None, "nothing should be asked"
        return answer

    output.confirm = confirm  # type: ignore[method-assign]
    return ToolHooks(output, **options), asked


def tool(requires_approval: bool = False) -> agentloop.Tool:
    def lookup(city: str) -> str:
        "Look a city up."
        return city

    return agentloop.Tool.function(agentloop.tool(requires_approval=requires_approval)(lookup))


CALL = ToolCall("lookup", {"city": "Paris"}, "call_1")


def test_ta_without_a_terminal_refuses_without_asking() -> None:
    ask, asked = hooks(approve_all=True, interactive=False)
    with pytest.raises(CancelToolCall, match=re.escape(NO_TERMINAL)):
        ask.before_call(tool(), CALL)
    assert asked == []


def test_ta_asks_once_per_call_even_for_tools_that_need_approval() -> None:
    ask, asked = hooks(True, approve_all=True, interactive=True)
    needs_yes = tool(requires_approval=True)
    ask.before_call(needs_yes, CALL)  # the chain's approve_all asks, through approve
    assert ask.approve(needs_yes, CALL) is True
    assert asked == ['Run lookup({"city": "Paris"})?']


def test_a_declined_call_is_refused_with_a_reason_for_the_model() -> None:
    ask, _ = hooks(False, approve_all=True, interactive=True)
    ask.before_call(tool(), CALL)
    assert ask.approve(tool(), CALL) == DECLINED


def test_without_ta_only_tools_that_need_approval_are_asked_about() -> None:
    ask, asked = hooks(True, interactive=True)
    ask.before_call(tool(), CALL)
    assert asked == []
    assert ask.approve(tool(requires_approval=True), CALL) is True
    assert asked == ['lookup needs approval. Run lookup({"city": "Paris"})?']


def test_a_tool_that_needs_approval_is_refused_without_a_terminal() -> None:
    ask, _ = hooks(interactive=False)
    with pytest.raises(CancelToolCall, match=re.escape(NEEDS_APPROVAL)):
        ask.before_call(tool(requires_approval=True), CALL)
