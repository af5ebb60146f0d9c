"""Reading a reply's fields, and writing kept provider fields back: the wire kit's third piece.

`FieldReader` is how every codec reads a decoded reply (a body, or a stream's events): each
value is checked for the type the API documents as it is taken, and anything else is a
[`ResponseFormatError`][agentloop.errors.ResponseFormatError] with one wording, naming the
provider (``str(error)`` starts with it) and the field's JSON path::

    anthropic: reply field content[2].input should be an object, got a string ('{}')

So a broken or hostile reply never escapes a chain as a ``KeyError`` or ``TypeError``, and
every format says what was wrong the same way. Paths follow the reply's own JSON; a stream's
paths start at its event (``content_block_delta.delta.text``) or its chunk (``chunks[3]``).

`with_kept` is the one rule for the fields a codec keeps in ``extra[format]`` because the
neutral model has no place for them (an ``index``, a ``cache_control``, an unknown new field):
what the encoder wrote from the neutral model wins, and a kept field only fills a key the
encoder did not write (nested objects alike). The neutral model is what a caller reads and
edits; a kept copy of the same field is only as fresh as the reply it came from, so letting it
win would silently undo an edit (a changed tool-call id, a system message made a user one).
"""

from __future__ import annotations

import builtins
import copy
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentloop.errors import ConversionError, ResponseFormatError

#: A key inside a path: an object's field, a list's index, or None for the path itself.
Key = str | int | None
#: A path, or what writes it (called only for an error: a stream's paths cost nothing then).
Where = str | Callable[[], str]
#: How much of a wrong string value an error message quotes.
_SHOWN_CHARS = 40


@dataclass(frozen=True, slots=True)
class FieldReader:
    """Checked reads of one provider's reply fields; every failure is the same error."""

    provider: str

    @staticmethod
    @functools.cache
    def of(provider: str) -> FieldReader:
        """The reader for ``provider``, made once (a codec serving many hosts asks per reply)."""
        return FieldReader(provider)

    def fail(self, path: str, expected: str, value: Any) -> ResponseFormatError:
        """The error for ``path`` (``""``: the whole reply) holding ``value`` where ``expected``
        was documented."""
        what = f"reply field {path}" if path else "the reply"
        return self.error(f"{what} should be {expected}, got {describe(value)}")

    def error(self, message: str) -> ResponseFormatError:
        """A format error about the reply as a whole (no one field to name)."""
        return ResponseFormatError(message, provider=self.provider)

    def unconvertible(self, exc: ConversionError, prefix: str = "") -> ResponseFormatError:
        """A message decoder's complaint about a reply's content, as this reader's error."""
        return self.error(f"reply content: {str(exc).removeprefix(prefix)}")

    # Each check takes the path of the value's container (or a function writing it) and,
    # apart, its key: the path is written out only for an error, as checks run on every event
    # of every stream.

    def object(self, value: Any, path: Where, key: Key = None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(at(path, key), "an object", value)
        return value

    def object_or_none(self, value: Any, path: Where, key: Key = None) -> dict[str, Any] | None:
        if value is None or isinstance(value, dict):  # checked inline: this runs on every chunk
            return value
        raise self.fail(at(path, key), "an object", value)

    def list(self, value: Any, path: Where, key: Key = None) -> builtins.list[Any]:
        if not isinstance(value, list):
            raise self.fail(at(path, key), "a list", value)
        return value

    def list_or_none(self, value: Any, path: Where, key: Key = None) -> builtins.list[Any] | None:
        if value is None or isinstance(value, list):
            return value
        raise self.fail(at(path, key), "a list", value)

    def string(self, value: Any, path: Where, key: Key = None) -> str:
        if not isinstance(value, str):
            raise self.fail(at(path, key), "a string", value)
        return value

    def string_or_none(self, value: Any, path: Where, key: Key = None) -> str | None:
        if value is None or isinstance(value, str):
            return value
        raise self.fail(at(path, key), "a string", value)

    def integer(self, value: Any, path: Where, key: Key = None) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(at(path, key), "an integer", value)
        return value

    def count(self, value: Any, path: Where, key: Key = None) -> int:
        """A token count: a whole number, not negative."""
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(at(path, key), "a token count", value)
        return value

    def count_or_none(self, value: Any, path: Where, key: Key = None) -> int | None:
        return None if value is None else self.count(value, path, key)


def describe(value: Any) -> str:
    """What a wrong value is, in words: its JSON type, and a short scalar's value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int):
        shown = str(value) if value.bit_length() < 64 else "a huge one"
        return f"an integer ({shown})"
    if isinstance(value, float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        shown = value if len(value) <= _SHOWN_CHARS else value[: _SHOWN_CHARS - 3] + "..."
        return f"a string ({shown!r})"
    return type(value).__name__


def at(path: Where, key: Key = None) -> str:
    """The path of ``key`` inside ``path`` (``content`` and 2 give ``content[2]``)."""
    if not isinstance(path, str):
        path = path()
    if key is None:
        return path
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def with_kept(built: dict[str, Any], kept: Mapping[str, Any] | None) -> dict[str, Any]:
    """``built`` (changed in place) with the kept provider fields it has no key for.

    The one rule for every codec: what the encoder wrote from the neutral model wins; a kept
    field fills a key only when the encoder left it out, and an object both hold is merged by
    the same rule. Kept values are copied, so the wire body never shares the message's.
    """
    for key, value in (kept or {}).items():
        current = built.get(key)
        if key not in built:
            built[key] = copy.deepcopy(value)
        elif isinstance(current, dict) and isinstance(value, Mapping):
            built[key] = with_kept(dict(current), value)
    return built
