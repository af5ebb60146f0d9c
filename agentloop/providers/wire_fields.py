"""Reading wire fields, and writing kept provider fields back: the wire kit's third piece.

`FieldReader` is how every codec reads a decoded reply (a body, or a stream's events): each
value is checked for the type the API documents as it is taken, and anything else is a
[`ResponseFormatError`][agentloop.errors.ResponseFormatError] with one wording, naming the
provider (``str(error)`` starts with it) and the field's JSON path::

    anthropic: reply field content[2].input should be an object, got a string ('{}')

`MessageReader` is the same checks for the wire messages a caller hands in to import a history
(``Conversation.from_openai(...)`` and the other ``from_*``, each codec's ``decode_messages``):
that input is the caller's, not the provider's, so a failure is a
[`ConversionError`][agentloop.errors.ConversionError] (a `MalformedField`), worded alike with
the path inside the caller's own list::

    openai: message field messages[3].tool_calls[0].function.arguments should be a string or
    an object, got an integer (5)

So a broken or hostile payload never escapes as a ``KeyError`` or ``TypeError``, and every
format says what was wrong the same way. Paths follow the payload's own JSON; a stream's
paths start at its event (``content_block_delta.delta.text``) or its chunk (``chunks[3]``).
A reply's content is read by the same message decoders, so `FieldReader.unconvertible` words
their `MalformedField` back as a reply field.

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
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, NoReturn, TypeVar

from agentloop.errors import AgentloopError, ConversionError, ResponseFormatError

#: A key inside a path: an object's field, a list's index, or None for the path itself.
Key = str | int | None
#: A path, or what writes it (called only for an error: a stream's paths cost nothing then).
Where = str | Callable[[], str]
#: How much of a wrong string value an error message quotes.
_SHOWN_CHARS = 40

_Error = TypeVar("_Error", bound=AgentloopError)


class _Missing:
    """The value of a required field that is not there (`MISSING`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


#: What ``container.get(key, MISSING)`` gives for an absent field: every check refuses it,
#: and the error says the field is missing rather than null.
MISSING: Any = _Missing()


def field_wording(noun: str, path: str, expected: str, got: str) -> str:
    """The one wording of a wrong field: ``"<noun> field <path> should be <expected>, got
    <got>"`` (``path`` empty: the whole ``noun``)."""
    what = f"{noun} field {path}" if path else f"the {noun}"
    return f"{what} should be {expected}, got {got}"


class MalformedField(ConversionError):
    """A wire message's field that is not what its format documents, met importing a history.

    ``path`` is the field's JSON path in the caller's payload, ``expected`` what the format
    allows there, ``got`` the value found, in words (`describe`).
    """

    def __init__(self, provider: str, path: str, expected: str, got: str) -> None:
        wording = field_wording("message", path, expected, got)
        super().__init__(f"{provider}: {wording}", provider=provider)
        self.path = path
        self.expected = expected
        self.got = got


@dataclass(frozen=True, slots=True)
class _Checks(ABC, Generic[_Error]):
    """Checked reads of one provider's wire fields, each failure the reader's `fail`."""

    provider: str

    @abstractmethod
    def fail(self, path: str, expected: str, value: Any) -> _Error:
        """The error for ``path`` holding ``value`` where ``expected`` was documented."""

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


@dataclass(frozen=True, slots=True)
class FieldReader(_Checks[ResponseFormatError]):
    """Checked reads of one provider's reply fields; every failure is the same error."""

    @staticmethod
    @functools.cache
    def of(provider: str) -> FieldReader:
        """The reader for ``provider``, made once (a codec serving many hosts asks per reply)."""
        return FieldReader(provider)

    def fail(self, path: str, expected: str, value: Any) -> ResponseFormatError:
        """The error for ``path`` (``""``: the whole reply) holding ``value`` where ``expected``
        was documented."""
        return self.error(field_wording("reply", path, expected, describe(value)))

    def error(self, message: str) -> ResponseFormatError:
        """A format error about the reply as a whole (no one field to name)."""
        return ResponseFormatError(message, provider=self.provider)

    def unconvertible(self, exc: ConversionError) -> ResponseFormatError:
        """A message decoder's complaint about a reply's content, as this reader's error: a
        wrong field is worded as a reply field (its path is the reply's), anything else is
        ``reply content: <what the decoder said>``."""
        if isinstance(exc, MalformedField):
            return self.error(field_wording("reply", exc.path, exc.expected, exc.got))
        return self.error(f"reply content: {str(exc).removeprefix(f'{exc.provider}: ')}")


@dataclass(frozen=True, slots=True)
class MessageReader(_Checks[ConversionError]):
    """Checked reads of the wire messages a caller imports; every failure is a `MalformedField`.

    A required field is read as ``container.get(key, MISSING)``, so its absence is named.
    """

    def fail(self, path: str, expected: str, value: Any) -> MalformedField:
        """The error for ``path`` holding ``value`` where the format allows ``expected``."""
        return MalformedField(self.provider, path, expected, describe(value))

    def refuse(self, path: str, why: str) -> ConversionError:
        """The error for a field that is well formed but has no neutral form (``why`` says
        which, and what to do): ``"<provider>: message field <path>: <why>"``."""
        return ConversionError(
            f"{self.provider}: message field {path}: {why}", provider=self.provider
        )

    def one_of(self, value: Any, allowed: tuple[str, ...], path: Where, key: Key = None) -> str:
        """``value`` if it is one of the ``allowed`` strings."""
        if value not in allowed:
            raise self.fail(at(path, key), alternatives(allowed), value)
        return value  # type: ignore[no-any-return]

    def expect(self, ok: bool, value: Any, expected: str, path: Where, key: Key = None) -> None:
        """Refuse ``value`` at the path unless ``ok`` (a check no typed read says)."""
        if not ok:
            raise self.fail(at(path, key), expected, value)

    def never(self, value: Any, expected: str, path: Where, key: Key = None) -> NoReturn:
        """Refuse ``value`` at the path: the branch a decoder reaches when no form matched."""
        raise self.fail(at(path, key), expected, value)


def alternatives(allowed: tuple[str, ...]) -> str:
    """``'a', 'b' or 'c'``: the values a field allows, as an error names them."""
    quoted = [repr(value) for value in allowed]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def describe(value: Any) -> str:
    """What a wrong value is, in words: its JSON type, and a short scalar's value."""
    if value is MISSING:
        return "nothing (the field is missing)"
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
