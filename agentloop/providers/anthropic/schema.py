"""The JSON-schema subset of Anthropic structured outputs (``output_config.format``, strict tools).

Anthropic constrains decoding to a schema, and accepts only part of JSON
Schema: every object closed (``additionalProperties: false``), no numeric or
length constraints, ``minItems`` of 0 or 1 only, a fixed list of string
formats. `structured_schema` reshapes a schema into that subset the way
Anthropic's own SDKs do: a constraint the service cannot enforce moves into
the description (the model still reads it, and ``response.parsed()`` still
validates against the original schema). What has no closed form at all, an
object with free-form keys (``dict[str, X]``), raises ConversionError.
"""

from __future__ import annotations

import json
from typing import Any

from agentloop.errors import ConversionError
from agentloop.messages import ANTHROPIC
from agentloop.schema_transforms import map_subschemas

Schema = dict[str, Any]

#: String formats structured outputs accept; others move into the description.
FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)
_UNSUPPORTED = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "patternProperties",
    "propertyNames",
    "contains",
    "minContains",
    "maxContains",
    "unevaluatedProperties",
    "unevaluatedItems",
    "dependentRequired",
    "dependentSchemas",
)
#: Keywords that only annotate (or belong to other dialects) and carry no constraint.
_DROPPED = ("$schema", "discriminator")


def structured_schema(schema: Schema) -> Schema:
    """A copy of ``schema`` that Anthropic structured outputs accept."""
    return _reshape(schema, "the schema")


def _reshape(node: Schema, where: str) -> Schema:
    if not isinstance(node, dict):
        return node  # not a schema at all: the service will say so
    out = {k: v for k, v in node.items() if k not in _DROPPED}
    notes = [f"{key}: {_json(out.pop(key))}" for key in _UNSUPPORTED if key in out]
    if "format" in out and out["format"] not in FORMATS:
        notes.append(f"format: {out.pop('format')}")
    min_items = out.get("minItems")
    if isinstance(min_items, int) and min_items > 1:
        notes.append(f"minItems: {min_items}")
        out["minItems"] = 1  # the closest bound the service enforces
    if "prefixItems" in out:
        _tuple_as_items(out, notes)
    if "oneOf" in out:
        out["anyOf"] = out.pop("oneOf")
    named = {key: out.pop(key) for key in ("properties", "$defs", "definitions") if key in out}
    out = map_subschemas(out, lambda sub: _reshape(sub, where))
    for key, members in named.items():
        label = "the property" if key == "properties" else "the type"
        if isinstance(members, dict):
            members = {name: _reshape(sub, f"{label} {name!r}") for name, sub in members.items()}
        out[key] = members
    if out.get("type") == "object" or "properties" in out:
        _close(out, where)
    return _with_notes(out, notes)


def _close(out: Schema, where: str) -> None:
    # Without properties, JSON Schema's default (any key) is meant, not "no keys".
    extra = out.get("additionalProperties", "properties" not in out)
    if extra is not False:
        raise ConversionError(
            f"Anthropic structured output cannot express {where}: an object with free-form "
            "keys (dict[str, ...]). Use a pydantic model, dataclass or TypedDict with named "
            "fields",
            provider=ANTHROPIC,
        )
    out["additionalProperties"] = False


def _tuple_as_items(out: Schema, notes: list[str]) -> None:
    """A tuple becomes an array whose items are any of the members, in a noted order."""
    members = out.pop("prefixItems")
    distinct = [m for i, m in enumerate(members) if m not in members[:i]]
    if distinct:
        out["items"] = distinct[0] if len(distinct) == 1 else {"anyOf": distinct}
    notes.append(f"exactly {len(members)} items")
    if len(distinct) > 1:
        notes.append("items in this order: " + ", ".join(_json(m) for m in members))


def _with_notes(out: Schema, notes: list[str]) -> Schema:
    if notes:
        text = "; ".join(notes)
        description = out.get("description")
        out["description"] = f"{description} ({text})" if description else text
    return out


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
