"""Per-provider schema transforms (OpenAI strict mode, Gemini's subset) and the oracle.

The oracle: tool definitions that real clients sent, and real providers accepted, are in the
recorded cassettes. Each is rebuilt as the Python function a user would write; its schema must
match the recorded one.
"""

import copy
from collections.abc import Callable
from typing import Any

import cassettes
import pytest
import report
from schema_corpus import (
    any_parameter,
    dates_and_times,
    defaults,
    dict_of_ints,
    discriminated,
    enum_parameter,
    fixed_tuple,
    identifiers,
    int_enum_parameter,
    literal_single,
    no_parameters,
    optional_default,
    optional_model,
    optional_required,
    recursive_model,
    set_of_strings,
)

from agentloop.errors import ConversionError
from agentloop.providers.anthropic.schema import structured_schema
from agentloop.providers.gemini.schema import gemini_subset
from agentloop.providers.openai_strict import openai_strict
from agentloop.schema_transforms import strip_titles
from agentloop.tools import Tool


def schema_of(fn: Callable[..., Any]) -> dict[str, Any]:
    return Tool.function(fn).parameters


# -- OpenAI strict mode ----------------------------------------------------------------------


def _strict(fn: Callable[..., Any]) -> dict[str, Any]:
    return openai_strict(Tool.function(fn).parameters)


def test_strict_mode_requires_every_property_and_makes_defaults_nullable() -> None:
    assert _strict(defaults) == {
        "type": "object",
        "properties": {
            "name": {"type": ["string", "null"], "description": 'default: "anon"'},
            "count": {"type": ["integer", "null"], "description": "default: 3"},
            "ratio": {"type": ["number", "null"], "description": "default: 0.5"},
            "loud": {"type": ["boolean", "null"], "description": "default: false"},
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
            "country": {"type": ["string", "null"], "description": 'default: "FR"'},
        },
        "required": ["street", "zip_code", "country"],
        "additionalProperties": False,
    }


def test_strict_mode_wraps_a_ref_that_has_siblings() -> None:
    assert _strict(int_enum_parameter)["properties"]["level"] == {
        "anyOf": [{"$ref": "#/$defs/Level"}, {"type": "null"}],
        "description": "default: 1",
    }


def test_strict_mode_moves_unsupported_keywords_into_the_description() -> None:
    assert _strict(set_of_strings)["properties"]["labels"] == {
        "type": "array",
        "items": {"type": "string"},
        "description": "uniqueItems: true",
    }
    assert _strict(identifiers)["properties"] == {
        "id": {"type": "string", "format": "uuid"},
        "path": {"type": "string", "description": "format: path"},
    }


def test_strict_mode_turns_a_tuple_into_items_with_fixed_length() -> None:
    assert _strict(fixed_tuple)["properties"]["pair"] == {
        "type": "array",
        "items": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        "minItems": 2,
        "maxItems": 2,
        "description": "items in this order: integer, string",
    }


def test_strict_mode_uses_any_of_for_a_discriminated_union() -> None:
    assert _strict(discriminated)["properties"]["pet"] == {
        "anyOf": [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}]
    }


def test_strict_mode_refuses_free_form_objects_naming_the_property() -> None:
    with pytest.raises(ConversionError, match=r"'scores'.*free-form") as caught:
        _strict(dict_of_ints)
    assert caught.value.provider == "openai"


def test_strict_mode_refuses_a_value_of_any_type() -> None:
    with pytest.raises(ConversionError, match=r"'payload'.*any type"):
        _strict(any_parameter)


def test_strict_mode_keeps_recursive_references() -> None:
    schema = _strict(recursive_model)
    assert schema["$defs"]["Node"]["properties"]["children"] == {
        "type": ["array", "null"],
        "items": {"$ref": "#/$defs/Node"},
        "description": "default: []",
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
                    "country": {"type": "string", "description": 'default: "FR"'},
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
        "day": {"type": "string", "description": "format: date"},
        "at": {"type": "string", "description": "format: time"},
        "wait": {"type": "string", "description": "format: duration"},
    }


def test_gemini_describes_map_values_it_cannot_type() -> None:
    assert _gemini(dict_of_ints)["properties"] == {
        "scores": {"type": "object", "description": "values: integer"}
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


def test_a_codec_passes_its_transform_and_the_tool_caches_it() -> None:
    tool = Tool.function(optional_model)
    assert tool.parameters_for(None) is tool.parameters
    assert tool.parameters_for(gemini_subset) is tool.parameters_for(gemini_subset)
    assert tool.parameters_for(structured_schema) == structured_schema(tool.parameters)


def test_a_format_no_loaded_codec_registered_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="'no-such-format'"):
        Tool.function(defaults).schema(provider="no-such-format")


# -- one base: where the copies used to differ, the one behaviour ----------------------------

TRANSFORMS = {"openai": openai_strict, "gemini": gemini_subset, "anthropic": structured_schema}


@pytest.mark.parametrize("provider", TRANSFORMS)
def test_every_transform_notes_a_keyword_as_it_is_spelt(provider: str) -> None:
    schema = {
        "type": "object",
        "properties": {"tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}},
        "required": ["tags"],
        "additionalProperties": False,
    }
    tags = TRANSFORMS[provider](schema)["properties"]["tags"]
    assert tags["description"] == "uniqueItems: true"


@pytest.mark.parametrize("provider", TRANSFORMS)
def test_every_transform_says_a_tuple_order_by_type(provider: str) -> None:
    pair = {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}]}
    schema = {"type": "object", "properties": {"pair": pair}, "required": ["pair"]}
    schema["additionalProperties"] = False
    out = TRANSFORMS[provider](schema)["properties"]["pair"]
    assert out["items"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert out["description"].endswith("items in this order: integer, string")


@pytest.mark.parametrize("provider", TRANSFORMS)
def test_an_empty_tuple_and_a_boolean_subschema_pass(provider: str) -> None:
    # The core's copy failed on an empty tuple; Anthropic's alone let a boolean schema by.
    empty = {"type": "array", "prefixItems": []}
    anything = {"type": "array", "items": True}
    schema = {
        "type": "object",
        "properties": {"none": empty, "anything": anything},
        "required": ["none", "anything"],
        "additionalProperties": False,
    }
    out = TRANSFORMS[provider](schema)["properties"]
    assert "items" not in out["none"]
    assert out["anything"]["items"] is True


@pytest.mark.parametrize(
    ("provider", "schema", "target"),
    [
        ("openai", {"type": "object"}, "OpenAI strict mode"),
        ("anthropic", {"type": "object"}, "Anthropic structured output"),
        ("gemini", schema_of(recursive_model), "Gemini's schema subset"),
    ],
)
def test_every_transform_words_what_it_cannot_express_alike(
    provider: str, schema: dict[str, Any], target: str
) -> None:
    with pytest.raises(ConversionError, match=rf"^{target} cannot express the ") as caught:
        TRANSFORMS[provider](schema)
    assert caught.value.provider == provider


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
