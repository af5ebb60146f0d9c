"""One check of the neutral options, for every wire format alike.

Each codec used to read ``stop``, ``tool_choice`` or ``strict_tools`` its own way: one
refused an unknown tool name, another sent it; one capped stop sequences, another let
the provider answer 400. Now `check_options` reads them all once, before any codec
encodes a request (and the chain before its first call), and raises one
`InvalidOptionError` with one wording. What differs between formats is declared as data,
an `OptionSupport` record in each codec's package; a format that has no way to express an
option refuses it by name rather than dropping it.

`strict_form` is the one strict-schema rule: ``strict_tools="auto"`` sends a tool whose
schema has no strict form non-strict (logged at DEBUG), ``strict_tools=True`` refuses it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from agentloop.errors import ConversionError, InvalidOptionError
from agentloop.providers.prompt_cache import cache_mode, cache_ttl

if TYPE_CHECKING:
    from agentloop.providers.base import Request

log = logging.getLogger("agentloop.providers.neutral_options")

#: ``tool_choice``'s keywords; any other string names a tool.
TOOL_CHOICES = ("auto", "none", "required")
#: Anthropic's and Gemini's word for "required", accepted everywhere.
TOOL_CHOICE_ALIASES = {"any": "required"}

Strict = Literal["off", "auto", "on"]
_STRICT = {None: "off", False: "off", True: "on", "auto": "auto"}


@dataclass(frozen=True, slots=True)
class OptionSupport:
    """What one wire format (or host) makes of the neutral options: data, not code paths."""

    #: The provider as errors name it.
    provider: str
    #: Neutral options it has no field for, each with what to do instead.
    unsupported: Mapping[str, str] = field(default_factory=dict)
    #: The most stop sequences it takes (None: no documented limit).
    max_stop: int | None = None
    #: Whether a stop sequence of whitespace only (``"\\n"``) is accepted.
    whitespace_stop: bool = True
    #: The highest temperature it accepts.
    max_temperature: float = 2.0
    #: Whether a function tool can be marked strict (its arguments then always match).
    strict_tools: bool = True
    #: Whether ``parallel_tool_calls=False`` can be expressed.
    serial_tool_calls: bool = True


@dataclass(frozen=True, slots=True)
class NeutralOptions:
    """The options as checked, ready for a codec to write."""

    #: The stop sequences, None when there are none (a codec writes ``list(stop)``).
    stop: tuple[str, ...] | None = None
    #: ``"auto"``, ``"none"``, ``"required"``, an offered tool's name, or a dict in the
    #: provider's own shape; None: send nothing (unset, or auto/none with no tools).
    tool_choice: str | dict[str, Any] | None = None
    #: None: send nothing (unset, or no tools to call).
    parallel_tool_calls: bool | None = None
    strict: Strict = "off"


def check_options(
    options: Mapping[str, Any],
    *,
    tools: Iterable[Any] = (),
    support: OptionSupport | None = None,
    tools_known: bool = True,
) -> NeutralOptions:
    """Check the neutral options among ``options`` and return them ready to encode.

    ``tools`` are the tools on offer (anything with a ``name``); the provider's own
    ``tools`` field among ``options`` offers tools too. ``support``: the format's
    limits, None for the checks every format shares (the chain's, before it knows the
    format). ``tools_known=False`` when the tools are not collected yet (a toolbox not
    prepared): ``tool_choice`` names are then checked at encoding.

    The answer depends on nothing else, so it is kept (`_CHECKED`) for options made of
    plain values only (a list or dict could change in place): every request of a chain,
    and every prompt of a batch, asks the same question.
    """
    tools = tuple(tools)
    key = _memo_key(options, tools, support, tools_known)
    if key is not None:
        kept = _CHECKED.get(key)
        if kept is not None and kept[0] is support:
            return kept[1]
    checked = _checked(options, tools, support, tools_known)
    if key is not None:
        if len(_CHECKED) >= _CHECKED_LIMIT:
            _CHECKED.clear()
        _CHECKED[key] = (support, checked)
    return checked


#: Option values that cannot change in place: options made only of these are kept.
_PLAIN_VALUES = frozenset({str, int, float, bool, type(None)})
#: `check_options`'s answers by `_memo_key`, each with the support it was checked against
#: (kept, so that its ``id()`` in the key stays its own).
_CHECKED: dict[tuple[Any, ...], tuple[OptionSupport | None, NeutralOptions]] = {}
_CHECKED_LIMIT = 1024


def _memo_key(
    options: Mapping[str, Any],
    tools: tuple[Any, ...],
    support: OptionSupport | None,
    tools_known: bool,
) -> tuple[Any, ...] | None:
    if not options and not tools:  # most requests of a batch: no generator for nothing
        return ((), (), id(support), tools_known)
    # each value's type is part of the key: True == 1, but temperature=True is refused
    items = tuple((name, type(value), value) for name, value in options.items())
    if not all(kind in _PLAIN_VALUES for _, kind, _ in items):
        return None
    names = tuple(getattr(tool, "name", None) for tool in tools)
    return (items, names, id(support), tools_known)


def _checked(
    options: Mapping[str, Any],
    tools: tuple[Any, ...],
    support: OptionSupport | None,
    tools_known: bool,
) -> NeutralOptions:
    given = {key: value for key, value in options.items() if value is not None}
    _check_values(given)
    cache_mode(given)
    cache_ttl(given)
    stop = _stop(given.get("stop"))
    if support is not None:
        _check_support(given, stop, support)
    names, raw = _offered(tools, given.get("tools"))
    offered = bool(names) or raw
    parallel = given.get("parallel_tool_calls")
    return NeutralOptions(
        stop=stop,
        tool_choice=_tool_choice(given.get("tool_choice"), names, offered, tools_known),
        parallel_tool_calls=parallel if offered or not tools_known else None,
        strict=_strict(given.get("strict_tools"), support),
    )


def check_request_options(
    options: Mapping[str, Any], request: Request, support: OptionSupport
) -> NeutralOptions:
    """`check_options` for a codec encoding ``request``, with ``request.tools`` on offer."""
    return check_options(options, tools=request.tools, support=support)


def refuse(option: str, value: Any, problem: str, provider: str | None = None) -> NoReturn:
    """Raise the one error for an option that cannot be sent, in the one wording."""
    raise InvalidOptionError(
        f"Option {option}={value!r:.60}: {problem}", option=option, provider=provider
    )


def strict_form(
    make: Callable[[], dict[str, Any]], *, strict: Strict, what: str, provider: str
) -> dict[str, Any] | None:
    """The strict schema ``make`` builds for ``what`` (a tool, a ``schema=`` answer), or
    None to send it non-strict: the one fallback rule for every format.

    ``make`` raises `ConversionError` for a schema strict mode cannot express. Under
    ``"auto"`` that is sent non-strict and logged at DEBUG; under ``"on"`` (the caller
    asked for ``strict_tools=True``) it is an `InvalidOptionError` naming ``what``.
    """
    if strict == "off":
        return None
    try:
        return make()
    except ConversionError as exc:
        if strict == "on":
            refuse(
                "strict_tools",
                True,
                f"strict mode on {provider} cannot express {what}: {exc}. "
                "strict_tools='auto' sends such tools non-strict",
                provider,
            )
        log.debug("%s goes to %s non-strict: %s", what, provider, exc)
        return None


def _check_values(given: Mapping[str, Any]) -> None:
    """Types and ranges, the same for every format."""
    for name, high in (("temperature", 2.0), ("top_p", 1.0)):
        value = given.get(name)
        if value is not None and not (_is_number(value) and 0 <= value <= high):
            refuse(name, value, f"must be a number from 0 to {high:g}")
    lows: tuple[tuple[str, int | None], ...] = (
        ("max_tokens", 1),
        ("thinking_budget", 0),
        ("seed", None),
    )
    for name, least in lows:
        value = given.get(name)
        if value is None:
            continue
        if not _is_int(value) or (least is not None and value < least):
            at_least = f" of at least {least}" if least is not None else ""
            refuse(name, value, f"must be a whole number{at_least}")
    effort = given.get("reasoning_effort")
    if effort is not None and not (isinstance(effort, str) and effort):
        refuse("reasoning_effort", effort, "must be a level such as 'low', 'medium' or 'high'")
    parallel = given.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        refuse("parallel_tool_calls", parallel, "must be True or False")


def _check_support(
    given: Mapping[str, Any], stop: tuple[str, ...] | None, support: OptionSupport
) -> None:
    """What this format has no way to express, refused by name rather than dropped."""
    provider = support.provider
    for name, instead in support.unsupported.items():
        if name in given and (name != "stop" or stop):  # stop=[] asks for nothing
            refuse(name, given[name], f"{provider} has no way to send it; {instead}", provider)
    if given.get("parallel_tool_calls") is False and not support.serial_tool_calls:
        refuse(
            "parallel_tool_calls",
            False,
            f"{provider} cannot be told to avoid parallel tool calls: leave it out",
            provider,
        )
    temperature = given.get("temperature")
    if temperature is not None and temperature > support.max_temperature:
        problem = f"{provider} takes a temperature from 0 to {support.max_temperature:g}"
        refuse("temperature", temperature, problem, provider)
    if stop and support.max_stop is not None and len(stop) > support.max_stop:
        problem = f"{provider} takes at most {support.max_stop} stop sequences, not {len(stop)}"
        refuse("stop", given["stop"], problem, provider)
    if stop and not support.whitespace_stop and any(not s.strip() for s in stop):
        problem = f"{provider} refuses a stop sequence of whitespace only"
        refuse("stop", given["stop"], problem, provider)


def _stop(stop: Any) -> tuple[str, ...] | None:
    """The stop sequences (None when there are none), as a tuple: a checked answer is kept
    and shared (`check_options`), so what a codec writes into a body is its own list."""
    if stop is None:
        return None
    sequences = [stop] if isinstance(stop, str) else stop
    if not isinstance(sequences, list | tuple) or not all(isinstance(s, str) for s in sequences):
        refuse("stop", stop, "must be a string or a list of strings")
    if any(not s for s in sequences):
        refuse("stop", stop, "an empty stop sequence would end every answer at once")
    return tuple(sequences) or None


def _offered(tools: Iterable[Any], raw_tools: Any) -> tuple[list[str], bool]:
    """The names of the tools on offer, and whether the provider's own ``tools`` field
    (given among the options) offers some, named or not (a built-in web search)."""
    names = [str(name) for name in (getattr(tool, "name", None) for tool in tools) if name]
    raw = raw_tools if isinstance(raw_tools, list | tuple) else []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        function = item.get("function")
        declarations = item.get("functionDeclarations")
        for entry in [item, function, *(declarations if isinstance(declarations, list) else [])]:
            if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
                names.append(entry["name"])
    return names, bool(raw)


def _tool_choice(
    given: Any, names: list[str], offered: bool, tools_known: bool
) -> str | dict[str, Any] | None:
    if given is None or isinstance(given, Mapping):
        return dict(given) if given is not None else None  # a dict: the provider's own shape
    if not isinstance(given, str) or not given:
        refuse("tool_choice", given, "must be 'auto', 'required', 'none' or the name of a tool")
    choice: str = TOOL_CHOICE_ALIASES.get(given, given)
    if not tools_known:
        return choice
    if not offered:
        if choice in ("auto", "none"):
            return None  # the same as offering no tools, which some providers refuse to combine
        refuse("tool_choice", choice, "needs tools, and this request offers none")
    if choice in TOOL_CHOICES or choice in names:
        return choice
    known = ", ".join(repr(name) for name in names) or "none with a name"
    refuse(
        "tool_choice",
        choice,
        f"names no tool on offer; the tools are {known} (or give 'auto', 'required' or 'none')",
    )


def _strict(value: Any, support: OptionSupport | None) -> Strict:
    if isinstance(value, str | bool | None) and value in _STRICT:
        mode: Strict = _STRICT[value]  # type: ignore[assignment]
    else:
        refuse("strict_tools", value, "must be True, False or 'auto'")
    if support is None or support.strict_tools or mode == "off":
        return mode
    if mode == "on":
        refuse(
            "strict_tools",
            value,
            f"{support.provider} has no strict tools; strict_tools='auto' sends tools as they are",
            support.provider,
        )
    log.debug("%s has no strict tools: sent as they are", support.provider)
    return "off"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
