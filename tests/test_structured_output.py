"""Structured output: the schema reaches the model, and parsed() validates the answer."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from agentloop import FunctionModel, Request, StructuredOutputError, ToolCall


class City(BaseModel):
    name: str
    country: str


def answering(text: str, seen: list[Request] | None = None) -> FunctionModel:
    def play(request: Request) -> str:
        if seen is not None:
            seen.append(request)
        return text

    return FunctionModel(play)


def test_the_schema_is_sent_and_the_answer_validated() -> None:
    seen: list[Request] = []
    response = answering('{"name": "Paris", "country": "France"}', seen).prompt(
        "capital?", schema=City
    )
    assert response.parsed() == City(name="Paris", country="France")
    schema = seen[0].schema
    assert schema is not None
    assert schema["required"] == ["name", "country"]
    assert "title" not in schema
    assert seen[0].schema_name == "City"


def test_a_dict_schema_gives_the_decoded_json() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert answering('{"n": 3}').prompt("n?", schema=schema).parsed() == {"n": 3}


def test_a_fenced_answer_is_accepted() -> None:
    response = answering('```json\n{"name": "Rome", "country": "Italy"}\n```').prompt(
        "x", schema=City
    )
    assert response.parsed().name == "Rome"


@pytest.mark.parametrize("text", ["not json", '{"name": "Paris"}', '{"name": "P", "country": 1}'])
def test_invalid_answers_are_typed_errors_carrying_the_text(text: str) -> None:
    response = answering(text).prompt("x", schema=City)
    with pytest.raises(StructuredOutputError) as info:
        response.parsed()
    assert info.value.text == text


def test_in_a_chain_the_schema_shapes_the_final_answer() -> None:
    def lookup(city: str) -> str:
        "Look up a city."
        return "France"

    def play(request: Request) -> Any:
        if request.messages[-1].role == "tool":
            return '{"name": "Paris", "country": "France"}'
        return ToolCall("lookup", {"city": "Paris"}, "c1")

    response = FunctionModel(play).chain("where?", tools=[lookup], schema=City)
    assert response.parsed() == City(name="Paris", country="France")
