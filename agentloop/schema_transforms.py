"""Pure JSON-schema-to-JSON-schema functions: tidying, and reshaping per provider.

A tool's schema is built once, as plain JSON Schema (`agentloop.schema`).
Providers that accept only part of JSON Schema get a reshaped copy at request
time, so one tool serves every provider:

- `openai_strict` for OpenAI's strict mode (structured outputs): every
  object closed with ``additionalProperties: false``, every property required,
  optional properties made nullable (the model sends ``null`` to mean "use the
  default"), unsupported keywords moved into the description.
- `gemini_subset` for Gemini's ``parameters`` field, an OpenAPI 3.0
  subset: ``$ref`` inlined, ``null`` expressed as ``nullable``, unsupported
  keywords moved into the description.

A constraint a provider cannot express is written into the description rather
than dropped: the model still reads it, and validation still enforces it.
Every function here returns a new schema and leaves its input untouched.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from agentloop.errors import ConversionError

Schema = dict[str, Any]

# Keywords whose value is a mapping of name -> subschema, a list of
# subschemas, or a single subschema. Everything else is a plain value.
_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_SINGLE = (
    "items",
    "additionalProperties",
    "not",
    "contains",
    "if",
    "then",
    "else",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
)

_NULL: Schema = {"type": "null"}


def map_subschemas(node: Schema, fn: Callable[[Schema], Schema]) -> Schema:
    """A copy of ``node`` with ``fn`` applied to each direct subschema."""
    out = dict(node)
    for key in _SUBSCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: fn(sub) for name, sub in out[key].items()}
    for key in _SUBSCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [fn(sub) for sub in out[key]]
    for key in _SUBSCHEMA_SINGLE:
        if isinstance(out.get(key), dict):
            out[key] = fn(out[key])
    return out


def strip_titles(node: Schema) -> Schema:
    """Remove every ``title`` keyword (not properties that happen to be named "title")."""
    out = map_subschemas(node, strip_titles)
    out.pop("title", None)
    return out


def accepts_null(node: Schema) -> bool:
    """Whether ``null`` is one of the values the schema allows on its face."""
    kind = node.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    if node.get("nullable") is True or ("const" in node and node["const"] is None):
        return True
    if None in node.get("enum", ()):
        return True
    options = node.get("anyOf") or node.get("oneOf") or ()
    return any(accepts_null(sub) for sub in options)


def resolve_ref(ref: str, root: Schema) -> tuple[str, Schema]:
    """The name and schema a local ``#/$defs/Name`` reference points to."""
    name = ref.rsplit("/", 1)[-1]
    for key in ("$defs", "definitions"):
        if name in root.get(key, {}):
            return name, root[key][name]
    raise ConversionError(f"The schema refers to {ref!r}, which it does not define")


def type_summary(node: Schema, root: Schema) -> str:
    """A short human (and model) readable name for what a schema accepts."""
    if "$ref" in node:
        name, target = resolve_ref(node["$ref"], root)
        return type_summary(target, root) if "enum" in target else f"{name} object"
    if "const" in node:
        return f"exactly {_json(node['const'])}"
    if "enum" in node:
        return "one of " + ", ".join(_json(v) for v in node["enum"])
    options = node.get("anyOf", node.get("oneOf"))
    if options:
        return " or ".join(type_summary(sub, root) for sub in options)
    kind = node.get("type")
    if isinstance(kind, list):
        return " or ".join(type_summary({**node, "type": k}, root) for k in kind)
    if kind == "array":
        if "prefixItems" in node:
            return "array [" + ", ".join(type_summary(s, root) for s in node["prefixItems"]) + "]"
        return "array of " + type_summary(node.get("items", {}), root)
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return "object with " + type_summary(node["additionalProperties"], root) + " values"
    if kind is None:
        return "any value"
    return f"{kind} ({node['format']})" if "format" in node and kind == "string" else str(kind)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _with_notes(node: Schema, notes: list[str]) -> Schema:
    """Append constraints the target cannot express to the description."""
    if notes:
        text = "; ".join(notes)
        description = node.get("description")
        node["description"] = (
            f"{description} ({text})" if description else text[0].upper() + text[1:]
        )
    return node


def _tuple_as_items(node: Schema, notes: list[str]) -> None:
    """Express a tuple (``prefixItems``) as an array whose items are any of the members."""
    members = node.pop("prefixItems")
    distinct: list[Schema] = []
    for member in members:
        if member not in distinct:
            distinct.append(member)
    node["items"] = distinct[0] if len(distinct) == 1 else {"anyOf": distinct}
    node.setdefault("minItems", len(members))
    node.setdefault("maxItems", len(members))
    if len(distinct) > 1:
        notes.append("items in this order: " + ", ".join(_summary_of(m) for m in members))


def _summary_of(member: Schema) -> str:
    try:
        return type_summary(member, {})
    except ConversionError:
        return member["$ref"].rsplit("/", 1)[-1] if "$ref" in member else "value"


# -- OpenAI strict mode --------------------------------------------------------

#: String formats strict mode accepts; others move into the description.
OPENAI_STRICT_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)
_OPENAI_STRICT_UNSUPPORTED = (
    "minLength",
    "maxLength",
    "uniqueItems",
    "patternProperties",
    "propertyNames",
    "minProperties",
    "maxProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contains",
    "minContains",
    "maxContains",
    "examples",
)


#: A schema node with none of these accepts anything, which strict mode cannot say.
_TYPED_KEYWORDS = frozenset({"type", "anyOf", "oneOf", "$ref", "enum", "const"})


def openai_strict(schema: Schema) -> Schema:
    """Reshape a tool schema for OpenAI strict mode.

    Raises [`ConversionError`][agentloop.errors.ConversionError] (provider ``"openai"``)
    for what strict mode cannot express at all: objects with free-form keys
    (``dict[str, X]``), values of any type (``Any``) and ``allOf`` combinations.
    """
    return _strict(schema, "the parameters")


def _strict(node: Schema, where: str) -> Schema:
    out = {k: v for k, v in node.items() if k not in ("title", "$schema", "discriminator")}
    notes: list[str] = []
    for key in _OPENAI_STRICT_UNSUPPORTED:
        if key in out:
            notes.append(f"{key}: {_json(out.pop(key))}")
    if "format" in out and out["format"] not in OPENAI_STRICT_FORMATS:
        notes.append(f"format: {out.pop('format')}")
    if "default" in out:  # strict mode refuses "default"; properties handle it in _strict_object
        default = out.pop("default")
        if default is not None:
            notes.append(f"default: {_json(default)}")
    if "prefixItems" in out:
        _tuple_as_items(out, notes)
    if "oneOf" in out:
        out["anyOf"] = out.pop("oneOf")
    if "allOf" in out:
        raise ConversionError(
            f"OpenAI strict mode cannot express {where}: it combines schemas with allOf",
            provider="openai",
        )
    if not _TYPED_KEYWORDS & out.keys():
        raise ConversionError(
            f"OpenAI strict mode cannot express {where}: a value of any type. "
            "Give it a type, or turn strict off",
            provider="openai",
        )
    for key in ("$defs", "definitions"):
        if key in out:
            out[key] = {name: _strict(sub, f"the type {name}") for name, sub in out[key].items()}
    if "items" in out:
        out["items"] = _strict(out["items"], f"the items of {where}")
    if "anyOf" in out:
        out["anyOf"] = [_strict(sub, where) for sub in out["anyOf"]]
    if out.get("type") == "object" or "properties" in out:
        _strict_object(out, where)
    if "$ref" in out and len(out) > 1:  # strict mode allows no siblings next to $ref
        out = {"anyOf": [{"$ref": out.pop("$ref")}], **out}
    return _with_notes(out, notes)


def _strict_object(out: Schema, where: str) -> None:
    extra = out.get("additionalProperties", "properties" not in out)
    if extra is not False:
        raise ConversionError(
            f"OpenAI strict mode cannot express {where}: an object with free-form keys. "
            "Use a pydantic model, dataclass or TypedDict with named fields, or turn strict off",
            provider="openai",
        )
    required = set(out.get("required", ()))
    properties: Schema = {}
    for name, sub in out.get("properties", {}).items():
        label = f"the property {name!r}"
        properties[name] = _strict(sub, label) if name in required else _optional(sub, label)
    out["properties"] = properties
    out["required"] = list(properties)
    out["additionalProperties"] = False


def _optional(node: Schema, where: str) -> Schema:
    """An optional property, made required and nullable: null stands for the default."""
    node = dict(node)
    default = node.pop("default", None)
    transformed = _strict(node, where)
    if default is not None:
        _with_notes(transformed, [f"default: {_json(default)}"])
    return nullable(transformed)


def nullable(node: Schema) -> Schema:
    """A copy of ``node`` that also accepts ``null``."""
    if accepts_null(node):
        return node
    kind = node.get("type")
    if isinstance(kind, str) and not {"enum", "const", "$ref", "anyOf"} & node.keys():
        return {**node, "type": [kind, "null"]}
    if isinstance(kind, list) and not {"enum", "const"} & node.keys():
        return {**node, "type": [*kind, "null"]}
    if "anyOf" in node:
        return {**node, "anyOf": [*node["anyOf"], _NULL]}
    inner = dict(node)
    description = inner.pop("description", None)
    wrapped: Schema = {"anyOf": [inner, _NULL]}
    if description is not None:
        wrapped["description"] = description
    return wrapped


# -- Gemini --------------------------------------------------------------------

#: Keywords of Gemini's Schema object (an OpenAPI 3.0 subset).
GEMINI_KEYWORDS = frozenset(
    {
        "type",
        "format",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "items",
        "minimum",
        "maximum",
    }
)
#: Formats Gemini documents per type; other formats move into the description.
GEMINI_FORMATS: dict[str, frozenset[str]] = {
    "string": frozenset({"date-time", "enum"}),
    "number": frozenset({"float", "double"}),
    "integer": frozenset({"int32", "int64"}),
}
_GEMINI_SILENT = frozenset({"title", "$schema", "$defs", "definitions", "discriminator"})


def gemini_subset(schema: Schema) -> Schema:
    """Reshape a tool schema into the subset Gemini's ``parameters`` accepts.

    Raises [`ConversionError`][agentloop.errors.ConversionError] (provider ``"gemini"``)
    for a recursive type, which cannot be inlined.
    """
    return _gemini(schema, schema, ())


def _gemini(node: Schema, root: Schema, stack: tuple[str, ...]) -> Schema:
    if "$ref" in node:
        name, target = resolve_ref(node["$ref"], root)
        if name in stack:
            raise ConversionError(
                f"Gemini's schema subset cannot express the recursive type {name!r} "
                "(a $ref cycle); send the full JSON schema instead",
                provider="gemini",
            )
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return _gemini({**target, **siblings}, root, (*stack, name))
    out: Schema = {}
    notes: list[str] = []
    for key, value in node.items():
        _gemini_keyword(out, notes, key, value, node, root, stack)
    _gemini_null(out)
    return _with_notes(out, notes)


def _gemini_keyword(
    out: Schema,
    notes: list[str],
    key: str,
    value: Any,
    node: Schema,
    root: Schema,
    stack: tuple[str, ...],
) -> None:
    def sub(s: Schema) -> Schema:
        return _gemini(s, root, stack)

    if key in _GEMINI_SILENT or (key == "additionalProperties" and value is False):
        return
    if key == "properties":
        out[key] = {name: sub(s) for name, s in value.items()}
    elif key == "items":
        out[key] = sub(value)
    elif key in ("anyOf", "oneOf"):
        out["anyOf"] = [sub(s) for s in value]
    elif key == "prefixItems":
        holder: Schema = {"prefixItems": value}
        _tuple_as_items(holder, notes)
        out["items"] = sub(holder["items"])
        out.setdefault("minItems", holder["minItems"])
        out.setdefault("maxItems", holder["maxItems"])
    elif key == "const":
        out["enum"] = [value]
    elif key == "default":
        if value is not None:
            notes.append(f"default: {_json(value)}")
    elif key == "format":
        if value in GEMINI_FORMATS.get(str(node.get("type")), ()):
            out[key] = value
        else:
            notes.append(f"format: {value}")
    elif key == "additionalProperties" and isinstance(value, dict):
        notes.append(f"values: {type_summary(value, root)}")
    elif key in GEMINI_KEYWORDS:
        out[key] = value
    elif key != "additionalProperties":
        notes.append(f"{key}: {_json(value)}")


def _gemini_null(out: Schema) -> None:
    """Express null as ``nullable: true``, the only way Gemini's subset has."""
    kind = out.get("type")
    if isinstance(kind, list):
        rest = [k for k in kind if k != "null"]
        if len(rest) < len(kind):
            out["nullable"] = True
        if len(rest) == 1:
            out["type"] = rest[0]
        else:
            del out["type"]
            out["anyOf"] = [{"type": k} for k in rest]
    if "enum" in out and None in out["enum"]:
        out["enum"] = [v for v in out["enum"] if v is not None]
        out["nullable"] = True
    options = out.get("anyOf")
    if options is not None:
        rest_options = [s for s in options if s != _NULL]
        if len(rest_options) < len(options):
            out["nullable"] = True
        if len(rest_options) == 1:
            del out["anyOf"]
            merged = {**rest_options[0], **out}
            out.clear()
            out.update(merged)
        else:
            out["anyOf"] = rest_options
    if "enum" in out and "type" not in out:
        kind = _ENUM_TYPES.get(frozenset(type(v) for v in out["enum"]))
        if kind is not None:
            out["type"] = kind


_ENUM_TYPES = {
    frozenset({str}): "string",
    frozenset({int}): "integer",
    frozenset({int, float}): "number",
    frozenset({float}): "number",
    frozenset({bool}): "boolean",
}
