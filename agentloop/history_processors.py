"""History processors: what is sent to the model, shaped before every call.

A processor maps the messages about to be sent to the messages to send. The chain
(`agentloop.loop`) runs a conversation's processors, in order, before each model call; the
request alone is shaped, so ``conversation.messages``, the responses and the conversation
log keep everything. A processor is a function ``fn(messages) -> messages`` (or ``async
def``), or a [`HistoryProcessor`][agentloop.HistoryProcessor], which is also given the
request and the model's token rules and may say how to cut deeper (`tighter`) when the
provider still finds the context too long.

The built-in ones cut only along `agentloop.compaction`'s lines (never a tool call from its
result, never the thinking opening an unfinished tool loop, never the system prompt):
[`KeepRecent`][agentloop.KeepRecent], [`TrimToolResults`][agentloop.TrimToolResults],
[`FitTokens`][agentloop.FitTokens] and [`SummarizeOldTurns`][agentloop.SummarizeOldTurns].
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeAlias

from agentloop.compaction import Turn, droppable, layout, without
from agentloop.errors import AgentloopError
from agentloop.messages import Message, Text, ToolResult
from agentloop.providers.base import Request
from agentloop.tokens import DEFAULT_RULES, TokenRules, input_tokens, messages_tokens
from agentloop.usage import Usage

if TYPE_CHECKING:
    from agentloop.model import AsyncModel, Model

logger = logging.getLogger("agentloop.history_processors")


class HistoryProcessorError(AgentloopError, TypeError):
    """A history processor returned something that is not a history a provider accepts
    (not a list of messages, a tool call without its result, the system prompt removed...).
    The message names the processor and what it broke."""


@dataclass(frozen=True, slots=True)
class HistoryContext:
    """What a processor may read besides the messages: the request as the chain built it
    (tools, options, schema; its ``messages`` the whole history) and the model's token rules."""

    request: Request
    token_rules: TokenRules = DEFAULT_RULES


class HistoryProcessor(ABC):
    """Base class of the processors that read the request or cut deeper on demand."""

    #: Whether `process` blocks on I/O (a model call): the async chain then runs it in a
    #: worker thread, as it runs a sync tool.
    blocking_io: bool = False

    @abstractmethod
    def process(self, messages: list[Message], context: HistoryContext) -> list[Message]:
        """The messages to send, from those about to be sent (never changed in place)."""

    def tighter(self) -> HistoryProcessor | None:
        """The same processor cutting deeper, for the one retry after the provider answered
        that the context is too long; None when it cannot cut deeper."""
        return None

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


class FunctionProcessor(HistoryProcessor):
    """A plain function ``fn(messages) -> messages`` (or ``async def``) as a processor.

    A sync function is run in a worker thread by the async chain (it may do I/O, as a sync
    tool may); it has no tighter form."""

    def __init__(self, fn: Callable[[list[Message]], Any]) -> None:
        self.fn = fn
        self.blocking_io = not inspect.iscoroutinefunction(fn)

    def process(self, messages: list[Message], context: HistoryContext) -> Any:
        return self.fn(list(messages))

    def __repr__(self) -> str:
        return getattr(self.fn, "__qualname__", repr(self.fn))


Processor: TypeAlias = "HistoryProcessor | Callable[[list[Message]], Any]"


def as_processors(given: Sequence[Processor] | None) -> tuple[HistoryProcessor, ...]:
    """``history_processors=`` as processors; anything else is a clear error, here."""
    if given is None:
        return ()
    if isinstance(given, HistoryProcessor) or callable(given):
        given = [given]  # one processor, not in a list
    out: list[HistoryProcessor] = []
    for item in given:
        if isinstance(item, type):
            raise HistoryProcessorError(
                f"history_processors takes processors, not the class {item.__name__}: "
                f"make one, {item.__name__}(...)"
            )
        if isinstance(item, HistoryProcessor):
            out.append(item)
        elif callable(item):
            out.append(FunctionProcessor(item))
        else:
            raise HistoryProcessorError(
                f"history_processors takes functions messages -> messages or HistoryProcessor "
                f"instances, not {type(item).__name__} {item!r:.60}"
            )
    return tuple(out)


def checked(processor: HistoryProcessor, before: list[Message], after: Any) -> list[Message]:
    """``after`` if it is a history a provider accepts, else an error naming ``processor``."""
    from agentloop.compaction import problems

    if not isinstance(after, list) or not all(isinstance(m, Message) for m in after):
        raise HistoryProcessorError(
            f"The history processor {processor!r} returned {type(after).__name__} "
            f"{after!r:.80}: it must return a list of Message"
        )
    found = problems(before, after)
    if found:
        raise HistoryProcessorError(
            f"The history processor {processor!r} returned a history providers refuse: "
            + "; ".join(found)
        )
    return after


def tighten(processors: Sequence[HistoryProcessor]) -> tuple[HistoryProcessor, ...] | None:
    """Each processor's tighter form (or itself when it has none); None if none has one."""
    tighter = [p.tighter() for p in processors]
    if all(t is None for t in tighter):
        return None
    return tuple(t if t is not None else p for p, t in zip(processors, tighter, strict=True))


def _positive(name: str, value: object, *, zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if zero else 1):
        least = "a non-negative" if zero else "a positive"
        raise ValueError(f"{name} must be {least} int, not {value!r}")
    return value


# -- the built-in processors -------------------------------------------------------------


class KeepRecent(HistoryProcessor):
    """Send the system prompt and the last ``turns`` turns only (a turn: a user message and
    the model's steps answering it, the current one included). With ``steps``, also drop the
    middle of each kept turn's tool loop: its first step and its last ``steps`` steps stay.

    Tighter: half the turns; at one turn, half the steps (from 4), down to one.
    """

    def __init__(self, turns: int = 5, *, steps: int | None = None) -> None:
        self.turns = _positive("turns", turns)
        self.steps = None if steps is None else _positive("steps", steps)

    def process(self, messages: list[Message], context: HistoryContext) -> list[Message]:
        shape = layout(messages)
        dropped = {i for turn in shape.turns[: -self.turns] for i in turn.indexes()}
        if self.steps is not None:
            for turn in shape.turns[-self.turns :]:
                dropped.update(i for step in turn.middle_steps(self.steps) for i in step)
        return without(messages, dropped) if dropped else messages

    def tighter(self) -> KeepRecent | None:
        if self.turns > 1:
            return KeepRecent(self.turns // 2, steps=self.steps)
        if self.steps is None:
            return KeepRecent(1, steps=4)
        return KeepRecent(1, steps=self.steps // 2) if self.steps > 1 else None


class TrimToolResults(HistoryProcessor):
    """Replace each tool result longer than ``max_chars`` (or carrying images or files) by a
    short placeholder naming the tool and what was left out, except in the last
    ``keep_steps`` steps, whose results the model is still reading.

    Tighter: every result over a quarter of ``max_chars``, the latest step's too.
    """

    def __init__(self, max_chars: int = 2000, *, keep_steps: int = 1) -> None:
        self.max_chars = _positive("max_chars", max_chars)
        self.keep_steps = _positive("keep_steps", keep_steps, zero=True)

    def process(self, messages: list[Message], context: HistoryContext) -> list[Message]:
        shape = layout(messages)
        steps = [step for turn in shape.turns for step in turn.steps]
        recent = {i for step in steps[len(steps) - self.keep_steps :] for i in step}
        out = list(messages)
        for index, message in enumerate(messages):
            if message.role != "tool" or index in recent:
                continue
            parts = [self._trimmed(p) if isinstance(p, ToolResult) else p for p in message.parts]
            if any(a is not b for a, b in zip(parts, message.parts, strict=True)):
                out[index] = Message("tool", parts, message.extra)
        return out

    def _trimmed(self, result: ToolResult) -> ToolResult:
        if len(result.output) <= self.max_chars and not result.attachments:
            return result
        media = f" and {len(result.attachments)} attachments" if result.attachments else ""
        note = (
            f"[{len(result.output)} characters{media} of output from {result.name} "
            "left out to save context]"
        )
        return replace(result, output=note, attachments=[])

    def tighter(self) -> TrimToolResults | None:
        if self.max_chars < 100 and self.keep_steps == 0:
            return None
        return TrimToolResults(max(1, self.max_chars // 4), keep_steps=0)


class FitTokens(HistoryProcessor):
    """Drop the oldest turns, then the middle of the current tool loop, until the request's
    input fits ``max_tokens``.

    Measured with the local estimate under the model's token rules (`agentloop.tokens`);
    with ``counter=`` (a model), the whole request is first counted by that model's
    ``count_tokens`` (the provider's endpoint where it has one: I/O, so the async chain runs
    this in a thread) and each drop measured by the estimate scaled to that count. What cannot
    be dropped is sent even over the budget (the provider then says whether it fits).

    Tighter: half the budget, and at most half of the history's tokens (the provider found
    the budget too large for its window, so it was the wrong measure).
    """

    def __init__(self, max_tokens: int, *, counter: Model | AsyncModel | None = None) -> None:
        self.max_tokens = _positive("max_tokens", max_tokens)
        self.counter = counter
        self.blocking_io = counter is not None
        #: The most of the history's tokens sent (1.0: all that fits the budget).
        self._share = 1.0

    def process(self, messages: list[Message], context: HistoryContext) -> list[Message]:
        rules = context.token_rules
        request = replace(context.request, messages=messages)
        total = input_tokens(request, rules)
        scale = 1.0
        if self.counter is not None and total:
            counted = self.counter._backing_model().count_request(request)
            scale = counted.input_tokens / total
        budget = min(self.max_tokens / scale if scale else self.max_tokens, total * self._share)
        if total <= budget:
            return messages
        dropped: set[int] = set()
        for unit in droppable(layout(messages)):
            if total <= budget:
                break
            total -= messages_tokens([messages[i] for i in unit], rules)
            dropped.update(unit)
        logger.debug("FitTokens dropped %d of %d messages", len(dropped), len(messages))
        return without(messages, dropped)

    def tighter(self) -> FitTokens | None:
        if self.max_tokens <= 1:
            return None
        tighter = FitTokens(self.max_tokens // 2, counter=self.counter)
        tighter._share = self._share / 2
        return tighter


SUMMARY_INSTRUCTIONS = (
    "You summarize the earlier part of a conversation between a user and an AI assistant "
    "that uses tools, so the assistant can carry on without it. Keep every fact, decision, "
    "file name, identifier, number and open task; leave out pleasantries. Write in the third "
    "person, at most a few hundred words."
)
#: What opens the summary where it is sent (in the first kept user message).
SUMMARY_HEADING = "Summary of the earlier conversation:"
#: The most characters of one message a transcript gives the summarizing model.
TRANSCRIPT_CHARS = 4000


class SummarizeOldTurns(HistoryProcessor):
    """Replace all turns but the last ``keep_turns`` by a summary written by ``model`` (any
    model), sent at the head of the first kept user message.

    Each summary is cached by the turns it covers: within a tool loop it is not recomputed,
    and when one more turn ages out, the model is given the previous summary and that turn
    only. The summaries' usage adds up in ``usage``. A model call, so the async chain runs
    this in a worker thread.

    Tighter: half the kept turns, down to the current one.
    """

    blocking_io = True

    def __init__(
        self,
        model: Model | AsyncModel,
        *,
        keep_turns: int = 3,
        instructions: str = SUMMARY_INSTRUCTIONS,
    ) -> None:
        self.model = model
        self.keep_turns = _positive("keep_turns", keep_turns)
        self.instructions = instructions
        #: What the summaries cost so far.
        self.usage = Usage()
        self._summaries: dict[str, str] = {}
        self._lock = threading.Lock()

    def process(self, messages: list[Message], context: HistoryContext) -> list[Message]:
        shape = layout(messages)
        if len(shape.turns) <= self.keep_turns:
            return messages
        old = shape.turns[: -self.keep_turns]
        summary = self._summary(messages, old)
        first = shape.turns[-self.keep_turns].opening[0]
        opening = messages[first]
        heading = Text(f"{SUMMARY_HEADING}\n{summary}\n\n")
        dropped = {i for turn in old for i in turn.indexes()}
        out: list[Message] = []
        for index, message in enumerate(messages):
            if index == first:
                out.append(Message("user", [heading, *opening.parts], opening.extra))
            elif index not in dropped:
                out.append(message)
        return out

    def _summary(self, messages: list[Message], old: list[Turn]) -> str:
        keys: list[str] = []
        key = ""
        for turn in old:
            key = _fingerprint(key, [messages[i] for i in turn.indexes()])
            keys.append(key)
        with self._lock:
            done = next((n for n in range(len(keys), 0, -1) if keys[n - 1] in self._summaries), 0)
            if done == len(keys):
                return self._summaries[keys[-1]]
            previous = self._summaries[keys[done - 1]] if done else None
        fresh = [messages[i] for turn in old[done:] for i in turn.indexes()]
        summary = self._summarize(previous, fresh)
        with self._lock:
            self._summaries[keys[-1]] = summary
        return summary

    def _summarize(self, previous: str | None, fresh: list[Message]) -> str:
        told = f"The summary so far:\n{previous}\n\n" if previous else ""
        prompt = f"{told}The conversation to summarize:\n{transcript(fresh)}"
        request = Request([Message.system(self.instructions), Message.user(prompt)])
        reply = self.model._backing_model().complete(request)
        self.usage = self.usage + reply.usage
        logger.debug(
            "Summarized %d messages into %d characters", len(fresh), len(reply.message.text)
        )
        return reply.message.text.strip() or (previous or "")

    def tighter(self) -> SummarizeOldTurns | None:
        if self.keep_turns <= 1:
            return None
        tighter = SummarizeOldTurns(
            self.model, keep_turns=self.keep_turns // 2, instructions=self.instructions
        )
        tighter._summaries, tighter._lock, tighter.usage = self._summaries, self._lock, self.usage
        return tighter


def transcript(messages: Sequence[Message]) -> str:
    """``messages`` as plain text for a summarizing model, each message cut to a length."""
    lines: list[str] = []
    for message in messages:
        if message.text:
            lines.append(f"{message.role}: {message.text[:TRANSCRIPT_CHARS]}")
        for call in message.tool_calls:
            lines.append(
                f"assistant called {call.name}({call.arguments_json()[:TRANSCRIPT_CHARS]})"
            )
        for result in message.tool_results:
            lines.append(f"{result.name} returned: {result.output[:TRANSCRIPT_CHARS]}")
    return "\n".join(lines)


def _fingerprint(previous: str, messages: Sequence[Message]) -> str:
    """A key for a run of turns, chained on the key of the turns before it. Built from what
    a summary reads (texts, calls, results), so no media is serialized at every step."""
    digest = hashlib.sha256(previous.encode())
    for message in messages:
        digest.update(repr((message.role, message.text)).encode("utf-8", "surrogatepass"))
        for call in message.tool_calls:
            digest.update(
                repr((call.tool_call_id, call.arguments_json())).encode("utf-8", "surrogatepass")
            )
        for result in message.tool_results:
            digest.update(
                repr((result.tool_call_id, result.output)).encode("utf-8", "surrogatepass")
            )
    return digest.hexdigest()
