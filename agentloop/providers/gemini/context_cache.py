"""Gemini's explicit context caching (``prompt_cache="explicit"``): what goes in a cache, the
request that reads it, and the caches a model has made.

A ``cachedContents`` resource holds the part of a request every step shares: the system
instruction, the tool declarations and tool config (a request that reads a cache may not send
those itself), and the conversation's opening through its first user content when the request
has more contents after it (a request must still send at least one). Every step of a chain,
and every conversation with the same system prompt and tools, starts with that same prefix, so
one cache, found again by a hash of the prefix, serves them all. Making a cache is billed as
input tokens once, then storage by the hour until it expires (its TTL) or is deleted, which the
model does when it is closed (`ContextCaches.take_all`).

Everything here is pure but `ContextCaches`, the bookkeeping; the requests themselves are sent
by the model (``gemini/model.py``) through its transport. REST shapes as documented at
https://ai.google.dev/api/caching
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from agentloop.errors import ProviderError, ResponseFormatError
from agentloop.providers.base import Reply
from agentloop.providers.gemini.format import GEMINI
from agentloop.providers.gemini.request import request_url
from agentloop.providers.wire_cache import dump_json
from agentloop.usage import CACHE_WRITES, Usage

#: The fields of a generateContent body that move into the cache.
CACHED_FIELDS = ("systemInstruction", "tools", "toolConfig")
#: The fewest tokens Gemini caches (Gemini 2.5 Flash's minimum; Pro's is 4096). A prefix
#: estimated shorter is not worth a request that would be refused.
MIN_TOKENS = 1024


@dataclass(frozen=True, slots=True)
class Prefix:
    """The shared part of one request: its cache's fields, and how many contents they hold."""

    key: str
    fields: dict[str, Any]
    contents: int


def shared_prefix(body: dict[str, Any], model_name: str) -> Prefix | None:
    """The prefix of a generateContent ``body`` worth caching, or None when it holds nothing
    to cache or is shorter than any Gemini model caches (estimated at 4 characters a token)."""
    contents: Sequence[Any] = body.get("contents") or []
    opening = next(
        (i + 1 for i, c in enumerate(contents) if isinstance(c, dict) and c.get("role") == "user"),
        0,
    )
    if opening >= len(contents):
        opening = 0  # the opening is all there is: it stays in the request
    fields = {name: body[name] for name in CACHED_FIELDS if name in body}
    if opening:
        fields["contents"] = list(contents[:opening])
    if not fields:
        return None
    text = dump_json(fields)
    if len(text) < 4 * MIN_TOKENS:
        return None
    digest = hashlib.sha256(f"{model_name}\n{text}".encode()).hexdigest()
    return Prefix(digest, fields, opening)


def caches_url(base_url: str, model_name: str, name: str | None = None) -> str:
    """``{base}/v1beta/cachedContents`` (the same API version as generateContent), or the
    URL of the cache ``name`` (``cachedContents/...``)."""
    generate = request_url(base_url, model_name, stream=False)
    base = generate.rsplit("/models/", 1)[0]
    return f"{base}/{name}" if name else f"{base}/cachedContents"


def create_body(model_name: str, prefix: Prefix, ttl_seconds: int) -> dict[str, Any]:
    """The body of ``POST cachedContents`` for ``prefix``."""
    model = model_name.removeprefix("models/")
    return {"model": f"models/{model}", **prefix.fields, "ttl": f"{ttl_seconds}s"}


def created(reply: Any) -> tuple[str, int]:
    """The name and the token count of a cache from the reply to its creation."""
    name = reply.get("name") if isinstance(reply, dict) else None
    if not isinstance(name, str) or not name.startswith("cachedContents/"):
        raise ResponseFormatError(
            f"a created context cache has no name: {reply!r:.200}", provider=GEMINI
        )
    usage = reply.get("usageMetadata")
    tokens = usage.get("totalTokenCount") if isinstance(usage, dict) else None
    if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
        tokens = 0  # unreported: the call's own usage still says what it read
    return name, tokens


def reading(body: dict[str, Any], name: str, prefix: Prefix) -> dict[str, Any]:
    """``body`` reading the cache ``name``: without what the cache holds."""
    out = {key: value for key, value in body.items() if key not in CACHED_FIELDS}
    out["contents"] = list(body["contents"][prefix.contents :])
    out["cachedContent"] = name
    return out


def with_writes(reply: Reply, written: int) -> Reply:
    """A reply counting the ``written`` tokens of the cache made for it: as cache writes, in
    its input (billed at the input price, as Google bills a cache's creation)."""
    if not written:
        return reply
    usage = reply.usage + Usage(written, details={CACHE_WRITES: written})
    return replace(reply, usage=usage)


def cache_gone(error: ProviderError) -> bool:
    """Whether a request failed because the cache it read is gone (expired early, deleted
    elsewhere): then it is sent again without the cache."""
    return error.status in (400, 403, 404) and "cache" in str(error).lower()


@dataclass(slots=True)
class Entry:
    """A cache made for a prefix, read until ``usable`` (a margin before it ``expires``, so
    that no request reads it in its last seconds); ``name`` None when making it failed (not
    tried again before then)."""

    name: str | None
    usable: float
    expires: float


class ContextCaches:
    """The caches a model has made, by prefix key, until they expire or the model closes.

    Shared by the copies a batch makes of the model (`HTTPModel.with_transports`), so each
    prefix is cached once and the original's ``close()`` deletes them all; a pickled copy (a
    Ray worker) starts with none. One lock per prefix makes concurrent first requests wait
    for the one cache rather than each make their own.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._entries: dict[str, Entry] = {}
        self._retired: list[Entry] = []
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._async_locks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, asyncio.Lock]
        ] = weakref.WeakKeyDictionary()

    def __reduce__(self) -> tuple[type[ContextCaches], tuple[()]]:
        return (ContextCaches, ())

    def find(self, key: str) -> Entry | None:
        """The live entry for ``key``; an expired one is dropped (Gemini deleted it)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.usable <= self.clock():
                return None  # a new one replaces it (`add`)
            return entry

    def add(self, key: str, name: str | None, ttl_seconds: int) -> Entry:
        """Keep a cache made now (or a failure, ``name`` None) that lives ``ttl_seconds``."""
        expires = self.clock() + ttl_seconds
        entry = Entry(name, expires - min(60.0, ttl_seconds / 5), expires)
        with self._lock:
            old = self._entries.get(key)
            self._entries[key] = entry
            if old is not None and old.name is not None and old.expires > self.clock():
                self._retired.append(old)  # past its margin, not yet deleted: close deletes it
        return entry

    def forget(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def lock(self, key: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(key, threading.Lock())

    def async_lock(self, key: str) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._lock:
            return self._async_locks.setdefault(loop, {}).setdefault(key, asyncio.Lock())

    def take_all(self) -> list[str]:
        """The names of the live caches, forgotten: the model deletes them as it closes."""
        now = self.clock()
        with self._lock:
            entries = [*self._entries.values(), *self._retired]
            self._entries, self._retired = {}, []
            self._locks.clear()
        return [e.name for e in entries if e.name is not None and e.expires > now]
