"""The ``prompt_cache`` and ``prompt_cache_ttl`` options, read the same way by every codec.

``prompt_cache="auto"`` (the default) asks each provider for the caching that pays in a tool
loop, where every step resends the previous step's whole prefix: Anthropic gets cache
breakpoints (``anthropic/caching.py``), OpenAI a ``prompt_cache_key`` per conversation
(`conversation_key`). ``"explicit"`` is "auto" plus what costs storage: on Gemini, a context
cache (``cachedContents``) of the request's shared prefix, made and deleted by the model
(``gemini/context_cache.py``); elsewhere it is "auto". ``"off"`` adds nothing; cache marks the
caller placed on parts are sent either way.

``prompt_cache_ttl`` is how long what is cached should last: ``"5m"``, ``"1h"`` or ``"24h"``.
Anthropic takes ``"5m"`` (its default, 1.25x the input price to write) or ``"1h"`` (2x);
OpenAI gets it as ``prompt_cache_retention`` (`cache_retention`: ``"in_memory"`` keeps a
cache minutes, up to an hour, so only ``"5m"`` is that, and longer is ``"24h"``, its extended
retention); a Gemini context cache lives that long (`cache_seconds`, 5 minutes when unset).

Why "auto" by default: on Anthropic a cache write costs 1.25x an input token and a read 0.1x,
so a prefix written at step 1 and read at step 2 already costs less than sending it twice
uncached (1.25 + 0.1 < 2); a chain of tool calls pays from its second step, and a one-shot
prompt pays 25 % more on its input only when it is long enough to be cached at all (1024
tokens or more, depending on the model). OpenAI's key costs nothing: it only routes a
conversation's requests to the same cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from agentloop.errors import InvalidOptionError
from agentloop.providers.wire_cache import dump_json

MODES = ("auto", "explicit", "off")
DEFAULT_MODE = "auto"
TTLS = ("5m", "1h", "24h")
#: ``prompt_cache_ttl`` as OpenAI's ``prompt_cache_retention``.
_RETENTIONS = {"5m": "in_memory", "1h": "24h", "24h": "24h"}
_SECONDS = {"5m": 300, "1h": 3600, "24h": 86400}
#: What a derived ``prompt_cache_key`` starts with, so a reader of a request log knows its source.
KEY_PREFIX = "agentloop-"


def cache_mode(options: Mapping[str, Any]) -> str:
    """``options``' ``prompt_cache``: "auto" (also when unset), "explicit" or "off"; anything
    else is an InvalidOptionError, as a misspelt mode would otherwise silently cost money or save
    none."""
    mode = options.get("prompt_cache")
    if mode is None:
        return DEFAULT_MODE
    if mode not in MODES:
        raise InvalidOptionError(
            f"Option prompt_cache={mode!r:.60}: must be 'auto', 'explicit' or 'off'",
            option="prompt_cache",
        )
    return str(mode)


def cache_ttl(options: Mapping[str, Any]) -> str | None:
    """``options``' ``prompt_cache_ttl`` ("5m", "1h" or "24h"), None when unset."""
    ttl = options.get("prompt_cache_ttl")
    if ttl is not None and ttl not in TTLS:
        raise InvalidOptionError(
            f"Option prompt_cache_ttl={ttl!r:.60}: must be '5m', '1h' or '24h'",
            option="prompt_cache_ttl",
        )
    return None if ttl is None else str(ttl)


def cache_retention(options: Mapping[str, Any]) -> str | None:
    """OpenAI's ``prompt_cache_retention`` for ``prompt_cache_ttl``, None when it is unset."""
    ttl = cache_ttl(options)
    return None if ttl is None else _RETENTIONS[ttl]


def cache_seconds(options: Mapping[str, Any]) -> int:
    """Seconds a Gemini context cache lives: ``prompt_cache_ttl``, else 5 minutes (a cache
    costs storage by the hour, and making it again costs its tokens once, less than an
    hour of storage)."""
    return _SECONDS[cache_ttl(options) or "5m"]


def conversation_key(items: Iterable[Any], is_first_user: Callable[[Any], bool]) -> str | None:
    """A ``prompt_cache_key`` for the conversation whose wire items are ``items``: a hash of
    the items up to and including the first user message (the system prompt and the opening
    request). Every step of a chain, and every later turn of the same conversation, starts
    with those same items, so all of them get the same key with no state kept anywhere;
    None when there is no user message yet."""
    digest = hashlib.sha256()
    for item in items:
        try:
            digest.update(dump_json(item).encode())
        except (TypeError, ValueError):
            return None  # not JSON: the body fails to encode later, with the usual error
        if is_first_user(item):
            return KEY_PREFIX + digest.hexdigest()[:32]
    return None
