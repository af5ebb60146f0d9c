"""Checking a model's tool arguments before the tool runs: parse, coerce, explain.

Pure: no I/O and no user code. A validator is built once per tool (the
pydantic model comes from `agentloop.schema.function_schema`) and each
call costs one pydantic validation. Whatever does not fit raises
[`ToolArgumentsError`][agentloop.errors.ToolArgumentsError] with a message written for the
model: which argument, what was expected, what it sent, and the tool's
parameters, so the next call can be right.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from agentloop.errors import ConversionError, ToolArgumentsError
from agentloop.messages import ToolCall
from agentloop.providers.wire_json import UnreadableJSON, escape_surrogates, load_arguments
from agentloop.schema import FunctionSchema
from agentloop.schema_transforms import (
    Schema,
    accepts_null,
    map_subschemas,
    resolve_ref,
    type_summary,
)

_SHOWN_CHARS = 80


class Validator(Protocol):
    """Turns a tool call into the keyword arguments of the tool, or explains why not."""

    def validate(self, call: ToolCall) -> dict[str, Any]: ...


class FunctionArguments:
    """Validates and coerces arguments against a function's signature, with pydantic."""

    __slots__ = ("_drops_nulls", "_schema")

    def __init__(self, schema: FunctionSchema) -> None:
        self._schema = schema
        self._drops_nulls = has_null_defaults(schema.parameters)

    def validate(self, call: ToolCall) -> dict[str, Any]:
        parameters = self._schema.parameters
        arguments = parse_arguments(call, parameters)
        try:
            instance = self._schema.model.model_validate(arguments)
        except ValidationError as exc:
            # A null meaning "use the default" fails validation, so nulls are
            # only looked for here, off the path of a valid call.
            pruned = arguments
            if self._drops_nulls:
                pruned = drop_null_defaults(arguments, parameters, parameters)
            if pruned is arguments:
                raise _invalid(call, exc, parameters) from None
            try:
                instance = self._schema.model.model_validate(pruned)
            except ValidationError as retry:
                raise _invalid(call, retry, parameters) from None
        names = self._schema.names
        return {names[field]: value for field, value in instance.__dict__.items()}


class SchemaArguments:
    """Checks arguments against a given JSON schema: the shape only, no coercion.

    For tools defined by a schema rather than a signature (an MCP server's
    tools, say): required properties must be there, unknown ones are refused
    when the schema closes the object.
    """

    __slots__ = ("_parameters",)

    def __init__(self, parameters: Schema) -> None:
        self._parameters = parameters

    def validate(self, call: ToolCall) -> dict[str, Any]:
        parameters = self._parameters
        arguments = parse_arguments(call, parameters)
        properties = parameters.get("properties", {})
        problems = [
            f"{name}: missing required argument{_expecting(properties.get(name), parameters)}"
            for name in parameters.get("required", ())
            if name not in arguments
        ]
        if parameters.get("additionalProperties") is False:
            problems += [
                f"{name}: unexpected argument" for name in arguments if name not in properties
            ]
        if problems:
            raise _arguments_error(call.name, problems, parameters)
        return dict(arguments)


def parse_arguments(call: ToolCall, parameters: Schema) -> dict[str, Any]:
    """The call's arguments as a dict; text that is not a JSON object is explained."""
    if call.raw_arguments is None or call.arguments:
        if isinstance(call.arguments, dict):
            return call.arguments
        problem = f"the arguments must be a JSON object, not {type(call.arguments).__name__}"
        raise _arguments_error(call.name, [problem], parameters)
    raw = call.raw_arguments.strip()
    if not raw:  # some providers send "" for a call without arguments
        return {}
    try:
        parsed = load_arguments(raw)
    except UnreadableJSON as exc:  # also too deep, NaN, a lone surrogate: see wire_json
        shown = _clip(escape_surrogates(raw))
        problem = f"the arguments are not valid JSON ({exc}); you sent: {shown}"
        raise _arguments_error(call.name, [problem], parameters) from None
    if not isinstance(parsed, dict):
        problem = f"the arguments must be a JSON object, not {_clip(escape_surrogates(raw))}"
        raise _arguments_error(call.name, [problem], parameters)
    return parsed


def has_null_defaults(schema: Schema) -> bool:
    """Whether some optional property anywhere refuses null (so null must mean "default")."""
    found = False

    def visit(node: Schema) -> Schema:
        nonlocal found
        required = set(node.get("required", ()))
        for name, prop in node.get("properties", {}).items():
            if name not in required and not _null_ok(prop, schema):
                found = True
        return map_subschemas(node, visit)

    visit(schema)
    return found


def drop_null_defaults(value: Any, node: Schema, root: Schema) -> Any:
    """``value`` without the nulls sent for optional properties that refuse null.

    Strict mode makes every optional property nullable, and some models send
    ``null`` to mean "not given": either way the default should apply. Only
    the parts that change are copied.
    """
    node = _deref(node, root)
    if isinstance(value, dict) and "properties" in node:
        properties, required = node["properties"], node.get("required", ())
        out: dict[str, Any] | None = None
        for key, item in value.items():
            prop = properties.get(key)
            if prop is None:
                continue
            if item is None and key not in required and not _null_ok(prop, root):
                new: Any = _DROP
            else:
                new = drop_null_defaults(item, prop, root)
            if new is not item:
                out = dict(value) if out is None else out
                if new is _DROP:
                    del out[key]
                else:
                    out[key] = new
        return value if out is None else out
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        items = [drop_null_defaults(item, node["items"], root) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    options = [s for s in node.get("anyOf", ()) if s.get("type") != "null"]
    if value is not None and len(options) == 1:
        return drop_null_defaults(value, options[0], root)
    return value


_DROP = object()


def _null_ok(prop: Schema, root: Schema) -> bool:
    return accepts_null(prop) or accepts_null(_deref(prop, root))


def _deref(node: Schema, root: Schema) -> Schema:
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return node
    try:
        return resolve_ref(ref, root)[1]
    except ConversionError:
        return node


# -- messages for the model ----------------------------------------------------


def _problems(errors: list[ErrorDetails], parameters: Schema) -> list[str]:
    """One line per problem; a value that fits no member of a union gets one line, not one each."""
    lines: list[str] = []
    unions: set[str] = set()
    for error in errors:
        path, tags, node, tag_last = _locate(tuple(error["loc"]), parameters)
        kind = error["type"]
        where = f"{path} (as {' / '.join(tags)})" if tags and not tag_last else path
        if tag_last:
            if path not in unions:
                unions.add(path)
                expected = _summary(node, parameters) if node is not None else "another type"
                got = _clip(_json(error["input"]))
                lines.append(
                    f"{path}: fits none of the allowed types (expected {expected}; got {got})"
                )
        elif kind in ("missing", "missing_argument"):
            lines.append(f"{where}: missing required argument{_expecting(node, parameters)}")
        elif kind == "extra_forbidden":
            lines.append(f"{where}: unexpected argument")
        else:
            summary = _known_type(node, parameters)
            expected = f"expected {summary}; " if summary else ""
            got = _clip(_json(error["input"]))
            lines.append(f"{where}: {error['msg']} ({expected}got {got})")
    return lines


def _expecting(node: Schema | None, root: Schema) -> str:
    summary = _known_type(node, root)
    return f" (expected {summary})" if summary else ""


def _known_type(node: Schema | None, root: Schema) -> str | None:
    """A summary of what ``node`` accepts, or None when it says nothing useful."""
    summary = "any value" if node is None else _summary(node, root)
    return None if summary == "any value" else summary


def _locate(loc: tuple[str | int, ...], root: Schema) -> tuple[str, list[str], Schema | None, bool]:
    """Follow pydantic's error location through the schema.

    Returns the readable path (``addr.zip``, ``items[2]``), the union members
    pydantic tried (its tags), the schema at the end, and whether the location
    ends at a union member (the value fit none of them).
    """
    node: Schema | None = root
    path = ""
    tags: list[str] = []
    tag_last = False
    for step in loc:
        tag_last = False
        if isinstance(step, int):
            path += f"[{step}]"
            node = _items(node, root)
            continue
        child, is_tag = _child(node, step, root)
        node = child
        if is_tag:
            tags.append(step)
            tag_last = True
        else:
            path += f".{step}" if path else step
    return path or "arguments", tags, node, tag_last


def _child(node: Schema | None, step: str, root: Schema) -> tuple[Schema | None, bool]:
    """The schema of property ``step`` of ``node``, or (the member, True) for a union tag."""
    if node is None:
        return None, False
    node = _deref(node, root)
    properties = node.get("properties", {})
    if step in properties:
        return properties[step], False
    if isinstance(node.get("additionalProperties"), dict):
        return node["additionalProperties"], False
    options = node.get("anyOf") or node.get("oneOf")
    if not options:
        return None, False
    for option in options:
        target = _deref(option, root)
        if step in target.get("properties", {}):
            return target["properties"][step], False
    for option in options:
        if str(option.get("$ref", "")).rsplit("/", 1)[-1] == step:
            return option, True
    return node, True


def _items(node: Schema | None, root: Schema) -> Schema | None:
    if node is None:
        return None
    node = _deref(node, root)
    items = node.get("items")
    if isinstance(items, dict):
        return items
    options = node.get("anyOf") or ()
    return next((_items(o, root) for o in options if "items" in _deref(o, root)), None)


def _invalid(call: ToolCall, exc: ValidationError, parameters: Schema) -> ToolArgumentsError:
    return _arguments_error(call.name, _problems(exc.errors(), parameters), parameters)


def _arguments_error(tool_name: str, problems: list[str], parameters: Schema) -> ToolArgumentsError:
    lines = [f"Invalid arguments for tool {tool_name!r}:"]
    lines += [f"- {p}" for p in problems]
    lines.append(f"Parameters: {_signature(parameters)}. Fix the arguments and call it again.")
    return ToolArgumentsError("\n".join(lines), tool_name=tool_name, problems=problems)


def _signature(parameters: Schema) -> str:
    required = set(parameters.get("required", ()))
    parts = []
    for name, prop in parameters.get("properties", {}).items():
        flag = ", required" if name in required else ""
        parts.append(f"{name} ({_summary(prop, parameters)}{flag})")
    return ", ".join(parts) or "none (send {})"


def _summary(node: Schema, root: Schema) -> str:
    try:
        return type_summary(node, root)
    except ConversionError:
        return "any value"


def _json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:  # a circular structure
        return repr(value)


def _clip(text: str) -> str:
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."
