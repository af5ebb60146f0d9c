"""What a prompt or chain gives back: [`Response`][agentloop.Response] (one model call) and
[`ChainResponse`][agentloop.ChainResponse].

Both are lazy only when streamed: iterating yields text chunks as they
arrive, and ``text()`` waits for the end. From an async model they are also
awaitable and async-iterable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentloop import prices, structured
from agentloop.errors import AgentloopError, SerializationError
from agentloop.loop import Pause, PausedCall
from agentloop.media import File, Image
from agentloop.messages import (
    Citation,
    Message,
    ToolCall,
    ToolResult,
    expect_type,
    part_from_dict,
)
from agentloop.providers.base import Reply, Request
from agentloop.registry import get_model
from agentloop.structured import OutputSchema, json_schema
from agentloop.usage import Usage

if TYPE_CHECKING:
    from agentloop.conversation import Conversation
    from agentloop.events import Event
    from agentloop.run import Run
    from agentloop.tools import Tools


@dataclass(slots=True)
class Prompt:
    """What the caller asked: ``response.prompt.prompt`` is the prompt text."""

    prompt: str | None
    system: str | None = None
    attachments: list[Image | File] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    #: What ``schema=`` was: a JSON schema dict or a type (then ``parsed()`` validates it).
    schema: OutputSchema | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"prompt": self.prompt}
        if self.schema is not None:
            out["schema"] = json_schema(self.schema)
        if self.system is not None:
            out["system"] = self.system
        if self.attachments:
            out["attachments"] = [a.to_dict() for a in self.attachments]
        if self.options:
            out["options"] = self.options
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prompt:
        data = expect_type(data, dict, "A prompt dict")
        listed = expect_type(data.get("attachments", []), list, "A prompt dict's 'attachments'")
        attachments = [part_from_dict(a) for a in listed]
        media = [a for a in attachments if isinstance(a, Image | File)]
        if len(media) != len(attachments):
            raise SerializationError("A prompt dict's 'attachments' must be image or file parts")
        return cls(
            expect_type(data.get("prompt"), str, "A prompt dict's 'prompt'", optional=True),
            expect_type(data.get("system"), str, "A prompt dict's 'system'", optional=True),
            media,
            dict(expect_type(data.get("options") or {}, dict, "A prompt dict's 'options'")),
            expect_type(data.get("schema"), dict, "A prompt dict's 'schema'", optional=True),
        )


class _Lazy:
    """Shared by both response kinds: finishing or streaming the run behind them."""

    _run: Run | None
    #: The text that arrived before a stream broke off (see StreamIncomplete), else "".
    partial_text: str = ""

    def _finish(self) -> None:
        if self._run is not None:
            self._run.finish()

    def __iter__(self) -> Iterator[str]:
        if self._run is None:
            return iter(())
        return self._run.chunks()

    def __aiter__(self) -> AsyncIterator[str]:
        if self._run is None:
            raise AgentloopError("This response is complete; iterate it with a plain for loop")
        return self._run.achunks()

    def __await__(self) -> Generator[Any, None, Any]:
        if self._run is not None:
            yield from self._run.afinish().__await__()
        return self

    @property
    def done(self) -> bool:
        return self._run is None or self._run.done

    def events(self) -> Events:
        """What happens as the run goes, as typed [events][agentloop.events.Event]: text and
        thinking deltas, tool calls as they are written, run and answered, approvals, each
        model call's usage, the structured output so far, the end (docs/events.md).

        ``for event in response.events()`` (sync) or ``async for`` (async); reading them
        drives the run, as iterating the text does. Read them before anything else reads
        the response: a finished run kept none.
        """
        return Events(self._run)


class Events:
    """A response's events: iterate with ``for`` (sync model) or ``async for`` (async)."""

    __slots__ = ("_run",)

    def __init__(self, run: Run | None) -> None:
        self._run = run

    def __iter__(self) -> Iterator[Event]:
        if self._run is None:
            raise AgentloopError(_NO_RUN)
        return self._run.events()

    def __aiter__(self) -> AsyncIterator[Event]:
        if self._run is None:
            raise AgentloopError(_NO_RUN)
        return self._run.aevents()


_NO_RUN = (
    "This response has no run of its own to read events from: it was rebuilt from a dict, "
    "or it is one step of a chain (read the chain's events)"
)


class Response(_Lazy):
    """One model call and everything known about it."""

    def __init__(self, prompt: Prompt, conversation: Conversation, model: str) -> None:
        self.prompt = prompt
        self.conversation = conversation
        #: The name of the model that was asked.
        self.model = model
        self.request: Request | None = None
        #: Results of the tool calls this response asked for, once they ran.
        self.tool_results: list[ToolResult] = []
        #: Set when a hook paused the tool calls this prompt had to settle first.
        self.state: ChainState | None = None
        #: What this model call added to the history (see
        #: [`messages`][agentloop.Response.messages]).
        self.added: list[Message] = []
        self._reply: Reply | None = None
        self._run: Run | None = None
        self._priced = False

    # -- filled in by the run ------------------------------------------------

    def _complete(self, request: Request, reply: Reply) -> None:
        self.request = request
        self._reply = reply

    @property
    def reply_so_far(self) -> Reply | None:
        """The reply if this model call has completed, else None; never waits for the run.

        For observers called while a run is still going (the conversation log).
        """
        return self._reply

    @property
    def _done_reply(self) -> Reply:
        self._finish()
        if self._reply is None:
            raise AgentloopError("This response has no reply (the run failed or paused first)")
        return self._reply

    # -- reading -------------------------------------------------------------

    @property
    def message(self) -> Message:
        """The assistant message: text, thinking and tool calls."""
        return self._done_reply.message

    def text(self) -> str:
        return self._done_reply.message.text

    def citations(self) -> list[Citation]:
        """The sources the provider cited for this answer (web pages, files, grounding)."""
        return self._done_reply.message.citations

    def usage(self) -> Usage:
        """Tokens, and ``cost`` in USD: None when unknown (docs/cost.md says when)."""
        reply = self._done_reply
        if not self._priced:
            # Priced on first use: the price table takes a few hundred ms to load.
            self._priced = True
            if reply.usage.cost is None:
                reply.usage.cost = prices.cost(reply.usage, self.answered_by, reply.model)
        return reply.usage

    def tool_calls(self) -> list[ToolCall]:
        return self._done_reply.message.tool_calls

    @property
    def finish_reason(self) -> str | None:
        return self._done_reply.finish_reason

    @property
    def resolved_model(self) -> str:
        """The model that served the call, when the provider said; else the one that
        answered (`answered_by`)."""
        return self._done_reply.model or self.answered_by

    @property
    def answered_by(self) -> str:
        """The model (``provider/name``) that answered: the one asked (`model`), or the
        member of a [`FallbackModel`][agentloop.FallbackModel] that answered for it."""
        return self._done_reply.answered_by or self.model

    def to_message(self) -> Message:
        """The complete assistant message, ready to append to a message list."""
        return self.message

    def messages(self) -> list[Message]:
        """Every message this response added to the history, in order.

        That is its assistant message, preceded by the results of tool calls an
        earlier reply left unanswered that were settled before this call, and
        followed by the results of its own calls when its chain ran them. Extend
        the list you keep with it (``messages.extend(response.messages())``) and
        the next ``prompt(messages=...)`` sends a complete history, running
        every tool call exactly once.
        """
        _ = self._done_reply  # waits for the run; raises if it failed
        return list(self.added)

    def parsed(self) -> Any:
        """The answer as structured output: validated against ``schema=`` when it was a type.

        Raises [`StructuredOutputError`][agentloop.errors.StructuredOutputError] (carrying the raw
        text) when the answer is not valid JSON or does not match.
        """
        return structured.parse(self.text(), self.prompt.schema)

    def reply(self, prompt: str | None = None, **kwargs: Any) -> Any:
        """Continue the conversation from this response (running any pending tool calls)."""
        return self.conversation.continue_from(self, prompt, **kwargs)

    # -- persistence -----------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the prompt, the history up to this response and the reply. No API keys."""
        reply = self._done_reply
        history = self.conversation.history_until(self)
        return {
            "model": self.model,
            "prompt": self.prompt.to_dict(),
            "history": [m.to_dict() for m in history],
            "message": reply.message.to_dict(),
            "usage": self.usage().to_dict(),
            "finish_reason": reply.finish_reason,
            "resolved_model": reply.model,
            **({"answered_by": reply.answered_by} if reply.answered_by else {}),
            "tool_results": [r.to_dict() for r in self.tool_results],
            "conversation": self.conversation.settings_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, tools: Tools = ()) -> Response:
        """Rebuild a response; ``tools`` are needed only if a reply will run tools.

        Anything but what [`to_dict`][agentloop.Response.to_dict] wrote raises
        [`SerializationError`][agentloop.errors.SerializationError] naming the field at fault.
        """
        data = expect_type(data, dict, "A response dict (what Response.to_dict() returns)")
        missing = [key for key in ("model", "prompt", "history", "message") if key not in data]
        if missing:
            raise SerializationError(f"A response dict is missing {missing[0]!r}")
        model = expect_type(data["model"], str, "A response dict's 'model'")
        history = expect_type(data["history"], list, "A response dict's 'history'")
        where = "A response dict's 'conversation'"
        settings = expect_type(data.get("conversation") or {}, dict, where)
        if not model:
            raise SerializationError("A response dict's 'model' is empty: name the model")
        # The model makes the conversation: agentloop.conversation builds on this module.
        answering = get_model(model)
        conversation = answering._conversation_type().from_dict(
            {**settings, "model": model, "messages": history}, tools=tools, model=answering
        )
        response = cls(Prompt.from_dict(data["prompt"]), conversation, model)
        response._reply = cls._reply_from_dict(data)
        message = response._reply.message
        where = "A response dict's 'tool_results'"
        listed = expect_type(data.get("tool_results", []), list, where)
        results = [part_from_dict(p) for p in listed]
        response.tool_results = [r for r in results if isinstance(r, ToolResult)]
        if len(response.tool_results) != len(results):
            raise SerializationError(f"{where} must be tool_result parts")
        response.added = [message]
        if response.tool_results:
            response.added.append(Message("tool", list(response.tool_results)))
        conversation.messages.extend(response.added)
        conversation.responses.append(response)
        return response

    @staticmethod
    def _reply_from_dict(data: dict[str, Any]) -> Reply:
        """The reply part of [`from_dict`][agentloop.Response.from_dict]: message, usage, finish
        reason, model."""
        where = "A response dict's "
        message = Message.from_dict(expect_type(data["message"], dict, f"{where}'message'"))
        usage = expect_type(data.get("usage") or {}, dict, f"{where}'usage'")
        details = usage.get("details") or {}
        counts = [v for k, v in usage.items() if k not in ("details", "cost")]
        if (
            not isinstance(details, dict)
            or not isinstance(usage.get("cost"), int | float | None)
            or not all(isinstance(v, int | None) for v in [*counts, *details.values()])
            or not all(isinstance(usage.get(k, 0), int) for k in ("input_tokens", "output_tokens"))
        ):
            raise SerializationError(f"{where}'usage' must hold token counts, got {usage!r:.80}")
        return Reply(
            message,
            Usage.from_dict(usage),
            expect_type(data.get("finish_reason"), str, f"{where}'finish_reason'", optional=True),
            expect_type(data.get("resolved_model"), str, f"{where}'resolved_model'", optional=True),
            expect_type(data.get("answered_by"), str, f"{where}'answered_by'", optional=True),
        )

    def __repr__(self) -> str:
        state = "streaming" if not self.done else f"{len(self.text())} chars"
        return f"<Response model={self.model!r} {state}>"


@dataclass(slots=True)
class ChainState:
    """A paused chain, serializable to JSON, to resume later (maybe in another process)."""

    pause: Pause
    conversation: dict[str, Any]

    @property
    def pending(self) -> list[ToolCall]:
        """The calls waiting for a decision."""
        return [p.call for p in self.pause.paused]

    def to_dict(self) -> dict[str, Any]:
        return {
            "paused": [
                {"call": p.call.to_dict(), "stage": p.stage, "reason": p.reason}
                for p in self.pause.paused
            ],
            "done": [r.to_dict() for r in self.pause.done],
            "conversation": self.conversation,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChainState:
        """Rebuild a paused chain; anything but what `to_dict` wrote raises
        [`SerializationError`][agentloop.errors.SerializationError] naming the field at fault."""
        data = expect_type(data, dict, "A chain state (what ChainState.to_dict() returns)")
        missing = [key for key in ("paused", "conversation") if key not in data]
        if missing:
            raise SerializationError(f"A chain state is missing {missing[0]!r}")
        paused = [
            cls._paused_from_dict(item)
            for item in expect_type(data["paused"], list, "A chain state's 'paused'")
        ]
        where = "A chain state's 'done'"
        done = [part_from_dict(r) for r in expect_type(data.get("done", []), list, where)]
        results = [r for r in done if isinstance(r, ToolResult)]
        if len(results) != len(done):
            raise SerializationError(f"{where} must be tool_result parts")
        conversation = expect_type(data["conversation"], dict, "A chain state's 'conversation'")
        return cls(Pause(paused, results), dict(conversation))

    @staticmethod
    def _paused_from_dict(item: object) -> PausedCall:
        item = expect_type(item, dict, "A paused entry")
        if "call" not in item or "stage" not in item:
            raise SerializationError("A paused entry needs a 'call' and a 'stage'")
        call = part_from_dict(item["call"])
        if not isinstance(call, ToolCall):
            raise SerializationError("A paused entry must hold a tool_call")
        stage = item["stage"]
        if stage not in ("before_call", "approve"):
            raise SerializationError(
                f"A paused entry's 'stage' must be 'before_call' or 'approve', not {stage!r:.40}"
            )
        reason = expect_type(item.get("reason"), str, "A paused entry's 'reason'", optional=True)
        return PausedCall(call, stage, reason)


class ChainResponse(_Lazy):
    """The result of ``chain()``: every model call it made, and the final answer."""

    def __init__(self, prompt: Prompt, conversation: Conversation) -> None:
        self.prompt = prompt
        self.conversation = conversation
        #: Every response of this chain, in order.
        self.responses: list[Response] = []
        #: Set when a hook paused the chain; pass it to ``conversation.resume``.
        self.state: ChainState | None = None
        self._run: Run | None = None

    @property
    def paused(self) -> bool:
        self._finish()
        return self.state is not None

    def _last(self) -> Response:
        self._finish()
        if not self.responses:
            raise AgentloopError("This chain made no model call")
        return self.responses[-1]

    def text(self) -> str:
        """The final answer (the text of the last model call)."""
        self._finish()
        return self.responses[-1].text() if self.responses else ""

    def usage(self) -> Usage:
        """Usage summed over every model call of the chain; its ``cost`` is None when one
        call's cost is unknown (a partial sum would read as the whole)."""
        self._finish()
        return Usage.sum(r.usage() for r in self.responses)

    def tool_calls(self) -> list[ToolCall]:
        """Every tool call the model made during the chain."""
        self._finish()
        return [c for r in self.responses for c in r.tool_calls()]

    def tool_results(self) -> list[ToolResult]:
        self._finish()
        return [t for r in self.responses for t in r.tool_results]

    def to_message(self) -> Message:
        """The final answer's assistant message."""
        return self._last().to_message()

    def messages(self) -> list[Message]:
        """Every message the chain added after the prompt: each reply with its tool
        calls, their results, and the final answer (see
        [`Response.messages`][agentloop.Response.messages])."""
        self._finish()
        return [m for r in self.responses for m in r.added]

    def parsed(self) -> Any:
        """The final answer as structured output (see
        [`Response.parsed`][agentloop.Response.parsed])."""
        return self._last().parsed()

    def reply(self, prompt: str | None = None, **kwargs: Any) -> Any:
        return self._last().reply(prompt, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return self._last().to_dict()

    def __repr__(self) -> str:
        return f"<ChainResponse {len(self.responses)} model calls>"
