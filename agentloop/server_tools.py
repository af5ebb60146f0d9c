"""Provider-side tools, named once for every provider: `WebSearch` and `CodeExecution`.

``tools=[agentloop.WebSearch()]`` asks the provider to run its own web search; the model's
searches, the results and the code it ran come back as
[`ProviderPart`][agentloop.ProviderPart]s in the reply and are never run locally. These
classes are plain data: each wire format's encoder maps them to its native tool (Anthropic's
``web_search_20250305``, the Responses API's ``web_search``, Gemini's ``googleSearch``...)
and raises [`UnsupportedServerToolError`][agentloop.errors.UnsupportedServerToolError],
naming the provider and the option, for a tool or an option the provider has no place for,
before anything is sent. docs/tools.md has the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from agentloop.errors import ToolDefinitionError, UnsupportedServerToolError

__all__ = ["CodeExecution", "ServerTool", "UserLocation", "WebSearch", "unsupported"]


class ServerTool:
    """Base of the tools a provider runs itself. ``kind`` names the tool in messages."""

    kind: str = "server tool"

    def given(self) -> dict[str, Any]:
        """The options set on this tool (those not None), by name."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)  # type: ignore[arg-type]
            if getattr(self, f.name) is not None
        }


@dataclass(frozen=True, slots=True)
class UserLocation:
    """Where the user roughly is, to localise search results. Every field is optional:
    ``country`` a two-letter ISO code (``"GB"``), ``region`` and ``city`` free text,
    ``timezone`` an IANA name (``"Europe/London"``)."""

    city: str | None = None
    region: str | None = None
    country: str | None = None
    timezone: str | None = None

    def __post_init__(self) -> None:
        for name in ("city", "region", "country", "timezone"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ToolDefinitionError(
                    f"UserLocation {name} must be a non-empty string, not {value!r:.40}"
                )

    def approximate(self) -> dict[str, str]:
        """The ``{"type": "approximate", ...}`` object Anthropic and OpenAI both take."""
        out = {"type": "approximate"}
        for name in ("city", "region", "country", "timezone"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


@dataclass(frozen=True, slots=True)
class WebSearch(ServerTool):
    """The provider's own web search.

    ``max_uses`` caps the searches of one model call; ``allowed_domains`` keeps results to
    those domains, ``blocked_domains`` keeps them out (not both); ``user_location`` (a
    `UserLocation` or a dict with its fields) localises results. Each is sent only to a
    provider that takes it: any other raises
    [`UnsupportedServerToolError`][agentloop.errors.UnsupportedServerToolError] when the
    request is encoded.
    """

    max_uses: int | None = None
    allowed_domains: tuple[str, ...] | None = None
    blocked_domains: tuple[str, ...] | None = None
    user_location: UserLocation | None = None

    kind = "WebSearch"

    def __init__(
        self,
        max_uses: int | None = None,
        allowed_domains: Iterable[str] | None = None,
        blocked_domains: Iterable[str] | None = None,
        user_location: UserLocation | Mapping[str, str] | None = None,
    ) -> None:
        if max_uses is not None and (
            isinstance(max_uses, bool) or not isinstance(max_uses, int) or max_uses < 1
        ):
            raise ToolDefinitionError(
                f"WebSearch max_uses must be a whole number of searches (1 or more), "
                f"not {max_uses!r:.40}"
            )
        allowed = _domains(allowed_domains, "allowed_domains")
        blocked = _domains(blocked_domains, "blocked_domains")
        if allowed is not None and blocked is not None:
            raise ToolDefinitionError(
                "WebSearch takes allowed_domains or blocked_domains, not both: "
                "a provider cannot apply the two at once"
            )
        object.__setattr__(self, "max_uses", max_uses)
        object.__setattr__(self, "allowed_domains", allowed)
        object.__setattr__(self, "blocked_domains", blocked)
        object.__setattr__(self, "user_location", _location(user_location))


@dataclass(frozen=True, slots=True)
class CodeExecution(ServerTool):
    """The provider's own sandbox, where the model writes and runs code (Python, or bash on
    Anthropic). No provider takes an option that the others share, so it has none."""

    kind = "CodeExecution"


def unsupported(provider: str, tool: ServerTool, option: str | None, why: str) -> Exception:
    """The error for a tool, or one of its options, ``provider`` cannot honour."""
    what = f"{tool.kind}({option}=...)" if option else f"{tool.kind}()"
    return UnsupportedServerToolError(
        f"{provider} cannot take {what}: {why}", provider=provider, tool=tool.kind, option=option
    )


def _domains(value: Iterable[str] | None, name: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ToolDefinitionError(
            f"WebSearch {name} takes a list of domains, not {value!r:.40} "
            f'({type(value).__name__}); e.g. {name}=["example.com"]'
        )
    domains = tuple(value)
    bad = next((d for d in domains if not isinstance(d, str) or not d.strip()), None)
    if bad is not None or not domains:
        shown = "an empty list" if not domains else f"{bad!r:.40}"
        raise ToolDefinitionError(f"WebSearch {name} must list domain names, not {shown}")
    return domains


def _location(value: UserLocation | Mapping[str, str] | None) -> UserLocation | None:
    if value is None or isinstance(value, UserLocation):
        return value
    if not isinstance(value, Mapping):
        raise ToolDefinitionError(
            f"WebSearch user_location takes a UserLocation or a dict of city, region, "
            f"country and timezone, not {type(value).__name__}"
        )
    known = {"city", "region", "country", "timezone"}
    extra = sorted(set(value) - known - {"type"})
    if extra:
        raise ToolDefinitionError(
            f"WebSearch user_location has no field {extra[0]!r}: it takes "
            "city, region, country and timezone"
        )
    return UserLocation(**{k: v for k, v in value.items() if k in known})
