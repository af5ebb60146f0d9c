"""Where a history may be cut without a provider refusing what is left (pure).

The history processors (`agentloop.history_processors`) shorten what is sent, never what is
kept, and every one of them cuts along the lines drawn here, so that whatever they leave is a
history every wire format accepts:

- system messages are never dropped;
- a *turn* is a user message (or several in a row) and the model's *steps* answering it; a
  step is an assistant message and the tool message holding its results, so a tool call is
  never separated from its result;
- a turn is dropped whole (what is left still opens with a user message after the system
  prompt, as Anthropic and Gemini require), or only its middle steps are: a turn's first step
  stays, since in the turn still running it carries the thinking Anthropic requires before
  the tool use of an unfinished tool loop, and its last step stays, since it holds the
  results the model is about to read.

`problems` lists what a provider would refuse in a processed history; the loop checks every
processor's output with it, so a processor of the caller's that breaks a rule is named at once
rather than by the provider's 400.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from agentloop.messages import Message, Thinking


@dataclass(slots=True)
class Turn:
    """One turn of a history, as indexes into it."""

    #: The user message(s) opening the turn (and any tool message stranded among them).
    opening: list[int] = field(default_factory=list)
    #: Each step: an assistant message and the tool messages answering its calls.
    steps: list[list[int]] = field(default_factory=list)

    def indexes(self) -> list[int]:
        return [*self.opening, *(i for step in self.steps for i in step)]

    def middle_steps(self, keep_last: int = 1) -> list[list[int]]:
        """The steps that may be dropped: all but the first and the last ``keep_last``."""
        return self.steps[1 : max(1, len(self.steps) - keep_last)]


@dataclass(slots=True)
class Layout:
    """A history as turns; ``kept`` holds what is never dropped (system messages, and
    whatever comes before the first user message)."""

    kept: list[int]
    turns: list[Turn]


def layout(messages: Sequence[Message]) -> Layout:
    """The turns and steps of ``messages`` (an arranged history: results follow their calls)."""
    kept: list[int] = []
    turns: list[Turn] = []
    for index, message in enumerate(messages):
        if message.role == "system":
            kept.append(index)
        elif message.role == "user":
            if turns and not turns[-1].steps:
                turns[-1].opening.append(index)
            else:
                turns.append(Turn([index]))
        elif not turns:
            kept.append(index)
        elif message.role == "assistant":
            turns[-1].steps.append([index])
        elif turns[-1].steps:
            turns[-1].steps[-1].append(index)
        else:
            turns[-1].opening.append(index)
    return Layout(kept, turns)


def droppable(shape: Layout) -> list[list[int]]:
    """What may be dropped, oldest first: each earlier turn whole, then the middle steps of
    the current turn."""
    units = [turn.indexes() for turn in shape.turns[:-1]]
    if shape.turns:
        units.extend(shape.turns[-1].middle_steps())
    return units


def without(messages: Sequence[Message], dropped: set[int]) -> list[Message]:
    """``messages`` less those at ``dropped``."""
    return [m for i, m in enumerate(messages) if i not in dropped]


def problems(before: Sequence[Message], after: Sequence[Message]) -> list[str]:
    """What a provider would refuse in ``after``, a processed form of ``before``: a tool call
    without its results right after it, a result answering no call just before it, a system
    message lost, the thinking opening an unfinished tool loop dropped, or a history that no
    longer opens with a user message."""
    found: list[str] = []
    systems = [m for m in before if m.role == "system"]
    if [m for m in after if m.role == "system"] != systems:
        found.append("the system prompt was removed or changed")
    for index, message in enumerate(after):
        following = after[index + 1] if index + 1 < len(after) else None
        calls = (
            {c.tool_call_id for c in message.tool_calls} if message.role == "assistant" else set()
        )
        answered = (
            {r.tool_call_id for r in following.tool_results}
            if following is not None and following.role == "tool"
            else set()
        )
        if calls - answered:
            found.append(
                f"message {index}: tool calls {sorted(calls - answered)} lost their results"
            )
        if message.role == "tool":
            previous = after[index - 1] if index else None
            asked = (
                {c.tool_call_id for c in previous.tool_calls}
                if previous is not None and previous.role == "assistant"
                else set()
            )
            orphans = {r.tool_call_id for r in message.tool_results} - asked
            if orphans and _answered_in(before, orphans):
                found.append(f"message {index}: results {sorted(orphans)} lost their calls")
    shape = layout(before)
    if shape.turns and shape.turns[-1].steps and before[-1].role == "tool":
        opener = before[shape.turns[-1].steps[0][0]]
        if any(isinstance(p, Thinking) for p in opener.parts) and opener not in after:
            found.append("the thinking that opens the unfinished tool loop was dropped")
    first = next((m for m in after if m.role != "system"), None)
    opened = next((m for m in before if m.role != "system"), None)
    if first is not None and first.role != "user" and opened is not None and opened.role == "user":
        found.append(f"the history now opens with a {first.role} message, not a user message")
    return found


def _answered_in(history: Sequence[Message], ids: set[str]) -> bool:
    """Whether some of ``ids`` answer a call in ``history`` (a result that never had a call
    there is the caller's own, not a processor's doing)."""
    calls = {c.tool_call_id for m in history if m.role == "assistant" for c in m.tool_calls}
    return bool(ids & calls)
