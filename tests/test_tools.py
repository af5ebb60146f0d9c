"""Tool: wrapping functions, validating the model's arguments, formatting results and errors."""

import asyncio
import dataclasses
import datetime
import enum
import functools
from typing import Any

import pytest
from pydantic import BaseModel

from agentloop import File, Image, ToolCall, ToolResult
from agentloop.errors import (
    DuplicateToolError,
    ToolArgumentsError,
    ToolDefinitionError,
    ToolError,
    ToolRetriesExceeded,
)
from agentloop.tools import RetryBudget, Tool, ToolReturn, collect_tools, format_return, tool

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def call(
    arguments: dict[str, Any] | None = None, raw: str | None = None, name: str = "t"
) -> ToolCall:
    return ToolCall(name, arguments or {}, "call_1", raw)


# -- wrapping functions ------------------------------------------------------------------------


def get_weather(city: str, days: int = 1) -> str:
    """Get the weather for a city.

    Args:
        city: The city name.
        days: How many days ahead.
    """
    return f"{city}:{days}"


async def fetch(url: str) -> str:
    """Fetch a URL."""
    await asyncio.sleep(0)
    return url.upper()


def test_a_function_becomes_a_tool_named_after_it() -> None:
    t = Tool.function(get_weather)
    assert t.name == "get_weather"
    assert t.description == "Get the weather for a city."
    assert t.parameters["required"] == ["city"]
    assert t.fn is get_weather
    assert (t.is_async, t.requires_approval, t.sequential, t.max_retries) == (
        False,
        False,
        False,
        3,
    )


def test_an_async_function_is_marked_async_and_invoke_returns_its_coroutine() -> None:
    t = Tool.function(fetch)
    assert t.is_async
    assert asyncio.run(t.invoke(t.validate(call({"url": "x"})))) == "X"


def test_name_and_description_arguments_override_the_function_defaults() -> None:
    t = Tool.function(get_weather, name="weather", description="Forecast.")
    assert (t.name, t.description) == ("weather", "Forecast.")


@tool(
    name="lookup", description="Look it up.", requires_approval=True, sequential=True, max_retries=5
)
def decorated(key: str) -> str:
    return key


def test_the_decorator_sets_name_description_and_flags() -> None:
    t = Tool.function(decorated)
    assert (t.name, t.description) == ("lookup", "Look it up.")
    assert (t.requires_approval, t.sequential, t.max_retries) == (True, True, 5)


def test_the_decorator_leaves_the_function_callable_as_before() -> None:
    assert decorated("k") == "k"


def test_arguments_to_function_win_over_the_decorator() -> None:
    t = Tool.function(decorated, name="other", requires_approval=False)
    assert (t.name, t.requires_approval, t.sequential) == ("other", False, True)


def test_the_bare_decorator_keeps_the_defaults() -> None:
    @tool
    def plain(x: int) -> int:
        "Plain."
        return x

    assert Tool.function(plain).name == "plain"


def test_a_lambda_needs_a_name() -> None:
    with pytest.raises(ToolDefinitionError, match="name="):
        Tool.function(lambda x: x)
    assert Tool.function(lambda x: x, name="identity").name == "identity"


@pytest.mark.parametrize("name", ["has space", "dotted.name", "1starts_with_digit", "x" * 65, ""])
def test_names_a_provider_would_refuse_are_definition_errors(name: str) -> None:
    with pytest.raises(ToolDefinitionError, match="not a valid tool name"):
        Tool.function(get_weather, name=name)


def test_a_non_callable_is_not_a_tool() -> None:
    with pytest.raises(ToolDefinitionError, match="not callable"):
        Tool.function(42)  # type: ignore[arg-type]


def test_a_callable_object_is_named_after_its_class() -> None:
    class Counter:
        """Count things."""

        def __call__(self, step: int) -> int:
            return step

    t = Tool.function(Counter())
    assert (t.name, t.description, t.parameters["required"]) == (
        "Counter",
        "Count things.",
        ["step"],
    )


def test_a_partial_keeps_the_function_name_and_docstring_minus_bound_arguments() -> None:
    t = Tool.function(functools.partial(get_weather, days=2), name="weather_in_two_days")
    assert t.description == "Get the weather for a city."
    assert t.invoke(t.validate(call({"city": "Oslo"}))) == "Oslo:2"


def test_positional_only_parameters_are_passed_by_position() -> None:
    def divide(a: int, b: int, /) -> float:
        return a / b

    t = Tool.function(divide)
    assert t.invoke(t.validate(call({"a": 6, "b": 3}))) == 2.0


# -- validation ----------------------------------------------------------------------------------


class Unit(enum.Enum):
    CELSIUS = "c"
    FAHRENHEIT = "f"


class Place(BaseModel):
    name: str
    zoom: int = 5


def plan(
    day: datetime.date, unit: Unit, places: list[Place], note: str | None = None, limit: int = 10
) -> str:
    return "ok"


PLAN = Tool.function(plan)


def test_valid_arguments_are_coerced_to_python_values() -> None:
    kwargs = PLAN.validate(call({"day": "2026-01-02", "unit": "f", "places": [{"name": "Nice"}]}))
    assert kwargs == {
        "day": datetime.date(2026, 1, 2),
        "unit": Unit.FAHRENHEIT,
        "places": [Place(name="Nice", zoom=5)],
        "note": None,
        "limit": 10,
    }


def test_numeric_strings_are_coerced_where_unambiguous() -> None:
    assert Tool.function(get_weather).validate(call({"city": "Paris", "days": "3"}))["days"] == 3


def test_null_for_a_parameter_with_a_default_means_the_default() -> None:
    kwargs = PLAN.validate(
        call(
            {
                "day": "2026-01-02",
                "unit": "c",
                "places": [{"name": "A", "zoom": None}],
                "limit": None,
            }
        )
    )
    assert kwargs["limit"] == 10
    assert kwargs["places"][0].zoom == 5


def test_null_for_an_optional_parameter_stays_none() -> None:
    kwargs = PLAN.validate(call({"day": "2026-01-02", "unit": "c", "places": [], "note": None}))
    assert kwargs["note"] is None


def _error(t: Tool, tool_call: ToolCall) -> ToolArgumentsError:
    with pytest.raises(ToolArgumentsError) as caught:
        t.validate(tool_call)
    return caught.value


def test_a_missing_argument_is_named_with_its_expected_type() -> None:
    error = _error(Tool.function(get_weather), call({"days": 2}, name="get_weather"))
    assert error.problems == ["city: missing required argument (expected string)"]
    assert error.tool_name == "get_weather"
    assert str(error).startswith("Invalid arguments for tool 'get_weather':\n- city: missing")


def test_an_extra_argument_is_refused_by_name() -> None:
    error = _error(Tool.function(get_weather), call({"city": "Paris", "country": "FR"}))
    assert error.problems == ["country: unexpected argument"]


def test_a_wrong_type_says_what_was_expected_and_what_was_sent() -> None:
    error = _error(Tool.function(get_weather), call({"city": "Paris", "days": "three"}))
    assert len(error.problems) == 1
    assert error.problems[0].startswith("days: Input should be a valid integer")
    assert error.problems[0].endswith('(expected integer; got "three")')


def test_a_bad_enum_value_lists_the_allowed_values() -> None:
    error = _error(PLAN, call({"day": "2026-01-02", "unit": "kelvin", "places": []}))
    assert error.problems[0].startswith("unit: Input should be 'c' or 'f'")
    assert 'expected one of "c", "f"; got "kelvin"' in error.problems[0]


def test_a_nested_error_gives_the_path_into_the_value() -> None:
    error = _error(PLAN, call({"day": "2026-01-02", "unit": "c", "places": [{"name": "A"}, {}]}))
    assert error.problems == ["places[1].name: missing required argument (expected string)"]


def test_a_value_that_fits_no_union_member_is_one_problem() -> None:
    def pick(value: int | bool) -> None: ...

    error = _error(Tool.function(pick), call({"value": [1]}))
    assert error.problems == [
        "value: fits none of the allowed types (expected integer or boolean; got [1])"
    ]


def test_every_problem_is_reported_at_once() -> None:
    error = _error(PLAN, call({"unit": "x", "places": "none", "extra": 1}))
    assert [p.split(":")[0] for p in error.problems] == ["day", "unit", "places", "extra"]


def test_the_message_ends_with_the_tool_parameters() -> None:
    error = _error(Tool.function(get_weather), call({}))
    assert str(error).endswith(
        "Parameters: city (string, required), days (integer). Fix the arguments and call it again."
    )


def test_malformed_json_is_explained_with_what_was_sent() -> None:
    error = _error(Tool.function(get_weather), call(raw='{"city": "Paris" "days": 2}'))
    assert error.problems[0].startswith("the arguments are not valid JSON (Expecting ',' delimiter")
    assert error.problems[0].endswith('you sent: {"city": "Paris" "days": 2}')


def test_json_that_is_not_an_object_is_refused() -> None:
    error = _error(Tool.function(get_weather), call(raw='["Paris"]'))
    assert error.problems == ['the arguments must be a JSON object, not ["Paris"]']


def test_a_long_raw_text_is_clipped_in_the_message() -> None:
    error = _error(Tool.function(get_weather), call(raw="{" + "x" * 500))
    assert len(str(error)) < 400


def test_raw_arguments_that_are_a_json_object_are_used() -> None:
    kwargs = Tool.function(get_weather).validate(call(raw='{"city": "Oslo"}'))
    assert kwargs == {"city": "Oslo", "days": 1}


def test_an_empty_raw_text_means_no_arguments() -> None:
    def now() -> str:
        return "noon"

    assert Tool.function(now).validate(call(raw="")) == {}


def test_parsed_arguments_win_over_the_raw_text_they_came_from() -> None:
    kwargs = Tool.function(get_weather).validate(call({"city": "Rome"}, raw='{"city": "Rome"}'))
    assert kwargs["city"] == "Rome"


def test_the_error_names_the_tool_the_model_called() -> None:
    error = _error(Tool.function(get_weather), call({}, name="weather"))
    assert error.tool_name == "weather"


# -- tools defined by a JSON schema ----------------------------------------------------------


SCHEMA = {
    "type": "object",
    "properties": {"q": {"type": "string"}, "n": {"type": "integer"}},
    "required": ["q"],
    "additionalProperties": False,
}


def test_a_tool_made_from_a_schema_checks_required_and_unknown_arguments() -> None:
    t = Tool("search", "Search.", SCHEMA, lambda **kwargs: kwargs)
    assert t.validate(call({"q": "cats", "n": 2})) == {"q": "cats", "n": 2}
    error = _error(t, call({"n": 2, "x": 1}))
    assert error.problems == [
        "q: missing required argument (expected string)",
        "x: unexpected argument",
    ]


# -- results ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Reading:
    city: str
    celsius: float


@pytest.mark.parametrize(
    ("value", "output"),
    [
        ("plain text", "plain text"),
        ({"a": 1, "b": [True, None]}, '{"a":1,"b":[true,null]}'),
        ([1, "two"], '[1,"two"]'),
        (Place(name="Nice"), '{"name":"Nice","zoom":5}'),
        (Reading("Oslo", -3.5), '{"city":"Oslo","celsius":-3.5}'),
        (None, "null"),
        (42, "42"),
        (datetime.date(2026, 1, 2), '"2026-01-02"'),
        ({"unit": Unit.CELSIUS}, '{"unit":"c"}'),
        ("héllo", "héllo"),
    ],
)
def test_return_values_become_text(value: Any, output: str) -> None:
    assert format_return(value) == (output, [])


def test_a_value_json_cannot_hold_falls_back_to_str() -> None:
    class Opaque:
        def __str__(self) -> str:
            return "opaque!"

    assert format_return({"x": Opaque()}) == ('{"x":"opaque!"}', [])


def test_an_image_becomes_an_attachment() -> None:
    image = Image(PNG)
    assert format_return(image) == ("", [image])


def test_a_list_of_media_becomes_attachments() -> None:
    image, document = Image(PNG), File(b"%PDF-1.4", filename="a.pdf")
    assert format_return([image, document]) == ("", [image, document])


def test_tool_return_carries_text_and_attachments() -> None:
    image = Image(PNG)
    assert format_return(ToolReturn({"n": 1}, [image])) == ('{"n":1}', [image])


def test_result_builds_the_tool_result_for_the_call() -> None:
    result = Tool.function(get_weather).result(call(name="get_weather"), "sunny")
    assert result == ToolResult("get_weather", "sunny", "call_1")


# -- errors ----------------------------------------------------------------------------------


def test_an_exception_is_reported_as_type_and_message_by_default() -> None:
    exc = ValueError("no such city")
    result = Tool.function(get_weather).error_result(call(name="get_weather"), exc)
    assert (result.output, result.is_error, result.exception) == (
        "ValueError: no such city",
        True,
        exc,
    )


def test_an_exception_without_message_shows_its_type() -> None:
    result = Tool.function(get_weather).error_result(call(), KeyError())
    assert result.output == "KeyError"


def test_a_tool_error_shows_only_its_message() -> None:
    result = Tool.function(get_weather).error_result(call(), ToolError("Try a bigger city."))
    assert result.output == "Try a bigger city."


def test_redact_hides_the_exception_from_the_model_but_keeps_it() -> None:
    exc = RuntimeError("password=hunter2")
    result = Tool.function(get_weather).error_result(call(name="get_weather"), exc, "redact")
    assert result.output == "Tool 'get_weather' failed."
    assert result.exception is exc


def test_redact_still_shows_a_deliberate_tool_error() -> None:
    result = Tool.function(get_weather).error_result(call(), ToolError("Out of range."), "redact")
    assert result.output == "Out of range."


def test_raise_re_raises_the_exception() -> None:
    with pytest.raises(RuntimeError, match="boom"):
        Tool.function(get_weather).error_result(call(), RuntimeError("boom"), "raise")


def test_an_argument_error_is_reported_whatever_the_mode() -> None:
    error = _error(Tool.function(get_weather), call({}))
    result = Tool.function(get_weather).error_result(call(), error, "raise")
    assert result.output == str(error)


def test_an_unknown_error_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="error mode"):
        Tool.function(get_weather).error_result(call(), ValueError(), "ignore")  # type: ignore[arg-type]


# -- retry budget ----------------------------------------------------------------------------


def test_the_budget_allows_max_retries_consecutive_failures() -> None:
    budget, t = RetryBudget(), Tool.function(get_weather, max_retries=2)
    budget.record(t, True, ValueError("1"))
    budget.record(t, True, ValueError("2"))
    assert budget.failures("get_weather") == 2


def test_one_failure_too_many_raises_naming_the_tool_and_last_error() -> None:
    budget, t = RetryBudget(), Tool.function(get_weather, max_retries=1)
    budget.record(t, True, ValueError("first"))
    last = ValueError("second")
    with pytest.raises(ToolRetriesExceeded) as caught:
        budget.record(t, True, last)
    assert (caught.value.tool_name, caught.value.last_error, caught.value.failures) == (
        "get_weather",
        last,
        2,
    )
    assert caught.value.__cause__ is last
    assert "get_weather" in str(caught.value)


def test_a_success_resets_the_count() -> None:
    budget, t = RetryBudget(), Tool.function(get_weather, max_retries=1)
    budget.record(t, True, ValueError())
    budget.record(t, False)
    budget.record(t, True, ValueError())
    assert budget.failures("get_weather") == 1


def test_each_tool_has_its_own_count() -> None:
    budget = RetryBudget()
    for _ in range(3):
        budget.record(Tool.function(get_weather), True, ValueError())
        budget.record(Tool.function(fetch), True, ValueError())
    assert (budget.failures("get_weather"), budget.failures("fetch")) == (3, 3)


def test_a_name_that_is_no_tool_uses_the_default_limit_and_the_result_error() -> None:
    budget = RetryBudget(default_max_retries=0)
    result = ToolResult("ghost", "Unknown tool 'ghost'.", "c1", is_error=True)
    with pytest.raises(ToolRetriesExceeded) as caught:
        budget.record("ghost", True, result)
    assert isinstance(caught.value.last_error, ToolError)
    assert str(caught.value.last_error) == "Unknown tool 'ghost'."


def test_the_budget_takes_the_exception_kept_on_a_result() -> None:
    budget, exc = RetryBudget(default_max_retries=0), ValueError("bad")
    with pytest.raises(ToolRetriesExceeded) as caught:
        budget.record("t", True, ToolResult("t", "ValueError: bad", "c1", True, exception=exc))
    assert caught.value.last_error is exc


# -- collecting tools ------------------------------------------------------------------------


def test_collect_tools_maps_names_to_tools() -> None:
    prebuilt = Tool.function(fetch, name="download")
    tools = collect_tools([get_weather, prebuilt])
    assert list(tools) == ["get_weather", "download"]
    assert tools["download"] is prebuilt


def test_two_tools_with_one_name_are_a_clear_error() -> None:
    with pytest.raises(DuplicateToolError, match=r"'get_weather'.*get_weather.*rename"):
        collect_tools([get_weather, Tool.function(fetch, name="get_weather")])


def test_something_that_is_not_a_tool_is_refused() -> None:
    with pytest.raises(ToolDefinitionError, match="not a tool"):
        collect_tools(["get_weather"])  # type: ignore[list-item]


def test_a_tool_output_with_a_lone_surrogate_cannot_poison_the_history() -> None:
    import json

    from agentloop import Message, Tool, ToolCall

    def listing() -> str:
        "A file name read with surrogateescape."
        return b"caf\xe9.txt".decode("utf-8", "surrogateescape")

    def failing() -> str:
        "Fails with a surrogate in its message."
        raise ValueError(b"bad \xff".decode("utf-8", "surrogateescape"))

    call = ToolCall("listing", {}, "c1")
    ok = Tool.function(listing).result(call, listing())
    error = Tool.function(failing).error_result(call, ValueError("bad \udcff"))
    for result in (ok, error):
        json.dumps(Message.tool(result).to_dict(), ensure_ascii=False).encode("utf-8")
    assert ok.output == "caf\ufffd.txt"
