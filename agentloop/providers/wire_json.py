"""JSON off the wire: the one safe loader for reply bodies, stream events and tool arguments.

The first piece of the wire kit the codecs share. Whatever a server sends is read here, so a
hostile or broken reply meets one set of limits and one wording, on every format:

- `load_reply`: a reply body, or one server-sent event's data, as a JSON value; anything else is
  a [`ResponseFormatError`][agentloop.errors.ResponseFormatError] naming the provider.
- `load_arguments` / `read_arguments`: the JSON text of a tool call's arguments. What cannot be
  read becomes an `UnreadableJSON` whose message is written for the model (the chain answers
  the call with it as an error result, and the model may retry), never an exception escaping
  the chain.
- `sendable`: run on every assistant message a codec decodes from a reply, so the message
  always goes back out in the next request.
- `arguments_text`: the other way, a tool call's arguments as a request carries them, with one
  error for arguments JSON cannot hold (a call made in code, holding a set or an object).

Why not ``json.loads`` alone: on deep nesting it raises ``RecursionError`` (not a
``ValueError``), an integer of more than 4,300 digits is a bare ``ValueError``, and two things
load fine but can never be sent again: NaN and Infinity (``NaN``, ``1e400``; httpx encodes
with ``allow_nan=False``) and lone surrogates (``"\\udcff"``, which UTF-8 cannot carry). One of
those in a history would make every later request of the conversation fail.

Limits: a value is at most `MAX_DEPTH` containers deep. That keeps whatever handles it later
(``copy.deepcopy``, pydantic, ``json.dumps``, all recursive) far from the interpreter's
recursion limit. Where a format sends arguments as JSON text (Chat Completions, Responses, an
Anthropic stream's ``partial_json``), too deep or too big a number is a problem with the
arguments; where they are part of the reply's own JSON (Anthropic and Gemini objects), it
is a problem with the reply, which cannot be read at all.

This module depends only on `agentloop.errors` and `agentloop.messages`, so the core
(`agentloop.arguments`, `agentloop.structured`) may use it too.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

from agentloop.errors import ResponseFormatError
from agentloop.messages import Message, ProviderPart, Text, Thinking, ToolCall

#: How many containers (objects, arrays) deep a value off the wire may be.
MAX_DEPTH = 128
#: How much of an unreadable reply its error message quotes.
_SHOWN_CHARS = 200
_SURROGATE = re.compile("[\ud800-\udfff]")


class UnreadableJSON(ValueError):
    """JSON text that cannot be read safely. The message says why, in words fit for the model.

    Internal to agentloop: every caller turns it into its own typed error or result.
    """


# -- loading -----------------------------------------------------------------------------


def load_reply(
    data: bytes | str, *, provider: str, what: str = "the reply", status: int | None = None
) -> Any:
    """The JSON value of a reply body (``what``: ``"the reply"``) or one event's data.

    Raises [`ResponseFormatError`][agentloop.errors.ResponseFormatError] naming the provider,
    worded ``<what> is not valid JSON (<why>): <its start>``. NaN and lone surrogates pass:
    `sendable` deals with them where they land (a tool call's arguments are refused to the
    model, text is mended), so they do not fail a whole reply.
    """
    try:
        text = data.decode(_encoding(data)) if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:  # strict: a surrogatepass decode would let lone ones in
        shown = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        raise _format_error(provider, what, f"not UTF-8: {exc}", shown, status) from None
    try:
        return load_json(text)
    except UnreadableJSON as exc:
        raise _format_error(provider, what, str(exc), text, status) from None


def _encoding(data: bytes) -> str:
    """``json.detect_encoding``, answered at once for the usual body: an object in UTF-8
    (``{`` then no NUL: no BOM, not UTF-16 or UTF-32)."""
    if data[:1] == b"{" and data[1:2] != b"\x00":
        return "utf-8"
    return json.detect_encoding(data)


#: The C scanner ``json.loads`` ends in, called directly: the value at a position and
#: where it ends (``json.loads`` adds two regex matches for whitespace and a wrapper).
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _loads(text: str) -> Any:
    """``json.loads(text)``: the scanner alone when the text is one value and nothing
    else, ``json.loads`` itself for anything else (and for its error)."""
    try:
        value, end = _scan(text, 0)
    except StopIteration:  # not a value at position 0 (leading whitespace, or not JSON)
        return json.loads(text)
    if end != len(text):
        return json.loads(text)  # trailing whitespace, or "Extra data"
    return value


def load_json(text: str) -> Any:
    """The JSON value of ``text``, at most `MAX_DEPTH` deep; else `UnreadableJSON`."""
    try:
        value = _loads(text)
    except RecursionError:  # the C decoder's own guard, around sys.getrecursionlimit() deep
        raise UnreadableJSON(_TOO_DEEP) from None
    except json.JSONDecodeError as exc:
        raise UnreadableJSON(str(exc)) from None
    except ValueError as exc:  # the only other ValueError: sys.get_int_max_str_digits()
        raise UnreadableJSON(_huge_integer(exc)) from None
    # Depth needs a walk only when there are more brackets than the limit (rarely).
    if text.count("[") + text.count("{") > MAX_DEPTH and _too_deep(value):
        raise UnreadableJSON(_TOO_DEEP)
    return value


def load_arguments(text: str) -> Any:
    """The JSON value of a tool call's argument text, if it can be sent again as it is.

    Raises `UnreadableJSON` for text that is not JSON, too deep, holds too big an integer,
    NaN or Infinity, or a lone surrogate.
    """
    value = load_json(_join_pairs(text))
    problem = _problem_in(value)
    if problem is not None:
        raise UnreadableJSON(problem)
    return value


def read_arguments(text: str) -> tuple[dict[str, Any], str | None]:
    """``(arguments, raw_arguments)`` for a [`ToolCall`][agentloop.ToolCall] from argument text.

    An object gives ``(it, None)``. Anything else gives ``({}, text)``: the call keeps the text
    (with lone surrogates escaped, so it can be sent back) and validation tells the model
    what was wrong with it.
    """
    text = _join_pairs(text)
    try:
        value = load_arguments(text)
    except UnreadableJSON:
        return {}, escape_surrogates(text)
    return (value, None) if isinstance(value, dict) else ({}, text)


# -- checking and mending ----------------------------------------------------------------


def arguments_text(
    call: ToolCall, refuse: Callable[[str], Exception], where: str | None = None
) -> str:
    """``call``'s arguments as the JSON text a request carries (``call.arguments_json()``).

    Arguments that JSON cannot hold (a set, an object, a key that is not a string: a call
    made in code, never one decoded from a reply) raise ``refuse``'s error, the format's
    `ConversionError`, worded alike for every format and naming the call and ``where`` it
    is. Formats that send the arguments as an object call it too, so that such a call is
    refused there rather than as a bare ``TypeError`` when the body is written.
    """
    try:
        return call.arguments_json()
    except (TypeError, ValueError, RecursionError) as exc:
        at = f" ({where})" if where else ""
        raise refuse(f"the arguments of tool call {call.name!r}{at} are not JSON: {exc}") from exc


def sendable(message: Message) -> Message:
    """``message``, changed in place so that a request can always carry it again.

    Called by each codec on the assistant message of a reply, streamed or not:

    - a tool call whose arguments hold NaN, Infinity or a lone surrogate keeps them only as
      text (``raw_arguments``, surrogates escaped) with ``arguments`` empty, so the chain
      refuses the call to the model, which may send it again;
    - text, reasoning, names and ids get `scrub`; kept provider fields (``extra``) are mended
      the same way, NaN and Infinity becoming null as ``JSON.stringify`` writes them.
    """
    message.extra = _mended(message.extra)
    for part in message.parts:
        part.extra = _mended(part.extra)
        if isinstance(part, Text):
            part.text = scrub(part.text)
        elif isinstance(part, Thinking):
            part.text = scrub(part.text)
            part.signature = None if part.signature is None else scrub(part.signature)
        elif isinstance(part, ToolCall):
            _sendable_call(part)
        elif isinstance(part, ProviderPart):  # goes back as received, so it must encode
            part.payload = _mended(part.payload)
            part.text = scrub(part.text)
    return message


def scrub(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD.

    Replaced rather than escaped: this is text people and the model read, where ``\\udcff``
    would look like something the model wrote, and UTF-8 has no form for the character at
    all. U+FFFD is Unicode's own mark for a character that could not be decoded. A pair split
    in two (a UTF-16 server cutting text between its halves) is joined back first.
    """
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def escape_surrogates(text: str) -> str:
    """``text`` with each lone surrogate written as its JSON escape (``\\udcff``).

    For JSON text kept as it was sent: inside a JSON string the escape means exactly the
    same, and it is ASCII, so the text can be sent back and reports the same problem again.
    """
    text = _join_pairs(text)
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


# -- helpers -------------------------------------------------------------------------------

_TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"


#: Leaf types a flat object may hold without a closer look (a float is checked for NaN).
_PLAIN = (str, int, float, bool, type(None))


def _plainly_sendable(value: dict[str, Any]) -> bool:
    """Whether a flat object (the usual tool call's arguments) is surely sendable: ASCII
    strings, finite numbers, no containers. False means only "look closer"."""
    for key, item in value.items():
        kind = type(item)
        if kind not in _PLAIN or type(key) is not str or not key.isascii():
            return False
        if (kind is str and not item.isascii()) or (kind is float and not math.isfinite(item)):
            return False
    return True


def _problem_in(value: Any) -> str | None:
    """Why ``value`` could not be sent as JSON again (too deep, NaN, a lone surrogate), or None."""
    # Runs twice on every tool call of a reply (read, then `sendable`): the common flat
    # object is settled in one loop, anything else gets the full walk.
    if type(value) is dict and _plainly_sendable(value):
        return None
    for node, depth in _nodes(value):
        if isinstance(node, str):
            lone = None if node.isascii() else _SURROGATE.search(node)
            if lone is not None:
                return f"a lone surrogate {lone.group()!r}, which is not a Unicode character"
        elif isinstance(node, float) and not math.isfinite(node):
            return f"{json.dumps(node)}, a number JSON cannot carry"
        elif isinstance(node, dict | list) and depth >= MAX_DEPTH:
            return _TOO_DEEP
    return None


def _too_deep(value: Any) -> bool:
    """Whether ``value`` holds containers more than `MAX_DEPTH` deep (a level at a time, fast)."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(MAX_DEPTH):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True


def _nodes(value: Any) -> Iterator[tuple[Any, int]]:
    """Every value inside ``value`` (dict keys too) with how many containers hold it.

    Iterative, so a deep value cannot exhaust the stack; nothing below `MAX_DEPTH` is visited.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        if isinstance(node, dict | list) and depth < MAX_DEPTH:
            items = [*node, *node.values()] if isinstance(node, dict) else node
            stack.extend((item, depth + 1) for item in items)


def _huge_integer(exc: ValueError) -> str:
    limit = sys.get_int_max_str_digits()
    return f"an integer of more than {limit} digits" if "digits" in str(exc) else str(exc)


def _join_pairs(text: str) -> str:
    """Surrogate halves next to each other made into the one character they stand for."""
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _sendable_call(call: ToolCall) -> None:
    call.name = scrub(call.name)
    call.tool_call_id = scrub(call.tool_call_id)
    if call.raw_arguments is not None:
        call.raw_arguments = escape_surrogates(call.raw_arguments)
    if _problem_in(call.arguments) is not None:
        # Arguments that arrived as JSON objects (Anthropic, Gemini) are refused like argument
        # text: the text keeps what was sent, and validation reports the problem to the model.
        call.raw_arguments = escape_surrogates(json.dumps(call.arguments, ensure_ascii=False))
        call.arguments = {}


def _mended(tree: dict[str, Any]) -> dict[str, Any]:
    if not tree or _problem_in(tree) is None:
        return tree
    mended: dict[str, Any] = _mend(tree)
    return mended


def _mend(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {scrub(key): _mend(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mend(item) for item in value]
    return value


def _format_error(
    provider: str, what: str, why: str, text: str, status: int | None
) -> ResponseFormatError:
    return ResponseFormatError(
        f"{what} is not valid JSON ({why}): {text[:_SHOWN_CHARS]!r}",
        provider=provider,
        status=status,
        body=text[:2000],
    )
