"""Each message's wire form, made once per run and reused by every later request of that run.

A chain of N model calls sends its whole history N times. Converting every message to its
wire dict again at each call, then serializing the whole body, makes a call's cost grow with
the history. Instead a run (`agentloop.loop.run_chain`) gives each of its requests the same
`WireCache`; a codec asks it for a `MessageCache` of its own format, which converts a message
only the first time it is sent and keeps its wire items and their JSON text. The body then
holds a `WireList`, a plain list of those items that also knows its JSON, and `dump_body`
splices those texts into the body's bytes instead of serializing them again.

When is a kept encoding still right? Messages are mutable, so each entry keeps the message
(its ``id()`` cannot be reused meanwhile) and a snapshot of its fields and its parts' fields,
compared by identity at every use: a message or a part given a new value (``part.output =
...``), a part added, removed or replaced, a message replaced, moved or dropped from the
history, is converted again. What the snapshot cannot see is a change made inside a dict or
list a part holds (``call.arguments["n"] = 2``) after the message was first sent in this
run; the cache lives for one run only, so such an edit between runs is always seen.

A chain's requests are each the previous one's messages plus what the last step added. So a
`MessageCache` also keeps what its last `encode` sent: when the next request starts with the
very same message objects, in the same order, with equal snapshots, their items and JSON are
taken whole, and only the new messages are looked up one by one. The rule is the same as
for one message (identity, then the snapshot), so nothing is reused that the per-message
path would convert again; what remains of the history's length in a call's cost is one
snapshot per message (a few C-level reads) and the joining of the JSON texts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from operator import attrgetter, is_
from typing import Any

from agentloop.messages import Message

WireItem = dict[str, Any]
#: Converts the message at an index of the history to its wire items (the index is for
#: error messages only: the result must depend on the message alone).
EncodeOne = Callable[[int, Message], list[WireItem]]


#: ``json.dumps`` with these options makes an encoder at every call; one made here is
#: what it would make (it keeps no state between calls, so threads can share it).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def made_once(encoder: json.JSONEncoder) -> Callable[[Any], str]:
    """``encoder.encode`` with its C encoder made once rather than at every call (same text).

    ``encode`` builds the C encoder anew for every dict or list. Made once without the
    circular-reference check it holds no state (the check keeps a dict of the containers
    being written), so threads can share it; a cycle then ends in RecursionError, and the
    value is written again the checked way, which raises json's own error. For an encoder
    with ``indent``, escaping to ASCII, or without the C module: ``encode`` itself.
    """
    if c_make_encoder is None or encoder.indent is not None or encoder.ensure_ascii:
        return encoder.encode
    c_encode = c_make_encoder(
        None,
        encoder.default,
        encode_basestring,
        None,
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        encoder.allow_nan,
    )

    def encode(value: Any) -> str:
        if isinstance(value, str):
            return encoder.encode(value)
        try:
            return "".join(c_encode(value, 0))
        except RecursionError:
            return encoder.encode(value)  # a cycle: json's "Circular reference detected"

    return encode


#: JSON as it goes on the wire: as httpx's ``json=`` writes it (compact, UTF-8, no NaN).
dump_json = made_once(_ENCODER)


class WireList(list[WireItem]):
    """Wire items (a body's ``messages``, ``contents``...) that also know their JSON text.

    To everything else it is the list it holds. ``pieces`` are the JSON texts of its items,
    each piece one or more items joined by commas, written when the items were made; None
    when one could not be written (`dump_body` then serializes the list as usual, so the
    error is raised where it always was).
    """

    __slots__ = ("_length", "_pieces")

    def __init__(self, items: Iterable[WireItem], pieces: list[str] | None) -> None:
        super().__init__(items)
        self._pieces = pieces
        self._length = len(self)

    def json_text(self) -> str | None:
        """The list's JSON, spliced from its pieces; None if the list changed since."""
        if self._pieces is None or len(self) != self._length:
            return None
        return "[" + ",".join(self._pieces) + "]"

    def with_last(self, item: WireItem) -> WireList:
        """A new list, this one with its last item replaced by ``item``, its JSON still
        spliced: for a mark an encoder puts on a copy of the newest item (Anthropic's rolling
        cache breakpoint), which the kept encodings must never hold."""
        items = [*self[:-1], item]
        text = self.json_text()
        old, new = _joined(self[-1:]), _joined([item])
        if not self or text is None or old is None or new is None:
            return WireList(items, None)
        # the text ends with the old item's JSON (after a comma, unless it is the only one)
        head = text[1 : len(text) - 1 - len(old)].removesuffix(",")
        return WireList(items, [head, new] if head else [new])


def dump_body(body: dict[str, Any]) -> str:
    """A request body's JSON (`dump_json`), its `WireList` values spliced from their texts.

    Byte for byte what `dump_json` writes: a dict with string keys is ``{`` then each
    ``key:value`` joined by commas, then ``}``; the members between two spliced lists are
    written together, as a dict whose braces are dropped.
    """
    members: list[str] = []
    between: dict[str, Any] = {}
    for key, value in body.items():
        text = value.json_text() if isinstance(value, WireList) else None
        if text is None or type(key) is not str:
            between[key] = value
            continue
        if between:
            members.append(dump_json(between)[1:-1])
            between = {}
        members.append(_KEYS.get(key) or _key(key))
        members[-1] += text
    if not members:
        return dump_json(body)  # nothing spliced: the usual way
    if between:
        members.append(dump_json(between)[1:-1])
    return "{" + ",".join(members) + "}"


#: The JSON of the keys of spliced lists (``"messages":``): a handful, written once.
_KEYS: dict[str, str] = {}


def _key(key: str) -> str:
    text = _KEYS[key] = dump_json(key) + ":"
    return text


# -- the cache -----------------------------------------------------------------------------------

_getters: dict[type, Callable[[Any], Any]] = {}


def _fields_of(kind: type) -> Callable[[Any], Any]:
    """Reads every slot of a part type at once (C speed): the values its encoding came from."""
    getter = _getters.get(kind)
    if getter is None:
        names = [
            name
            for cls in kind.__mro__
            for name in getattr(cls, "__slots__", ())
            if name not in ("__weakref__", "__dict__")
        ]
        getter = attrgetter(*names) if names else (lambda part: ())
        _getters[kind] = getter
    return getter


def snapshot(message: Message) -> tuple[Any, ...]:
    """What a message's encoding depends on, down to its parts' fields, by identity: equal
    snapshots mean no field of the message or its parts was given another value."""
    # This runs for every message of every request, so it is kept to a few C calls: the
    # getter of each part's type read from the table inline, a lone part without a loop.
    parts = message.parts
    getters = _getters
    if len(parts) == 1:
        part = parts[0]
        fields = (getters.get(type(part)) or _fields_of(type(part)))(part)
        return (message.role, message.extra, parts, 1, part, fields)
    return (
        message.role,
        message.extra,
        parts,
        len(parts),
        *[(part, (getters.get(type(part)) or _fields_of(type(part)))(part)) for part in parts],
    )


@dataclass(slots=True)
class _Entry:
    #: Kept so that its ``id()`` is not given to another object while the entry lives.
    message: object
    state: tuple[Any, ...]
    items: list[WireItem]
    #: The items' JSON joined by commas ("" for none), None when they cannot be written;
    #: written on first use, as a codec that merges messages never needs it.
    text: str | None = None
    written: bool = False

    def json_text(self) -> str | None:
        if not self.written:
            self.text, self.written = _joined(self.items), True
        return self.text


@dataclass(slots=True)
class _Group:
    #: The kept items it was made from, kept so that their ``id()``s stay theirs.
    members: tuple[object, ...]
    items: list[WireItem]
    text: str | None


@dataclass(slots=True)
class _Sent:
    """One `MessageCache.encode`'s messages (kept, so their ``id()``s stay theirs), their
    snapshots as they were encoded, and the items and JSON pieces sent for them."""

    messages: tuple[Message, ...]
    states: list[tuple[Any, ...]]
    items: list[WireItem]
    pieces: list[str] | None
    #: Whether every one of ``messages`` is a `Message` (their states then are snapshots).
    messages_only: bool = True


def _state(message: Message) -> tuple[Any, ...]:
    # what is not a `Message` is never kept: a new object, equal to nothing
    return snapshot(message) if isinstance(message, Message) else (object(),)


def _same_prefix(messages: Sequence[Message], last: _Sent) -> bool:
    """Whether ``messages`` start with ``last``'s messages, the same objects in the same
    order, none changed since (equal snapshots): the kept items are then still right."""
    count = len(last.messages)
    if len(messages) < count:
        return False
    head = messages[:count]
    # identity first (C speed), then the snapshots: the same rule as one message's
    if not all(map(is_, head, last.messages)):
        return False
    # the same objects as last time: if all were messages, `snapshot` without `_state`'s
    # check (one call less per message of the history, at every request)
    return list(map(snapshot if last.messages_only else _state, head)) == last.states


class MessageCache:
    """One wire format's encodings of the messages of one run (see the module's docstring)."""

    __slots__ = ("_entries", "_groups", "_last")

    def __init__(self) -> None:
        self._entries: dict[int, _Entry] = {}
        self._groups: dict[tuple[Hashable, ...], _Group] = {}
        #: What the last `encode` sent, for the next one to take whole if it starts with it.
        self._last: _Sent | None = None

    def encode(self, messages: Sequence[Message], encode_one: EncodeOne) -> WireList:
        """The wire items of ``messages`` in order: kept ones reused, the others made now."""
        last = self._last
        start = 0
        items: list[WireItem] = []
        pieces: list[str] | None = []
        states: list[tuple[Any, ...]] = []
        messages_only = True
        if last is not None and _same_prefix(messages, last):
            # The usual request of a chain: the previous one's messages, unchanged and in
            # the same order, then what the last step added. Their items and JSON are
            # taken whole, checked at C speed: no per-message work but the snapshot.
            start = len(last.messages)
            items = list(last.items)
            pieces = None if last.pieces is None else list(last.pieces)
            states = list(last.states)
            messages_only = last.messages_only
        entries = self._entries
        for index in range(start, len(messages)):
            message = messages[index]
            messages_only = messages_only and isinstance(message, Message)
            # `entry` inlined for the usual case, a kept message: this runs for every
            # message of every request not covered by the previous request
            entry = entries.get(id(message))
            if entry is None or entry.message is not message or entry.state != snapshot(message):
                entry = self.entry(index, message, encode_one)
            states.append(entry.state or (object(),))
            items.extend(entry.items)
            text = entry.text if entry.written else entry.json_text()
            if text is None:
                pieces = None
            elif text and pieces is not None:
                pieces.append(text)
        self._last = _Sent(tuple(messages), states, items, pieces, messages_only)
        return WireList(items, pieces)

    def entry(self, index: int, message: Message, encode_one: EncodeOne) -> _Entry:
        """The kept encoding of ``message`` if it still holds, else a new one, kept."""
        found = self._entries.get(id(message))
        if found is not None and found.message is message and found.state == snapshot(message):
            return found
        if not isinstance(message, Message):  # not kept: the codec says what is wrong with it
            return _Entry(message, (), encode_one(index, message))
        state = snapshot(message)
        entry = _Entry(message, state, encode_one(index, message))
        self._entries[id(message)] = entry
        return entry

    def items(self, index: int, message: Message, encode_one: EncodeOne) -> list[WireItem]:
        """Only the kept wire items of one message, for a codec that assembles them itself."""
        return self.entry(index, message, encode_one).items

    def combined(
        self,
        members: Sequence[object],
        build: Callable[[], list[WireItem]],
        variant: Hashable = None,
    ) -> tuple[list[WireItem], str | None]:
        """Wire items made from several kept ones together (consecutive messages a format
        merges into one), and their JSON; kept while made from the very same objects.

        ``members`` are what `items` returned for each message: a message converted again
        gets a new list, so a new key. The group holds its members, so while it lives no
        other object can have their ``id()``s. ``variant`` is anything else the items
        depend on (what the rest of the history says about them).
        """
        key = (variant, *map(id, members))
        group = self._groups.get(key)
        if group is None:
            items = build()
            group = self._groups[key] = _Group(tuple(members), items, _joined(items))
        return group.items, group.text

    def clear(self) -> None:
        self._entries.clear()
        self._groups.clear()
        self._last = None


def joined_list(chunks: Iterable[tuple[list[WireItem], str | None]]) -> WireList:
    """One `WireList` of chunks of items, each with its JSON (`MessageCache.combined`)."""
    items: list[WireItem] = []
    pieces: list[str] | None = []
    for chunk, text in chunks:
        items.extend(chunk)
        if text is None:
            pieces = None
        elif text and pieces is not None:
            pieces.append(text)
    return WireList(items, pieces)


def _joined(items: list[WireItem]) -> str | None:
    try:
        return ",".join(map(dump_json, items))
    except (TypeError, ValueError):
        return None  # not JSON: sent the usual way, which raises the usual error


def kept_tools(
    cache: WireCache | None,
    key: str,
    tools: Sequence[Any],
    fields: Callable[[Any], Any],
    variant: Hashable,
    encode: Callable[[Any], WireItem],
) -> list[WireItem]:
    """A request's tools' wire form, with the run's ``cache`` encoded once per run: every
    request of a chain offers the same tools. Kept under ``key`` (one per wire format) while
    each tool has the same ``fields`` (compared by equality; a schema is read-only, so the
    same object) and the same ``variant`` (what else the encoding depends on: strictness,
    host). The result is a `WireList` of its own whose items are shared with the next
    request: a codec must mark copies (`WireList.with_last`), never the items."""
    if cache is None:
        return [encode(tool) for tool in tools]
    now = list(map(fields, tools))
    kept = cache.memo.get(key)
    if kept is None or kept[1] != variant or kept[0] != now:
        items = [encode(tool) for tool in tools]
        kept = cache.memo[key] = (now, variant, items, _pieces(items))
    return WireList(kept[2], kept[3])


def _pieces(items: list[WireItem]) -> list[str] | None:
    try:
        return [dump_json(item) for item in items]
    except (TypeError, ValueError):
        return None  # sent the usual way, which raises the usual error


class WireCache:
    """The encodings one run keeps, per wire format; `agentloop.loop.run_chain` makes one
    per run, gives it to each of its requests and clears it when the run ends."""

    __slots__ = ("_formats", "memo")

    def __init__(self) -> None:
        self._formats: dict[str, MessageCache] = {}
        #: Other work a request repeats, kept for the run by whoever does it (the checked
        #: options: `agentloop.providers.neutral_options.check_request_options`).
        self.memo: dict[str, Any] = {}

    def messages(self, wire_format: str) -> MessageCache:
        cache = self._formats.get(wire_format)
        if cache is None:
            cache = self._formats[wire_format] = MessageCache()
        return cache

    def clear(self) -> None:
        for cache in self._formats.values():
            cache.clear()
        self._formats.clear()
        self.memo.clear()
