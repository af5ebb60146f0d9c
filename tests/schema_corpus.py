"""The signature corpus shared by the schema tests: one function per case.

Each function's expected tool schema and description is the JSON file of the same name in
``snapshots/schemas/``. Functions are defined at module level, as users define tools.
"""

import dataclasses
import datetime
import enum
import pathlib
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal, NotRequired, Optional

from pydantic import BaseModel, Field
from typing_extensions import TypedDict

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


#: Every corpus function, in the order the snapshots were written.
CORPUS: list[Callable[..., Any]] = [
    no_parameters,
    upper,
    scalars,
    none_type,
    optional_required,
    optional_default,
    union,
    defaults,
    literal_strings,
    literal_numbers,
    literal_single,
    literal_with_default,
    enum_parameter,
    int_enum_parameter,
    list_of_strings,
    list_default,
    fixed_tuple,
    variable_tuple,
    set_of_strings,
    dict_of_ints,
    nested_model,
    list_of_models,
    optional_model,
    dataclass_parameter,
    typed_dict_parameter,
    recursive_model,
    discriminated,
    dates_and_times,
    identifiers,
    annotated_text,
    annotated_field,
    field_as_default,
    field_beats_docstring,
    google_style,
    numpy_style,
    rest_style,
    epydoc_style,
    unannotated,
    any_parameter,
    async_tool,
    keyword_only,
    positional_only,
    shadowing_names,
    string_annotation,
    bytes_parameter,
]
