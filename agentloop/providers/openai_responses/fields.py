"""Reading and keeping Responses wire fields: required/optional lookups with errors that
name the field, and the ``extra["openai-responses"]`` fields kept for lossless round trips."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentloop.errors import ConversionError
from agentloop.messages import Extra
from agentloop.providers.wire_fields import MISSING, MessageReader, with_kept

#: This wire format's name: the key of its fields in a part's ``extra``, and the ``provider``
#: of its `Thinking` and `ProviderPart`s and of its errors.
OPENAI_RESPONSES = "openai-responses"
FORMAT = OPENAI_RESPONSES
#: Key (in a Text part's extra) for the fields of the assistant message item it starts.
ITEM = "item"
#: Checked reads of a caller's items: a wrong field is a `ConversionError` naming its path.
READ = MessageReader(FORMAT)


def merge_kept(built: dict[str, Any], kept: dict[str, Any]) -> dict[str, Any]:
    """``built`` plus the kept wire fields, by the wire kit's one rule (`with_kept`)."""
    return with_kept(built, kept)


def own_fields(extra: Extra) -> dict[str, Any]:
    fields = extra.get(FORMAT)
    return fields if isinstance(fields, dict) else {}


def as_extra(fields: dict[str, Any]) -> Extra:
    return {FORMAT: fields} if fields else {}


def unread_fields(item: dict[str, Any], consumed: Sequence[str]) -> dict[str, Any]:
    """The fields not read into the neutral model; a null field is kept as it was sent."""
    return {key: value for key, value in item.items() if key not in consumed or value is None}


def require_string(item: dict[str, Any], key: str, where: str) -> str:
    return READ.string(item.get(key, MISSING), where, key)


def optional_string(item: dict[str, Any], key: str, where: str) -> str | None:
    return READ.string_or_none(item.get(key), where, key)


def invalid(message: str) -> ConversionError:
    return ConversionError(f"{FORMAT}: {message}", provider=FORMAT)


def cannot_carry(part: Any, where: str) -> ConversionError:
    return invalid(f"a {type(part).__name__} part cannot go in {where}")
