"""Structured output: a schema for the model's final answer, and the parsed answer.

``prompt(..., schema=City)`` sends ``City``'s JSON schema through the
provider's native JSON mode, and ``response.parsed()`` gives back a validated
``City``. A plain dict schema gives back the decoded JSON.
"""

from __future__ import annotations

from typing import Any

from pydantic import PydanticUserError, TypeAdapter, ValidationError

from agentloop.errors import InvalidOptionError, StructuredOutputError
from agentloop.providers.wire_json import UnreadableJSON, load_json
from agentloop.schema_transforms import strip_titles

#: What ``schema=`` accepts: a JSON schema dict, or a type pydantic can validate.
OutputSchema = dict[str, Any] | type[Any]


def json_schema(schema: OutputSchema) -> dict[str, Any]:
    """The JSON schema to send, titles stripped (they cost tokens and say nothing)."""
    if isinstance(schema, dict):
        return schema
    try:
        return strip_titles(TypeAdapter(schema).json_schema())
    except PydanticUserError:  # not a type at all (schema=5), or one with no schema
        raise InvalidOptionError(
            f"Option schema={schema!r:.60}: must be a JSON schema dict or a type pydantic can "
            "validate (a pydantic model, dataclass, TypedDict...)",
            option="schema",
        ) from None


def schema_name(schema: OutputSchema) -> str:
    """A name for the schema where a provider wants one (OpenAI's ``json_schema.name``)."""
    if isinstance(schema, dict):
        return str(schema.get("title") or "response")
    return getattr(schema, "__name__", "response")


def parse(text: str, schema: OutputSchema | None) -> Any:
    """The answer decoded (and validated, for a type) or a StructuredOutputError."""
    payload = _unfence(text)
    try:
        data = load_json(payload)  # a hostile answer nested deep is not a RecursionError
    except UnreadableJSON as exc:
        raise StructuredOutputError(f"The model's answer is not valid JSON: {exc}", text) from None
    if schema is None or isinstance(schema, dict):
        return data
    try:
        return TypeAdapter(schema).validate_python(data)
    except ValidationError as exc:
        raise StructuredOutputError(
            f"The model's answer does not match {schema_name(schema)}: {exc}", text
        ) from None


def _unfence(text: str) -> str:
    """Some models wrap JSON in a Markdown code fence even in JSON mode."""
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```"):
        body = stripped[3:-3]
        return body.split("\n", 1)[1] if "\n" in body else body
    return stripped
