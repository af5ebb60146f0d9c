"""Plausible values for a JSON schema, for the offline `TestModel`.

A test double that calls ``upper(text="a")`` or answers ``{"name": "a"}`` makes
tests and docs hard to read, so the values look like what a model would send:
strings come from the prompt (a quoted phrase, the text after a colon, else its
first telling word) or from the parameter's name (``city`` is the prompt's proper
noun, else ``"Paris"``), numbers are the prompt's numbers or small ones, enums
their first value. Every value still satisfies the schema: types, required properties, ``$ref``s,
``anyOf``, enums, bounds and lengths.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from typing import Any

Schema = dict[str, Any]

#: Past this depth a recursive schema gets only what it requires (and null where allowed).
_SHALLOW_DEPTH = 4
#: A schema that still recurses here cannot be satisfied by a finite value.
_MAX_DEPTH = 24

_COMMON_WORDS = """
    a an the to of in on at by for from with into about as and or but not no is are was
    were be been am do does did can could would should will shall may might must i me my we
    us our you your he she it its they them their this that these those what what's whats
    which who whom how many much why when where there here please tell give show make let
    get set use using some any all each every one so very just than then"""
#: Words too common to be what a prompt is about.
_STOPWORDS = frozenset(_COMMON_WORDS.split())

#: String values for parameters whose name says what they hold (matched on the name's end).
_NAMED_STRINGS: dict[str, str] = {
    "city": "Paris",
    "country": "France",
    "language": "English",
    "url": "https://example.com",
    "email": "ada@example.com",
    "path": "notes.txt",
    "filename": "notes.txt",
    "title": "note",
    "key": "note",
}

_FORMATS: dict[str, str] = {
    "date-time": "2024-01-01T09:00:00Z",
    "date": "2024-01-01",
    "time": "09:00:00",
    "duration": "PT1H",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "email": "ada@example.com",
    "uri": "https://example.com",
    "uri-reference": "https://example.com",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "path": "notes.txt",
}

_QUOTED = re.compile(r"\"([^\"]+)\"|'([^']+)'|“([^”]+)”")
# A number standing on its own: not the "4.1" of "gpt-4.1".
_NUMBER = re.compile(r"(?<![\w.-])-?\d+(?:\.\d+)?")
_WORD = re.compile(r"[^\W\d_][\w'-]*")


def sample(schema: Schema, prompt: str = "", *, optional: bool = False) -> Any:
    """A value that satisfies ``schema``, made plausible with the words of ``prompt``.

    ``optional=True`` fills optional object properties too (an answer that shows
    every field); otherwise objects hold their required properties only (tool
    arguments, where defaults are the tool's business).
    """
    return _Sampler(schema, prompt, optional).value(schema, "", 0)


def subject(prompt: str) -> str:
    """What a prompt is about, as a tool would want it: a quoted phrase, the text after a
    colon, or else its first telling word (the first word is skipped: usually a verb).
    """
    quoted = _QUOTED.search(prompt)
    if quoted:
        return next(group for group in quoted.groups() if group)
    head, colon, tail = prompt.partition(":")
    if colon and tail.strip() and not head.rstrip().endswith(("http", "https")):
        return tail.strip()
    words = _WORD.findall(prompt)[1:]
    telling = [w for w in words if w.lower() not in _STOPWORDS]
    return telling[0] if telling else "hello"


class _Sampler:
    def __init__(self, root: Schema, prompt: str, optional: bool) -> None:
        self.root = root
        self.optional = optional
        self.subject = subject(prompt)
        self.place = _place(prompt)
        # Numeric parameters take the prompt's numbers in order, then small ones.
        found = [float(n) for n in _NUMBER.findall(prompt)]
        self.numbers: Iterator[float] = itertools.chain(found, itertools.count(2))

    def value(self, schema: Schema, name: str, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            return None
        if "$ref" in schema:
            return self.value(self._resolve(schema["$ref"]), name, depth + 1)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        if "allOf" in schema:
            return self.value(_merge(schema["allOf"]), name, depth)
        for key in ("anyOf", "oneOf"):
            if schema.get(key):
                return self.value(self._choose(schema[key], depth), name, depth)
        kind = _kind(schema)
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, name, depth)
        if kind in ("integer", "number"):
            return self._number(schema, kind == "integer")
        if kind == "boolean":
            return False  # the safe answer for a flag (force=, overwrite=...)
        if kind == "null":
            return None
        if "default" in schema and kind is None:
            return schema["default"]
        return self._string(schema, name)

    def _resolve(self, ref: str) -> Schema:
        """A local reference (``#/$defs/Name``, ``#``); anything else is read as any value."""
        if not ref.startswith("#"):
            return {}
        target: Any = self.root
        for token in filter(None, ref[1:].split("/")):
            token = token.replace("~1", "/").replace("~0", "~")
            target = target.get(token, {}) if isinstance(target, dict) else {}
        return target if isinstance(target, dict) else {}

    def _choose(self, options: list[Schema], depth: int) -> Schema:
        """The first option that is not null; null itself once a recursive schema is deep."""
        nulls = [o for o in options if o.get("type") == "null"]
        others = [o for o in options if o.get("type") != "null"]
        if nulls and (depth >= _SHALLOW_DEPTH or not others):
            return nulls[0]
        return others[0]

    def _object(self, schema: Schema, depth: int) -> dict[str, Any]:
        properties: dict[str, Schema] = schema.get("properties", {})
        required = set(schema.get("required", []))
        fill_optional = self.optional and depth < _SHALLOW_DEPTH
        return {
            name: self.value(sub, name, depth + 1)
            for name, sub in properties.items()
            if name in required or fill_optional
        }

    def _array(self, schema: Schema, name: str, depth: int) -> list[Any]:
        if "prefixItems" in schema:
            return [self.value(s, name, depth + 1) for s in schema["prefixItems"]]
        least = schema.get("minItems", 0)
        most = schema.get("maxItems", math.inf)
        count = least if depth >= _SHALLOW_DEPTH else min(max(least, 1), most)
        items = [self.value(schema.get("items", {}), name, depth + 1) for _ in range(count)]
        if schema.get("uniqueItems"):
            items = [_distinct(item, index) for index, item in enumerate(items)]
        return items

    def _number(self, schema: Schema, integer: bool) -> int | float:
        value = next(self.numbers)
        low = schema.get("minimum")
        high = schema.get("maximum")
        if "exclusiveMinimum" in schema:
            low = schema["exclusiveMinimum"] + (1 if integer else 0.5)
        if "exclusiveMaximum" in schema:
            high = schema["exclusiveMaximum"] - (1 if integer else 0.5)
        if low is not None and value < low:
            value = low
        if high is not None and value > high:
            value = high if low is None else max(low, high)
        step = schema.get("multipleOf")
        if step:
            value = math.ceil(value / step) * step
            if high is not None and value > high:
                value -= step
        if integer:
            return math.ceil(value)
        return float(value)

    def _string(self, schema: Schema, name: str) -> str:
        place = self.place if name.lower().endswith(_PLACES) else None
        text = _FORMATS.get(schema.get("format", "")) or place or _named(name) or self.subject
        least = schema.get("minLength", 0)
        most = schema.get("maxLength")
        if len(text) < least:
            text = (text + " ") * least
        if most is not None:
            text = text[:most]
        # Padding and cutting can leave a space at the end; drop it if the length allows.
        return text.rstrip() if len(text.rstrip()) >= least else text


def _kind(schema: Schema) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        if "properties" in schema:
            return "object"
        if "items" in schema or "prefixItems" in schema:
            return "array"
    return kind if isinstance(kind, str) else None


#: Parameters that name a place take the prompt's proper noun when it has one.
_PLACES = ("city", "country", "place", "location")


def _place(prompt: str) -> str | None:
    """The prompt's first capitalised word after its first word ("... in Rome?" -> "Rome")."""
    words = _WORD.findall(prompt)[1:]
    return next((w for w in words if w[0].isupper() and w.lower() not in _STOPWORDS), None)


def _named(name: str) -> str | None:
    lowered = name.lower()
    for key, value in _NAMED_STRINGS.items():
        if lowered == key or lowered.endswith("_" + key):
            return value
    return None


def _merge(parts: list[Schema]) -> Schema:
    """``allOf`` as one schema: the union of the properties and of the required names."""
    merged: Schema = {}
    for part in parts:
        for key, value in part.items():
            if key == "properties":
                merged.setdefault("properties", {}).update(value)
            elif key == "required":
                merged["required"] = [*merged.get("required", []), *value]
            else:
                merged.setdefault(key, value)
    return merged


def _distinct(item: Any, index: int) -> Any:
    """Make the n-th item of a ``uniqueItems`` array differ from the others."""
    if isinstance(item, str):
        return item if index == 0 else f"{item} {index + 1}"
    if isinstance(item, bool):
        return item
    if isinstance(item, int | float):
        return item + index
    return item
