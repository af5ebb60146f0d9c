"""FallbackModel: a model made of several, each tried when the one before it failed.

``get_model("a", fallbacks=["b", "c"])`` or ``FallbackModel(["a", "b", "c"])``. Each member
first spends its own retries (an HTTP model retries 429, 5xx, overload, timeouts and broken
connections under `agentloop.providers.retry`); only what is still failing then falls through
to the next member. Members may speak different wire formats: a request is neutral data, each
member encodes it its own way, mid-chain included.

What falls through, and what does not:

- a rate limit, server error, overload, timeout, connection error or a stream that broke
  before any of it was handed out (`ProviderError.retryable`, `StreamIncomplete`): the next
  member;
- `ContextTooLongError`: the next member whose configured context window is larger than the
  failing member's (``context_windows=``, by model id or by the name given; a member with no
  window counts as 0, so any member with one is larger); none such: the error surfaces;
- anything else (authentication, a bad request, a model not found, a malformed reply, an
  error of ours): surfaces at once, since another model would fail the same way or hide a
  mistake.

Streamed, a member falls through only before its first delta was handed out; once text has
reached the caller, switching models would splice two answers, so the error surfaces.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Literal

from agentloop.errors import (
    ContextTooLongError,
    InvalidOptionError,
    ProviderError,
    StreamIncomplete,
)
from agentloop.model import AsyncModel, Model
from agentloop.providers.base import Reply, Request, StreamEvent
from agentloop.registry import get_model
from agentloop.token_count import TokenCount

if TYPE_CHECKING:
    from agentloop.tokens import TokenRules

logger = logging.getLogger("agentloop.fallback")

Member = Model | AsyncModel | str


class FallbackModel(Model):
    """Several models as one: each tried in order when those before it failed (see the
    module's notes for what falls through). Its ``model_id`` is the first member's; each
    reply says which member answered (``response.answered_by``), and its usage is priced as
    that member's.
    """

    def __init__(
        self, models: Sequence[Member], *, context_windows: Mapping[str, int] | None = None
    ) -> None:
        if isinstance(models, str | Model | AsyncModel) or not models:
            raise InvalidOptionError(
                "FallbackModel takes a list of at least one model or model name, "
                f"not {models!r:.80}",
                option="models",
            )
        given = list(models)
        self.models: list[Model] = [_model(m) for m in given]
        self.model_id = self.models[0].model_id
        self.can_stream = any(m.can_stream for m in self.models)
        self.context_windows = _windows(context_windows or {}, given, self.models)

    @property
    def token_rules(self) -> TokenRules:  # type: ignore[override]
        return self.models[0].token_rules

    # -- answering ---------------------------------------------------------------------
    # The four shells below only call and iterate; every decision (which member now, what a
    # failure or a reply means) is `_Attempt`'s, written once for blocking and async alike.

    def complete(self, request: Request) -> Reply:
        attempt = _Attempt(self)
        while True:
            try:
                return attempt.answered(attempt.member.complete(request))
            except ProviderError as exc:
                attempt.failed(exc)

    async def acomplete(self, request: Request) -> Reply:
        attempt = _Attempt(self)
        while True:
            try:
                return attempt.answered(await attempt.member.acomplete(request))
            except ProviderError as exc:
                attempt.failed(exc)

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        attempt = _Attempt(self)
        while True:
            try:
                events = iter(attempt.member.stream(request))
                try:
                    for event in events:
                        yield attempt.passed(event)
                        if isinstance(event, Reply):
                            return
                finally:
                    # A member's stream left early (the caller stopped reading) closes now,
                    # releasing its connection, rather than whenever it is collected.
                    close = getattr(events, "close", None)
                    if close is not None:
                        close()
                return
            except ProviderError as exc:
                attempt.failed(exc)

    async def astream(self, request: Request) -> AsyncIterator[StreamEvent]:
        attempt = _Attempt(self)
        while True:
            try:
                events = attempt.member.astream(request)
                try:
                    async for event in events:
                        yield attempt.passed(event)
                        if isinstance(event, Reply):
                            return
                finally:
                    aclose = getattr(events, "aclose", None)
                    if aclose is not None:
                        await aclose()
                return
            except ProviderError as exc:
                attempt.failed(exc)

    # -- the rest of a model -----------------------------------------------------------

    def count_request(self, request: Request) -> TokenCount:
        return self.models[0].count_request(request)

    async def acount_request(self, request: Request) -> TokenCount:
        return await self.models[0].acount_request(request)

    def close(self) -> None:
        """Close every member (each one even when another fails; the first error is raised)."""
        errors: list[Exception] = []
        for member in self.models:
            try:
                member.close()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    async def aclose(self) -> None:
        errors: list[Exception] = []
        for member in self.models:
            try:
                await member.aclose()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    def __repr__(self) -> str:
        return f"<FallbackModel {' -> '.join(repr(m.model_id) for m in self.models)}>"


class _Attempt:
    """One request's way through a FallbackModel's members: the member to call now, and
    what its reply, its stream's events and its failure mean."""

    def __init__(self, fallback: FallbackModel) -> None:
        self.models = fallback.models
        self.windows = fallback.context_windows
        self.index = 0
        #: A note for each member that failed, added to the error that finally surfaces.
        self.failures: list[str] = []
        #: A delta was handed out: switching members now would splice two answers.
        self.started = False

    @property
    def member(self) -> Model:
        return self.models[self.index]

    def answered(self, reply: Reply) -> Reply:
        return replace(reply, answered_by=reply.answered_by or self.member.model_id)

    def passed(self, event: StreamEvent) -> StreamEvent:
        """A stream's event as the caller gets it."""
        if isinstance(event, Reply):
            return self.answered(event)
        self.started = True
        return event

    def failed(self, error: ProviderError) -> None:
        """Move on to the member to try next, or raise ``error``, with a note for each
        member that failed before (a stream that handed out a delta raises it as it is)."""
        if self.started:
            raise error
        following = self._following(error)
        if following is None:
            for failure in self.failures:
                error.add_note(failure)
            raise error
        failed, other = self.member, self.models[following]
        logger.warning(
            "%s failed (%s); falling back to %s",
            failed.model_id,
            type(error).__name__,
            other.model_id,
        )
        self.failures.append(f"{failed.model_id} failed first: {error}")
        self.index = following

    def _following(self, error: ProviderError) -> int | None:
        how = _falls_through(error)
        if how == "next" and self.index + 1 < len(self.models):
            return self.index + 1
        if how == "larger":
            window = self.windows[self.index] or 0
            return next(
                (
                    i
                    for i in range(self.index + 1, len(self.models))
                    if (self.windows[i] or 0) > window
                ),
                None,
            )
        return None


def with_fallbacks(
    name: str | None,
    fallbacks: Sequence[Member],
    context_windows: Mapping[str, int] | None = None,
    **kwargs: object,
) -> FallbackModel:
    """``get_model(name, fallbacks=[...])``: ``kwargs`` go to the first model only (a key of
    one provider is not another's); each fallback named is made by ``get_model``."""
    if isinstance(fallbacks, str | Model | AsyncModel):
        fallbacks = [fallbacks]
    first = get_model(name, **kwargs)
    return FallbackModel([first, *fallbacks], context_windows=context_windows)


def _model(member: object) -> Model:
    if isinstance(member, str):
        return get_model(member)
    if isinstance(member, Model | AsyncModel):
        return member._backing_model()
    raise InvalidOptionError(
        f"A FallbackModel member must be a model or a model name, not {type(member).__name__}",
        option="models",
    )


def _windows(
    windows: Mapping[str, int], given: list[Member], models: list[Model]
) -> list[int | None]:
    """Each member's context window, looked up by its model id or by the name it was given."""
    names = [g if isinstance(g, str) else m.model_id for g, m in zip(given, models, strict=True)]
    known = {*names, *(m.model_id for m in models)}
    unknown = sorted(k for k in windows if k not in known)
    if unknown:
        raise InvalidOptionError(
            f"context_windows names {', '.join(map(repr, unknown))}, which is no member of "
            f"this FallbackModel ({', '.join(m.model_id for m in models)})",
            option="context_windows",
        )
    for key, value in windows.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidOptionError(
                f"context_windows[{key!r}] must be a positive int (tokens), not {value!r}",
                option="context_windows",
            )
    return [windows.get(m.model_id, windows.get(n)) for n, m in zip(names, models, strict=True)]


def _falls_through(error: ProviderError) -> Literal["next", "larger"] | None:
    if isinstance(error, ContextTooLongError):
        return "larger"
    if error.retryable or isinstance(error, StreamIncomplete):
        return "next"
    return None
