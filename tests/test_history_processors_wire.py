"""No built-in history processor ever sends a history a provider refuses.

Across random histories (tests/strategies.py: what chains leave, some ending in the middle of
a tool loop), each processor and each of its tighter forms, alone or in a row, is applied and
the result encoded in each of the four wire formats: the provider's rules on tool calls and
results hold (tests/wire_rules.py), the system prompt is kept, the history still opens with a
user message, and the thinking that opens an unfinished tool loop is sent as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strategies
import wire_rules
from hypothesis import given, settings
from hypothesis import strategies as st

from agentloop import (
    FitTokens,
    FunctionModel,
    HistoryContext,
    HistoryProcessor,
    KeepRecent,
    Message,
    Request,
    SummarizeOldTurns,
    TrimToolResults,
)
from agentloop.compaction import problems
from agentloop.providers.anthropic import messages as anthropic_messages
from agentloop.providers.anthropic.format import ANTHROPIC
from agentloop.providers.gemini import messages as gemini_messages
from agentloop.providers.gemini.format import GEMINI
from agentloop.providers.openai_chat import messages as chat_messages
from agentloop.providers.openai_chat.messages import OPENAI
from agentloop.providers.openai_responses import messages as responses_messages
from agentloop.providers.openai_responses.fields import OPENAI_RESPONSES

Body = dict[str, Any]


def body(fmt: str, messages: list[Message]) -> Body:
    """The part of a request body in ``fmt`` that holds the history."""
    if fmt == OPENAI:
        return {"messages": chat_messages.encode_messages(messages)}
    if fmt == OPENAI_RESPONSES:
        return {"input": responses_messages.encode_messages(messages)}
    if fmt == ANTHROPIC:
        system, encoded = anthropic_messages.encode_messages(messages)
        return {"system": system, "messages": encoded}
    system_instruction, contents = gemini_messages.encode_messages(messages)
    return {"systemInstruction": system_instruction, "contents": contents}


RULES: dict[str, Callable[[Body], list[str]]] = {
    OPENAI: wire_rules.openai_chat,
    OPENAI_RESPONSES: wire_rules.openai_responses,
    ANTHROPIC: wire_rules.anthropic,
    GEMINI: wire_rules.gemini,
}


def anthropic_loop_opener(sent: Body) -> Any:
    """The assistant message opening the turn still running, when it is a tool loop: the one
    whose thinking Anthropic requires before the tool use (None: no loop running)."""
    messages = sent["messages"]
    if not messages or not _only_results(messages[-1]):
        return None
    start = max(
        (i for i, m in enumerate(messages) if m["role"] == "user" and not _only_results(m)),
        default=-1,
    )
    return next((m for m in messages[start + 1 :] if m["role"] == "assistant"), None)


def _only_results(message: dict[str, Any]) -> bool:
    content = message["content"]
    return (
        message["role"] == "user"
        and isinstance(content, list)
        and all(block["type"] == "tool_result" for block in content)
    )


def summarizer() -> FunctionModel:
    return FunctionModel(lambda request: "The user asked things; tools answered.")


@st.composite
def processors(draw: st.DrawFn) -> HistoryProcessor:
    kind = draw(st.sampled_from(["keep", "trim", "fit", "summarize"]))
    made: HistoryProcessor
    if kind == "keep":
        steps = draw(st.none() | st.integers(1, 3))
        made = KeepRecent(draw(st.integers(1, 3)), steps=steps)
    elif kind == "trim":
        made = TrimToolResults(draw(st.integers(1, 40)), keep_steps=draw(st.integers(0, 2)))
    elif kind == "fit":
        made = FitTokens(draw(st.integers(1, 400)))
    else:
        made = SummarizeOldTurns(summarizer(), keep_turns=draw(st.integers(1, 3)))
    for _ in range(draw(st.integers(0, 3))):  # some of its tighter forms too
        made = made.tighter() or made
    return made


def shaped(messages: list[Message], chosen: list[HistoryProcessor]) -> list[Message]:
    context = HistoryContext(Request(messages))
    out = list(messages)
    for processor in chosen:
        before = out
        out = processor.process(list(before), context)
        assert problems(before, out) == [], processor
    return out


def check(fmt: str, messages: list[Message], chosen: list[HistoryProcessor]) -> None:
    original = body(fmt, messages)
    assert RULES[fmt](original) == []  # the generated history itself is one a provider takes
    after = shaped(messages, chosen)
    sent = body(fmt, after)
    assert RULES[fmt](sent) == [], chosen
    assert [m for m in after if m.role == "system"] == [m for m in messages if m.role == "system"]
    if fmt == ANTHROPIC:
        assert sent["system"] == original["system"]
        assert anthropic_loop_opener(sent) == anthropic_loop_opener(original), chosen
        if original["messages"]:
            assert sent["messages"][0]["role"] == original["messages"][0]["role"]
    if fmt == GEMINI:
        assert sent["systemInstruction"] == original["systemInstruction"]
        if original["contents"]:
            assert sent["contents"][0]["role"] == original["contents"][0]["role"]


def _test(fmt: str) -> Callable[..., None]:
    @settings(max_examples=80, deadline=None)
    @given(strategies.conversations(fmt), st.lists(processors(), min_size=1, max_size=3))
    def test(messages: list[Message], chosen: list[HistoryProcessor]) -> None:
        check(fmt, messages, chosen)

    return test


test_openai_chat_is_never_sent_a_broken_history = _test(OPENAI)
test_openai_responses_is_never_sent_a_broken_history = _test(OPENAI_RESPONSES)
test_anthropic_is_never_sent_a_broken_history = _test(ANTHROPIC)
test_gemini_is_never_sent_a_broken_history = _test(GEMINI)


@settings(max_examples=60, deadline=None)
@given(strategies.conversations(ANTHROPIC))
def test_the_tightest_cut_keeps_the_thinking_of_a_running_tool_loop(
    messages: list[Message],
) -> None:
    check(ANTHROPIC, messages, [KeepRecent(1, steps=1), FitTokens(1)])
