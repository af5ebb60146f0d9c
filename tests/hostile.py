"""What a hostile or broken server can put in a reply, for the provider tests.

Each payload is JSON text (or text that reads as JSON to ``json.loads``) that the standard
library mishandles: nesting deep enough for ``RecursionError``, an integer past the 4,300-digit
limit, NaN and Infinity, a lone surrogate. `inject` puts one where a value was in a reply
body or event, as raw text, since most of them cannot be written by ``json.dumps``.
`assert_sendable` checks what must hold afterwards: the history encodes as strict JSON.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from agentloop import Message, ProviderError
from agentloop.providers.anthropic.messages import encode_messages as to_anthropic
from agentloop.providers.base import Delta, Reply
from agentloop.providers.bedrock.messages import encode_messages as to_bedrock
from agentloop.providers.cohere.messages import encode_messages as to_cohere
from agentloop.providers.gemini.messages import encode_messages as to_gemini
from agentloop.providers.openai_chat.messages import encode_messages as to_openai
from agentloop.providers.openai_responses.messages import encode_messages as to_responses

VERY_DEEP = "[" * 100_000 + "]" * 100_000
#: Deep enough to break a recursive copy after ``json.loads`` read it fine.
DEEP = "[" * 600 + "]" * 600
HUGE_INTEGER = "9" * 5_000


@dataclass(frozen=True)
class Payload:
    name: str
    #: A tool call's argument text holding the hostile value.
    arguments: str
    #: Whether a reply carrying it inside its own JSON cannot be read at all (then the reply is
    #: a ResponseFormatError), rather than only the value being refused or mended.
    breaks_the_reply: bool


ARGUMENTS = [
    Payload("deep", '{"city": ' + "[" * 10_000 + "]" * 10_000 + "}", breaks_the_reply=True),
    Payload("huge-integer", '{"city": ' + HUGE_INTEGER + "}", breaks_the_reply=True),
    Payload("lone-surrogate", '{"city": "\\udcff"}', breaks_the_reply=False),
    Payload("nan", '{"city": NaN}', breaks_the_reply=False),
    Payload("infinity", '{"city": -Infinity}', breaks_the_reply=False),
    Payload("overflow", '{"city": 1e400}', breaks_the_reply=False),
]

#: Raw JSON text put in place of a value of a reply body or event.
VALUES = [
    VERY_DEEP,
    DEEP,
    HUGE_INTEGER,
    "NaN",
    "-Infinity",
    "1e400",
    '"\\udcff"',
    '"text \\ud83d and more"',
    '{"\\udcff": "key"}',
    *(json.dumps(payload.arguments) for payload in ARGUMENTS),  # as argument text in a string
]

_MARK = "\u2063hostile\u2063"


def places(tree: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON tree (dict keys and list indices)."""
    found = [prefix] if prefix else []
    if isinstance(tree, dict):
        for key, value in tree.items():
            found.extend(places(value, (*prefix, key)))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            found.extend(places(value, (*prefix, index)))
    return found


def inject(tree: Any, rng: random.Random, value: str | None = None) -> str:
    """``tree`` as JSON text with one of its values (or the whole) replaced by hostile text."""
    hostile = value if value is not None else rng.choice(VALUES)
    spots = places(tree)
    if not spots:
        return hostile
    *parents, last = rng.choice(spots)
    tree = json.loads(json.dumps(tree))
    node = tree
    for step in parents:
        node = node[step]
    node[last] = _MARK
    return json.dumps(tree).replace(json.dumps(_MARK), hostile, 1)


def strict_json(data: bytes) -> Any:
    """``data`` read as RFC 8259 JSON: UTF-8, no NaN or Infinity, no lone surrogates."""

    def refuse(constant: str) -> Any:
        raise AssertionError(f"{constant} was sent")

    value = json.loads(data.decode("utf-8"), parse_constant=refuse)
    json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    return value


ENCODERS: dict[str, Callable[[list[Message]], Any]] = {
    "openai": to_openai,
    "openai-responses": to_responses,
    "anthropic": to_anthropic,
    "gemini": to_gemini,
    "bedrock": to_bedrock,
    "cohere": to_cohere,
}


def assert_sendable(messages: list[Message], formats: Iterable[str] = ENCODERS) -> None:
    """The history encodes, in each format, as JSON a strict server accepts."""
    for name in formats:
        encoded = ENCODERS[name](messages)
        text = json.dumps(encoded, ensure_ascii=False, allow_nan=False)
        text.encode("utf-8")  # no lone surrogate anywhere


def inject_event(datas: list[str], rng: random.Random) -> list[str]:
    """``datas`` (the data of each event) with hostile text put into one JSON event."""
    readable = [i for i, data in enumerate(datas) if data.strip() not in ("", "[DONE]")]
    if not readable:
        return datas
    index = rng.choice(readable)
    return [*datas[:index], inject(json.loads(datas[index]), rng), *datas[index + 1 :]]


def typed_or_sendable(decode: Callable[[], Reply], provider: str) -> ProviderError | None:
    """Run ``decode``: a typed error naming ``provider``, or a reply that can be sent again."""
    error: ProviderError | None = None
    try:
        reply = decode()
    except ProviderError as exc:
        error = exc
    if error is not None:
        assert error.provider == provider, f"{type(error).__name__}: {error}"
        return error
    assert_sendable([reply.message], [provider])
    return None


def assert_shown_text_encodes(deltas: Iterable[Delta]) -> None:
    """What a stream shows as it arrives can be printed: no lone surrogate in it."""
    "".join(delta.text for delta in deltas).encode("utf-8")
