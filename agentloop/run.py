"""A run: one prompt, chain or resume in progress, bridging the loop and the responses.

The run owns the chain generator and the shell that drives it, and it is the
loop's listener: each reply becomes a [`Response`][agentloop.Response] in the conversation
the moment it arrives, so a failure later in the chain loses nothing. Once someone reads its
events (``events()``, or an observer in ``conversation.on_event``), it asks the chain for
them and turns what the shell passes out into `agentloop.events` (an `EventFeed`).
"""

from __future__ import annotations

from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Generator,
    Iterator,
    Sequence,
)
from contextlib import aclosing, closing
from typing import TYPE_CHECKING

from agentloop.errors import (
    AgentloopError,
    BudgetExceeded,
    ChainLimitExceeded,
    OutputRetriesExceeded,
    StreamIncomplete,
)
from agentloop.events import Event, EventFeed, new_run_id
from agentloop.loop import ChainSpec, Decision, Outcome, Pause, Step, run_chain
from agentloop.messages import Message
from agentloop.providers.base import Delta, Reply, Request
from agentloop.response import ChainResponse, ChainState, Prompt, Response
from agentloop.shells import Item, adrive, adrive_iter, drive_iter

if TYPE_CHECKING:
    from agentloop.conversation import Conversation

#: Called with every run as it starts, in every conversation of the process; each may
#: return an observer of that run's events (called after the conversation's own), or None
#: to leave it be. `agentloop.tracing` registers here. Empty, runs make no events for it.
run_watchers: list[Callable[[Run], Callable[[Event], object] | None]] = []


class Run:
    """Drives one chain generator, sync or async, and records what it produces."""

    def __init__(
        self,
        conversation: Conversation,
        spec: ChainSpec,
        new_messages: Sequence[Message],
        prompt: Prompt,
        target: Response | ChainResponse,
        *,
        is_async: bool,
        resume: tuple[Pause, dict[str, Decision]] | None = None,
    ) -> None:
        self.conversation = conversation
        self.prompt = prompt
        self.target = target
        self.done = False
        self._error: BaseException | None = None
        self._unclaimed: Response | None = target if isinstance(target, Response) else None
        self.spec = spec
        #: Names this run in its events.
        self.run_id = new_run_id()
        self._feed: EventFeed | None = None
        self._watchers: list[Callable[[Event], object]] = []
        if run_watchers:
            for watcher in run_watchers:
                observer = watcher(self)
                if observer is not None:
                    self._watchers.append(observer)
        if conversation.on_event or self._watchers:
            self._watch()
        self.responses: list[Response] = []
        self._settled: list[Message] = []
        model = conversation.require_model()
        step = run_chain(
            conversation.messages, new_messages, spec, conversation.budget, self, resume
        )
        self._is_async = is_async
        self._out: list[Outcome] = []
        if is_async:
            self._step: Step[Outcome] | None = step
            self._model = model
            #: What drives the chain for `_aitems`, made when first needed (an awaited
            #: prompt never needs it: `_adrive`).
            self._adeltas: AsyncIterator[Item] | None = None
            #: Set while `_adrive` awaits the chain (no generator there says it is running),
            #: and once `_aitems` began (the chain is `_adeltas`'s from then on).
            self._driving = self._iterated = False
        else:
            self._deltas: Generator[Item, None, Outcome] = drive_iter(step, model)

    # -- the loop's listener ---------------------------------------------------

    def replied(self, request: Request, reply: Reply) -> None:
        response = self._unclaimed or Response(
            self.prompt, self.conversation, self.conversation.require_model().model_id
        )
        self._unclaimed = None
        response._complete(request, reply)
        # Results this run settled before its first model call were added for it.
        response.added = [*self._settled, reply.message]
        self._settled = []
        self.responses.append(response)
        self.conversation.responses.append(response)
        if isinstance(self.target, ChainResponse):
            self.target.responses.append(response)
        self._updated()

    def tools_ran(self, messages: list[Message]) -> None:
        if self.responses:
            # Results of the calls this run's last reply made.
            self.responses[-1].added.extend(messages)
        else:
            # Calls an earlier reply (or the caller's message list) left unanswered.
            self._settled.extend(messages)
        for message in messages:
            for result in message.tool_results:
                asker = self._asker(result.tool_call_id)
                if asker is not None:
                    asker.tool_results.append(result)
        self._updated()

    def rejected(self, message: Message) -> None:
        last = self.responses[-1]
        if last is self.target:
            # prompt() returns one response: the answer that is accepted. The rejected one
            # becomes a response of its own, kept in the conversation as it happened.
            attempt = Response(self.prompt, self.conversation, last.model)
            attempt.request, attempt._reply, attempt.added = last.request, last._reply, last.added
            self.responses[-1] = attempt
            index = self.conversation.responses.index(last)
            self.conversation.responses[index] = attempt
            last.request, last._reply, last.added = None, None, []
            self._unclaimed = last
            last = attempt
        last.added.append(message)  # the next reply answers it
        self._updated()

    def _asker(self, call_id: str) -> Response | None:
        """The response whose reply made the call ``call_id``, if it is one of ours."""
        for response in reversed(self.conversation.responses):
            reply = response.reply_so_far
            if reply is not None and any(
                c.tool_call_id == call_id for c in reply.message.tool_calls
            ):
                return response
        return None

    def _updated(self) -> None:
        for observer in self.conversation.on_update:
            observer(self.conversation)

    # -- events --------------------------------------------------------------------

    def _watch(self) -> EventFeed:
        """Ask the chain for its events from now on."""
        if self._feed is None:
            self._feed = EventFeed(self.run_id, schema=self.spec.schema is not None)
            self.spec.emit_events = True
        return self._feed

    def _seen(self, item: Item) -> list[Event]:
        """``item`` as events, handed to the conversation's observers first."""
        assert self._feed is not None
        events = self._feed.events(item)
        for event in events:
            event.run_id = self.run_id
            for observer in self.conversation.on_event:
                observer(event)
            for watcher in self._watchers:
                watcher(event)
        return events

    def events(self) -> Iterator[Event]:
        """Drive the run (sync), yielding its events as they happen."""
        self._check_unread()
        self._watch()
        with closing(self._items()) as items:
            for item in items:
                yield from self._seen(item)

    async def aevents(self) -> AsyncIterator[Event]:
        """Drive the run (async), yielding its events as they happen."""
        self._check_unread()
        self._watch()
        async with aclosing(self._aitems()) as items:
            async for item in items:
                for event in self._seen(item):
                    yield event

    def _check_unread(self) -> None:
        if self.done and self._error is None:
            raise AgentloopError(
                "This response has already run, and its events were not kept: read "
                "events() before anything else reads the response (a sync model's response "
                "waits for you with stream=True), or add an observer to "
                "conversation.on_event before the call"
            )

    # -- driving ---------------------------------------------------------------

    def chunks(self) -> Iterator[str]:
        """Drive the run (sync), yielding streamed text as it arrives."""
        with closing(self._items()) as items:
            for item in items:
                if self._feed is not None:
                    self._seen(item)
                if isinstance(item, Delta) and item.kind == "text":
                    yield item.text

    async def achunks(self) -> AsyncIterator[str]:
        """Drive the run (async), yielding streamed text as it arrives."""
        async with aclosing(self._aitems()) as items:
            async for item in items:
                if self._feed is not None:
                    self._seen(item)
                if isinstance(item, Delta) and item.kind == "text":
                    yield item.text

    def _items(self) -> Generator[Item, None, None]:
        """Drive the run (sync), yielding what the shell passes out."""
        if self._is_async:
            raise TypeError("This response comes from an async model: use `async for`")
        if self.done:
            self._raise_stored()
            return
        try:
            self.conversation.turn_guard.claim(self)
            while True:
                try:
                    item = next(self._deltas)
                except StopIteration as stop:
                    self._finished(stop.value)
                    return
                yield item
        except BaseException as exc:
            self._failed(exc)
            raise

    async def _aitems(self) -> AsyncGenerator[Item, None]:
        """Drive the run (async), yielding what the shell passes out."""
        if not self._is_async:
            raise TypeError("This response comes from a sync model: use a plain `for` loop")
        if self.done:
            self._raise_stored()
            return
        self._iterated = True
        try:
            if self._driving:
                raise RuntimeError(_AWAITED)
            self.conversation.turn_guard.claim(self)
            if self._adeltas is None:
                assert self._step is not None  # released only once done
                self._adeltas = adrive_iter(self._step, self._model, self._out)
            async for item in self._adeltas:
                yield item
        except BaseException as exc:
            self._failed(exc)
            raise
        self._finished(self._out[0])

    def finish(self) -> None:
        if self.done:
            self._raise_stored()
            return
        if self._is_async:
            raise TypeError("This response comes from an async model: await it first")
        for _ in self.chunks():
            pass

    async def afinish(self) -> None:
        quiet = self._is_async and self._feed is None and not (self._iterated or self.done)
        if quiet and await self._adrive():
            return
        # `achunks` without its text: the same items seen in the same order.
        async with aclosing(self._aitems()) as items:
            async for item in items:
                if self._feed is not None:
                    self._seen(item)

    async def _adrive(self) -> bool:
        """Drive the run as a coroutine while it passes nothing out (`shells.adrive`): True
        when it finished so; False when it stopped at an effect that passes items out
        (someone began to read the events meanwhile, or the chain streams), which
        `_adeltas` then performs first. A prompt that is only awaited (every prompt of a
        batch) so needs no async generator."""
        if self._driving:
            error = RuntimeError(_AWAITED)
            self._failed(error)
            raise error
        self._driving = True
        try:
            self.conversation.turn_guard.claim(self)
            assert self._step is not None  # released only once done
            effect, outcome = await adrive(self._step, self._model)
        except BaseException as exc:
            self._failed(exc)
            raise
        finally:
            self._driving = False
        if effect is not None:
            assert self._step is not None
            self._adeltas = adrive_iter(self._step, self._model, self._out, effect)
            return False
        assert outcome is not None
        self._finished(outcome)
        return True

    def _finished(self, outcome: Outcome) -> None:
        self.done = True
        self._release_driver()
        self.conversation.turn_guard.release(self)
        if outcome.pause is not None:
            state = ChainState(outcome.pause, self.conversation.to_dict())
            self.target.state = state

    def _failed(self, exc: BaseException) -> None:
        self.done = True
        self._release_driver()
        self.conversation.turn_guard.release(self)
        self._error = exc
        if isinstance(exc, ChainLimitExceeded | BudgetExceeded | OutputRetriesExceeded):
            exc.responses = list(self.responses)
        if isinstance(exc, StreamIncomplete):
            # Whatever arrived before the break stays readable on the response too.
            self.target.partial_text = exc.partial_text

    def _release_driver(self) -> None:
        # A finished run's async generator would stay registered with the event loop as
        # long as the response lives, and the loop closes every such generator when it
        # shuts down: after a batch of 5,000 prompts, 5,000 tasks and up to a second.
        if self._is_async:
            self._adeltas = self._step = None  # the chain too, closed now as it was with it

    def _raise_stored(self) -> None:
        if self._error is not None:
            raise self._error


_AWAITED = "This response is already being awaited elsewhere: await it in one place only"


def start(
    conversation: Conversation,
    spec: ChainSpec,
    new_messages: Sequence[Message],
    prompt: Prompt,
    target: Response | ChainResponse,
    *,
    is_async: bool,
    resume: tuple[Pause, dict[str, Decision]] | None = None,
) -> None:
    """Attach a run to ``target``; a sync, non-streamed run completes before returning."""
    run = Run(conversation, spec, new_messages, prompt, target, is_async=is_async, resume=resume)
    target._run = run
    if not is_async and not spec.stream:
        run.finish()
