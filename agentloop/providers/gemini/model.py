"""The Gemini provider: ``generateContent`` over the shared HTTP transport.

The key comes from ``api_key=``, else ``GEMINI_API_KEY``, else ``GOOGLE_API_KEY``,
and travels in the ``x-goog-api-key`` header (never in the URL, where it would end
up in logs). ``GEMINI_BASE_URL`` (or ``base_url=``) is the host;
``/v1beta/models/{model}:generateContent`` is appended.

``prompt_cache="explicit"`` caches each request's shared prefix in a context cache
(``gemini/context_cache.py``): the model finds or makes the cache before the request (one
``POST cachedContents`` per prefix, its TTL ``prompt_cache_ttl``), sends the rest of the
request with ``cachedContent``, and deletes its caches when closed. A cache that cannot be
made is logged as a WARNING and the request goes uncached.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from agentloop.errors import ProviderError
from agentloop.media import Media
from agentloop.model import Model
from agentloop.providers.base import Reply, Request, StreamEvent
from agentloop.providers.endpoints import GEMINI
from agentloop.providers.gemini.batch import GeminiBatch
from agentloop.providers.gemini.context_cache import (
    ContextCaches,
    Entry,
    Prefix,
    cache_gone,
    caches_url,
    create_body,
    created,
    reading,
    shared_prefix,
    with_writes,
)
from agentloop.providers.gemini.count import count_call
from agentloop.providers.gemini.messages import media_to_fetch
from agentloop.providers.gemini.reply import decode_reply
from agentloop.providers.gemini.request import encode_body, request_url
from agentloop.providers.gemini.stream import GeminiStreamDecoder, json_array_events
from agentloop.providers.gemini.tokens import TOKEN_RULES
from agentloop.providers.http import HTTPCall, HTTPModel
from agentloop.providers.options import check_model_keywords
from agentloop.providers.prompt_cache import cache_mode, cache_seconds
from agentloop.providers.sse import ServerSentEvent
from agentloop.providers.wire_json import UnreadableJSON, load_json
from agentloop.token_count import CountCall

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")
logger = logging.getLogger("agentloop.providers.gemini")

#: A request reading a context cache, its prefix, and the tokens written to make the cache
#: for this request (0 when an earlier request made it).
_Cached = tuple[HTTPCall, Prefix, int]


class GeminiModel(HTTPModel):
    """A Gemini model (``gemini-2.5-flash``, ``gemini-3-pro-preview``...)."""

    endpoint = GEMINI
    #: How this format's provider charges media, for the estimates.
    token_rules = TOKEN_RULES

    def __init__(self, model_name: str, **kwargs: Any) -> None:
        super().__init__(model_name, **kwargs)
        #: The context caches made for ``prompt_cache="explicit"``, deleted by `close`.
        self.context_caches = ContextCaches()

    def url(self, *, stream: bool = False) -> str:
        # The codec's: the streaming method, and a base URL that names its API version.
        return request_url(self.base_url, self.model_name, stream=stream)

    def encode(self, request: Request, *, stream: bool) -> HTTPCall:
        body = encode_body(request, {**self.options, **request.options})
        return HTTPCall(self.url(stream=stream), body, self.request_headers())

    def decode(self, body: Any) -> Reply:
        return decode_reply(body)

    def media_to_fetch(self, request: Request) -> list[Media]:
        return media_to_fetch(request.messages)

    def batch_api(self) -> GeminiBatch:
        """Batch Mode (``batchGenerateContent``)."""
        return GeminiBatch(self)

    def count_call(self, request: Request) -> CountCall:
        options = {**self.options, **request.options}
        return count_call(self.base_url, self.model_name, request, options)

    def stream_decoder(self) -> GeminiStreamDecoder:
        return GeminiStreamDecoder(lambda status, text: self.http_error(status, text, {}))

    def events_from_body(self, content_type: str, body: bytes) -> Iterable[ServerSentEvent] | None:
        # Gemini without alt=sse streams one JSON array; read it as the same chunks.
        return json_array_events(body) if "json" in content_type else None

    def error_from_response(
        self, status: int, text: str, headers: Mapping[str, str]
    ) -> ProviderError:
        error = super().error_from_response(status, text, headers)
        if error.retry_after is None:
            error.retry_after = retry_delay(text)
        return error

    # -- explicit context caching (prompt_cache="explicit") ---------------------------

    def complete(self, request: Request) -> Reply:
        self._fetch_media(request)
        call = self.encode(request, stream=False)
        cached = self._cached(call, request)
        if cached is None:
            return self.decode(self._post(call))
        reading_call, prefix, written = cached
        try:
            body = self._post(reading_call)
        except ProviderError as error:
            if not cache_gone(error):
                raise
            self._gone(prefix, error)
            return self.decode(self._post(call))
        return with_writes(self.decode(body), written)

    def stream(self, request: Request) -> Iterator[StreamEvent]:
        self._fetch_media(request)
        call = self.encode(request, stream=True)
        cached = self._cached(call, request)
        if cached is None:
            yield from self._stream(call)
            return
        reading_call, prefix, written = cached
        events = self._stream(reading_call)
        try:
            first = next(events, None)  # the request is sent here; a gone cache fails it
        except ProviderError as error:
            if not cache_gone(error):
                raise
            self._gone(prefix, error)
            yield from self._stream(call)
            return
        try:
            for event in itertools.chain([first] if first is not None else [], events):
                yield with_writes(event, written) if isinstance(event, Reply) else event
        finally:
            events.close()  # a stream left half read releases its connection now

    async def acomplete(self, request: Request) -> Reply:
        await self._afetch_media(request)
        call = self.encode(request, stream=False)
        cached = await self._acached(call, request)
        if cached is None:
            return self.decode(await self._apost(call))
        reading_call, prefix, written = cached
        try:
            body = await self._apost(reading_call)
        except ProviderError as error:
            if not cache_gone(error):
                raise
            self._gone(prefix, error)
            return self.decode(await self._apost(call))
        return with_writes(self.decode(body), written)

    async def astream(self, request: Request) -> AsyncIterator[StreamEvent]:
        await self._afetch_media(request)
        call = self.encode(request, stream=True)
        cached = await self._acached(call, request)
        events = self._astream(call if cached is None else cached[0])
        try:
            first = await anext(events, None)
        except ProviderError as error:
            if cached is None or not cache_gone(error):
                raise
            self._gone(cached[1], error)
            cached, events = None, self._astream(call)
            first = await anext(events, None)
        written = 0 if cached is None else cached[2]
        try:
            if first is not None:
                yield with_writes(first, written) if isinstance(first, Reply) else first
            async for event in events:
                yield with_writes(event, written) if isinstance(event, Reply) else event
        finally:
            await events.aclose()  # a stream left half read releases its connection now

    def _prefix(self, call: HTTPCall, request: Request) -> tuple[Prefix, int] | None:
        """The prefix to cache and its TTL, when ``prompt_cache`` is "explicit"."""
        options = {**self.options, **request.options}
        mode, ttl = cache_mode(options), cache_seconds(options)  # both checked on every request
        if mode != "explicit":
            return None
        prefix = shared_prefix(call.body, self.model_name)
        return None if prefix is None else (prefix, ttl)

    def _cached(self, call: HTTPCall, request: Request) -> _Cached | None:
        """``call`` reading its prefix's cache (made now if there is none), the prefix and
        the tokens written for it now; None to send ``call`` as it is."""
        found = self._prefix(call, request)
        if found is None:
            return None
        prefix, ttl = found
        entry, written = self.context_caches.find(prefix.key), 0
        if entry is None:
            with self.context_caches.lock(prefix.key):  # one cache, not one per thread
                entry = self.context_caches.find(prefix.key)
                if entry is None:
                    entry, written = self._make(prefix, ttl)
        return self._reading(call, prefix, entry, written)

    async def _acached(self, call: HTTPCall, request: Request) -> _Cached | None:
        """`_cached`, awaitable."""
        found = self._prefix(call, request)
        if found is None:
            return None
        prefix, ttl = found
        entry, written = self.context_caches.find(prefix.key), 0
        if entry is None:
            async with self.context_caches.async_lock(prefix.key):
                entry = self.context_caches.find(prefix.key)
                if entry is None:
                    entry, written = await self._amake(prefix, ttl)
        return self._reading(call, prefix, entry, written)

    def _make(self, prefix: Prefix, ttl: int) -> tuple[Entry, int]:
        """Make the cache of ``prefix``: its entry, and the tokens written (0 on failure)."""
        try:
            reply = self.post_json(*self._create_call(prefix, ttl))
        except ProviderError as error:
            return self._failed(prefix, ttl, error), 0
        return self._keep(prefix, ttl, reply)

    async def _amake(self, prefix: Prefix, ttl: int) -> tuple[Entry, int]:
        """`_make`, awaitable."""
        try:
            reply = await self.apost_json(*self._create_call(prefix, ttl))
        except ProviderError as error:
            return self._failed(prefix, ttl, error), 0
        return self._keep(prefix, ttl, reply)

    def _create_call(self, prefix: Prefix, ttl: int) -> tuple[str, dict[str, Any]]:
        return caches_url(self.base_url, self.model_name), create_body(self.model_name, prefix, ttl)

    def _keep(self, prefix: Prefix, ttl: int, reply: Any) -> tuple[Entry, int]:
        try:
            name, tokens = created(reply)
        except ProviderError as error:
            return self._failed(prefix, ttl, error), 0
        logger.info("made Gemini context cache %s: %d tokens for %ds", name, tokens, ttl)
        return self.context_caches.add(prefix.key, name, ttl), tokens

    def _failed(self, prefix: Prefix, ttl: int, error: ProviderError) -> Entry:
        logger.warning(
            "could not make a Gemini context cache (%s); sending the request without one", error
        )
        return self.context_caches.add(prefix.key, None, ttl)  # not tried again before its TTL

    @staticmethod
    def _reading(call: HTTPCall, prefix: Prefix, entry: Entry, written: int) -> _Cached | None:
        if entry.name is None:
            return None
        return replace(call, body=reading(call.body, entry.name, prefix)), prefix, written

    def _gone(self, prefix: Prefix, error: ProviderError) -> None:
        logger.warning(
            "the Gemini context cache is gone (%s); sending the request without it", error
        )
        self.context_caches.forget(prefix.key)

    def close(self) -> None:
        """Delete the context caches this model made, then close its connections."""
        try:
            for name in self.context_caches.take_all():
                try:
                    self.delete(caches_url(self.base_url, self.model_name, name))
                except ProviderError as error:
                    _not_deleted(name, error)
        finally:
            super().close()

    async def aclose(self) -> None:
        """`close`, awaitable."""
        try:
            for name in self.context_caches.take_all():
                try:
                    await self.adelete(caches_url(self.base_url, self.model_name, name))
                except ProviderError as error:
                    _not_deleted(name, error)
        finally:
            await super().aclose()


def _not_deleted(name: str, error: ProviderError) -> None:
    logger.warning(
        "could not delete Gemini context cache %s (%s); it expires with its TTL", name, error
    )


def retry_delay(text: str) -> float | None:
    """Seconds from a google.rpc.RetryInfo detail (``"retryDelay": "37s"``), if any."""
    try:
        body = load_json(text)
    except UnreadableJSON:
        return None
    if isinstance(body, list) and body:
        body = body[0]
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else []:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        match = _DURATION.match(delay) if isinstance(delay, str) else None
        if match:
            return float(match.group(1))
    return None


def create(name: str, **kwargs: Any) -> Model:
    """The registry's factory: ``gemini-2.5-flash`` or ``gemini/<model>``."""
    check_model_keywords(GeminiModel, name, kwargs)
    return GeminiModel(name, **kwargs)
