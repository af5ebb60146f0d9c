"""A tool's JSON schema and validator, built once from a function's signature and docstring.

`function_schema` reads the signature with pydantic and the docstring
with docstring-parser (Google, NumPy and reST/Sphinx styles, detected
automatically). The docstring's text becomes the tool description and each
documented parameter its property description; ``Annotated[T, Field(...)]``
and ``Annotated[T, "text"]`` describe a parameter too, and win over the
docstring. Nested pydantic models, dataclasses, TypedDicts and enums land in
``$defs``. Titles are stripped: they repeat the names and cost tokens.

The result is cached per function, so a method shared by many toolbox
instances is analysed once. A provider's reshaping is its codec's transform
(`agentloop.providers.schema_transform`), applied at request time, never baked in.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin
from weakref import WeakKeyDictionary

import docstring_parser
from pydantic import BaseModel, ConfigDict, Field, PydanticSchemaGenerationError, create_model
from pydantic.errors import PydanticUserError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from agentloop.context import is_run_context
from agentloop.errors import ToolDefinitionError
from agentloop.schema_transforms import Schema, strip_titles

__all__ = ["FunctionSchema", "Schema", "function_schema"]

# Extra arguments are refused, and the schema says so with additionalProperties.
_CONFIG = ConfigDict(extra="forbid", arbitrary_types_allowed=False)


@dataclass(frozen=True, slots=True)
class FunctionSchema:
    """Everything a tool needs from its function, computed once.

    ``model`` validates the arguments; its fields are named ``p0``, ``p1``...
    with the real parameter names as aliases, so a parameter may be called
    ``json``, ``schema`` or ``_private`` without clashing with pydantic.
    ``names`` maps each field back to its parameter.
    """

    description: str
    parameters: Schema
    model: type[BaseModel]
    names: dict[str, str]
    positional_only: tuple[str, ...]
    #: The parameter annotated `RunContext`, if any: not in the schema, passed by the run.
    context_parameter: str | None = None


_FUNCTIONS: WeakKeyDictionary[Callable[..., Any], FunctionSchema] = WeakKeyDictionary()
_METHODS: WeakKeyDictionary[Callable[..., Any], FunctionSchema] = WeakKeyDictionary()


def function_schema(fn: Callable[..., Any]) -> FunctionSchema:
    """The (cached) schema, description and validator of ``fn``'s parameters."""
    if inspect.ismethod(fn):  # bound: `self` is not a parameter; cached per function
        cache, key = _METHODS, fn.__func__
    elif inspect.isfunction(fn):
        cache, key = _FUNCTIONS, fn
    else:  # partials and callable objects: not weak-referenceable in general
        return _build(fn)
    cached = cache.get(key)
    if cached is None:
        cached = cache[key] = _build(fn)
    return cached


def callable_name(fn: Callable[..., Any]) -> str:
    """A readable name for error messages: the qualified name where there is one."""
    target = fn.func if isinstance(fn, functools.partial) else fn
    name = getattr(target, "__qualname__", None) or type(target).__qualname__
    return str(name)


def _build(fn: Callable[..., Any]) -> FunctionSchema:
    label = callable_name(fn)
    signature = _signature(fn, label)
    documented_fn = fn.func if isinstance(fn, functools.partial) else fn
    docstring = docstring_parser.parse(inspect.getdoc(documented_fn) or "")
    documented = {p.arg_name: p.description for p in docstring.params if p.description}
    fields: dict[str, Any] = {}
    names: dict[str, str] = {}
    positional_only: list[str] = []
    context: list[str] = []
    for index, param in enumerate(signature.parameters.values()):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            star = "*" if param.kind is param.VAR_POSITIONAL else "**"
            raise ToolDefinitionError(
                f"Tool function {label} takes {star}{param.name}: a tool needs named "
                "parameters the model can fill in, so replace it with explicit parameters"
            )
        if param.kind is param.POSITIONAL_ONLY:
            positional_only.append(param.name)
        if is_run_context(param.annotation):
            context.append(param.name)  # the run passes it; the model never sees it
            continue
        fields[f"p{index}"] = _field(param, documented.get(param.name))
        names[f"p{index}"] = param.name
    if len(context) > 1:
        raise ToolDefinitionError(
            f"Tool function {label} declares {len(context)} RunContext parameters "
            f"({', '.join(context)}): declare one"
        )
    model = _model(label, fields)
    parameters = _parameters(model, label)
    return FunctionSchema(
        description=(docstring.description or "").strip(),
        parameters=parameters,
        model=model,
        names=names,
        positional_only=tuple(positional_only),
        context_parameter=context[0] if context else None,
    )


def _signature(fn: Callable[..., Any], label: str) -> inspect.Signature:
    try:
        return inspect.signature(fn, eval_str=True)
    except NameError as exc:
        raise ToolDefinitionError(
            f"Cannot resolve the type hints of tool function {label}: {exc}. Define the types "
            "it names at module level (string annotations are looked up in its module)"
        ) from exc
    except (TypeError, ValueError) as exc:
        raise ToolDefinitionError(f"Cannot read the signature of {label}: {exc}") from exc


def _field(param: inspect.Parameter, documented: str | None) -> tuple[Any, FieldInfo]:
    """The (annotation, FieldInfo) pair describing one parameter to pydantic."""
    annotation: Any = Any if param.annotation is param.empty else param.annotation
    default: Any = PydanticUndefined if param.default is param.empty else param.default
    if isinstance(default, FieldInfo):  # `x: int = Field(3, description=...)`
        annotation = Annotated[annotation, default]
        default = PydanticUndefined
    described_by_field, text = _annotated_description(annotation)
    description = None if described_by_field else (text or documented)
    if description is None:  # an explicit None would hide a Field's own description
        return annotation, Field(default, alias=param.name)
    return annotation, Field(default, alias=param.name, description=description)


def _annotated_description(annotation: Any) -> tuple[bool, str | None]:
    """(a Field in Annotated describes it, the first plain string in Annotated)."""
    if get_origin(annotation) is not Annotated:
        return False, None
    metadata = get_args(annotation)[1:]
    if any(isinstance(m, FieldInfo) and m.description for m in metadata):
        return True, None
    return False, next((m for m in metadata if isinstance(m, str)), None)


def _model(label: str, fields: dict[str, Any]) -> type[BaseModel]:
    try:
        return create_model("Arguments", __config__=_CONFIG, **fields)
    except (PydanticSchemaGenerationError, PydanticUserError, TypeError) as exc:
        raise ToolDefinitionError(
            f"Tool function {label} has a parameter type pydantic cannot validate: {exc}"
        ) from exc


def _parameters(model: type[BaseModel], label: str) -> Schema:
    try:
        raw = model.model_json_schema()
    except (PydanticSchemaGenerationError, PydanticUserError) as exc:
        raise ToolDefinitionError(
            f"Tool function {label} has a parameter type with no JSON schema: {exc}"
        ) from exc
    cleaned = strip_titles(raw)
    # A stable, readable key order: what the object is, then its parts.
    ordered: Schema = {"type": "object", "properties": cleaned.pop("properties", {})}
    for key in ("required", "additionalProperties", "$defs"):
        if key in cleaned:
            ordered[key] = cleaned.pop(key)
    cleaned.pop("type", None)
    ordered.update(cleaned)
    return ordered
