"""Pure JSON-schema helpers every format shares, and the registry of the formats' transforms.

A tool's schema is built once, as plain JSON Schema (`agentloop.schema`). A provider that
accepts only part of JSON Schema gets a copy reshaped by its codec's transform at request
time (`Tool.parameters_for`); the transforms share one base,
`agentloop.providers.schema_transform`. Here: walking subschemas (`map_subschemas`),
`strip_titles`, whether a schema `accepts_null`, `resolve_ref`, a readable `type_summary`,
and `register_schema_transforms`, where each codec package says which of its transforms
``Tool.schema(provider=..., strict=...)`` means. Every function here returns a new schema and
leaves its input untouched.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeAlias

from agentloop.errors import ConversionError

Schema = dict[str, Any]

# Keywords whose value is a mapping of name -> subschema, a list of
# subschemas, or a single subschema. Everything else is a plain value.
SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
SUBSCHEMA_SINGLE = (
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


def map_subschemas(node: Schema, fn: Callable[[Schema], Schema]) -> Schema:
    """A copy of ``node`` with ``fn`` applied to each direct subschema."""
    out = dict(node)
    for key in SUBSCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: fn(sub) for name, sub in out[key].items()}
    for key in SUBSCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [fn(sub) for sub in out[key]]
    for key in SUBSCHEMA_SINGLE:
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


# -- the formats' transforms, by name ----------------------------------------------------------

#: A schema transform: a pure function from a JSON schema to the form one provider accepts
#: (each codec's own, built on `agentloop.providers.schema_transform.SchemaTransform`).
Transform: TypeAlias = Callable[[Schema], Schema]

#: Each wire format's (plain, strict) transforms, registered by its codec package as it loads;
#: None stands for the schema as it is. The None key: ``strict=True`` with no format named.
_REGISTERED: dict[str | None, tuple[Transform | None, Transform | None]] = {}


def register_schema_transforms(
    wire_format: str | None,
    plain: Transform | None = None,
    strict: Transform | None = None,
) -> None:
    """Say which transforms ``Tool.schema(provider=wire_format, strict=...)`` applies.

    Each codec package registers its own when it is imported; nothing here knows a format.
    """
    _REGISTERED[wire_format] = (plain, strict)


def registered_transform(wire_format: str | None, strict: bool) -> Transform | None:
    """The transform registered for ``wire_format`` (None: the schema as it is).

    Raises ValueError for a format no loaded codec registered, rather than guess.
    """
    if wire_format is None and not strict:
        return None
    found = _REGISTERED.get(wire_format)
    if found is None:
        known = ", ".join(sorted(repr(k) for k in _REGISTERED if k is not None)) or "none yet"
        asked = "strict=True" if wire_format is None else f"provider={wire_format!r}"
        raise ValueError(
            f"no schema transform is registered for {asked} (registered: {known}); import "
            "that format's codec package, or pass its transform to tool.parameters_for()"
        )
    return found[1] if strict else found[0]
