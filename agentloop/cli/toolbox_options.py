"""Building a toolbox class from its ``--tool-option Name.key=value`` options.

Each option is checked against the constructor's signature and type hints
(with pydantic, in its lax mode: ``"10"`` is an int, ``"yes"`` a bool) when the
command line is read, so ``--tool-option Memory.max_keys=abc`` is a usage error
naming the option, not a failure of every later tool call. A value is read as
JSON when it parses, else as text; when its JSON reading does not fit the type
but its text does (``Files.root=2024``, a folder), the text is used.
"""

from __future__ import annotations

import inspect
import logging
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError

from agentloop.cli.errors import UsageError
from agentloop.cli.key_values import parse_value
from agentloop.toolbox import Toolbox

logger = logging.getLogger("agentloop.cli.toolbox_options")

#: Lax, and hints like ``TextIO`` become isinstance checks rather than schema errors.
_CONFIG = ConfigDict(arbitrary_types_allowed=True)
_SETTABLE = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def build_toolbox(cls: type[Toolbox], options: Mapping[str, str]) -> Toolbox:
    """``cls(**options)``, each option checked first; a usage error says what to fix."""
    name = cls.__name__
    parameters = inspect.signature(cls).parameters
    hints = _type_hints(cls)
    values = {
        key: option_value(name, key, text, parameters, hints) for key, text in options.items()
    }
    missing = [
        p
        for p in parameters.values()
        if p.kind in _SETTABLE and p.default is p.empty and p.name not in values
    ]
    if missing:
        first = missing[0]
        raise UsageError(
            f"{name} needs --tool-option {name}.{first.name}=VALUE ({_type_label(first)})"
        )
    try:
        return cls(**values)
    except (TypeError, ValueError, OSError) as exc:
        raise UsageError(f"{name}: {exc}") from exc


def option_value(
    owner: str,
    key: str,
    text: str,
    parameters: Mapping[str, inspect.Parameter],
    hints: Mapping[str, Any],
) -> Any:
    """The value of ``--tool-option owner.key=text``, as the constructor's hint wants it."""
    parameter = parameters.get(key)
    if parameter is None or parameter.kind not in _SETTABLE:
        if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            return parse_value(text)  # **options: the constructor checks them itself
        settable = [p.name for p in parameters.values() if p.kind in _SETTABLE]
        takes = f"it takes {', '.join(settable)}" if settable else "it takes no options"
        raise UsageError(f"--tool-option {owner}.{key}: {owner} has no option {key!r}; {takes}")
    value = parse_value(text)
    adapter = _adapter(hints.get(key))
    if adapter is None:
        return value
    try:
        return _validate(adapter, value)
    except (ValidationError, NotAList) as exc:
        if isinstance(value, int | float) or value is None:  # bool is an int too
            try:
                return _validate(adapter, text)
            except (ValidationError, NotAList):
                pass
        raise UsageError(
            f"--tool-option {owner}.{key}={text}: {owner}.{key} must be "
            f"{_type_label(parameter)} ({_reason(exc, text)})"
        ) from None


class NotAList(Exception):
    """Text given where an ``Iterable[...]`` is wanted: pydantic would take its letters."""


def _validate(adapter: TypeAdapter[Any], value: Any) -> Any:
    validated = adapter.validate_python(value)
    if isinstance(validated, Iterator) and not isinstance(value, Iterator):
        if isinstance(value, str):
            raise NotAList
        # pydantic checks an Iterable[...] lazily: check the items now, and pass a list.
        validated = list(validated)
    return validated


def _type_hints(cls: type[Toolbox]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls.__init__)
    except Exception as exc:  # a hint naming what only exists under TYPE_CHECKING, say
        logger.debug("Not checking the options of %s: %s", cls.__name__, exc)
        return {}


def _adapter(hint: Any) -> TypeAdapter[Any] | None:
    if hint is None or hint is Any:
        return None
    try:
        return TypeAdapter(hint, config=_CONFIG)
    except Exception as exc:  # a type pydantic cannot check: the constructor will
        logger.debug("Not checking values of type %r: %s", hint, exc)
        return None


def _type_label(parameter: inspect.Parameter) -> str:
    annotation = parameter.annotation
    if annotation is parameter.empty:
        return "any value"
    # Postponed annotations are the text the author wrote, the clearest label there is.
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)


def _reason(exc: ValidationError | NotAList, text: str) -> str:
    if isinstance(exc, NotAList):
        return 'give a JSON list, e.g. ["a", "b"]'
    errors = exc.errors(include_url=False)
    if len(errors) != 1:  # one per member of a union: the type says it better
        return f"got {text!r}"
    error = errors[0]
    where = "".join(f"[{part}]" for part in error["loc"])
    message = error["msg"][:1].lower() + error["msg"][1:]
    return f"{where}: {message}" if where else message
