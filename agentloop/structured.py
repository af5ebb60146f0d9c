"""Structured output: a schema for the model's final answer, and the parsed answer.

``prompt(..., schema=City)`` sends ``City``'s JSON schema through the
provider's native JSON mode, and ``response.parsed()`` gives back a validated
``City``. A plain dict schema gives back the decoded JSON.

With ``output_validator=`` or ``output_retries=`` the chain checks the answer itself
(`OutputCheck`): the loop parses it and calls the validator (both user code, through its
``CallUser`` effect), and a rejected answer goes back to the model with `retry_message`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import PydanticUserError, TypeAdapter, ValidationError

from agentloop.errors import InvalidOptionError, StructuredOutputError, ToolError
from agentloop.messages import Message
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
        raise StructuredOutputError(
            f"The model's answer is not valid JSON: {exc}",
            text,
            feedback=f"Your answer is not valid JSON ({exc}). Answer with JSON only.",
        ) from None
    if schema is None or isinstance(schema, dict):
        return data
    try:
        return TypeAdapter(schema).validate_python(data)
    except ValidationError as exc:
        raise StructuredOutputError(
            f"The model's answer does not match {schema_name(schema)}: {exc}",
            text,
            feedback=f"Your answer does not match the schema:\n{_problems(exc)}",
        ) from None


def _problems(exc: ValidationError) -> str:
    """One line per problem, without pydantic's links (they mean nothing to a model)."""
    lines = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(step) for step in error["loc"]) or "the answer"
        lines.append(f"- {where}: {error['msg']}")
    return "\n".join(lines)


#: Rejected answers sent back to the model, by default, before `OutputRetriesExceeded`.
DEFAULT_OUTPUT_RETRIES = 2


@dataclass(frozen=True, slots=True)
class OutputCheck:
    """How a run checks its final answer: parsed against ``schema`` (the text itself when
    None), then given to ``validator`` (which raises [`ToolError`][agentloop.ToolError] to
    reject it); ``max_retries`` rejected answers are sent back before the run gives up."""

    schema: OutputSchema | None
    validator: Callable[..., Any] | None
    max_retries: int = DEFAULT_OUTPUT_RETRIES


def output_check(
    schema: OutputSchema | None, validator: Callable[..., Any] | None, retries: int | None
) -> OutputCheck | None:
    """The check ``output_validator=`` and ``output_retries=`` ask for (None: neither given,
    so the answer is parsed only by ``parsed()``); a wrong value is an `InvalidOptionError`."""
    if validator is None and retries is None:
        return None
    if validator is not None and not callable(validator):
        raise InvalidOptionError(
            f"Option output_validator={validator!r:.60}: must be a function (sync or async) "
            "taking the answer",
            option="output_validator",
        )
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int)):
        raise InvalidOptionError(
            f"Option output_retries={retries!r:.60}: must be an int", option="output_retries"
        )
    if retries is not None and retries < 0:
        raise InvalidOptionError(
            f"Option output_retries={retries}: must be 0 or more", option="output_retries"
        )
    return OutputCheck(schema, validator, DEFAULT_OUTPUT_RETRIES if retries is None else retries)


def answer(text: str, schema: OutputSchema | None) -> Any:
    """What a validator gets: the answer parsed for a schema, else the text itself."""
    return text if schema is None else parse(text, schema)


def rejected(error: ToolError, text: str) -> StructuredOutputError:
    """A validator's rejection as one attempt of `OutputRetriesExceeded`."""
    reason = str(error) or "The answer was rejected."
    return StructuredOutputError(
        f"The output validator rejected the answer: {reason}", text, feedback=reason
    )


def retry_message(error: StructuredOutputError) -> Message:
    """What the model reads after a rejected text answer: a user message saying why."""
    return Message.user(f"{error.feedback}\n\nFix this and give your answer again.")


def _unfence(text: str) -> str:
    """Some models wrap JSON in a Markdown code fence even in JSON mode."""
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```"):
        body = stripped[3:-3]
        return body.split("\n", 1)[1] if "\n" in body else body
    return stripped
