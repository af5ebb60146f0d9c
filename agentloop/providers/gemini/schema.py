"""Gemini's schema subset for a function declaration's ``parameters`` (an OpenAPI 3.0 subset).

Gemini's ``Schema`` object has no ``$ref``, no ``const`` and no ``null`` type: references are
inlined (a recursive type then has no form: `ConversionError`, and the request sends the full
JSON schema as ``parametersJsonSchema`` instead), ``null`` becomes ``nullable: true``,
``const`` a one-value ``enum``; a keyword outside its list (most formats, defaults, a map's
value type) moves into the description.
"""

from __future__ import annotations

from typing import Any

from agentloop.providers.gemini.format import GEMINI
from agentloop.providers.schema_transform import NULL, SchemaTransform
from agentloop.schema_transforms import Schema, type_summary

#: Keywords of Gemini's Schema object.
KEYWORDS = frozenset(
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
        "const",  # kept until `finish` makes it an enum
    }
)
#: Formats Gemini documents per type; other formats move into the description.
FORMATS: dict[str, frozenset[str]] = {
    "string": frozenset({"date-time", "enum"}),
    "number": frozenset({"float", "double"}),
    "integer": frozenset({"int32", "int64"}),
}
_ENUM_TYPES = {
    frozenset({str}): "string",
    frozenset({int}): "integer",
    frozenset({int, float}): "number",
    frozenset({float}): "number",
    frozenset({bool}): "boolean",
}


class GeminiSubset(SchemaTransform):
    provider = GEMINI
    target = "Gemini's schema subset"
    root_label = "the parameters"
    dropped = SchemaTransform.dropped | {"$defs", "definitions"}
    inline_refs = True

    def keeps(self, key: str, value: Any, node: Schema) -> bool:
        if key == "format":
            return value in FORMATS.get(str(node.get("type")), ())
        return key in KEYWORDS

    def note(self, key: str, value: Any, root: Schema) -> str | None:
        if key == "additionalProperties":  # closed or open: an object's keys are not typed
            return f"values: {type_summary(value, root)}" if isinstance(value, dict) else None
        return super().note(key, value, root)

    def finish(self, out: Schema, where: str) -> Schema:
        if "const" in out:
            out["enum"] = [out.pop("const")]
        _express_null(out)
        if "enum" in out and "type" not in out:
            kind = _ENUM_TYPES.get(frozenset(type(v) for v in out["enum"]))
            if kind is not None:
                out["type"] = kind
        return out


def _express_null(out: Schema) -> None:
    """Null as ``nullable: true``, the only way Gemini's subset has."""
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
        rest_options = [s for s in options if s != NULL]
        if len(rest_options) < len(options):
            out["nullable"] = True
        if len(rest_options) == 1:
            del out["anyOf"]
            merged = {**rest_options[0], **out}
            out.clear()
            out.update(merged)
        else:
            out["anyOf"] = rest_options


#: Reshape a schema into Gemini's subset (a `SchemaTransform`: call it on a schema).
gemini_subset = GeminiSubset()
