"""Tool schemas from signatures and docstrings: a snapshot corpus, plus provider transforms.

Each corpus entry is a function and the exact schema (and description) its tool must have.
The expected schemas are written out here on purpose: a change in what the model sees must
show up as a diff in this file.
"""

import copy
import dataclasses
import datetime
import enum
import pathlib
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal, Optional

import cassettes
import pytest
import report
from pydantic import BaseModel, Field
from typing_extensions import NotRequired, TypedDict

from agentloop.errors import ConversionError, ToolDefinitionError
from agentloop.schema import function_schema, gemini_subset, openai_strict
from agentloop.schema_transforms import strip_titles
from agentloop.tools import Tool

# -- types used by the corpus ----------------------------------------------------------------


class Color(enum.Enum):
    """A primary colour."""

    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Address(BaseModel):
    """A postal address."""

    street: str
    zip_code: str = Field(description="Postal code")
    country: str = "FR"


@dataclasses.dataclass
class Point:
    """A point on a plane."""

    x: float
    y: float = 0.0


class Movie(TypedDict):
    """A movie."""

    title: str
    year: NotRequired[int]


class Node(BaseModel):
    value: int
    children: list["Node"] = []


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


# -- the corpus: one function per case -------------------------------------------------------


def no_parameters() -> str:
    """Tell the time."""
    return ""


def upper(text: str) -> str:
    "convert text to upper case"
    return text.upper()


def scalars(count: int, ratio: float, enabled: bool) -> None: ...


def none_type(nothing: None) -> None: ...


def optional_required(limit: Optional[int]) -> None: ...  # noqa: UP045 - the spelling under test


def optional_default(limit: int | None = None) -> None: ...


def union(value: int | str) -> None: ...


def defaults(
    name: str = "anon", count: int = 3, ratio: float = 0.5, loud: bool = False
) -> None: ...


def literal_strings(mode: Literal["fast", "slow"]) -> None: ...


def literal_numbers(level: Literal[1, 2, 3]) -> None: ...


def literal_single(kind: Literal["point"]) -> None: ...


def literal_with_default(unit: Literal["c", "f"] = "c") -> None: ...


def enum_parameter(color: Color) -> None: ...


def int_enum_parameter(level: Level = Level.LOW) -> None: ...


def list_of_strings(tags: list[str]) -> None: ...


def list_default(tags: list[str] = []) -> None: ...  # noqa: B006 - the default is never mutated


def fixed_tuple(pair: tuple[int, str]) -> None: ...


def variable_tuple(values: tuple[int, ...]) -> None: ...


def set_of_strings(labels: set[str]) -> None: ...


def dict_of_ints(scores: dict[str, int]) -> None: ...


def nested_model(address: Address) -> None: ...


def list_of_models(stops: list[Address]) -> None: ...


def optional_model(address: Address | None = None) -> None: ...


def dataclass_parameter(point: Point) -> None: ...


def typed_dict_parameter(movie: Movie) -> None: ...


def recursive_model(tree: Node) -> None: ...


def discriminated(pet: Annotated[Cat | Dog, Field(discriminator="kind")]) -> None: ...


def dates_and_times(
    when: datetime.datetime,
    day: datetime.date,
    at: datetime.time,
    wait: datetime.timedelta,
) -> None: ...


def identifiers(id: uuid.UUID, path: pathlib.Path) -> None: ...


def annotated_text(city: Annotated[str, "The city to look up"]) -> None: ...


def annotated_field(
    count: Annotated[int, Field(ge=1, le=10, description="How many, 1 to 10")] = 1,
) -> None: ...


def field_as_default(x: int = Field(5, description="five")) -> None: ...


def field_beats_docstring(city: Annotated[str, Field(description="From Field")]) -> None:
    """Look up a city.

    Args:
        city: From the docstring.
    """


def google_style(city: str, days: int = 1) -> str:
    """Get the weather forecast.

    Uses the national weather service.

    Args:
        city: The city name.
        days (int): How many days ahead,
            counting from today.

    Returns:
        The forecast text.

    Raises:
        ValueError: When the city is unknown.
    """
    return ""


def numpy_style(a: int, b: int) -> int:
    """Add two numbers.

    Parameters
    ----------
    a : int
        The first number.
    b : int
        The second number.

    Returns
    -------
    int
        The sum.
    """
    return a + b


def rest_style(path: str, recursive: bool = False) -> list[str]:
    """List the files under a directory.

    :param path: The directory to list.
    :param recursive: Whether to descend into subdirectories.
    :returns: The file names.
    """
    return []


def epydoc_style(x: int) -> None:
    """Double a number.

    @param x: The number to double.
    """


def unannotated(anything, count=2):  # type: ignore[no-untyped-def]
    """Accept anything."""


def any_parameter(payload: Any) -> None: ...


async def async_tool(url: str) -> str:
    """Fetch a URL."""
    return url


def keyword_only(query: str, *, limit: int = 10) -> None: ...


def positional_only(a: int, /, b: int) -> None: ...


def shadowing_names(title: str, json: str, schema: str, model_config: str) -> None: ...


def string_annotation(address: "Address") -> None: ...


def bytes_parameter(data: bytes) -> None: ...


ADDRESS_SCHEMA = {
    "type": "object",
    "description": "A postal address.",
    "properties": {
        "street": {"type": "string"},
        "zip_code": {"type": "string", "description": "Postal code"},
        "country": {"type": "string", "default": "FR"},
    },
    "required": ["street", "zip_code"],
}

CASES: list[tuple[Callable[..., Any], dict[str, Any], str]] = [
    (
        no_parameters,
        {"type": "object", "properties": {}, "additionalProperties": False},
        "Tell the time.",
    ),
    (
        upper,
        {
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
            "additionalProperties": False,
        },
        "convert text to upper case",
    ),
    (
        scalars,
        {
            "type": "object",
            "properties": {
                "count": {"type": "integer"},
                "ratio": {"type": "number"},
                "enabled": {"type": "boolean"},
            },
            "required": ["count", "ratio", "enabled"],
            "additionalProperties": False,
        },
        "",
    ),
    (
        none_type,
        {
            "type": "object",
            "properties": {"nothing": {"type": "null"}},
            "required": ["nothing"],
            "additionalProperties": False,
        },
        "",
    ),
    (
        optional_required,
        {
            "type": "object",
            "properties": {"limit": {"anyOf": [{"type": "integer"}, {"type": "null"}]}},
            "required": ["limit"],
            "additionalProperties": False,
        },
        "",
    ),
    (
        optional_default,
        {
            "type": "object",
            "properties": {
                "limit": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}
            },
            "additionalProperties": False,
        },
        "",
    ),
    (
        union,
        {
            "type": "object",
            "properties": {"value": {"anyOf": [{"type": "integer"}, {"type": "string"}]}},
            "required": ["value"],
            "additionalProperties": False,
        },
        "",
    ),
    (
        defaults,
        {
            "type": "object",
            "properties": {
                "name": {"type": "string", "default": "anon"},
                "count": {"type": "integer", "default": 3},
                "ratio": {"type": "number", "default": 0.5},
                "loud": {"type": "boolean", "default": False},
            },
            "additionalProperties": False,
        },
        "",
    ),
    (
        literal_strings,
        {
            "type": "object",
            "properties": {"mode": {"type": "string", "enum": ["fast", "slow"]}},
            "required": ["mode"],
            "additionalProperties": False,
        },
        "",
    ),
    (
        literal_numbers,
        {
            "type": "object",
            "properties": {"level": {"type": "integer", "enum": [1, 2, 3]}},
            "required": ["level"],
            "additionalProperties": False,
        },
        "",
    ),
    (
        literal_single,
        {
            "type": "object",
            "properties": {"kind": {"type": "string", "const": "point"}},
            "required": ["kind"],
            "additionalProperties": False,
        },
        "",
    ),
    (
        literal_with_default,
        {
            "type": "object",
            "properties": {"unit": {"type": "string", "enum": ["c", "f"], "default": "c"}},
            "additionalProperties": False,
        },
        "",
    ),
    (
        enum_parameter,
        {
            "type": "object",
            "properties": {"color": {"$ref": "#/$defs/Color"}},
            "required": ["color"],
            "additionalProperties": False,
            "$defs": {
                "Color": {
                    "type": "string",
                    "enum": ["red", "green"],
                    "description": "A primary colour.",
                }
            },
        },
        "",
    ),
    (
        int_enum_parameter,
        {
            "type": "object",
            "properties": {"level": {"$ref": "#/$defs/Level", "default": 1}},
            "additionalProperties": False,
            "$defs": {"Level": {"type": "integer", "enum": [1, 2]}},
        },
        "",
    ),
    (
        list_of_strings,
        {
            "type": "object",
            "properties": {"tags": {"type": "array", "items": {"type": "string"}}},
            "required": ["tags"],
            "additionalProperties": False,
        },
        "",
    ),
    (
        list_default,
        {
            "type": "object",
            "properties": {"tags": {"type": "array", "items": {"type": "string"}, "default": []}},
            "additionalProperties": False,
        },
        "",
    ),
    (
        fixed_tuple,
        {
            "type": "object",
            "properties": {
                "pair": {
                    "type": "array",
                    "prefixItems": [{"type": "integer"}, {"type": "string"}],
                    "minItems": 2,
                    "maxItems": 2,
                }
            },
            "required": ["pair"],
            "additionalProperties": False,
        },
        "",
    ),
    (
        variable_tuple,
        {
            "type": "object",
            "properties": {"values": {"type": "array", "items": {"type": "integer"}}},
            "required": ["values"],
            "additionalProperties": False,
        },
        "",
    ),
    (
        set_of_strings,
        {
            "type": "object",
            "properties": {
                "labels": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
            },
            "required": ["labels"],
            "additionalProperties": False,
        },
        "",
    ),
    (
        dict_of_ints,
        {
            "type": "object",
            "properties": {
                "scores": {"type": "object", "additionalProperties": {"type": "integer"}}
            },
            "required": ["scores"],
            "additionalProperties": False,
        },
        "",
    ),
    (
        nested_model,
        {
            "type": "object",
            "properties": {"address": {"$ref": "#/$defs/Address"}},
            "required": ["address"],
            "additionalProperties": False,
            "$defs": {"Address": ADDRESS_SCHEMA},
        },
        "",
    ),
    (
        list_of_models,
        {
            "type": "object",
            "properties": {"stops": {"type": "array", "items": {"$ref": "#/$defs/Address"}}},
            "required": ["stops"],
            "additionalProperties": False,
            "$defs": {"Address": ADDRESS_SCHEMA},
        },
        "",
    ),
    (
        optional_model,
        {
            "type": "object",
            "properties": {
                "address": {
                    "anyOf": [{"$ref": "#/$defs/Address"}, {"type": "null"}],
                    "default": None,
                }
            },
            "additionalProperties": False,
            "$defs": {"Address": ADDRESS_SCHEMA},
        },
        "",
    ),
    (
        dataclass_parameter,
        {
            "type": "object",
            "properties": {"point": {"$ref": "#/$defs/Point"}},
            "required": ["point"],
            "additionalProperties": False,
            "$defs": {
                "Point": {
                    "type": "object",
                    "description": "A point on a plane.",
                    "properties": {
                        "x": {"type": "number"},
                        "y": {"type": "number", "default": 0.0},
                    },
                    "required": ["x"],
                    # stdlib dataclasses take the arguments' config: extras are refused
                    "additionalProperties": False,
                }
            },
        },
        "",
    ),
    (
        typed_dict_parameter,
        {
            "type": "object",
            "properties": {"movie": {"$ref": "#/$defs/Movie"}},
            "required": ["movie"],
            "additionalProperties": False,
            "$defs": {
                "Movie": {
                    "type": "object",
                    "description": "A movie.",
                    "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
                    "required": ["title"],
                    "additionalProperties": False,
                }
            },
        },
        "",
    ),
    (
        recursive_model,
        {
            "type": "object",
            "properties": {"tree": {"$ref": "#/$defs/Node"}},
            "required": ["tree"],
            "additionalProperties": False,
            "$defs": {
                "Node": {
                    "type": "object",
                    "properties": {
                        "value": {"type": "integer"},
                        "children": {
                            "type": "array",
                            "items": {"$ref": "#/$defs/Node"},
                            "default": [],
                        },
                    },
                    "required": ["value"],
                }
            },
        },
        "",
    ),
    (
        discriminated,
        {
            "type": "object",
            "properties": {
                "pet": {
                    "oneOf": [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}],
                    "discriminator": {
                        "propertyName": "kind",
                        "mapping": {"cat": "#/$defs/Cat", "dog": "#/$defs/Dog"},
                    },
                }
            },
            "required": ["pet"],
            "additionalProperties": False,
            "$defs": {
                "Cat": {
                    "type": "object",
                    "properties": {
                        "kind": {"type": "string", "const": "cat"},
                        "lives": {"type": "integer"},
                    },
                    "required": ["kind", "lives"],
                },
                "Dog": {
                    "type": "object",
                    "properties": {
                        "kind": {"type": "string", "const": "dog"},
                        "good": {"type": "boolean"},
                    },
                    "required": ["kind", "good"],
                },
            },
        },
        "",
    ),
    (
        dates_and_times,
        {
            "type": "object",
            "properties": {
                "when": {"type": "string", "format": "date-time"},
                "day": {"type": "string", "format": "date"},
                "at": {"type": "string", "format": "time"},
                "wait": {"type": "string", "format": "duration"},
            },
            "required": ["when", "day", "at", "wait"],
            "additionalProperties": False,
        },
        "",
    ),
    (
        identifiers,
        {
            "type": "object",
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "path": {"type": "string", "format": "path"},
            },
            "required": ["id", "path"],
            "additionalProperties": False,
        },
        "",
    ),
    (
        annotated_text,
        {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city to look up"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "",
    ),
    (
        annotated_field,
        {
            "type": "object",
            "properties": {
                "count": {
                    "type": "integer",
                    "description": "How many, 1 to 10",
                    "minimum": 1,
                    "maximum": 10,
                    "default": 1,
                }
            },
            "additionalProperties": False,
        },
        "",
    ),
    (
        field_as_default,
        {
            "type": "object",
            "properties": {"x": {"type": "integer", "description": "five", "default": 5}},
            "additionalProperties": False,
        },
        "",
    ),
    (
        field_beats_docstring,
        {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "From Field"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "Look up a city.",
    ),
    (
        google_style,
        {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city name."},
                "days": {
                    "type": "integer",
                    "description": "How many days ahead,\ncounting from today.",
                    "default": 1,
                },
            },
            "required": ["city"],
            "additionalProperties": False,
        },
        "Get the weather forecast.\n\nUses the national weather service.",
    ),
    (
        numpy_style,
        {
            "type": "object",
            "properties": {
                "a": {"type": "integer", "description": "The first number."},
                "b": {"type": "integer", "description": "The second number."},
            },
            "required": ["a", "b"],
            "additionalProperties": False,
        },
        "Add two numbers.",
    ),
    (
        rest_style,
        {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "The directory to list."},
                "recursive": {
                    "type": "boolean",
                    "description": "Whether to descend into subdirectories.",
                    "default": False,
                },
            },
            "required": ["path"],
            "additionalProperties": False,
        },
        "List the files under a directory.",
    ),
    (
        epydoc_style,
        {
            "type": "object",
            "properties": {"x": {"type": "integer", "description": "The number to double."}},
            "required": ["x"],
            "additionalProperties": False,
        },
        "Double a number.",
    ),
    (
        unannotated,
        {
            "type": "object",
            "properties": {"anything": {}, "count": {"default": 2}},
            "required": ["anything"],
            "additionalProperties": False,
        },
        "Accept anything.",
    ),
    (
        any_parameter,
        {
            "type": "object",
            "properties": {"payload": {}},
            "required": ["payload"],
            "additionalProperties": False,
        },
        "",
    ),
    (
        async_tool,
        {
            "type": "object",
            "properties": {"url": {"type": "string"}},
            "required": ["url"],
            "additionalProperties": False,
        },
        "Fetch a URL.",
    ),
    (
        keyword_only,
        {
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "limit": {"type": "integer", "default": 10},
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        "",
    ),
    (
        positional_only,
        {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
            "additionalProperties": False,
        },
        "",
    ),
    (
        shadowing_names,
        {
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "json": {"type": "string"},
                "schema": {"type": "string"},
                "model_config": {"type": "string"},
            },
            "required": ["title", "json", "schema", "model_config"],
            "additionalProperties": False,
        },
        "",
    ),
    (
        string_annotation,
        {
            "type": "object",
            "properties": {"address": {"$ref": "#/$defs/Address"}},
            "required": ["address"],
            "additionalProperties": False,
            "$defs": {"Address": ADDRESS_SCHEMA},
        },
        "",
    ),
    (
        bytes_parameter,
        {
            "type": "object",
            "properties": {"data": {"type": "string", "format": "binary"}},
            "required": ["data"],
            "additionalProperties": False,
        },
        "",
    ),
]


def test_the_corpus_has_at_least_forty_signatures() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(
    ("fn", "parameters", "description"), CASES, ids=[fn.__name__ for fn, _, _ in CASES]
)
def test_signature_gives_the_expected_schema(
    fn: Callable[..., Any], parameters: dict[str, Any], description: str
) -> None:
    tool = Tool.function(fn)
    assert tool.parameters == parameters
    assert tool.description == description


def _titles(node: Any, inside_properties: bool = False) -> list[str]:
    """Every title keyword in a schema (property names called "title" do not count)."""
    if isinstance(node, list):
        return [t for item in node for t in _titles(item)]
    if not isinstance(node, dict):
        return []
    found = [] if inside_properties or "title" not in node else [node["title"]]
    for key, value in node.items():
        found += _titles(value, inside_properties=key in ("properties", "$defs"))
    return found


@pytest.mark.parametrize(
    ("fn", "parameters", "description"), CASES, ids=[c[0].__name__ for c in CASES]
)
def test_schemas_carry_no_titles(
    fn: Callable[..., Any], parameters: dict[str, Any], description: str
) -> None:
    assert _titles(Tool.function(fn).parameters) == []


def test_a_property_named_title_survives_title_stripping() -> None:
    schema = {"title": "Args", "properties": {"title": {"title": "Title", "type": "string"}}}
    assert strip_titles(schema) == {"properties": {"title": {"type": "string"}}}


def test_the_schema_is_built_once_per_function() -> None:
    assert function_schema(google_style) is function_schema(google_style)
    assert Tool.function(google_style).parameters is Tool.function(google_style).parameters


# -- definition errors -----------------------------------------------------------------------


def star_args(*numbers: int) -> int:
    return sum(numbers)


def star_kwargs(city: str, **options: str) -> None: ...


def test_var_positional_is_a_type_error_naming_the_function() -> None:
    with pytest.raises(TypeError, match=r"star_args.*\*numbers"):
        Tool.function(star_args)


def test_var_keyword_is_a_type_error_naming_the_function() -> None:
    with pytest.raises(ToolDefinitionError, match=r"star_kwargs.*\*\*options"):
        Tool.function(star_kwargs)


def test_an_unresolvable_string_annotation_is_a_definition_error() -> None:
    def uses_missing(x: "Missing") -> None: ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(ToolDefinitionError, match="uses_missing.*Missing"):
        Tool.function(uses_missing)


def test_a_type_pydantic_cannot_describe_is_a_definition_error() -> None:
    class Opaque:
        pass

    def takes_opaque(thing: Opaque) -> None: ...

    with pytest.raises(ToolDefinitionError, match="takes_opaque"):
        Tool.function(takes_opaque)


# -- OpenAI strict mode ----------------------------------------------------------------------


def _strict(fn: Callable[..., Any]) -> dict[str, Any]:
    return openai_strict(Tool.function(fn).parameters)


def test_strict_mode_requires_every_property_and_makes_defaults_nullable() -> None:
    assert _strict(defaults) == {
        "type": "object",
        "properties": {
            "name": {"type": ["string", "null"], "description": 'Default: "anon"'},
            "count": {"type": ["integer", "null"], "description": "Default: 3"},
            "ratio": {"type": ["number", "null"], "description": "Default: 0.5"},
            "loud": {"type": ["boolean", "null"], "description": "Default: false"},
        },
        "required": ["name", "count", "ratio", "loud"],
        "additionalProperties": False,
    }


def test_strict_mode_keeps_an_already_nullable_optional_as_it_is() -> None:
    assert _strict(optional_default)["properties"] == {
        "limit": {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    }


def test_strict_mode_closes_and_requires_nested_definitions() -> None:
    schema = _strict(optional_model)
    assert schema["properties"]["address"] == {
        "anyOf": [{"$ref": "#/$defs/Address"}, {"type": "null"}]
    }
    assert schema["$defs"]["Address"] == {
        "type": "object",
        "description": "A postal address.",
        "properties": {
            "street": {"type": "string"},
            "zip_code": {"type": "string", "description": "Postal code"},
            "country": {"type": ["string", "null"], "description": 'Default: "FR"'},
        },
        "required": ["street", "zip_code", "country"],
        "additionalProperties": False,
    }


def test_strict_mode_wraps_a_ref_that_has_siblings() -> None:
    assert _strict(int_enum_parameter)["properties"]["level"] == {
        "anyOf": [{"$ref": "#/$defs/Level"}, {"type": "null"}],
        "description": "Default: 1",
    }


def test_strict_mode_moves_unsupported_keywords_into_the_description() -> None:
    assert _strict(set_of_strings)["properties"]["labels"] == {
        "type": "array",
        "items": {"type": "string"},
        "description": "UniqueItems: true",
    }
    assert _strict(identifiers)["properties"] == {
        "id": {"type": "string", "format": "uuid"},
        "path": {"type": "string", "description": "Format: path"},
    }


def test_strict_mode_turns_a_tuple_into_items_with_fixed_length() -> None:
    assert _strict(fixed_tuple)["properties"]["pair"] == {
        "type": "array",
        "items": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        "minItems": 2,
        "maxItems": 2,
        "description": "Items in this order: integer, string",
    }


def test_strict_mode_uses_any_of_for_a_discriminated_union() -> None:
    assert _strict(discriminated)["properties"]["pet"] == {
        "anyOf": [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}]
    }


def test_strict_mode_refuses_free_form_objects_naming_the_property() -> None:
    with pytest.raises(ConversionError, match="'scores'.*free-form") as caught:
        _strict(dict_of_ints)
    assert caught.value.provider == "openai"


def test_strict_mode_keeps_recursive_references() -> None:
    schema = _strict(recursive_model)
    assert schema["$defs"]["Node"]["properties"]["children"] == {
        "type": ["array", "null"],
        "items": {"$ref": "#/$defs/Node"},
        "description": "Default: []",
    }


def test_strict_mode_leaves_its_input_untouched() -> None:
    parameters = Tool.function(optional_model).parameters
    before = copy.deepcopy(parameters)
    openai_strict(parameters)
    assert parameters == before


# -- Gemini ----------------------------------------------------------------------------------


def _gemini(fn: Callable[..., Any]) -> dict[str, Any]:
    return gemini_subset(Tool.function(fn).parameters)


def test_gemini_inlines_definitions_and_drops_additional_properties() -> None:
    assert _gemini(optional_model) == {
        "type": "object",
        "properties": {
            "address": {
                "type": "object",
                "description": "A postal address.",
                "properties": {
                    "street": {"type": "string"},
                    "zip_code": {"type": "string", "description": "Postal code"},
                    "country": {"type": "string", "description": 'Default: "FR"'},
                },
                "required": ["street", "zip_code"],
                "nullable": True,
            }
        },
    }


def test_gemini_expresses_null_as_nullable() -> None:
    assert _gemini(optional_required)["properties"] == {
        "limit": {"type": "integer", "nullable": True}
    }


def test_gemini_turns_const_into_a_one_value_enum() -> None:
    assert _gemini(literal_single)["properties"] == {"kind": {"type": "string", "enum": ["point"]}}


def test_gemini_keeps_date_time_and_describes_other_formats() -> None:
    assert _gemini(dates_and_times)["properties"] == {
        "when": {"type": "string", "format": "date-time"},
        "day": {"type": "string", "description": "Format: date"},
        "at": {"type": "string", "description": "Format: time"},
        "wait": {"type": "string", "description": "Format: duration"},
    }


def test_gemini_describes_map_values_it_cannot_type() -> None:
    assert _gemini(dict_of_ints)["properties"] == {
        "scores": {"type": "object", "description": "Values: integer"}
    }


def test_gemini_resolves_an_enum_reference() -> None:
    assert _gemini(enum_parameter)["properties"] == {
        "color": {"type": "string", "enum": ["red", "green"], "description": "A primary colour."}
    }


def test_gemini_turns_a_discriminated_union_into_any_of() -> None:
    pet = _gemini(discriminated)["properties"]["pet"]
    assert [option["properties"]["kind"] for option in pet["anyOf"]] == [
        {"type": "string", "enum": ["cat"]},
        {"type": "string", "enum": ["dog"]},
    ]
    assert "discriminator" not in pet


def test_gemini_refuses_a_recursive_type() -> None:
    with pytest.raises(ConversionError, match="recursive type 'Node'") as caught:
        _gemini(recursive_model)
    assert caught.value.provider == "gemini"


def test_gemini_keeps_a_no_parameter_object_minimal() -> None:
    assert _gemini(no_parameters) == {"type": "object", "properties": {}}


# -- variants on the tool --------------------------------------------------------------------


def test_a_tool_caches_each_schema_variant() -> None:
    tool = Tool.function(optional_model)
    assert tool.schema() is tool.parameters
    assert tool.schema(strict=True) is tool.schema(strict=True)
    assert tool.schema(provider="gemini") is tool.schema(provider="gemini")
    assert tool.schema(strict=True) == openai_strict(tool.parameters)
    assert tool.schema(provider="gemini") == gemini_subset(tool.parameters)


def test_strict_does_not_apply_to_gemini() -> None:
    tool = Tool.function(defaults)
    assert tool.schema(strict=True, provider="gemini") == gemini_subset(tool.parameters)


# -- the real-world oracle: tool definitions in recorded provider requests -----------------
#
# The cassettes hold tool definitions that real clients sent and real providers accepted.
# Each is rebuilt below as the Python function a user would write; its schema must match the
# recorded one: exactly for OpenAI strict mode and Gemini's `parameters` subset, and up to
# titles and the top-level `additionalProperties` (which other clients leave out) otherwise.


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return ""


def retrieve_entity_info(name: str) -> str:
    """Get the knowledge about the given entity."""
    return ""


def get_current_temperature(city: str) -> str:
    """Get the current temperature in a city.

    Args:
        city: The name of the city to get the temperature for.
    """
    return ""


def get_capital(country: str) -> str:
    return ""


def get_location(loc_name: str) -> str:
    return ""


def create_file(path: str) -> str:
    return ""


def delete_file(path: str) -> str:
    return ""


def get_something_by_name(name: str) -> str:
    return ""


def get_current_time() -> str:
    """Get the current time."""
    return ""


def generate_topic() -> str:
    return ""


def pelican_name_generator() -> str:
    return ""


def plus(a: int, b: int) -> int:
    return a + b


def minus(a: int, b: int) -> int:
    return a - b


def return_list_of_int(value: list[int]) -> list[int]:
    return value


def final_result_city(city: str, country: str) -> None:
    """The final response which ends this conversation"""


def final_result_topics(response: list[str]) -> None:
    """The final response which ends this conversation"""


RECORDED_TOOLS: dict[str, Callable[..., Any]] = {
    fn.__name__: fn
    for fn in (
        get_weather,
        retrieve_entity_info,
        get_current_temperature,
        get_capital,
        get_location,
        create_file,
        delete_file,
        get_something_by_name,
        get_current_time,
        generate_topic,
        pelican_name_generator,
        plus,
        minus,
        return_list_of_int,
    )
}
# One name, two different tools in two recordings.
RECORDED_BY_FILE = {
    ("ollama/cloud_openai_compat_tool_call.yaml", "final_result"): final_result_city,
    ("gemini/parallel_tools.yaml", "final_result"): final_result_topics,
}


def _recorded_definitions(body: Any) -> list[tuple[str, str | None, dict[str, Any], str]]:
    """(name, description, schema, kind) of each tool in a request body, whatever its format.

    kind is "strict" (OpenAI strict mode), "gemini" (Gemini's `parameters` subset) or "json".
    """
    found = []
    for entry in body.get("tools") or [] if isinstance(body, dict) else []:
        if "functionDeclarations" in entry:
            for decl in entry["functionDeclarations"]:
                if "parameters" in decl:
                    found.append(
                        (decl["name"], decl.get("description"), decl["parameters"], "gemini")
                    )
                else:
                    schema = decl["parameters_json_schema"]
                    found.append((decl["name"], decl.get("description"), schema, "json"))
            continue
        spec = entry.get("function", entry)
        schema = spec.get("parameters", spec.get("input_schema"))
        kind = "strict" if spec.get("strict") else "json"
        found.append((spec["name"], spec.get("description"), schema, kind))
    return found


def _lower_types(node: Any) -> Any:
    """Gemini accepts "STRING" as well as "string"; compare in lower case."""
    if isinstance(node, list):
        return [_lower_types(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: value.lower() if key == "type" and isinstance(value, str) else _lower_types(value)
        for key, value in node.items()
    }


def _loose(schema: dict[str, Any]) -> dict[str, Any]:
    out = strip_titles(schema)
    if out.get("additionalProperties") is False:
        del out["additionalProperties"]
    return out


def test_schemas_match_the_tool_definitions_of_recorded_requests() -> None:
    cassettes.require()
    checked = 0
    for interaction in cassettes.all_interactions():
        if interaction.method != "POST" or not interaction.request_body.startswith(b"{"):
            continue
        for name, description, recorded, kind in _recorded_definitions(interaction.request_json()):
            fn = RECORDED_BY_FILE.get((interaction.file, name)) or RECORDED_TOOLS[name]
            tool = Tool.function(fn, name=name)
            where = f"{interaction.id} {name}"
            if kind == "strict":
                assert tool.schema(strict=True) == recorded, where
            elif kind == "gemini":
                assert tool.schema(provider="gemini") == _lower_types(recorded), where
            elif recorded.get("additionalProperties") is False:
                assert tool.parameters == strip_titles(recorded), where
            else:
                assert _loose(tool.parameters) == _loose(recorded), where
            assert tool.description == (description or ""), where
            checked += 1
    report.count("tool definitions in recorded requests matched", checked)
    assert checked >= 40
