"""OpenAI strict mode's schema subset (structured outputs), shared by both OpenAI formats.

Chat Completions (``strict: true`` tools, ``response_format``) and the Responses API (its
tools and ``text.format``) accept the same subset: every object closed with
``additionalProperties: false``, every property required (an optional one made nullable:
the model sends ``null`` to mean "use the default", which the description names), a fixed
list of string formats, no length or count constraints (they move into the description).
What has no form at all, an object with free-form keys, a value of any type or an ``allOf``,
raises `ConversionError`; the codecs then send that tool or schema non-strict.
"""

from __future__ import annotations

from typing import Any

from agentloop.errors import ConversionError
from agentloop.providers.schema_transform import SchemaTransform, nullable
from agentloop.schema_transforms import Schema, map_subschemas, register_schema_transforms

#: String formats strict mode accepts; others move into the description.
FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)
#: A node with none of these accepts anything, which strict mode cannot say.
_TYPED_KEYWORDS = frozenset({"type", "anyOf", "oneOf", "$ref", "enum", "const"})


class OpenAIStrict(SchemaTransform):
    provider = "openai"
    target = "OpenAI strict mode"
    root_label = "the parameters"
    unsupported = (
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
        "default",  # refused; an optional property's null stands for it
    )
    formats = FORMATS
    closed_objects = True
    remedy = ", or turn strict off"

    def adjust(self, out: Schema, notes: list[str], where: str) -> None:
        if "allOf" in out:
            raise self.error(where, "it combines schemas with allOf")
        if not _TYPED_KEYWORDS & out.keys():
            raise self.error(where, "a value of any type. Give it a type, or turn strict off")

    def walk_property(
        self, sub: Any, required: bool, root: Schema, where: str, stack: tuple[str, ...]
    ) -> Any:
        walked = self.walk(sub, root, where, stack)
        return walked if required or not isinstance(walked, dict) else nullable(walked)

    def close(self, out: Schema) -> None:
        properties = out.setdefault("properties", {})
        out["required"] = list(properties)
        out["additionalProperties"] = False

    def finish(self, out: Schema, where: str) -> Schema:
        if "$ref" in out and len(out) > 1:  # strict mode allows no siblings next to $ref
            return {"anyOf": [{"$ref": out.pop("$ref")}], **out}
        return out


#: Reshape a schema for OpenAI strict mode (a `SchemaTransform`: call it on a schema).
openai_strict = OpenAIStrict()


def strict_answer(schema: Schema) -> Schema:
    """The strict form of a ``schema=`` answer, refused when it has an optional property.

    Strict mode would make an optional property required and nullable; the model then sends
    ``null`` for it, which a type with a non-null default refuses on parsing. So an answer's
    schema goes strict only when every property is already required (a tool's arguments are
    another matter: their ``null`` means "use the default", which the arguments check knows).
    """
    if not every_property_required(schema):
        raise ConversionError("strict mode would make its optional properties nullable")
    return openai_strict(schema)


def every_property_required(node: Schema) -> bool:
    """Whether every object in ``node`` (its subschemas included) requires all its properties."""
    verdicts: list[bool] = []

    def visit(sub: Schema) -> Schema:
        verdicts.append(every_property_required(sub))
        return sub

    map_subschemas(node, visit)
    properties = node.get("properties")
    if isinstance(properties, dict) and not set(properties) <= set(node.get("required") or ()):
        return False
    return all(verdicts)


# ``tool.schema(strict=True)`` with no format named: the strict form most hosts take.
register_schema_transforms(None, strict=openai_strict)
