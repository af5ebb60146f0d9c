"""One base for every wire format's schema transform: the walk they share.

A tool's schema is built once, as plain JSON Schema (`agentloop.schema`). A provider that
accepts only part of JSON Schema gets a reshaped copy, made by its codec at request time
(`Tool.parameters_for`), so one tool serves every provider. Each reshaping is a
`SchemaTransform` subclass that says only what its target differs in: which keywords and
string formats it accepts, whether it inlines ``$ref`` (a target without ``$defs``), whether
every object must be closed, how it says null. The base does the rest, once for all:

- the walk over every subschema (properties, ``$defs``, items, ``anyOf``/``oneOf``/``allOf``
  and the rest), with the place of each node in words ("the property 'city'", "the items
  of ...", "the type 'Address'") for error messages;
- ``$ref`` resolution and, for targets that inline, recursion detection;
- ``oneOf`` as ``anyOf`` (no target here validates exclusivity), tuples (``prefixItems``)
  as arrays of fixed length;
- a constraint the target cannot express written into the description as
  ``keyword: value`` rather than dropped: the model still reads it, and validation
  (``agentloop.arguments``, ``response.parsed()``) still enforces it;
- one `ConversionError` wording, ``"<target> cannot express <where>: <what>"``, naming the
  provider, for what has no form at all in the target.

Every transform is pure: it returns a new schema and leaves its input untouched. A boolean
subschema (``items: true``) or other non-object is passed on as it is.
"""

from __future__ import annotations

import json
from typing import Any

from agentloop.errors import ConversionError
from agentloop.schema_transforms import (
    SUBSCHEMA_LISTS,
    SUBSCHEMA_MAPS,
    SUBSCHEMA_SINGLE,
    Schema,
    accepts_null,
    resolve_ref,
    type_summary,
)

__all__ = ["NULL", "SchemaTransform", "nullable", "with_notes"]

NULL: Schema = {"type": "null"}


class SchemaTransform:
    """A JSON-schema-to-JSON-schema reshaping for one target; call it on a schema.

    Subclasses set the class attributes and override the hooks (`keeps`, `note`,
    `adjust`, `walk_property`, `fixed_length`, `finish`) where their target differs.
    """

    #: ``ConversionError.provider``: the wire format this is the subset of.
    provider: str = ""
    #: The target as error messages name it ("strict mode").
    target: str = "the target schema"
    #: What the whole schema is called in error messages.
    root_label: str = "the schema"
    #: Annotations that constrain nothing: dropped.
    dropped: frozenset[str] = frozenset({"title", "$schema", "discriminator"})
    #: Keywords the target refuses: written into the description, in this order.
    unsupported: tuple[str, ...] = ()
    #: String formats the target accepts (None: any); others move into the description.
    formats: frozenset[str] | None = None
    #: The target has no ``$defs``: every ``$ref`` is inlined, so a recursive type has no form.
    inline_refs: bool = False
    #: Every object must be closed (``additionalProperties: false``), so free-form keys
    #: (``dict[str, X]``) have no form.
    closed_objects: bool = False
    #: Appended to the free-form keys error's advice (", or turn strict off").
    remedy: str = ""

    def __call__(self, schema: Schema) -> Schema:
        out: Schema = self.walk(schema, schema, self.root_label, ())
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def error(self, where: str, what: str) -> ConversionError:
        """The one wording of what ``where`` holds that the target cannot express."""
        return ConversionError(
            f"{self.target} cannot express {where}: {what}", provider=self.provider
        )

    # -- the walk --------------------------------------------------------------------------

    def walk(self, node: Any, root: Schema, where: str, stack: tuple[str, ...]) -> Any:
        """``node`` reshaped; ``where`` says what it is, ``stack`` the ``$ref``s inlined."""
        if not isinstance(node, dict):
            return node
        if self.inline_refs and isinstance(node.get("$ref"), str):
            return self._inline(node, root, where, stack)
        out = {key: value for key, value in node.items() if key not in self.dropped}
        notes: list[str] = []
        if "oneOf" in out:
            out["anyOf"] = [*out.get("anyOf", ()), *out.pop("oneOf")]
        if isinstance(out.get("prefixItems"), list):
            self._tuple_as_items(out, notes, root)
        rank = {key: index for index, key in enumerate(self.unsupported)}
        for key in sorted(out, key=lambda k: rank.get(k, len(rank))):  # stable: node order
            if not self.keeps(key, out[key], out):
                note = self.note(key, out.pop(key), root)
                if note is not None:
                    notes.append(note)
        self.adjust(out, notes, where)
        closing = self.closed_objects and _is_object(out)
        if closing:
            extra = out.get("additionalProperties", "properties" not in out)
            if extra is not False:
                raise self.error(
                    where,
                    "an object with free-form keys (dict[str, ...]). Use a pydantic model, "
                    f"dataclass or TypedDict with named fields{self.remedy}",
                )
        out = self._walk_children(out, root, where, stack)
        if closing:
            self.close(out)
        return self.finish(with_notes(out, notes), where)

    def _inline(self, node: Schema, root: Schema, where: str, stack: tuple[str, ...]) -> Any:
        name, target = resolve_ref(node["$ref"], root)
        if name in stack:
            raise self.error(
                where,
                f"the recursive type {name!r} (a $ref cycle); send the full JSON schema instead",
            )
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        return self.walk({**target, **siblings}, root, where, (*stack, name))

    def _walk_children(
        self, out: Schema, root: Schema, where: str, stack: tuple[str, ...]
    ) -> Schema:
        properties = out.get("properties")
        if isinstance(properties, dict):
            required = set(out.get("required") or ())
            out["properties"] = {
                name: self.walk_property(
                    sub, name in required, root, f"the property {name!r}", stack
                )
                for name, sub in properties.items()
            }
        for key in ("$defs", "definitions"):
            if isinstance(out.get(key), dict):
                out[key] = {
                    name: self.walk(sub, root, f"the type {name!r}", stack)
                    for name, sub in out[key].items()
                }
        for key in SUBSCHEMA_MAPS:
            if key not in ("properties", "$defs", "definitions") and isinstance(out.get(key), dict):
                out[key] = {name: self.walk(s, root, where, stack) for name, s in out[key].items()}
        for key in SUBSCHEMA_LISTS:
            if isinstance(out.get(key), list):
                out[key] = [self.walk(sub, root, where, stack) for sub in out[key]]
        for key in SUBSCHEMA_SINGLE:
            if key in out:
                label = f"the items of {where}" if key == "items" else where
                out[key] = self.walk(out[key], root, label, stack)
        return out

    def _tuple_as_items(self, out: Schema, notes: list[str], root: Schema) -> None:
        """A tuple as an array whose items are any of the members, of a fixed length."""
        members = out.pop("prefixItems")
        distinct = [m for i, m in enumerate(members) if m not in members[:i]]
        if distinct:
            out["items"] = distinct[0] if len(distinct) == 1 else {"anyOf": distinct}
        self.fixed_length(out, notes, len(members))
        if len(distinct) > 1:
            order = ", ".join(_summary(member, root) for member in members)
            notes.append(f"items in this order: {order}")

    # -- hooks -----------------------------------------------------------------------------

    def keeps(self, key: str, value: Any, node: Schema) -> bool:
        """Whether ``key`` stays in the node; one that does not becomes a `note`."""
        if key == "format" and self.formats is not None:
            return value in self.formats
        return key not in self.unsupported

    def note(self, key: str, value: Any, root: Schema) -> str | None:
        """What the description says of a keyword the target refuses (None: nothing)."""
        if key == "default" and value is None:
            return None  # null for "use the default" is said by the type, where it is said
        if key == "format":
            return f"format: {value}"
        return f"{key}: {_json(value)}"

    def adjust(self, out: Schema, notes: list[str], where: str) -> None:
        """What else the target needs of a node, its keywords sorted (adding to ``notes``);
        raise `error` for what it cannot express at all."""

    def walk_property(
        self, sub: Any, required: bool, root: Schema, where: str, stack: tuple[str, ...]
    ) -> Any:
        """One property's schema; ``required`` says whether the object requires it."""
        return self.walk(sub, root, where, stack)

    def fixed_length(self, out: Schema, notes: list[str], length: int) -> None:
        """Say that a tuple's array has exactly ``length`` items."""
        out.setdefault("minItems", length)
        out.setdefault("maxItems", length)

    def close(self, out: Schema) -> None:
        """Close an object (``closed_objects``) once its properties are walked."""
        out["additionalProperties"] = False

    def finish(self, out: Schema, where: str) -> Schema:
        """The last touch to a reshaped node (its notes already in the description)."""
        return out


def with_notes(node: Schema, notes: list[str]) -> Schema:
    """``node`` with ``notes`` (constraints the target cannot express) in its description."""
    if notes:
        text = "; ".join(notes)
        description = node.get("description")
        node["description"] = f"{description} ({text})" if description else text
    return node


def nullable(node: Schema) -> Schema:
    """A copy of ``node`` that also accepts ``null``, in plain JSON Schema."""
    if accepts_null(node):
        return node
    kind = node.get("type")
    if isinstance(kind, str) and not {"enum", "const", "$ref", "anyOf"} & node.keys():
        return {**node, "type": [kind, "null"]}
    if isinstance(kind, list) and not {"enum", "const"} & node.keys():
        return {**node, "type": [*kind, "null"]}
    if "anyOf" in node:
        return {**node, "anyOf": [*node["anyOf"], NULL]}
    inner = dict(node)
    description = inner.pop("description", None)
    wrapped: Schema = {"anyOf": [inner, NULL]}
    if description is not None:
        wrapped["description"] = description
    return wrapped


def _is_object(node: Schema) -> bool:
    return node.get("type") == "object" or "properties" in node


def _summary(member: Any, root: Schema) -> str:
    try:
        return type_summary(member, root) if isinstance(member, dict) else _json(member)
    except ConversionError:
        return member["$ref"].rsplit("/", 1)[-1] if "$ref" in member else "value"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
