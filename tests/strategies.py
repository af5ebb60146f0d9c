"""Hypothesis strategies for random, well-formed neutral conversations.

A generated conversation is what a real chain produces: an optional system
message, then user turns, assistant turns (thinking, text, tool calls) and a
tool message answering every call of the assistant turn before it. Formats
differ in what they can carry, so the strategy takes the target format and
only generates what that format represents (``thinking`` from that format
only, URL files only where the format takes URLs for files).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from agentloop import File, Image, Message, Text, Thinking, ToolCall, ToolResult
from agentloop.providers.anthropic.format import ANTHROPIC
from agentloop.providers.gemini.format import GEMINI
from agentloop.providers.openai_chat.messages import OPENAI
from agentloop.providers.openai_responses.fields import OPENAI_RESPONSES

FORMATS = (OPENAI, OPENAI_RESPONSES, ANTHROPIC, GEMINI)

PNG = b"\x89PNG\r\n\x1a\n"
PDF = b"%PDF-1.4\n"

text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30
)
names = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
ids = st.from_regex(r"call_[A-Za-z0-9]{4,12}", fullmatch=True)

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.text(max_size=10)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
arguments = st.dictionaries(names, json_values, max_size=4)


@st.composite
def images(draw: st.DrawFn, urls: bool = True) -> Image:
    if urls and draw(st.booleans()):
        return Image(f"https://example.com/{draw(names)}.png")
    return Image(PNG + draw(st.binary(min_size=1, max_size=24)))


@st.composite
def files(draw: st.DrawFn, urls: bool = False) -> File:
    if urls and draw(st.booleans()):
        return File(f"https://example.com/{draw(names)}.pdf")
    return File(PDF + draw(st.binary(min_size=1, max_size=24)), f"{draw(names)}.pdf")


@st.composite
def user_messages(draw: st.DrawFn, fmt: str) -> Message:
    parts: list[Any] = [Text(draw(text))]
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["image", "file"]))
        parts.append(draw(images()) if kind == "image" else draw(files(urls=fmt != OPENAI)))
    return Message("user", parts)


@st.composite
def thinking(draw: st.DrawFn, fmt: str) -> Thinking:
    signature = draw(st.text(alphabet="abcdefABCDEF0123456789+/", min_size=4, max_size=20))
    if fmt == OPENAI:
        return Thinking(draw(text), provider=OPENAI)
    return Thinking(draw(text), signature=signature, provider=fmt)


@st.composite
def assistant_turns(draw: st.DrawFn, fmt: str) -> list[Message]:
    """An assistant message, plus the tool message answering its calls if it made any."""
    parts: list[Any] = []
    if draw(st.booleans()):
        parts.append(draw(thinking(fmt)))
    calls = [
        ToolCall(draw(names), draw(arguments), draw(ids)) for _ in range(draw(st.integers(0, 3)))
    ]
    if not calls or draw(st.booleans()):
        parts.append(Text(draw(text)))
    if len({c.tool_call_id for c in calls}) != len(calls):
        calls = calls[:1]
    parts.extend(calls)
    turn = [Message("assistant", parts)]
    if calls:
        results = []
        for call in calls:
            attachments = draw(st.lists(images(urls=False), max_size=1))
            results.append(
                ToolResult(
                    call.name,
                    draw(text),
                    call.tool_call_id,
                    is_error=draw(st.booleans()),
                    attachments=list(attachments),
                )
            )
        turn.append(Message("tool", list(results)))
    return turn


@st.composite
def conversations(draw: st.DrawFn, fmt: str) -> list[Message]:
    """A list of messages as a chain would leave it, representable in ``fmt``."""
    messages: list[Message] = []
    if draw(st.booleans()):
        messages.append(Message.system(draw(text)))
    for _ in range(draw(st.integers(1, 3))):
        messages.append(draw(user_messages(fmt)))
        for _ in range(draw(st.integers(0, 2))):
            turn = draw(assistant_turns(fmt))
            messages.extend(turn)
            if len(turn) == 1:
                break
    return messages
