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

from agentloop.providers.anthropic.format import ANTHROPIC
from agentloop.providers.schema_transform import SchemaTransform
from agentloop.schema_transforms import Schema

#: String formats structured outputs accept; others move into the description.
FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)


class AnthropicStructured(SchemaTransform):
    provider = ANTHROPIC
    target = "Anthropic structured output"
    unsupported = (
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
    formats = FORMATS
    closed_objects = True

    def adjust(self, out: Schema, notes: list[str], where: str) -> None:
        least = out.get("minItems")
        if isinstance(least, int) and least > 1:
            notes.append(f"minItems: {least}")
            out["minItems"] = 1  # the closest bound the service enforces

    def fixed_length(self, out: Schema, notes: list[str], length: int) -> None:
        notes.append(f"exactly {length} items")  # no maxItems, and no minItems above 1


#: A copy of a schema that Anthropic structured outputs accept (call it on a schema).
structured_schema = AnthropicStructured()
