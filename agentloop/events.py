"""What happens inside a prompt or chain, as typed events (pure data).

A run reports its steps as [`Event`][agentloop.events.Event]s, the same for sync and async,
streamed and not, because they come from one source: the chain core (`agentloop.loop`)
yields the chain's own events (model call started and finished, tool call ready, tool
running and finished, approval requested and decided, chain started and finished) as
effects, and the shell that drives it (`agentloop.shells`) stamps each with the time and
passes it out; the model's stream adds what arrives within one call (text, thinking, a tool
call starting, its argument fragments), which `EventFeed` turns into events beside them,
with the structured output parsed so far. Read them with ``response.events()`` (``for`` or
``async for``), or register an observer on a conversation (``conversation.on_event``).

The events are made only when someone reads them: a run nobody observes yields none.

They are also meant to be enough to build a tracer from (OpenTelemetry's GenAI spans):
every span's start and end is an event stamped with ``time`` (seconds since the epoch,
``time.time()``, taken by the shell when it happened), and each carries what a span needs:

- a chain span: [`ChainStarted`][agentloop.events.ChainStarted] (``run_id``, the model,
  its provider) to [`ChainFinished`][agentloop.events.ChainFinished] (model calls made,
  paused calls, the error that ended it);
- a ``chat {model}`` span per model call: [`ModelCallStarted`][agentloop.events.ModelCallStarted]
  (the model asked, its provider, the request with its options) to
  [`ModelCallFinished`][agentloop.events.ModelCallFinished] (the reply's usage, cost when
  known, finish reason and the model that served it, or the error);
- an ``execute_tool {name}`` span per tool call: [`ToolRunning`][agentloop.events.ToolRunning]
  to [`ToolFinished`][agentloop.events.ToolFinished] (the call's name and id, the result,
  whether it failed, the duration);

and every event carries the ``run_id`` of the run it belongs to, so events of concurrent
runs (a batch's prompts) never mix.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from agentloop.messages import ToolCall, ToolResult
from agentloop.providers.base import Delta, Reply, Request
from agentloop.usage import Usage

_run_ids = itertools.count(1)


def new_run_id() -> int:
    """A number naming one run, unique in this process."""
    return next(_run_ids)


@dataclass(slots=True, kw_only=True)
class Event:
    """The base of every event."""

    #: When it happened: seconds since the epoch (``time.time()``), stamped when emitted.
    time: float = 0.0
    #: The run (one prompt, chain or resume) it belongs to.
    run_id: int = 0


# -- within one model call: what its stream brings -------------------------------------


@dataclass(slots=True)
class TextDelta(Event):
    """A piece of the answer's visible text, as it streams."""

    text: str


@dataclass(slots=True)
class ThinkingDelta(Event):
    """A piece of the model's reasoning (or its summary), as it streams."""

    text: str


@dataclass(slots=True)
class ToolCallStarted(Event):
    """The model began writing a tool call (streamed calls only): its id and the tool's name.

    ``tool_call_id`` is the id the finished call has (made up here, as the reply does, when
    the provider sends none), so it pairs with the `ToolArgumentsDelta`s and the
    `ToolCallReady` that follow.
    """

    tool_call_id: str
    name: str


@dataclass(slots=True)
class ToolArgumentsDelta(Event):
    """A fragment of a streamed tool call's arguments, JSON text as the model writes it.

    The fragments of one call joined are its arguments' JSON.
    """

    tool_call_id: str
    fragment: str


@dataclass(slots=True)
class PartialOutput(Event):
    """The structured output (``schema=``) parsed so far, while its JSON streams.

    ``value`` is what the text so far reads as (a string cut where the text is, a number
    that may still grow left out), so each one is a prefix of the final answer; it is not
    validated against the schema until the answer is complete (``parsed()``).
    """

    value: Any


# -- the chain's own steps (from agentloop.loop) ----------------------------------------


@dataclass(slots=True)
class ChainStarted(Event):
    """A prompt, chain or resume began."""

    #: The model asked, as ``"provider/name"`` (or a test model's id).
    model: str

    @property
    def provider(self) -> str:
        return provider_of(self.model)


@dataclass(slots=True)
class ModelCallStarted(Event):
    """A request went to the model."""

    model: str
    request: Request = field(repr=False)
    #: Which model call of this run it is, from 1.
    number: int = 1

    @property
    def provider(self) -> str:
        return provider_of(self.model)


@dataclass(slots=True)
class ModelCallFinished(Event):
    """The model answered (``reply``), or the call failed (``error``)."""

    model: str
    reply: Reply | None = field(default=None, repr=False)
    error: BaseException | None = None
    number: int = 1
    #: When the call started (the `ModelCallStarted`'s time).
    started: float = 0.0

    @property
    def provider(self) -> str:
        return provider_of(self.model)

    @property
    def usage(self) -> Usage:
        return self.reply.usage if self.reply is not None else Usage()

    @property
    def cost(self) -> float | None:
        """USD, when known: the provider's figure, else priced from the table (loaded on the
        first price asked for), else None."""
        if self.reply is None:
            return None
        if self.reply.usage.cost is not None:
            return self.reply.usage.cost
        from agentloop import prices

        return prices.cost(self.reply.usage, self.model, self.reply.model)

    @property
    def finish_reason(self) -> str | None:
        return self.reply.finish_reason if self.reply is not None else None

    @property
    def response_model(self) -> str | None:
        """The model that served the call, when the provider said."""
        return self.reply.model if self.reply is not None else None

    @property
    def duration(self) -> float:
        return max(0.0, self.time - self.started) if self.started else 0.0


@dataclass(slots=True)
class ToolCallReady(Event):
    """A tool call the model made, complete and parsed (streamed or not)."""

    call: ToolCall


@dataclass(slots=True)
class ApprovalRequested(Event):
    """A call is about to be asked about (the ``approve`` hook): its tool requires approval,
    or the chain has ``approve_all=True``."""

    call: ToolCall


@dataclass(slots=True)
class ApprovalDecided(Event):
    """The decision on a call: by the ``approve`` hook, or given to ``resume``."""

    call: ToolCall
    approved: bool
    #: Why it was denied, when a reason was given.
    reason: str | None = None


@dataclass(slots=True)
class ToolRunning(Event):
    """A tool began to run (its arguments are validated, then it is called)."""

    call: ToolCall


@dataclass(slots=True)
class ToolFinished(Event):
    """A tool call's result: the tool's, or the error the model reads (refused, unknown
    tool, invalid arguments, an exception)."""

    call: ToolCall
    result: ToolResult
    #: When it began to run (the `ToolRunning`'s time), None if it never ran.
    started: float | None = None

    @property
    def is_error(self) -> bool:
        return self.result.is_error

    @property
    def duration(self) -> float:
        """Seconds it ran (0 when it never ran)."""
        return max(0.0, self.time - self.started) if self.started is not None else 0.0


@dataclass(slots=True)
class ChainFinished(Event):
    """The run ended: answered, paused, or failed (``error``)."""

    model: str
    #: The model calls it made (None when it failed: its `ModelCallFinished` events say).
    model_calls: int | None = None
    #: Calls waiting for a decision, when a hook paused the chain.
    paused: list[ToolCall] = field(default_factory=list)
    error: BaseException | None = None
    #: When the run started (the `ChainStarted`'s time).
    started: float = 0.0

    @property
    def duration(self) -> float:
        return max(0.0, self.time - self.started) if self.started else 0.0


def provider_of(model: str) -> str:
    """The provider part of a model id (``"anthropic"`` for ``"anthropic/claude-..."``)."""
    return model.split("/", 1)[0]


# -- from the run's items to events -----------------------------------------------------


class EventFeed:
    """Turns what a run's shell passes out (the model's deltas, the chain's events) into the
    events a reader sees: a delta becomes its event, stamped now; with ``schema``, the text of
    each model call is parsed as it grows into `PartialOutput`s. Our own code, one per run."""

    __slots__ = ("_last", "_run_id", "_schema", "_text")

    def __init__(self, run_id: int, *, schema: bool = False) -> None:
        self._run_id = run_id
        self._schema = schema
        self._text = ""
        self._last: Any = None

    def events(self, item: Delta | Event) -> list[Event]:
        if isinstance(item, Event):
            if isinstance(item, ModelCallStarted):
                self._text, self._last = "", None
            return [item]
        now, run = time.time(), self._run_id
        kind = item.kind
        if kind == "text":
            out: list[Event] = [TextDelta(item.text, time=now, run_id=run)]
            if self._schema:
                self._partial(item.text, now, out)
            return out
        if kind == "thinking":
            return [ThinkingDelta(item.text, time=now, run_id=run)]
        if kind == "tool_call":
            return [ToolCallStarted(item.tool_call_id, item.text, time=now, run_id=run)]
        return [ToolArgumentsDelta(item.tool_call_id, item.text, time=now, run_id=run)]

    def _partial(self, piece: str, now: float, out: list[Event]) -> None:
        self._text += piece
        value = partial_json(self._text)
        if value is not None and value != self._last:
            self._last = value
            out.append(PartialOutput(value, time=now, run_id=self._run_id))


_NUMBER_CHARACTERS = frozenset("0123456789+-.eE")


def partial_json(text: str) -> Any:
    """What the JSON text so far reads as, each value a prefix of where it is going, or None
    when it reads as nothing yet (not JSON, or nothing complete).

    pydantic-core's partial parser keeps a string cut short (``"Par`` as ``"Par"``) and drops
    an unfinished key or literal; a number still being written is left out here, since
    ``12`` of ``123`` would not be a prefix of the final value.
    """
    from pydantic_core import from_json

    stripped = text.rstrip()
    if stripped and stripped == text:
        end = len(stripped)
        while end and stripped[end - 1] in _NUMBER_CHARACTERS:
            end -= 1
        tail = stripped[end:]
        if tail and any(c.isdigit() for c in tail):
            stripped = stripped[:end]
    if not stripped.lstrip():
        return None
    try:
        return from_json(stripped, allow_partial="trailing-strings")
    except ValueError:
        return None
