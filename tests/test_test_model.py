"""TestModel's made-up values: plausible tool arguments, and answers that fit ``schema=``."""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, Literal
from uuid import UUID

import pytest
from pydantic import BaseModel, Field

import agentloop
from agentloop import TestModel, Tool
from agentloop.providers.offline import example_arguments
from agentloop.providers.samples import sample, subject


def arguments(fn: Any, prompt: str) -> dict[str, Any]:
    """The arguments TestModel sends ``fn`` when asked ``prompt``."""
    return example_arguments(Tool.function(fn).parameters, prompt)


def upper(text: str) -> str:
    "Convert text to upper case."
    return text.upper()


@pytest.mark.parametrize(
    ("prompt", "text"),
    [
        ("Convert panda to uppercase", "panda"),
        ('Shout "good morning" at me', "good morning"),
        ("Shout 'hi there'", "hi there"),
        ("How many words are in: the quick brown fox", "the quick brown fox"),
        ("What is the meaning of life?", "meaning"),
        ("Go", "hello"),
        ("", "hello"),
    ],
)
def test_a_text_parameter_gets_what_the_prompt_is_about(prompt: str, text: str) -> None:
    assert subject(prompt) == text
    assert arguments(upper, prompt) == {"text": text}


def test_the_readme_example_answers_sensibly() -> None:
    response = agentloop.get_model("test").chain("Convert panda to uppercase", tools=[upper])
    assert response.text() == '{"upper": "PANDA"}'


def test_named_parameters_get_values_that_fit_their_name() -> None:
    def weather(city: str, country: str, url: str, file_path: str) -> str:
        "Weather."
        return ""

    assert arguments(weather, "What's the weather?") == {
        "city": "Paris",
        "country": "France",
        "url": "https://example.com",
        "file_path": "notes.txt",
    }


def test_a_place_parameter_takes_the_place_the_prompt_names() -> None:
    def weather(city: str) -> str:
        "Weather."
        return ""

    assert arguments(weather, "And the weather in Rome?") == {"city": "Rome"}
    assert arguments(weather, "What's the weather?") == {"city": "Paris"}


def test_numbers_come_from_the_prompt_then_small_ones() -> None:
    def multiply(a: int, b: float, c: int) -> float:
        "Multiply."
        return a * b * c

    assert arguments(multiply, "What is 34 * 8.5?") == {"a": 34, "b": 8.5, "c": 2}
    assert arguments(multiply, "Use gpt-4.1 to multiply") == {"a": 2, "b": 3.0, "c": 4}


class Unit(Enum):
    CELSIUS = "c"
    FAHRENHEIT = "f"


def test_enums_bounds_flags_lists_and_formats() -> None:
    def tool(
        unit: Unit,
        scale: Literal["small", "large"],
        score: Annotated[int, Field(ge=10, le=20)],
        ratio: Annotated[float, Field(gt=0, lt=1)],
        force: bool,
        tags: list[str],
        when: date,
        code: Annotated[str, Field(min_length=8, max_length=10)],
        optional: int = 5,
    ) -> None:
        "A tool with every kind of parameter."

    made = arguments(tool, "Tag the cat")
    assert made == {
        "unit": "c",
        "scale": "small",
        "score": 10,
        "ratio": 0.5,
        "force": False,
        "tags": ["cat"],
        "when": "2024-01-01",
        "code": made["code"],
    }
    assert 8 <= len(made["code"]) <= 10
    Tool.function(tool).validate(agentloop.ToolCall("tool", made, "c1"))  # the tool accepts them


def test_a_chain_runs_each_tool_with_the_prompts_values() -> None:
    seen: list[dict[str, Any]] = []

    def add(a: int, b: int) -> int:
        "Add two numbers."
        return a + b

    model = TestModel()
    conversation = model.conversation(
        tools=[add], before_call=lambda tool, call: seen.append(call.arguments)
    )
    assert conversation.chain("What is 2 + 40?").text() == '{"add": "42"}'
    assert seen == [{"a": 2, "b": 40}]


# Structured output: each answer must validate, with pydantic, against the type asked for.


class Colour(Enum):
    RED = "red"
    GREEN = "green"


class Address(BaseModel):
    street: str
    city: str
    postcode: Annotated[str, Field(min_length=4, max_length=8)]


class Person(BaseModel):
    name: str
    age: Annotated[int, Field(ge=18, le=120)]
    height: float
    email: str | None = None
    home: Address
    work: Address | None = None  # the same $def, referenced twice
    favourite: Colour
    tags: set[str]
    scores: dict[str, int]
    verified: bool
    born: datetime
    id: UUID


class Tree(BaseModel):
    label: str
    children: list[Tree] = []


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


class Pet(BaseModel):
    pet: Annotated[Cat | Dog, Field(discriminator="kind")]
    point: tuple[int, str]
    mood: Literal["calm", "busy"] = "calm"


class Items(BaseModel):
    items: Annotated[list[Address], Field(min_length=2, max_length=3)]
    total: Annotated[float, Field(multiple_of=0.25, gt=1)]


@pytest.mark.parametrize("schema", [Person, Tree, Pet, Items, list[Address], int, Colour])
def test_a_schema_prompt_gets_json_that_validates(schema: Any) -> None:
    response = TestModel().prompt("Describe someone from Paris", schema=schema)
    json.loads(response.text())
    response.parsed()  # raises StructuredOutputError unless pydantic validates it


def test_every_field_is_filled_and_nested_models_too() -> None:
    person = TestModel().prompt("Invent a person", schema=Person).parsed()
    assert isinstance(person, Person)
    assert person.home.city == "Paris"
    assert person.work is not None  # an Optional field gets a value, to exercise its type
    assert person.age == 18
    tree = TestModel().prompt("A tree", schema=Tree).parsed()
    assert tree.children  # one level of recursion shown, then it stops


def test_a_dict_schema_gets_json_that_validates_against_it() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "count": {"type": "integer", "minimum": 1},
            "kind": {"enum": ["a", "b"]},
            "either": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/Point"}]},
            "nested": {"type": "array", "items": {"$ref": "#/$defs/Point"}, "minItems": 1},
        },
        "required": ["title", "count", "kind", "either", "nested"],
        "additionalProperties": False,
        "$defs": {
            "Point": {
                "type": "object",
                "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                "required": ["x", "y"],
            }
        },
    }
    answer = TestModel().prompt("Count the points", schema=schema).parsed()
    jsonschema.validate(answer, schema)
    assert answer["either"] is not None


def test_a_streamed_schema_answer_is_the_same_json() -> None:
    streamed = TestModel().prompt("Invent a person", schema=Person, stream=True)
    assert isinstance(streamed.parsed(), Person)


def test_a_chain_with_a_schema_calls_the_tools_then_answers_in_shape() -> None:
    response = TestModel().chain("Convert panda to uppercase", tools=[upper], schema=Address)
    assert [c.name for c in response.tool_calls()] == ["upper"]
    assert isinstance(response.parsed(), Address)


def test_text_wins_over_the_schema() -> None:
    assert TestModel(text="fixed").prompt("hi", schema=Address).text() == "fixed"


def test_recursive_schemas_without_a_way_out_still_end() -> None:
    schema = {"type": "object", "properties": {"next": {"$ref": "#"}}, "required": ["next"]}
    value = sample(schema)
    depth = 0
    while isinstance(value, dict):
        value, depth = value["next"], depth + 1
    assert depth < 100
