"""A tool chain across batch rounds: each prompt's chain, one model call per round.

A batch API answers hours later, maybe in another process, so a prompt's chain cannot wait
inside a generator for its reply. Between rounds a prompt is only its messages (the history
up to the request it sent), how many model calls it made and what they cost (`PromptState`,
which serializes). To move it on, `advance` runs the chain again over those messages, as a
live chain would, with a stand-in model (`ReplayModel`) that gives the round's reply to the
first call, so that the chain's own code (hooks, approval, validation, retry budgets, the
chain limit) runs the tools, and that stops the chain at its next call, whose request goes
into the next round. A chain whose hook pauses ends there, for that prompt only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from agentloop.batch.results import BatchResult, parse_output, rebuild
from agentloop.batch.runner import Job
from agentloop.conversation import AsyncConversation
from agentloop.errors import PauseChain
from agentloop.messages import Message
from agentloop.model import Model
from agentloop.prices import cost
from agentloop.providers.base import Reply, Request
from agentloop.response import ChainResponse, Response
from agentloop.structured import OutputSchema
from agentloop.usage import Usage

#: ``chain_limit`` when the batch gives none: a conversation's own default.
DEFAULT_CHAIN_LIMIT = 25


class RoundEnd(Exception):
    """Raised by the stand-in model at a call the round has no reply for: the chain stops,
    and ``request`` goes into the next round."""

    def __init__(self, request: Request) -> None:
        super().__init__("the chain waits for the next batch round")
        self.request = request


class ReplayModel(Model):
    """The model inside a prompt's chain during a round: the round's reply (or its error)
    for the first call, `RoundEnd` for the next."""

    blocking_io = False
    can_stream = False

    def __init__(self, model_id: str, reply: Reply | None, error: BaseException | None) -> None:
        self.model_id = model_id
        self._reply = reply
        self._error = error

    def complete(self, request: Request) -> Reply:
        from agentloop.shells import portal

        return portal.run(self.acomplete(request))

    async def acomplete(self, request: Request) -> Reply:
        reply, error = self._reply, self._error
        self._reply = self._error = None
        if error is not None:
            raise error
        if reply is not None:
            return reply
        raise RoundEnd(request)


@dataclass(slots=True)
class PromptState:
    """One prompt between rounds: its history, its calls so far, their cost, its result."""

    index: int
    messages: list[Message]
    #: The model (``provider/name``) this prompt's requests go to.
    model_id: str
    #: Model calls answered so far.
    calls: int = 0
    usage: Usage = field(default_factory=lambda: Usage(cost=0.0))
    #: Set once the prompt is finished (answered, failed or paused).
    result: BatchResult | None = None
    #: A paused chain's state (`ChainState.to_dict`), kept with the handle.
    paused: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "model": self.model_id,
            "messages": [m.to_dict() for m in self.messages],
            "calls": self.calls,
            "usage": self.usage.to_dict(),
            "result": self.result.to_record() if self.result is not None else None,
            "paused": self.paused,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], schema: OutputSchema | None) -> PromptState:
        record = data.get("result")
        return cls(
            int(data["index"]),
            [Message.from_dict(m) for m in data["messages"]],
            str(data["model"]),
            int(data.get("calls") or 0),
            Usage.from_dict(data.get("usage") or {}),
            rebuild(record, schema, index=int(data["index"])) if record else None,
            data.get("paused"),
        )


def priced(reply: Reply, model_id: str) -> Reply:
    """``reply`` with its usage priced at the batch rate."""
    usage = dataclasses.replace(
        reply.usage, cost=cost(reply.usage, model_id, reply.model, batch=True)
    )
    return dataclasses.replace(reply, usage=usage)


async def advance(
    state: PromptState,
    job: Job,
    reply: Reply | None,
    error: BaseException | None,
    hooks: dict[str, Any] | None = None,
) -> Request | None:
    """Move one prompt past its round: give it the round's ``reply`` (or ``error``; neither
    in the first round), run its tools (``hooks``: ``before_call``, ``after_call``,
    ``approve``), and return its next request, or None once it has finished (``state.result``
    set)."""
    before = state.calls
    if reply is not None:
        state.calls += 1
        state.usage = state.usage + reply.usage
    model = ReplayModel(state.model_id, reply, error)
    conversation = AsyncConversation(list(state.messages), model=model, tools=job.tools)
    limit = job.chain_limit or DEFAULT_CHAIN_LIMIT
    try:
        response = await _ask(job, conversation, limit - before, hooks or {})
    except RoundEnd as end:
        state.messages = list(end.request.messages)
        return end.request
    except Exception as exc:  # this prompt's failure, never the batch's
        state.result = BatchResult(state.index, None, state.usage, error=exc)
        return None
    state.result = _answered(state, response, job)
    return None


async def _ask(
    job: Job, conversation: AsyncConversation, chain_limit: int, hooks: dict[str, Any]
) -> Response | ChainResponse:
    response: Response | ChainResponse
    if job.tools:
        response = conversation.chain(
            None, schema=job.schema, chain_limit=chain_limit, **hooks, **job.options
        )
    else:
        response = conversation.prompt(None, schema=job.schema, **job.options)
    await response
    return response


def _answered(state: PromptState, response: Response | ChainResponse, job: Job) -> BatchResult:
    result = BatchResult(state.index, response.text(), state.usage, _response=response)
    result.model = state.model_id
    result.attempts = state.calls
    if isinstance(response, ChainResponse) and response.state is not None:
        # Paused for a decision: this prompt stops, with the state to resume it live.
        state.paused = response.state.to_dict()
        result.completion = None
        result.error = PauseChain(
            "the chain paused for a decision on a tool call: resume result.response.state "
            "with Conversation.resume(state, decisions)"
        )
    elif job.schema is not None:
        parse_output(result, response)
    return result
