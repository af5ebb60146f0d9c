"""Tool schemas from signatures and docstrings: the snapshot corpus and definition errors.

Each corpus function (tests/schema_corpus.py) must give exactly the description and schema in
its snapshot, tests/snapshots/schemas/<function>.json. The snapshots were written by hand and
are reviewed like code: a change in what the model sees shows up as a diff there. After an
intended change, ``AGENTLOOP_UPDATE_SNAPSHOTS=1 pytest tests/test_schema.py`` rewrites them.
"""

import json
import os
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from schema_corpus import CORPUS, google_style

from agentloop.errors import ToolDefinitionError
from agentloop.schema import function_schema
from agentloop.schema_transforms import strip_titles
from agentloop.tools import Tool

SNAPSHOTS = Path(__file__).parent / "snapshots" / "schemas"
UPDATE = os.environ.get("AGENTLOOP_UPDATE_SNAPSHOTS") == "1"


def _snapshot(fn: Callable[..., Any]) -> dict[str, Any]:
    path = SNAPSHOTS / f"{fn.__name__}.json"
    if UPDATE:
        tool = Tool.function(fn)
        snapshot = {"description": tool.description, "parameters": tool.parameters}
        path.write_text(json.dumps(snapshot, indent=2) + "\n", encoding="utf-8")
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_the_corpus_has_at_least_forty_signatures_each_with_a_snapshot() -> None:
    assert len(CORPUS) >= 40
    assert {p.stem for p in SNAPSHOTS.glob("*.json")} == {fn.__name__ for fn in CORPUS}


@pytest.mark.parametrize("fn", CORPUS, ids=lambda fn: fn.__name__)
def test_signature_gives_the_snapshot_schema_and_description(fn: Callable[..., Any]) -> None:
    expected = _snapshot(fn)
    tool = Tool.function(fn)
    assert tool.parameters == expected["parameters"]
    assert tool.description == expected["description"]


def _titles(node: Any, inside_names: bool = False) -> list[str]:
    """Every title keyword in a schema (properties that are merely named "title" do not count)."""
    if isinstance(node, list):
        return [t for item in node for t in _titles(item)]
    if not isinstance(node, dict):
        return []
    found = [node["title"]] if "title" in node and not inside_names else []
    for key, value in node.items():
        found += _titles(value, inside_names=key in ("properties", "$defs"))
    return found


@pytest.mark.parametrize("fn", CORPUS, ids=lambda fn: fn.__name__)
def test_schemas_carry_no_titles(fn: Callable[..., Any]) -> None:
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

    with pytest.raises(ToolDefinitionError, match=r"uses_missing.*Missing"):
        Tool.function(uses_missing)


def test_a_type_pydantic_cannot_describe_is_a_definition_error() -> None:
    class Opaque:
        pass

    def takes_opaque(thing: Opaque) -> None: ...

    with pytest.raises(ToolDefinitionError, match="takes_opaque"):
        Tool.function(takes_opaque)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="pydantic reads typing.TypedDict on 3.12+")
def test_typing_typed_dict_before_python_3_12_is_a_clear_definition_error() -> None:
    class Plain(typing.TypedDict):
        name: str

    def takes_plain(item: Plain) -> None: ...

    with pytest.raises(ToolDefinitionError, match=r"takes_plain.*typing_extensions\.TypedDict"):
        Tool.function(takes_plain)
